"""``manage.py qinfo``: a one-off summary of the clusters; ``--config`` prints the
effective ``Q_CLUSTER`` with secrets masked."""

from __future__ import annotations

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Shows a summary of the djq clusters, or with --config the configuration."
    # A diagnostic: it must run when the configuration is broken.
    requires_system_checks: list = []

    def add_arguments(self, parser) -> None:
        parser.add_argument("--config", action="store_true",
                            help="Print the effective configuration (secrets masked).")

    def handle(self, *args, **options) -> None:
        from djq.cluster.info import config_text, info
        from djq.conf import conf

        if options["config"]:
            self.stdout.write(config_text(conf))
            return
        info(stdout=self.stdout)
