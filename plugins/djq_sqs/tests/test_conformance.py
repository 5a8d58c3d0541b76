"""The djq broker conformance kit against the SQS broker on moto's SQS server."""

import pytest

from djq.testing import BrokerConformance, make_conf
from djq_sqs.broker import SqsBroker

pytest_plugins = ["djq.testing"]


class TestSqsBroker(BrokerConformance):
    # Each receive long-polls for 1 s, and the redelivery test makes two empty receives
    # inside ``retry``: 3 s keeps both clear of the message's return.
    retry = 3
    # moto's receive is O(queue length): fewer packages keep the concurrency test short.
    concurrent_packages = 200

    @pytest.fixture
    def broker_factory(self, sqs_options):
        def make(list_key=None, **overrides):
            return SqsBroker(list_key, make_conf(sqs=sqs_options, **overrides))
        return make
