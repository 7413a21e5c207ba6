"""POST /servers/<peer_id>/probe: a visitor asks for a probe through one server now (rate-limited per address).

Answers 202 with the probe's id and its progress WebSocket (JSON clients: static/explorer/probe.js), or redirects back
to the server page (a plain form post, without JavaScript). One visitor probe per server at a time
(explorer.probes.visitor_probes): asking again while it waits, or within PROBE_SERVER_COOLDOWN after it finished,
returns that probe ("created": false, "again_in": seconds left of the cool-down). A refusal (too many requests from
one address: 429; the site's queue of visitor probes full: 503; a server that is not online, no such server) is JSON
for JSON clients and a page in the site's layout for a plain form post, with the same status (and Retry-After).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Optional

from django.conf import settings
from django.http import HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_POST

from explorer.models import Server
from explorer.models.swarm import ServerStates
from explorer.probes.visitor_probes import ProbeRefused, request_server_probe
from explorer.ratelimits import retry_after
from swarm.records import is_valid_peer_id


def _wants_json(request) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _refused(request, status: int, message: str, peer_id: Optional[str] = None, wait: Optional[int] = None):
    """JSON {"error": message} for JSON clients; else the refusal page, which says when to retry and links back."""
    if _wants_json(request):
        response = JsonResponse({"error": message}, status=status)
    else:
        retry_at = datetime.now(timezone.utc) + timedelta(seconds=wait) if wait is not None else None
        response = render(request, "explorer/probe_refused.html", {
            "message": message, "status": status, "wait": wait, "retry_at": retry_at,
            "server_url": reverse("server", args=[peer_id]) if peer_id else None,
        }, status=status)
    if wait is not None:
        response["Retry-After"] = str(wait)
    return response


@require_POST
def request_probe(request, peer_id: str):
    if not is_valid_peer_id(peer_id):
        return _refused(request, 404, "that is not a valid peer id")
    wait = retry_after(request, "probe-request", settings.PROBE_REQUEST_RATE)
    if wait is not None:
        return _refused(request, 429, f"too many probe requests from your address (limit "
                                      f"{settings.PROBE_REQUEST_RATE}); try again in {wait} s", peer_id, wait)
    dht_prefix = request.POST.get("model", "")
    server = (Server.objects.select_related("model", "peer")
              .filter(peer__peer_id=peer_id, model__dht_prefix=dht_prefix).first())
    if server is None:
        return _refused(request, 404, "this server does not serve that model", peer_id)
    if server.state != ServerStates.ONLINE:
        return _refused(request, 409, f"the server is {server.state} on {dht_prefix[:64]}, so there is nothing to "
                                      f"probe", peer_id)
    try:
        requested = request_server_probe(server)
    except ProbeRefused as refusal:
        return _refused(request, refusal.status, refusal.message, peer_id, refusal.retry_after)
    probe = requested.probe
    if _wants_json(request):
        return JsonResponse({"id": probe.pk, "status": probe.status, "created": requested.created,
                             "again_in": requested.again_in, "ws": f"/ws/probes/{probe.pk}/"}, status=202)
    return HttpResponseRedirect(f"{reverse('server', args=[peer_id])}?probe={probe.pk}#probe")
