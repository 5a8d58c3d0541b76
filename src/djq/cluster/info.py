"""``qinfo``: the spec's one-off summary, and ``qinfo --config`` (secrets masked).

Cluster numbers are summed over every live :class:`~djq.status.Stat`; task rate and
average time come from the results saved in the last 24 hours.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from typing import Any

SECRET = re.compile(r"password|passwd|token|secret|key|dsn|access|auth", re.I)
MASK = "********"


def task_rate(count: int, seconds: float = 86400.0) -> tuple[str, float]:
    """``("Tasks/hour", 7.38)``: the largest unit that shows at least one task."""
    per_second = count / seconds
    for unit, factor in (("second", 1), ("minute", 60), ("hour", 3600)):
        if per_second * factor >= 1:
            return f"Tasks/{unit}", round(per_second * factor, 2)
    return "Tasks/day", round(per_second * 86400, 2)


def masked(value: Any, key: str = "") -> Any:
    """``value`` with every secret-looking key's value (at any depth) masked."""
    if key and SECRET.search(key) and value not in (None, "", {}, []):
        return MASK
    if isinstance(value, dict):
        return {k: masked(v, str(k)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [masked(v) for v in value]
    return value


def config_text(conf) -> str:
    return json.dumps(masked(conf.as_dict()), indent=2, sort_keys=True, default=str)


def summary() -> dict[str, Any]:
    from django.db.models import Avg, Count, DurationField, ExpressionWrapper, F
    from django.utils import timezone

    from djq.brokers import get_broker
    from djq.models import Failure, Success, Task
    from djq.status import Stat

    stats = Stat.get_all()
    since = timezone.now() - timedelta(hours=24)
    recent = Task.objects.filter(stopped__gte=since).aggregate(
        count=Count("pk"), avg=Avg(ExpressionWrapper(F("stopped") - F("started"),
                                                     output_field=DurationField())))
    unit, rate = task_rate(recent["count"])
    avg = recent["avg"].total_seconds() if recent["avg"] is not None else 0.0
    try:
        broker = get_broker()
        queued, broker_info = broker.queue_size(), broker.info()
    except Exception as exc:
        queued, broker_info = "?", f"broker unavailable: {exc!r}"
    return {
        "broker": broker_info, "Clusters": len(stats),
        "Workers": sum(len(s.workers) for s in stats),
        "Restarts": sum(s.reincarnations for s in stats), "Queued": queued,
        "Successes": Success.objects.count(), "Failures": Failure.objects.count(),
        "Schedules": _schedules(), unit: rate, "Avg time": round(avg, 4),
    }


def _schedules() -> int:
    from djq.models import Schedule

    return Schedule.objects.count()


def info(stdout=None, style=None) -> None:
    import sys

    out = stdout or sys.stdout
    data = summary()
    out.write(f"-- djq summary -- ({data.pop('broker')})\n")
    items = list(data.items())
    for row in (items[0:3], items[3:6], items[6:9]):
        out.write("".join(f"{k:<11}{v!s:<9}" for k, v in row).rstrip() + "\n")
