"""/badges/servers/<peer_id>.svg and .json (shields.io endpoint format): one server's state in the latest crawl
(online, unreachable, joining, offline; "absent" for a peer the latest crawl did not see, also one never seen at all).
Always a badge with status 200, as the model badges (explorer.api.badges): a README embeds it whatever the server
does."""

from __future__ import annotations

from django.views.decorators.cache import cache_control

from explorer.api.badges import json_badge, svg_badge
from explorer.crawls.latest import latest_snapshot
from explorer.display import cap
from swarm.records import is_valid_peer_id
from swarm.snapshot import best_state

COLORS = {"online": "#2e7d32", "joining": "#1565c0", "unreachable": "#c62828", "offline": "#616161",
          "absent": "#9e9e9e"}
LABEL = "petals server"


def server_status(peer_id: str) -> tuple[str, str]:
    """(label, status): the server's public name (capped) or LABEL, and its best state over the models it serves."""
    snapshot = latest_snapshot() if is_valid_peer_id(peer_id) else None
    records = [record for record in snapshot.servers if record.peer_id == peer_id] if snapshot else []
    best = best_state(records)  # a peer serving several models shows its best state
    status = best.value if best is not None else "absent"
    name = next((record.public_name for record in records if record.public_name), None)
    return (cap(name, 32) if name else LABEL), status


@cache_control(max_age=30)
def server_badge_json(request, peer_id: str):
    label, status = server_status(peer_id)
    return json_badge(label, status, COLORS[status])


@cache_control(max_age=30)
def server_badge_svg(request, peer_id: str):
    label, status = server_status(peer_id)
    return svg_badge(request, label, status, COLORS[status])
