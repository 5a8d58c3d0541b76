"""System checks when SQS is the broker: the plugin's djq_sqs.E* and the core's E012."""

import pytest
from django.core import checks

from djq.conf import conf

SHARED = {"default": {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
                      "LOCATION": "/tmp/djq-sqs-check-cache"}}
LOCAL = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
SQS = {"aws_region": "us-east-1"}


def djq_messages():
    return [m for m in checks.run_checks() if m.id and m.id.startswith(("djq.", "djq_sqs."))]


@pytest.fixture
def configure(settings):
    def set_q_cluster(caches=SHARED, **q_cluster):
        settings.CACHES = caches
        settings.Q_CLUSTER = {"name": "djq-tests", **q_cluster}
        conf.reload()
    return set_q_cluster


def test_valid_configuration_passes(configure):
    configure(sqs={"aws_region": "eu-west-1", "aws_access_key_id": "AKIA",
                   "aws_secret_access_key": "s3cret", "endpoint_url": "http://127.0.0.1:9",
                   "receive_message_wait_time_seconds": 5}, bulk=10, retry=90)
    assert djq_messages() == []


def test_empty_sqs_dict_uses_boto3_defaults(configure):
    configure(sqs={})
    assert djq_messages() == []


def test_local_memory_cache_is_an_error(configure):
    configure(caches=LOCAL, sqs=SQS)
    assert checks.Error(
        "The SQS broker keeps cluster statistics in the Django cache, but "
        "Q_CLUSTER['cache'] is 'default' (LocMemCache), which other processes cannot see.",
        hint="Point Q_CLUSTER['cache'] at a shared cache: database, file-based, Redis or "
             "Memcached.", id="djq_sqs.E001") in djq_messages()


def test_dummy_cache_is_an_error(configure):
    configure(caches={"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}},
              sqs=SQS)
    assert "djq_sqs.E001" in [m.id for m in djq_messages()]


def test_sync_needs_no_shared_cache(configure):
    configure(caches=LOCAL, sqs=SQS, sync=True)
    assert djq_messages() == []


def test_sqs_must_be_a_dict(configure):
    configure(sqs="us-east-1")
    assert djq_messages() == [checks.Error(
        "Q_CLUSTER['sqs'] is 'us-east-1'; it must be a dict.",
        hint="Use {} to take the region and credentials from boto3's own configuration "
             "(environment, ~/.aws, instance role).", id="djq_sqs.E002")]


def test_unknown_key(configure):
    configure(sqs={"aws_regoin": "us-east-1"})
    assert djq_messages() == [checks.Error(
        "Q_CLUSTER['sqs'] has an unknown key 'aws_regoin'.",
        hint="Did you mean 'aws_region'?", id="djq_sqs.E003")]


def test_value_types(configure):
    configure(sqs={"aws_region": 1, "aws_access_key_id": "", "aws_secret_access_key": 42,
                   "endpoint_url": "localhost:4566",
                   "receive_message_wait_time_seconds": 21})
    assert djq_messages() == [
        checks.Error("Q_CLUSTER['sqs']['aws_region'] is 1; it must be an AWS region name "
                     "such as 'us-east-1'.", hint="Fix Q_CLUSTER['sqs']['aws_region'].",
                     id="djq_sqs.E004"),
        checks.Error("Q_CLUSTER['sqs']['aws_access_key_id'] is ''; it must be an access key "
                     "id (a non-empty string).",
                     hint="Fix Q_CLUSTER['sqs']['aws_access_key_id'].", id="djq_sqs.E004"),
        checks.Error("Q_CLUSTER['sqs']['aws_secret_access_key'] is <hidden>; it must be a "
                     "secret access key (a non-empty string).",
                     hint="Fix Q_CLUSTER['sqs']['aws_secret_access_key'].",
                     id="djq_sqs.E004"),
        checks.Error("Q_CLUSTER['sqs']['endpoint_url'] is 'localhost:4566'; it must be an "
                     "http:// or https:// URL.", hint="Fix Q_CLUSTER['sqs']['endpoint_url'].",
                     id="djq_sqs.E004"),
        checks.Error("Q_CLUSTER['sqs']['receive_message_wait_time_seconds'] is 21; it must "
                     "be whole seconds from 0 to 20.",
                     hint="Fix Q_CLUSTER['sqs']['receive_message_wait_time_seconds'].",
                     id="djq_sqs.E004"),
    ]


def test_key_id_without_secret(configure):
    configure(sqs={"aws_access_key_id": "AKIA"})
    assert djq_messages() == [checks.Error(
        "Q_CLUSTER['sqs'] sets 'aws_access_key_id' without 'aws_secret_access_key'.",
        hint="Set both, or neither to use boto3's own credential chain.", id="djq_sqs.E005")]


@pytest.mark.parametrize("name, limit", [
    ("Django Q", "80 characters"),
    ("x" * 81, "80 characters"),
    ("tasks.v2.fifo", "75 characters before '.fifo'"),
])
def test_queue_name(configure, name, limit):
    configure(sqs=SQS, name=name)
    assert djq_messages() == [checks.Error(
        f"Q_CLUSTER['name'] is {name!r}, which is not a valid SQS queue name (the SQS broker "
        "uses the cluster name as its queue).",
        hint=f"Use letters, digits, '-' and '_' only, at most {limit}.", id="djq_sqs.E006")]


def test_fifo_name_is_valid(configure):
    configure(sqs=SQS, name="orders.fifo")
    assert djq_messages() == []


def test_retry_over_twelve_hours(configure):
    configure(sqs=SQS, retry=43201)
    assert djq_messages() == [checks.Error(
        "Q_CLUSTER['retry'] is 43201; SQS's visibility timeout is at most 43200 seconds "
        "(12 hours).", hint="Set Q_CLUSTER['retry'] to 43200 or less.", id="djq_sqs.E007")]


def test_bulk_over_ten_is_the_core_check(configure):
    configure(sqs=SQS, bulk=11)
    assert djq_messages() == [checks.Error(
        "Q_CLUSTER['bulk'] is 11; the 'sqs' broker takes at most 10.",
        hint="Set Q_CLUSTER['bulk'] to 10 or less.", id="djq.E012")]
