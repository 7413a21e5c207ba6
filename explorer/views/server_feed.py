"""`/servers/<peer_id>/feed.atom`: one server's state changes as an Atom feed (Django's syndication framework), the
newest FEED_ENTRIES, so that anyone can follow a server without an account. Served like the other public pages
(explorer.views.page_cache: rendered once per crawl, with an ETag and revalidation)."""

from __future__ import annotations

from django.contrib.syndication.views import Feed
from django.http import Http404
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed
from django.utils.html import escape

from explorer.display import cap, short_peer_id
from explorer.models import Peer, StateChange
from explorer.views.page_cache import shared_page
from swarm.records import is_valid_peer_id

FEED_ENTRIES = 50


def change_title(change: StateChange) -> str:
    """"online -> unreachable on tiny-llama"; a span move says so."""
    model = cap(change.server.model.dht_prefix, 48)
    if change.span_changed and change.old_state == change.new_state:
        return f"{change.new_state}: span changed on {model}"
    return f"{change.old_state} -> {change.new_state} on {model}"


class ServerFeed(Feed):
    feed_type = Atom1Feed

    def get_object(self, request, peer_id: str) -> Peer:
        peer = Peer.objects.filter(peer_id=peer_id).first() if is_valid_peer_id(peer_id) else None
        if peer is None:
            raise Http404("this peer has not been seen in the swarm")
        return peer

    def title(self, peer: Peer) -> str:
        return f"{cap(peer.public_name, 48) or short_peer_id(peer.peer_id)}: state changes · Swarm Explorer"

    def subtitle(self, peer: Peer) -> str:
        return f"Every state change of Petals server {peer.peer_id} that the crawls saw, newest first."

    def link(self, peer: Peer) -> str:
        return reverse("server", args=[peer.peer_id])

    def feed_url(self, peer: Peer) -> str:
        return reverse("server-feed", args=[peer.peer_id])

    def items(self, peer: Peer) -> list[StateChange]:
        changes = StateChange.objects.filter(server__peer=peer).select_related("server__model", "server__peer")
        return list(changes[:FEED_ENTRIES])

    def item_title(self, change: StateChange) -> str:
        return change_title(change)

    def item_description(self, change: StateChange) -> str:
        """Atom1Feed writes it as <summary type="html">: escaped here, so that a reader shows a server's markup
        as text."""
        return escape(cap(change.reason, 300))

    def item_link(self, change: StateChange) -> str:
        return reverse("server", args=[change.server.peer.peer_id]) + "#changes"

    def item_guid(self, change: StateChange) -> str:
        return f"urn:swarm-explorer:state-change:{change.pk}"

    item_guid_is_permalink = False

    def item_pubdate(self, change: StateChange):
        return change.at

    def item_updateddate(self, change: StateChange):
        return change.at


_feed = ServerFeed()


@shared_page
def server_feed(request, peer_id: str):
    return _feed(request, peer_id=peer_id)
