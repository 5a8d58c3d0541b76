"""``manage.py qmonitor``: live status of every cluster; ``q`` quits."""

from __future__ import annotations

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Shows a live table of the djq clusters (press q to quit)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--run-once", action="store_true",
                            help="Draw the table once and exit.")

    def handle(self, *args, **options) -> None:
        from djq.monitor import monitor

        monitor(run_once=options["run_once"])
