"""djq-sqs: the Amazon SQS broker for djq (``Q_CLUSTER['sqs']``).

Registered through the ``djq`` entry-point group (``sqs = "djq_sqs.plugin"``); the broker
is :class:`djq_sqs.broker.SqsBroker`. Nothing heavy is imported here.
"""

__version__ = "0.1.0"
