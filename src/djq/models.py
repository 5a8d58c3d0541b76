"""Result models (``Task`` and its ``Success`` / ``Failure`` proxies) and ``Schedule``."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from picklefield.fields import PickledObjectField

from djq.schedules import next_run as sched


class Task(models.Model):
    """An executed task: its call, its result (or error) and its timing."""

    id = models.CharField(max_length=32, primary_key=True, editable=False)
    name = models.CharField(max_length=100, editable=False)
    func = models.CharField(max_length=256)
    hook = models.CharField(max_length=256, null=True, blank=True)
    args = PickledObjectField(null=True, protocol=-1)
    kwargs = PickledObjectField(null=True, protocol=-1)
    result = PickledObjectField(null=True, protocol=-1)
    group = models.CharField(max_length=100, editable=False, null=True, blank=True)
    started = models.DateTimeField(editable=False)
    stopped = models.DateTimeField(editable=False)
    success = models.BooleanField(default=True, editable=False)
    attempt_count = models.IntegerField(default=0)

    class Meta:
        app_label = "djq"
        ordering = ["-stopped"]
        indexes = [
            models.Index(fields=["group"], name="djq_task_group"),
            # save_limit prunes the oldest successes: an index, not a scan.
            models.Index(fields=["success", "stopped"], name="djq_task_success_stopped"),
            models.Index(fields=["name"], name="djq_task_name"),
        ]

    def __str__(self) -> str:
        return f"{self.name or self.id}"

    # -- timing ---------------------------------------------------------------------------
    def time_taken(self) -> float:
        """Seconds from creation (``started``) to result (``stopped``), queue wait included."""
        return (self.stopped - self.started).total_seconds()

    # -- the spec's classmethods ----------------------------------------------------------
    @staticmethod
    def _lookup(task_id: str) -> models.Q:
        """Task ids are 32 hex characters; anything else is taken as a name."""
        if len(task_id) == 32 and _is_hex(task_id):
            return models.Q(id=task_id)
        return models.Q(name=task_id)

    @classmethod
    def get_result(cls, task_id: str) -> Any:
        task = cls.get_task(task_id)
        return task.result if task else None

    @classmethod
    def get_task(cls, task_id: str) -> Task | None:
        return Task.objects.filter(cls._lookup(task_id)).first()

    @classmethod
    def get_result_group(cls, group_id: str, failures: bool = False) -> list[Any]:
        qs = cls.get_task_group(group_id, failures)
        return [t.result for t in qs.order_by("started")]

    @classmethod
    def get_task_group(cls, group_id: str, failures: bool = True) -> models.QuerySet:
        qs = Task.objects.filter(group=group_id)
        return qs if failures else qs.filter(success=True)

    @classmethod
    def get_group_count(cls, group_id: str, failures: bool = False) -> int:
        qs = Task.objects.filter(group=group_id)
        return qs.filter(success=False).count() if failures else qs.count()

    @classmethod
    def delete_group(cls, group_id: str, objects: bool = False) -> int:
        qs = Task.objects.filter(group=group_id)
        if objects:
            return qs.delete()[0]
        return qs.update(group=None)

    # -- instance group helpers -------------------------------------------------------------
    def group_result(self, failures: bool = False) -> list[Any] | None:
        return self.get_result_group(self.group, failures) if self.group else None

    def group_count(self, failures: bool = False) -> int | None:
        return self.get_group_count(self.group, failures) if self.group else None

    def group_delete(self, tasks: bool = False) -> int | None:
        return self.delete_group(self.group, tasks) if self.group else None


def _is_hex(text: str) -> bool:
    try:
        int(text, 16)
    except ValueError:
        return False
    return True


class SuccessManager(models.Manager):
    def get_queryset(self) -> models.QuerySet:
        return super().get_queryset().filter(success=True)


class FailureManager(models.Manager):
    def get_queryset(self) -> models.QuerySet:
        return super().get_queryset().filter(success=False)


class Success(Task):
    objects = SuccessManager()

    class Meta:
        app_label = "djq"
        proxy = True
        verbose_name = _("Successful task")
        verbose_name_plural = _("Successful tasks")
        ordering = ["-stopped"]


class Failure(Task):
    objects = FailureManager()

    class Meta:
        app_label = "djq"
        proxy = True
        verbose_name = _("Failed task")
        verbose_name_plural = _("Failed tasks")
        ordering = ["-stopped"]


class Schedule(models.Model):
    """A task to run at ``next_run`` and then again by ``schedule_type`` (spec 1.8).

    ``args``/``kwargs`` are Python literals kept as text, so they can be edited in the
    admin (see :mod:`djq.schedules.arguments`). ``cron`` and ``time_zone`` go beyond the
    spec: a CRON schedule follows a cron expression, and a time zone makes DAILY and
    longer types keep their local wall-clock time (see :mod:`djq.schedules.next_run`).
    """

    ONCE, MINUTES, HOURLY, DAILY = sched.ONCE, sched.MINUTES, sched.HOURLY, sched.DAILY
    WEEKLY, MONTHLY, QUARTERLY = sched.WEEKLY, sched.MONTHLY, sched.QUARTERLY
    YEARLY, CRON = sched.YEARLY, sched.CRON
    TYPE = (
        (ONCE, _("Once")),
        (MINUTES, _("Minutes")),
        (HOURLY, _("Hourly")),
        (DAILY, _("Daily")),
        (WEEKLY, _("Weekly")),
        (MONTHLY, _("Monthly")),
        (QUARTERLY, _("Quarterly")),
        (YEARLY, _("Yearly")),
        (CRON, _("Cron")),
    )

    name = models.CharField(max_length=100, null=True, blank=True)
    func = models.CharField(max_length=256, help_text="e.g. module.tasks.function")
    hook = models.CharField(max_length=256, null=True, blank=True,
                            help_text="e.g. module.tasks.result_function")
    args = models.TextField(null=True, blank=True, help_text=_("e.g. 1, 2, 'John'"))
    kwargs = models.TextField(null=True, blank=True,
                              help_text=_("e.g. x=1, y=2, name='John'"))
    schedule_type = models.CharField(max_length=1, choices=TYPE, default=ONCE,
                                     verbose_name=_("Schedule Type"))
    minutes = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text=_("Number of minutes for the Minutes type"))
    cron = models.CharField(max_length=100, null=True, blank=True,
                            help_text=_("Cron expression for the Cron type, e.g. 30 9 * * 1-5"))
    time_zone = models.CharField(
        max_length=63, null=True, blank=True,
        help_text=_("IANA time zone for daily and longer types and cron, e.g. Europe/Paris "
                    "(empty: UTC)"))
    repeats = models.IntegerField(default=-1, verbose_name=_("Repeats"),
                                  help_text=_("n = n times, -1 = forever"))
    next_run = models.DateTimeField(default=timezone.now, verbose_name=_("Next Run"))
    task = models.CharField(max_length=100, null=True, editable=False)

    class Meta:
        app_label = "djq"
        verbose_name = _("Scheduled task")
        verbose_name_plural = _("Scheduled tasks")
        ordering = ["next_run"]
        indexes = [models.Index(fields=["next_run"], name="djq_schedule_next_run")]

    def __str__(self) -> str:
        return self.name or self.func

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.schedule_type == "T":  # the spec names MINUTES 'T' once; Django Q uses 'I'
            self.schedule_type = self.MINUTES
        super().save(*args, **kwargs)

    def clean(self) -> None:
        """Validation for forms (the admin): the scheduler would otherwise record these
        as failures when the schedule comes due."""
        from django.core.exceptions import ValidationError

        from djq.schedules import arguments

        errors = {}
        for field, parse in (("args", arguments.parse_args),
                             ("kwargs", arguments.parse_kwargs)):
            try:
                parse(getattr(self, field))
            except arguments.ArgumentsError as exc:
                errors[field] = str(exc)
        if self.schedule_type == self.CRON:
            try:
                sched.check_cron(self.cron)
            except sched.ScheduleError as exc:
                errors["cron"] = str(exc)
        if self.schedule_type == self.MINUTES and not self.minutes:
            errors["minutes"] = _("A Minutes schedule needs a number of minutes.")
        try:
            sched.zone(self.time_zone)
        except sched.ScheduleError as exc:
            errors["time_zone"] = str(exc)
        if errors:
            raise ValidationError(errors)

    # -- the spec's methods ---------------------------------------------------------------
    def _last_task(self) -> Task | None:
        return Task.objects.filter(pk=self.task).first() if self.task else None

    def success(self) -> bool | None:
        """The success of the last task this schedule created (``None``: none saved)."""
        task = self._last_task()
        return task.success if task else None

    success.boolean = True  # type: ignore[attr-defined]
    success.short_description = _("Success")  # type: ignore[attr-defined]

    def last_run(self) -> str | None:
        """An admin link to the result of the last run; ``None`` when there is none (not
        run yet, still queued, not saved, or deleted)."""
        from django.urls import reverse
        from django.utils.html import format_html

        task = self._last_task()
        if task is None:
            return None
        view = "admin:djq_success_change" if task.success else "admin:djq_failure_change"
        return format_html('<a href="{}">[{}]</a>', reverse(view, args=(task.id,)), task.name)

    last_run.short_description = _("Last run")  # type: ignore[attr-defined]
