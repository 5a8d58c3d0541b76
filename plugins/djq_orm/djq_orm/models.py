"""The queue table of the ORM broker."""

from __future__ import annotations

from django.db import models


class OrmQ(models.Model):
    """One queued package. ``lock`` is when a cluster claimed it; a claim older than
    ``retry`` seconds has expired and the package is delivered again."""

    id = models.BigAutoField(primary_key=True)
    key = models.CharField(max_length=100)
    payload = models.TextField()
    lock = models.DateTimeField(null=True, blank=True)
    attempts = models.IntegerField(default=0)

    class Meta:
        app_label = "djq_orm"
        verbose_name = "Queued task"
        verbose_name_plural = "Queued tasks"
        indexes = [models.Index(fields=["key", "lock", "id"], name="djq_ormq_claim")]

    def header(self) -> dict:
        """The package's verified header (id, name, func, group), or ``{}`` if the
        signature does not verify. The body is never deserialized here."""
        from djq.signing import verify

        try:
            return verify(self.payload)[0]
        except Exception:
            return {}

    def task_id(self) -> str | None:
        return self.header().get("id")

    def name(self) -> str | None:
        return self.header().get("name")

    def func(self) -> str | None:
        return self.header().get("func")

    def __str__(self) -> str:
        return self.name() or f"package {self.pk}"
