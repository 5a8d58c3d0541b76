"""``schedule()``: create a :class:`~djq.models.Schedule` (exported by ``djq.tasks``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import IntegrityError
from django.utils import timezone

from djq.execution import importable_path
from djq.schedules.arguments import literal_text


def schedule(func: Any, *args: Any, name: str | None = None, hook: Any = None,
             schedule_type: str = "O", minutes: int | None = None, repeats: int = -1,
             next_run: datetime | None = None, q_options: dict | None = None,
             cron: str | None = None, time_zone: str | None = None, **kwargs: Any):
    """Create and return a schedule (the spec's signature; ``next_run`` defaults to now).

    ``func`` and ``hook`` are dotted paths (an importable function is turned into its
    path). Arguments must be Python literals: schedules keep them as editable text.
    Beyond the spec: ``schedule_type=Schedule.CRON`` with ``cron='30 9 * * 1-5'``, and
    ``time_zone='Europe/Paris'`` to keep DAILY and longer types (and cron) on local time.
    A name already used raises ``IntegrityError``; anything else invalid raises
    ``django.core.exceptions.ValidationError`` naming the field.
    """
    from djq.models import Schedule

    if name and Schedule.objects.filter(name=name).exists():
        raise IntegrityError(f"A schedule named {name!r} already exists.")
    if q_options:
        kwargs["q_options"] = q_options
    if next_run is not None and not isinstance(next_run, datetime) \
            and isinstance(getattr(next_run, "datetime", None), datetime):
        next_run = next_run.datetime  # an arrow.Arrow, as in the spec's example
    s = Schedule(
        name=name, func=_path(func, "func"), hook=_path(hook, "hook") if hook else None,
        args=literal_text(args, "args") if args else None,
        kwargs=literal_text(kwargs, "kwargs") if kwargs else None,
        schedule_type=Schedule.MINUTES if schedule_type == "T" else schedule_type,
        minutes=minutes, repeats=repeats, next_run=next_run or timezone.now(),
        cron=cron, time_zone=time_zone,
    )
    s.full_clean()
    s.save()
    return s


def _path(value: Any, what: str) -> str:
    """A dotted path for ``value`` (a path already, or an importable function)."""
    if isinstance(value, str):
        return value
    path = importable_path(value)
    if path is None:
        raise ValueError(f"Schedules need {what} as a dotted path (e.g. 'myapp.tasks.work'); "
                         f"{value!r} is not importable by one.")
    return path
