"""``manage.py qcluster``: run a djq cluster until SIGTERM or ctrl-c."""

from __future__ import annotations

import sys

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Starts a djq cluster (stop it with SIGTERM or ctrl-c; twice forces it)."

    def handle(self, *args, **options) -> None:
        from djq.cluster import Cluster
        from djq.logs import configure_logging

        configure_logging()
        code = Cluster().run()
        if code:
            sys.exit(code)
