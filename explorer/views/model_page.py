"""`/models/<dht_prefix>/`: coverage map, where its blocks are served from (explorer.crawls.regions), probe status,
server table, history and probe charts, recent probes, consistency verdicts, recent state changes."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Optional

from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string

from explorer.crawls import latest
from explorer.crawls.history import DEFAULT_RANGE, RANGES, chart_points, model_series
from explorer.crawls.regions import location_config, model_regions
from explorer.locations import attribution
from explorer.models import Model, StateChange
from explorer.probes.display import model_probe_context
from explorer.views.charts import model_history_figures, probe_latency_figure
from explorer.views.common import page_context
from explorer.views.page_cache import shared_page
from explorer.views.paging import BadQuery, bad_request
from explorer.views.server_table import TableQuery, render_table, table_page, table_query, versions
from swarm.snapshot import CrawlSnapshot

RECENT_CHANGES = 50


def _pings_to(snapshot: Optional[CrawlSnapshot]) -> dict[str, dict]:
    """target peer id -> {source peer id: rtt} over the whole crawl."""
    pings_to: dict[str, dict] = {}
    for server in (snapshot.servers if snapshot else ()):
        for target, rtt in server.next_pings.items():
            pings_to.setdefault(target, {})[server.peer_id] = rtt
    return pings_to


def _sections_builder(dht_prefix: str):
    """Renders what a model page shows of the latest crawl alone (the coverage map and the server table's first
    page with no filter), and keeps what other pages of the table are rendered from; for latest.derived, so that it
    happens once per crawl and model, not once per visit."""

    def build(snapshot: Optional[CrawlSnapshot], _crawl_id: Optional[int]) -> dict:
        report = snapshot.model(dht_prefix) if snapshot else None
        pings_to = _pings_to(snapshot)
        offered = versions(report) if report else []
        coverage = render_to_string("explorer/partials/coverage.html", {"report": report, "dht_prefix": dht_prefix})
        regions = render_to_string("explorer/partials/model_regions.html", {
            "regions": model_regions(dht_prefix), "dht_prefix": dht_prefix, "attribution": attribution()})
        servers = (render_table(report, pings_to, offered, TableQuery(), table_page(report, TableQuery()))
                   if report else "")
        return {"coverage": coverage, "regions": regions, "servers": servers, "pings_to": pings_to,
                "versions": offered}

    return build


def server_table(context: dict, query: TableQuery) -> str:
    """The server table for this query: the one kept for the crawl when it is the default, else rendered now
    (BadQuery when the page is past the last one)."""
    report, sections = context["report"], context["sections"]
    if report is None or query.is_default:
        return sections["servers"]
    return render_table(report, sections["pings_to"], sections["versions"], query, table_page(report, query))


def model_context(dht_prefix: str) -> dict:
    context = page_context()
    model = Model.objects.filter(dht_prefix=dht_prefix).first()
    report = context["snapshot"].model(dht_prefix) if context["snapshot"] else None
    if model is None and report is None:
        raise Http404(f"no model with dht_prefix {dht_prefix[:64]!r} has been seen")
    context.update(model=model, report=report, dht_prefix=dht_prefix,
                   sections=latest.derived(("model-sections", dht_prefix), _sections_builder(dht_prefix),
                                           location_config()))
    return context


@shared_page
def model_page(request, dht_prefix: str):
    """The whole page, or with ?fragment=coverage just the coverage map (for live pages that must redraw it). The
    server table's page, filters and sort come from the query (explorer.views.server_table); a value it does not
    accept is a 400 (explorer.views.paging)."""
    context = model_context(dht_prefix)
    if request.GET.get("fragment") == "coverage":
        return HttpResponse(context["sections"]["coverage"])
    try:
        context["server_table"] = server_table(context, table_query(request.GET))
    except BadQuery as error:
        return bad_request(error)
    range_key = request.GET.get("range", DEFAULT_RANGE)
    if range_key not in RANGES:
        range_key = DEFAULT_RANGE
    model = context["model"]
    now = datetime.now(timezone.utc)
    window = (now - RANGES[range_key], now)
    context.update(model_probe_context(model, window))
    context["probe_figure"] = (probe_latency_figure(context["probe_series"], window, model.first_seen)
                               if context["probe_series"] else None)
    figures = (model_history_figures(chart_points(model_series(model, range_key, now), RANGES[range_key]), window,
                                     model.first_seen)
               if model else {})
    context.update(
        range_key=range_key,
        ranges=list(RANGES),
        charts=[{"id": f"figure-{name}", "figure": figure} for name, figure in figures.items()],
        changes=(StateChange.objects.filter(server__model=model)
                 .select_related("server__peer", "server__model")[:RECENT_CHANGES] if model else []),
    )
    return render(request, "explorer/model.html", context)
