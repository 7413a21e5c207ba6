"""`/contribute/`: where the swarm needs servers (each model's weakest block ranges, worst-off model first), the exact
command that fills the worst range, and the contributors' board."""

from __future__ import annotations

from typing import Optional, Sequence

from django.conf import settings
from django.shortcuts import render

from explorer.views.common import page_context
from explorer.views.contributors import boards
from explorer.views.page_cache import shared_page
from swarm.gaps import model_needs, run_server_command


def command_peers(snapshot_peers: Sequence[str]) -> Optional[tuple[str, ...]]:
    """The --initial_peers of the commands: the peers the latest crawl joined through; None when they are the public
    swarm's (no SWARM_INITIAL_PEERS configured), which petals' run_server joins by default."""
    if not snapshot_peers:
        return None
    if not settings.SWARM_INITIAL_PEERS:
        from explorer.crawls.crawling import initial_peers  # petals' PUBLIC_INITIAL_PEERS (imports petals once)

        if set(snapshot_peers) <= set(initial_peers()):
            return None
    return tuple(snapshot_peers)


@shared_page
def contribute(request):
    context = page_context()
    snapshot = context["snapshot"]
    if snapshot is not None:
        peers = command_peers(snapshot.initial_peers)
        context["needs"] = [
            {"need": need, "command": run_server_command(need.report.dht_prefix, need.report.repository, need.worst,
                                                         peers)}
            for need in model_needs(snapshot.models)]
    context["boards"] = boards()
    return render(request, "explorer/contribute.html", context)
