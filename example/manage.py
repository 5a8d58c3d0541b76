#!/usr/bin/env python
"""The djq example project: ``python manage.py demo`` runs the spec's examples."""
import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "demo.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
