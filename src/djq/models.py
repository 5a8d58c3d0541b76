"""Result models: ``Task`` and its ``Success`` / ``Failure`` proxies."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _
from picklefield.fields import PickledObjectField


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
