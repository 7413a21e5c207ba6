"""`/`: every model with its health, swarm totals, top contributors, bootstrap peers, last crawl."""

from __future__ import annotations

from collections import Counter, defaultdict

from django.shortcuts import render

from explorer.models import Model
from explorer.views.common import page_context
from explorer.views.page_cache import shared_page
from swarm.snapshot import CrawlSnapshot, ServerState

TOP_CONTRIBUTORS = 10


def swarm_totals(snapshot: CrawlSnapshot) -> dict:
    online = [server for server in snapshot.servers if server.state == ServerState.ONLINE]
    peers = {server.peer_id for server in online}
    relayed = {server.peer_id for server in online if server.using_relay}
    return {
        "servers_online": len(peers),
        "models": len(snapshot.models),
        "models_healthy": sum(1 for model in snapshot.models if model.healthy),
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


@shared_page
def overview(request):
    context = page_context()
    snapshot = context["snapshot"]
    if snapshot is not None:
        since = dict(Model.objects.filter(dht_prefix__in=[m.dht_prefix for m in snapshot.models])
                     .values_list("dht_prefix", "healthy_since"))
        context.update(
            models=[{"report": model, "since": since.get(model.dht_prefix)} for model in snapshot.models],
            totals=swarm_totals(snapshot),
            contributors=top_contributors(snapshot),
        )
    return render(request, "explorer/overview.html", context)
