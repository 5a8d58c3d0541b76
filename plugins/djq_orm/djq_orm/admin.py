"""The "Queued tasks" admin page (spec 1.11.4): the packages waiting in the ORM broker.

Task name and func come from the package's verified header (:meth:`OrmQ.header`); the
body is never deserialized here, so a tampered or foreign package is shown as unreadable
rather than unpickled. Rows can be edited and deleted, for development, as the spec says;
new packages are only made by ``async_task``. Every query uses the broker's database
(``Q_CLUSTER['orm']``). The page is hidden when another broker is configured.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from djq_orm.models import OrmQ

UNREADABLE = _("(signature does not verify)")


def _alias() -> str:
    from djq.conf import conf

    return conf.raw.get("orm") or "default"


def _orm_selected() -> bool:
    """Is the ORM broker the configured one? (A broken configuration shows the page:
    the system checks report the error, the admin should not hide the queue.)"""
    from djq.brokers import broker_class
    from djq_orm.broker import OrmBroker

    try:
        return issubclass(broker_class(), OrmBroker)
    except Exception:
        return True


@admin.register(OrmQ)
class QueueAdmin(admin.ModelAdmin):
    list_display = ("id", "key", "task_name", "func", "lock", "attempts")
    list_filter = ("key",)
    readonly_fields = ("task_id", "task_name", "func", "group")
    fields = ("task_id", "task_name", "func", "group", "key", "lock", "attempts", "payload")

    def _header(self, obj: OrmQ) -> dict[str, Any]:
        # One signature check per row, not one per column.
        if not hasattr(obj, "_djq_header"):
            obj._djq_header = obj.header()
        return obj._djq_header

    @admin.display(description=_("Task id"))
    def task_id(self, obj: OrmQ) -> str:
        return self._header(obj).get("id") or UNREADABLE

    @admin.display(description=_("Task name"))
    def task_name(self, obj: OrmQ) -> str:
        return self._header(obj).get("name") or UNREADABLE

    @admin.display(description=_("Func"))
    def func(self, obj: OrmQ) -> str:
        return self._header(obj).get("func") or UNREADABLE

    @admin.display(description=_("Group"))
    def group(self, obj: OrmQ) -> str:
        return self._header(obj).get("group") or "-"

    # -- the broker's database ----------------------------------------------------------
    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).using(_alias())

    def save_model(self, request: HttpRequest, obj: OrmQ, form: Any, change: bool) -> None:
        obj.save(using=_alias())

    def delete_model(self, request: HttpRequest, obj: OrmQ) -> None:
        obj.delete(using=_alias())

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        queryset.using(_alias()).delete()

    # -- permissions ----------------------------------------------------------------------
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_module_permission(self, request: HttpRequest) -> bool:
        return _orm_selected() and super().has_module_permission(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _orm_selected() and super().has_view_permission(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _orm_selected() and super().has_change_permission(request, obj)
