"""Servers' public names by peer id, for links that show a name rather than a peer id (the `server_link` filter)."""

from __future__ import annotations

from typing import Iterable

from explorer.models import Peer


def public_names(servers: Iterable) -> dict[str, str]:
    """peer id -> public name of the servers (crawl records or Peer rows) that have one."""
    return {server.peer_id: server.public_name for server in servers if server.public_name}


def names_for(peer_ids: Iterable[str], servers: Iterable = ()) -> dict[str, str]:
    """The public names of these peers: from `servers` (the latest crawl's records) first, then one query of the
    stored peers for the rest (a server that left the swarm keeps its last name)."""
    wanted = set(peer_ids)
    if not wanted:
        return {}
    names = {peer_id: name for peer_id, name in public_names(servers).items() if peer_id in wanted}
    missing = wanted - names.keys()
    if missing:
        names.update(public_names(Peer.objects.filter(peer_id__in=missing).exclude(public_name="")
                                  .only("peer_id", "public_name")))
    return names
