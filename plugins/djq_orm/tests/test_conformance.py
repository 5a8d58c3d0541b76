"""The djq broker conformance kit against the ORM broker, on SQLite and PostgreSQL."""

import pytest
from django.conf import settings

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


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, databases=["default", "pg"] if HAS_PG else ["default"])
class TestOrmBrokerPostgres(BrokerConformance):
    fifo = True

    @pytest.fixture
    def broker_factory(self):
        require_postgres()

        def make(list_key=None, **overrides):
            return OrmBroker(list_key, make_conf(orm="pg", **overrides))
        return make

    def test_uses_postgres(self, broker_harness):
        broker = broker_harness()
        assert broker.alias == "pg"
        assert "postgresql" in broker.info()


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
