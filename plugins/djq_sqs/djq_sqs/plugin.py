"""Registers the SQS broker with djq (entry point ``sqs`` in the ``djq`` group)."""

from __future__ import annotations

from djq.hookspecs import hookimpl
from djq.registry import BrokerSpec, Registry
from djq_sqs.broker import CAPABILITIES
from djq_sqs.checks import check_sqs


@hookimpl
def djq_register_brokers(registry: Registry) -> None:
    registry.register_broker(BrokerSpec(
        name="sqs",
        settings_key="sqs",
        broker_class="djq_sqs.broker.SqsBroker",
        capabilities=CAPABILITIES,
        check=check_sqs,
    ))
