"""`/`: every model with its health and latest probe, swarm totals, top contributors, bootstrap peers, last crawl."""

from __future__ import annotations

from collections import Counter, defaultdict

from django.db.models import OuterRef, Subquery
from django.shortcuts import render

from explorer import outlines
from explorer.crawls.regions import latest_locations
from explorer.locations import attribution
from explorer.models import Model, Probe
from explorer.views.common import page_context
from explorer.views.globe import globe_figure
from explorer.views.page_cache import shared_page
from swarm.snapshot import HEALTH_WORDS, CrawlSnapshot, ServerState

TOP_CONTRIBUTORS = 10


def swarm_totals(snapshot: CrawlSnapshot) -> dict:
    online = [server for server in snapshot.servers if server.state == ServerState.ONLINE]
    peers = {server.peer_id for server in online}
    relayed = {server.peer_id for server in online if server.using_relay}
    return {
        "servers_online": len(peers),
        "models": len(snapshot.models),
        "health": [(word, sum(1 for model in snapshot.models if model.health == word)) for word in HEALTH_WORDS],
        "versions": Counter(server.version or "unknown" for server in online).most_common(),
        "relay_share": len(relayed) / len(peers) if peers else None,
        "rejected": snapshot.rejected_total,
    }


def top_contributors(snapshot: CrawlSnapshot) -> list[dict]:
    by_peer: dict[str, dict] = defaultdict(lambda: {"throughput": 0.0, "blocks": 0, "name": None})
    for server in snapshot.servers:
        if server.state == ServerState.ONLINE:
            entry = by_peer[server.peer_id]
            entry["throughput"] += server.throughput
            entry["blocks"] += server.end_block - server.start_block
            entry["name"] = entry["name"] or server.public_name
    ranked = sorted(by_peer.items(), key=lambda item: (-item[1]["throughput"], -item[1]["blocks"], item[0]))
    return [{"peer_id": peer_id, **entry} for peer_id, entry in ranked[:TOP_CONTRIBUTORS]]


def model_rows(prefixes: list[str]) -> dict[str, dict]:
    """dht_prefix -> since when its health word holds and its latest finished route probe (None if never probed),
    for all models in one query: the latest probe is a subquery per model on the (model, kind, -started_at) index."""
    latest = Probe.objects.finished_routes().filter(model=OuterRef("pk"))
    fields = ("pk", "status", "started_at")
    rows = Model.objects.filter(dht_prefix__in=prefixes).annotate(
        **{f"probe_{field}": Subquery(latest.values(field)[:1]) for field in fields},
    ).values("dht_prefix", "health_since", *(f"probe_{field}" for field in fields))
    return {row["dht_prefix"]: {
        "since": row["health_since"],
        "probe": Probe(id=row["probe_pk"], status=row["probe_status"], started_at=row["probe_started_at"])
        if row["probe_pk"] is not None else None,
    } for row in rows}


@shared_page
def overview(request):
    context = page_context()
    snapshot = context["snapshot"]
    if snapshot is not None:
        rows = model_rows([model.dht_prefix for model in snapshot.models])
        context.update(
            models=[{"report": model, **rows.get(model.dht_prefix, {"since": None, "probe": None})}
                    for model in snapshot.models],
            totals=swarm_totals(snapshot),
            contributors=top_contributors(snapshot),
            globe=globe_figure(snapshot, latest_locations(),
                              outlines=outlines.installed_version() is not None),
            geo_attribution=attribution(),
        )
    return render(request, "explorer/overview.html", context)
