"""The djq broker conformance kit against the ORM broker, on SQLite and PostgreSQL."""

import pytest
from django.conf import settings
from django.db import connections

from djq.testing import BrokerConformance, make_conf
from djq_orm.broker import OrmBroker
from tests.services import require_postgres

pytest_plugins = ["djq.testing"]

HAS_PG = "pg" in settings.DATABASES


@pytest.mark.django_db(transaction=True, databases=["default"])
class TestOrmBrokerSqlite(BrokerConformance):
    fifo = True

    @pytest.fixture
    def broker_factory(self):
        assert settings.DATABASES["default"]["ENGINE"].endswith("sqlite3")

        def make(list_key=None, **overrides):
            return OrmBroker(list_key, make_conf(**overrides))
        return make


# Both aliases are the same database; the subclass below uses the second.
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True,
                       databases=["default", "pg", "pg_prepared"] if HAS_PG else ["default"])
class TestOrmBrokerPostgres(BrokerConformance):
    fifo = True
    alias = "pg"

    @pytest.fixture
    def broker_factory(self):
        require_postgres()

        def make(list_key=None, **overrides):
            return OrmBroker(list_key, make_conf(orm=self.alias, **overrides))
        return make

    def test_uses_postgres(self, broker_harness):
        broker = broker_harness()
        assert broker.alias == self.alias
        assert "postgresql" in broker.info()


class TestOrmBrokerPostgresPrepared(TestOrmBrokerPostgres):
    """The broker's statements with parameters bound on the server and prepared from
    their first use (``server_side_binding``, ``prepare_threshold: 0``), the connection
    options the plugin's README recommends without a transaction-pooling proxy."""

    alias = "pg_prepared"

    def test_statements_are_prepared(self, broker_harness):
        broker = broker_harness()
        broker.enqueue("a")
        broker.acknowledge_many([d.ack_id for d in broker.dequeue()])
        with connections["pg_prepared"].cursor() as cursor:
            cursor.execute("SELECT statement FROM pg_prepared_statements")
            prepared = " ".join(row[0] for row in cursor.fetchall())
        assert "INSERT INTO" in prepared and "FOR UPDATE SKIP LOCKED" in prepared
        assert "DELETE FROM" in prepared


class CompareAndSetOrmBroker(OrmBroker):
    """The ORM broker with the claim it uses on databases without SKIP LOCKED or
    UPDATE ... RETURNING (MySQL, MariaDB, Oracle), run here on SQLite."""

    def _claim_where(self, connection, limit, expired):
        return self._claim_compare_and_set(limit, expired)


@pytest.mark.django_db(transaction=True, databases=["default"])
class TestOrmBrokerCompareAndSet(BrokerConformance):
    fifo = True

    @pytest.fixture
    def broker_factory(self):
        def make(list_key=None, **overrides):
            return CompareAndSetOrmBroker(list_key, make_conf(**overrides))
        return make
