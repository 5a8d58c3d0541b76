"""``manage.py qplugins``: installed djq plugins, what each registers, and load errors."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand

from djq.plugins import plugins

KINDS = ("brokers", "reporters", "serializers", "stat_stores")


class Command(BaseCommand):
    help = "List installed djq plugins: distribution, version, what each registers, errors."
    # A diagnostic: it must run when the configuration is broken (e.g. a missing plugin).
    requires_system_checks: list = []

    def add_arguments(self, parser) -> None:
        parser.add_argument("--json", action="store_true", help="Print the listing as JSON.")

    def handle(self, *args, **options) -> None:
        rows = plugins.listing()
        if options["json"]:
            self.stdout.write(json.dumps(rows, indent=2))
            return
        self.stdout.write(format_table(rows, self.style))


def format_table(rows: list[dict], style=None) -> str:
    """One line per plugin; a failed plugin gets its error on an indented line."""
    header = ("PLUGIN", "DISTRIBUTION", "VERSION", "REGISTERS")
    table = [header]
    for row in rows:
        registers = "; ".join(f"{kind.replace('_', ' ')}: {', '.join(row[kind])}"
                              for kind in KINDS if row[kind])
        if row["error"]:
            registers = "FAILED TO LOAD"
        table.append((row["name"], row["distribution"] or "-", row["version"] or "-",
                      registers or "-"))
    widths = [max(len(r[i]) for r in table) for i in range(3)]
    lines = []
    for i, (row, cells) in enumerate(zip([None, *rows], table)):
        line = "  ".join(c.ljust(w) for c, w in zip(cells[:3], widths)) + "  " + cells[3]
        if i == 0 and style:
            line = style.MIGRATE_HEADING(line)
        lines.append(line.rstrip())
        if row and row["error"]:
            error = f"    error: {row['error']}"
            lines.append(style.ERROR(error) if style else error)
    if not rows:
        lines.append("No djq plugins installed.")
    return "\n".join(lines)
