"""`/servers/<peer_id>/`: one peer's records, spans over time, uptime, sessions, samples, pings, state changes, the
probes that went through it (and a rate-limited "probe this server" button). Sessions and state changes are shown a
page at a time (?sessions_page=, ?changes_page=; a value they do not accept is a 400, see explorer.views.paging)."""

from __future__ import annotations

from datetime import datetime, timezone

from django.http import Http404
from django.shortcuts import render
from django.urls import reverse

from explorer.crawls.history import RANGES, uptime
from explorer.locations import location_context
from explorer.models import Peer, Server, ServerSample, ServerSession, StateChange
from explorer.probes.display import server_probe_context
from explorer.views.charts import server_history_figure
from explorer.views.common import page_context
from explorer.views.doctor import FLAPPING_WINDOW, Diagnosis, Facts, StoredServer, diagnose
from explorer.views.names import names_for
from explorer.views.paging import BadQuery, bad_request, page_links, page_number, page_of
from explorer.views.vantage_rows import vantage_context
from swarm.records import is_valid_peer_id

SESSIONS_SHOWN = 50
CHANGES_SHOWN = 100


def uptime_rows(sessions: list, first_seen: datetime, now: datetime) -> list[dict]:
    """Each uptime window's share, and whether the window reaches back before the server was first seen (then its
    share covers only the time since: the page says so rather than show 100 % for 30 d of a server seen today)."""
    return [{"window": key, "share": share, "since_first_seen": now - RANGES[key] < first_seen}
            for key, share in uptime(sessions, first_seen, now).items()]


def badge_markdown(request, peer_id: str) -> str:
    """The Markdown a server's operator pastes into a README: its badge, linking to this page."""
    badge = request.build_absolute_uri(reverse("server-badge-svg", args=[peer_id]))
    return f"[![Petals server]({badge})]({request.build_absolute_uri(reverse('server', args=[peer_id]))})"


def diagnosis_of(peer, peer_id: str, records: list, snapshot, sessions: list, changes: list,
                 now: datetime) -> Diagnosis:
    """The reachability doctor's findings (explorer.views.doctor) from what the page already loaded, plus one query."""
    stored = [StoredServer(*row) for row in Server.objects.filter(peer=peer).values_list(
        "model__dht_prefix", "state", "state_since")] if peer else []
    ended = [session.ended_at for session in sessions]
    return diagnose(Facts(
        peer_id=peer_id, now=now, records=records, swarm=snapshot.servers if snapshot else (), stored=stored,
        recent_changes=sum(1 for change in changes if not change.span_changed and change.at >= now - FLAPPING_WINDOW),
        last_online=max(ended) if ended and None not in ended else None,
    ))


def server_page(request, peer_id: str):
    if not is_valid_peer_id(peer_id):
        raise Http404("that is not a valid peer id")
    context = page_context()
    peer = Peer.objects.filter(peer_id=peer_id).first()
    snapshot = context["snapshot"]
    records = [server for server in snapshot.servers if server.peer_id == peer_id] if snapshot else []
    if peer is None and not records:
        raise Http404("this peer has not been seen in the swarm")
    sessions = list(ServerSession.objects.filter(server__peer=peer).select_related("server__model")) if peer else []
    pings_from = {
        server.peer_id: server.next_pings[peer_id]
        for server in (snapshot.servers if snapshot else ()) if peer_id in server.next_pings
    }
    samples = list(ServerSample.objects.filter(server__peer=peer).values("hour", "throughput", "cache_tokens_left"))
    changes = (list(StateChange.objects.filter(server__peer=peer).select_related("server__peer", "server__model"))
               if peer else [])
    try:
        sessions_page = page_of(sessions, page_number(request.GET, "sessions_page"), SESSIONS_SHOWN, "sessions_page")
        changes_page = page_of(changes, page_number(request.GET, "changes_page"), CHANGES_SHOWN, "changes_page")
    except BadQuery as error:
        return bad_request(error)
    context.update(server_probe_context(peer))
    now = datetime.now(timezone.utc)
    pings_to = {target: rtt for record in records for target, rtt in record.next_pings.items()}
    requested = request.GET.get("probe", "")
    context.update(
        requested_probe=int(requested) if requested.isdigit() and len(requested) < 12 else None,
        peer=peer, peer_id=peer_id, records=records,
        uptime=uptime_rows(sessions, peer.first_seen, now) if peer else [],
        sessions=sessions_page.items, sessions_page=sessions_page,
        sessions_links=page_links(sessions_page, request.GET, "sessions_page", "sessions"),
        span_changes=[change for change in changes if change.span_changed],
        changes=changes_page.items, changes_page=changes_page,
        changes_links=page_links(changes_page, request.GET, "changes_page", "changes"),
        pings_to=pings_to,
        pings_from=pings_from,
        names=names_for([*pings_to, *pings_from], snapshot.servers if snapshot else ()),  # at most one query
        figure=server_history_figure(samples, peer.first_seen, now) if samples else None,
        **location_context(records),
        diagnosis=diagnosis_of(peer, peer_id, records, snapshot, sessions, changes, now),
        badge_markdown=badge_markdown(request, peer_id),
        **vantage_context(peer, records, snapshot),
    )
    return render(request, "explorer/server.html", context)
