"""System checks for ``Q_CLUSTER['sqs']``, run by the core when SQS is the broker.

====== =============================================================================
ID     Problem
====== =============================================================================
E001   statistics need a shared cache, but ``Q_CLUSTER['cache']`` is process-local
E002   ``Q_CLUSTER['sqs']`` is not a dict
E003   unknown key in ``Q_CLUSTER['sqs']``
E004   invalid value in ``Q_CLUSTER['sqs']``
E005   only one of ``aws_access_key_id`` / ``aws_secret_access_key`` is set
E006   the cluster ``name`` is not a valid SQS queue name
E007   ``retry`` is over SQS's longest visibility timeout (12 hours)
====== =============================================================================
"""

from __future__ import annotations

import difflib
from typing import Any

from django.core import checks

from djq_sqs.options import KEYS, MAX_VISIBILITY, is_fifo, valid_queue_name

LOCAL_CACHES = ("django.core.cache.backends.locmem.LocMemCache",
                "django.core.cache.backends.dummy.DummyCache")


def _error(message: str, hint: str, n: int) -> checks.Error:
    return checks.Error(message, hint=hint, id=f"djq_sqs.E{n:03d}")


def check_sqs(conf: Any) -> list[checks.CheckMessage]:
    """``BrokerSpec.check`` of the SQS broker."""
    return _check_cache(conf) + _check_options(conf) + _check_queue(conf)


def _check_cache(conf: Any) -> list[checks.CheckMessage]:
    from django.conf import settings

    alias = conf.cache
    caches = getattr(settings, "CACHES", {})
    if conf.sync or not isinstance(alias, str) or alias not in caches:
        return []  # sync never uses the broker; a missing alias is djq.E011
    backend = caches[alias].get("BACKEND")
    if backend not in LOCAL_CACHES:
        return []
    return [_error(
        f"The SQS broker keeps cluster statistics in the Django cache, but "
        f"Q_CLUSTER['cache'] is {alias!r} ({backend.rsplit('.', 1)[-1]}), which other "
        "processes cannot see.",
        "Point Q_CLUSTER['cache'] at a shared cache: database, file-based, Redis or "
        "Memcached.", 1)]


def _check_options(conf: Any) -> list[checks.CheckMessage]:
    options = conf.raw.get("sqs")
    if not isinstance(options, dict):
        return [_error(f"Q_CLUSTER['sqs'] is {options!r}; it must be a dict.",
                       "Use {} to take the region and credentials from boto3's own "
                       "configuration (environment, ~/.aws, instance role).", 2)]
    messages = []
    for key, value in options.items():
        if key not in KEYS:
            close = difflib.get_close_matches(str(key), sorted(KEYS), n=1)
            hint = f"Did you mean {close[0]!r}?" if close else (
                f"Known keys: {', '.join(sorted(KEYS))}.")
            messages.append(_error(f"Q_CLUSTER['sqs'] has an unknown key {key!r}.", hint, 3))
            continue
        test, wanted = KEYS[key]
        if not test(value):
            shown = "<hidden>" if "secret" in key else repr(value)
            messages.append(_error(f"Q_CLUSTER['sqs'][{key!r}] is {shown}; it must be "
                                   f"{wanted}.", f"Fix Q_CLUSTER['sqs'][{key!r}].", 4))
    pair = ("aws_access_key_id", "aws_secret_access_key")
    given = [k for k in pair if k in options]
    if len(given) == 1:
        missing = pair[1] if given[0] == pair[0] else pair[0]
        messages.append(_error(
            f"Q_CLUSTER['sqs'] sets {given[0]!r} without {missing!r}.",
            "Set both, or neither to use boto3's own credential chain.", 5))
    return messages


def _check_queue(conf: Any) -> list[checks.CheckMessage]:
    messages = []
    name = conf.name
    if isinstance(name, str) and name and not valid_queue_name(name):
        limit = "75 characters before '.fifo'" if is_fifo(name) else "80 characters"
        messages.append(_error(
            f"Q_CLUSTER['name'] is {name!r}, which is not a valid SQS queue name (the SQS "
            "broker uses the cluster name as its queue).",
            f"Use letters, digits, '-' and '_' only, at most {limit}.", 6))
    retry = conf.retry
    if isinstance(retry, (int, float)) and not isinstance(retry, bool) \
            and retry > MAX_VISIBILITY:
        messages.append(_error(
            f"Q_CLUSTER['retry'] is {retry}; SQS's visibility timeout is at most "
            f"{MAX_VISIBILITY} seconds (12 hours).",
            f"Set Q_CLUSTER['retry'] to {MAX_VISIBILITY} or less.", 7))
    return messages
