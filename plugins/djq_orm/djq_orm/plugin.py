"""Registers the ORM broker with djq (entry point ``orm`` in the ``djq`` group)."""

from __future__ import annotations

from django.core import checks

from djq.hookspecs import hookimpl
from djq.registry import BrokerSpec, Registry
from djq_orm.broker import CAPABILITIES


def check_orm(conf) -> list[checks.CheckMessage]:
    from django.conf import settings

    alias = conf.raw.get("orm") or "default"
    if alias not in settings.DATABASES:
        return [checks.Error(
            f"Q_CLUSTER['orm'] names database {alias!r}, which is not in DATABASES.",
            hint=f"Use one of: {', '.join(settings.DATABASES)}.", id="djq_orm.E001")]
    return []


@hookimpl
def djq_register_brokers(registry: Registry) -> None:
    registry.register_broker(BrokerSpec(
        name="orm",
        settings_key="orm",
        broker_class="djq_orm.broker.OrmBroker",
        capabilities=CAPABILITIES,
        extra_keys=("has_replica",),
        django_app="djq_orm",
        default=True,
        check=check_orm,
    ))
