"""The djq broker conformance kit against the Redis broker on a real redis-server."""

import pytest
from djq_redis.broker import RedisBroker

from djq.testing import BrokerConformance, make_conf

pytest_plugins = ["djq.testing"]


class TestRedisBroker(BrokerConformance):
    fifo = True

    @pytest.fixture
    def broker_factory(self, redis_server):
        def make(list_key=None, **overrides):
            return RedisBroker(list_key, make_conf(redis=redis_server, **overrides))
        return make
