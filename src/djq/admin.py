"""Admin pages for results: "Successful tasks" and "Failed tasks" (spec 1.11).

Plain ``ModelAdmin`` pages, as in Django Q: searchable by name, func and group, filtered by
group, read-only (no add, no edit; delete is allowed). Failed tasks can be resubmitted to the
queue; a resubmitted failure is deleted, as Django Q does, so a task is never listed twice.
The admin section is titled ``Q_CLUSTER['label']`` (the app's ``verbose_name``).
"Scheduled tasks" lists schedules with the spec's columns and filters, editable.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _, ngettext

from djq.models import Failure, Schedule, Success, Task

RESULT_FIELDS = ("name", "func", "hook", "args", "kwargs", "result", "group", "started",
                 "stopped", "time_taken", "attempt_count", "id")


class TaskAdmin(admin.ModelAdmin):
    """Shared read-only layout of both result pages."""

    list_display = ("name", "func", "started", "stopped", "time_taken", "group")
    search_fields = ("name", "func", "group")
    list_filter = ("group",)
    fields = RESULT_FIELDS
    readonly_fields = RESULT_FIELDS

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Viewing needs change or view permission; returning False for change leaves the
        # detail page visible (read-only) to anyone with view permission.
        return False

    @admin.display(description=_("Time taken"))
    def time_taken(self, obj: Task) -> float:
        return obj.time_taken()


@admin.register(Success)
class SuccessAdmin(TaskAdmin):
    pass


@admin.action(description=_("Resubmit selected tasks to the queue"))
def resubmit(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet) -> None:
    """Enqueue each failed task again with its func, args, kwargs, hook and group, and
    delete the failure once the new task is queued (Django Q's ``retry_failed``).

    A failure that cannot be enqueued (unserializable arguments, a package over the
    broker's size limit, a broker error) is kept and reported; the others still go.
    """
    from djq.tasks import async_task

    done = 0
    for task in queryset:
        options = {"hook": task.hook, "group": task.group}
        try:
            async_task(task.func, *(task.args or ()), q_options=options,
                       **(task.kwargs or {}))
        except Exception as exc:  # keep the failure, tell the user, go on with the rest
            modeladmin.message_user(
                request, _("Could not resubmit %(name)s: %(error)s")
                % {"name": task.name, "error": exc}, messages.ERROR)
            continue
        task.delete()
        done += 1
    if done:
        modeladmin.message_user(request, ngettext(
            "%(count)d task was resubmitted to the queue.",
            "%(count)d tasks were resubmitted to the queue.", done) % {"count": done},
            messages.SUCCESS)


@admin.register(Failure)
class FailureAdmin(TaskAdmin):
    list_display = ("name", "func", "started", "stopped", "time_taken", "group",
                    "short_result")
    actions = (resubmit,)

    @admin.display(description=_("Error"))
    def short_result(self, obj: Task) -> str:
        text = str(obj.result)
        return text if len(text) <= 80 else text[:79] + "\u2026"


@admin.register(Schedule)
class ScheduleAdmin(admin.ModelAdmin):
    """The spec's "Scheduled tasks" page: create, edit or delete schedules; the last
    run links to its result and the success icon shows how it went."""

    list_display = ("id", "name", "func", "schedule_type", "repeats", "next_run",
                    "last_run", "success")
    list_display_links = ("id", "name")
    list_filter = ("next_run", "schedule_type")
    search_fields = ("name", "func")
    readonly_fields = ("last_run", "success")
    fieldsets = (
        (None, {"fields": ("name", "func", "hook", "args", "kwargs")}),
        (_("Schedule"), {"fields": ("schedule_type", "minutes", "cron", "time_zone",
                                    "repeats", "next_run")}),
        (_("Last run"), {"fields": ("last_run", "success")}),
    )
