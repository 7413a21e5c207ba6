"""`/rejected/`: the DHT records the latest crawl refused, with reasons, and how many each recent crawl refused, so
that operators can see a peer writing garbage (or an attack) into the swarm."""

from __future__ import annotations

from django.shortcuts import render

from explorer.models import Crawl
from explorer.views.common import page_context

RECENT_CRAWLS = 48


def rejected_records(request):
    context = page_context()
    context["recent_crawls"] = Crawl.objects.only(
        "started_at", "status", "records_rejected", "servers_seen")[:RECENT_CRAWLS]
    return render(request, "explorer/rejected.html", context)
