"""Django app configuration for djq."""

from __future__ import annotations

from django.apps import AppConfig
from django.utils.functional import cached_property


class DjqConfig(AppConfig):
    name = "djq"
    default_auto_field = "django.db.models.AutoField"

    @cached_property
    def verbose_name(self) -> str:  # type: ignore[override]
        from djq.conf import conf

        return conf.label

    def ready(self) -> None:
        # Registering checks is idempotent (the registry is a set); the import is what
        # registers them.
        from djq import checks  # noqa: F401
        from djq import signals  # noqa: F401
