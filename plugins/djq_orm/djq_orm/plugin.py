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
    database = settings.DATABASES[alias]
    mode = (database.get("OPTIONS") or {}).get("transaction_mode")
    if database.get("ENGINE") == "django.db.backends.sqlite3" and mode != "IMMEDIATE":
        # A DEFERRED transaction that reads then writes cannot wait for the lock: under
        # a busy cluster SQLite fails it at once with "database is locked".
        return [checks.Warning(
            f"The ORM broker's SQLite database {alias!r} does not use "
            "transaction_mode IMMEDIATE: busy clusters will hit 'database is locked'.",
            hint=f"Set DATABASES[{alias!r}]['OPTIONS']['transaction_mode'] = 'IMMEDIATE' "
                 "(and WAL: 'init_command': 'PRAGMA journal_mode=WAL;').",
            id="djq_orm.W001")]
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
