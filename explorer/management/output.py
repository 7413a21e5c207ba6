"""Shared shape of our management commands: human text by default, one JSON document with --json."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand


class ReportingCommand(BaseCommand):
    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="print one JSON document instead of text")

    def report(self, options: dict, document: dict, text: str) -> None:
        if options["json"]:
            self.stdout.write(json.dumps(document, indent=2, default=str))
        else:
            self.stdout.write(text)
