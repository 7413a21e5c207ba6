"""`/rejected/`: the DHT records the latest crawl refused, with reasons, and for each recent crawl how many it refused
and how its rpc_info checks went, so that operators can see a peer writing garbage (or an attack) into the swarm, and
a crawler that can no longer tell who is up; and the vantages checks run from, up or down."""

from __future__ import annotations

from django.shortcuts import render
from django.utils import timezone

from explorer.models import Crawl
from explorer.views.common import page_context
from explorer.views.vantage_rows import vantage_states

RECENT_CRAWLS = 48


def rejected_records(request):
    context = page_context()
    context["recent_crawls"] = Crawl.objects.only(
        "started_at", "status", "records_rejected", "servers_seen", "checks_wanted", "checks_answered", "checks_failed",
        "checks_unfinished", "checks_held", "checks_deferred", "checks_queued_s")[:RECENT_CRAWLS]
    context["vantages"] = vantage_states(timezone.now())
    return render(request, "explorer/rejected.html", context)
