"""Pages: a plain overview of the latest crawl (the full website comes with its own issue) and a health check."""

from __future__ import annotations

from django.http import JsonResponse
from django.shortcuts import render

from explorer.ingest import latest_snapshot
from explorer.models import Crawl


def overview(request):
    return render(request, "explorer/overview.html", {
        "snapshot": latest_snapshot(),
        "last_crawl": Crawl.objects.first(),
    })


def healthz(request):
    last = Crawl.objects.first()
    return JsonResponse({"ok": True, "last_crawl": None if last is None else last.started_at.isoformat()})
