"""System checks for the Redis settings, compared to the exact ``Error(...)``."""

from __future__ import annotations

import pytest
from django.core import checks
from django.core.checks import run_checks
from djq_redis.checks import URL_HINT, check_redis

from djq.conf import Conf


def redis_errors():
    return [m for m in run_checks() if m.id and m.id.startswith("djq_redis.")]


def djq_errors():
    return [m for m in run_checks() if m.id and m.id.startswith("djq")
            and m.level >= checks.ERROR]


@pytest.fixture
def q(settings):
    def set_options(**options):
        settings.Q_CLUSTER = {"name": "djq-redis-checks", **options}
    return set_options


@pytest.mark.parametrize("value", [
    None, {}, {"host": "127.0.0.1", "port": 6380, "db": 2, "password": "s3cret"},
    {"charset": "utf-8", "errors": "strict", "socket_timeout": 2.5, "unix_socket_path": None,
     "decode_responses": False, "ssl": False},
    "redis://localhost:6379/0", "rediss://user:pw@example.com:6380/1",
    "unix:///var/run/redis.sock?db=2",
])
def test_valid_settings_pass(q, value):
    q(redis=value)
    assert djq_errors() == []


def test_wrong_type(q):
    q(redis=["localhost", 6379])
    assert redis_errors() == [checks.Error(
        "Q_CLUSTER['redis'] is a list; it must be a dict of redis-py connection keywords "
        "or a connection URL.", hint=URL_HINT, id="djq_redis.E001")]


def test_url_with_another_scheme(q):
    q(redis="http://localhost:6379")
    assert redis_errors() == [checks.Error(
        "Q_CLUSTER['redis'] is 'http://localhost:6379', which is not a redis://, rediss:// "
        "or unix:// URL.", hint=URL_HINT, id="djq_redis.E001")]


def test_url_that_does_not_parse(q):
    q(redis="redis://localhost:notaport/0")
    (error,) = redis_errors()
    assert error.id == "djq_redis.E001" and error.hint == URL_HINT
    assert error.msg.startswith("Q_CLUSTER['redis'] is not a valid connection URL: ")


def test_unknown_keyword(q):
    q(redis={"hots": "localhost"})
    assert redis_errors() == [checks.Error(
        "Q_CLUSTER['redis'] has an unknown redis-py keyword 'hots'.",
        hint="Did you mean 'host'? Use keywords of redis.Redis().", id="djq_redis.E002")]


@pytest.mark.parametrize("key, value, want", [
    ("port", "6379", "an integer from 1 to 65535"),
    ("port", 70000, "an integer from 1 to 65535"),
    ("db", -1, "an integer of 0 or more"),
    ("host", "", "a host name"),
    ("socket_timeout", 0, "None or a number of seconds above 0"),
])
def test_invalid_values(q, key, value, want):
    q(redis={key: value})
    assert redis_errors() == [checks.Error(
        f"Q_CLUSTER['redis'][{key!r}] is {value!r}; it must be {want}.",
        hint=f"Fix or remove {key!r}.", id="djq_redis.E003")]


def test_django_redis_not_installed(settings):
    try:
        import django_redis  # noqa: F401
        pytest.skip("django-redis is installed")
    except ImportError:
        pass
    settings.CACHES = {"default": {"BACKEND": "django_redis.cache.RedisCache",
                                   "LOCATION": "redis://localhost:6379/1"}}
    # Django's own cache checks would fail to import the backend: run this plugin's check.
    assert check_redis(Conf({"django_redis": "default"})) == [checks.Error(
        "Q_CLUSTER['django_redis'] needs the django-redis package, which is not installed.",
        hint="pip install django-redis", id="djq_redis.E004")]


def test_django_redis_unknown_alias(q, settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    q(django_redis="redis")
    assert redis_errors() == [checks.Error(
        "Q_CLUSTER['django_redis'] is 'redis', which is not a cache in CACHES.",
        hint="Name a django-redis cache: one of default.", id="djq_redis.E005")]


def test_django_redis_alias_of_another_backend(q, settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    q(django_redis="default")
    assert redis_errors() == [checks.Error(
        "Q_CLUSTER['django_redis'] names cache 'default', whose BACKEND "
        "'django.core.cache.backends.locmem.LocMemCache' is not django-redis.",
        hint="Use 'django_redis.cache.RedisCache' for that cache, or configure "
             "Q_CLUSTER['redis'] instead.", id="djq_redis.E006")]


def test_redis_and_django_redis_together_is_two_brokers(q):
    q(redis="redis://localhost", django_redis="default")
    assert [e.id for e in djq_errors()] == ["djq.E004"]


def test_redis_brings_its_own_stat_store_so_no_cache_warning(q, settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    q(redis="redis://localhost")
    assert [m.id for m in run_checks() if m.id == "djq.W001"] == []


def test_django_redis_alias_of_a_django_redis_cache(q, settings):
    pytest.importorskip("django_redis")
    settings.CACHES = {"default": {"BACKEND": "django_redis.cache.RedisCache",
                                   "LOCATION": "redis://localhost:6379/1"}}
    q(django_redis="default")
    assert djq_errors() == []
