"""`/models/<dht_prefix>/`: coverage map, probe status, server table, history and probe charts, recent probes,
consistency verdicts, recent state changes."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Optional

from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string

from explorer.crawls import latest
from explorer.crawls.history import DEFAULT_RANGE, RANGES, chart_points, model_series
from explorer.crawls.live_state import server_key
from explorer.models import Model, StateChange
from explorer.probes.display import model_probe_context
from explorer.views.charts import model_history_figures, probe_latency_figure
from explorer.views.common import page_context
from explorer.views.page_cache import shared_page
from swarm.snapshot import CrawlSnapshot, ModelReport

RECENT_CHANGES = 50


def coverage_rows(report: ModelReport) -> list[dict]:
    """One row per server: for each block, the server's state if it serves that block, else None."""
    return [
        {"server": server, "key": server_key(report.dht_prefix, server.peer_id),
         "cells": [server.state.value if server.start_block <= block < server.end_block else None
                   for block in range(report.num_blocks)]}
        for server in report.servers
    ]


def _sections_builder(dht_prefix: str):
    """Renders what a model page shows of the latest crawl alone (the coverage map and the server table); for
    latest.derived, so that it happens once per crawl and model, not once per visit (a megabyte of HTML for a model
    with a hundred servers)."""

    def build(snapshot: Optional[CrawlSnapshot], _crawl_id: Optional[int]) -> dict:
        report = snapshot.model(dht_prefix) if snapshot else None
        pings_to: dict[str, dict] = {}
        for server in (snapshot.servers if snapshot else ()):
            for target, rtt in server.next_pings.items():
                pings_to.setdefault(target, {})[server.peer_id] = rtt
        context = {"report": report, "dht_prefix": dht_prefix, "pings_to": pings_to,
                   "coverage": coverage_rows(report) if report else []}
        return {"coverage": render_to_string("explorer/partials/coverage.html", context),
                "servers": render_to_string("explorer/partials/server_table.html", context) if report else ""}

    return build


def model_context(dht_prefix: str) -> dict:
    context = page_context()
    model = Model.objects.filter(dht_prefix=dht_prefix).first()
    report = context["snapshot"].model(dht_prefix) if context["snapshot"] else None
    if model is None and report is None:
        raise Http404(f"no model with dht_prefix {dht_prefix[:64]!r} has been seen")
    context.update(model=model, report=report, dht_prefix=dht_prefix,
                   sections=latest.derived(("model-sections", dht_prefix), _sections_builder(dht_prefix)))
    return context


@shared_page
def model_page(request, dht_prefix: str):
    """The whole page, or with ?fragment=coverage just the coverage map (for live pages that must redraw it)."""
    context = model_context(dht_prefix)
    if request.GET.get("fragment") == "coverage":
        return HttpResponse(context["sections"]["coverage"])
    range_key = request.GET.get("range", DEFAULT_RANGE)
    if range_key not in RANGES:
        range_key = DEFAULT_RANGE
    model = context["model"]
    now = datetime.now(timezone.utc)
    window = (now - RANGES[range_key], now)
    context.update(model_probe_context(model, window))
    context["probe_figure"] = probe_latency_figure(context["probe_series"], window) if context["probe_series"] else None
    figures = (model_history_figures(chart_points(model_series(model, range_key, now), RANGES[range_key]), window)
               if model else {})
    context.update(
        range_key=range_key,
        ranges=list(RANGES),
        charts=[{"id": f"figure-{name}", "figure": figure} for name, figure in figures.items()],
        changes=(StateChange.objects.filter(server__model=model).select_related("server__peer", "server__model")[:RECENT_CHANGES]
                 if model else []),
    )
    return render(request, "explorer/model.html", context)
