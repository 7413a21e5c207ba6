"""POST /servers/<peer_id>/probe: a visitor asks for a probe through one server now (rate-limited per address).

Answers 202 with the probe's id and its progress WebSocket (JSON clients), or redirects back to the server page.
One pending visitor probe per server: asking again while it waits returns the same probe.
"""

from __future__ import annotations

from django.conf import settings
from django.http import Http404, HttpResponseRedirect, JsonResponse
from django.urls import reverse
from django.views.decorators.http import require_POST

from explorer.followups import queue_probe
from explorer.models import Server
from explorer.models.swarm import ServerStates
from explorer.probes import probing
from explorer.ratelimits import retry_after
from swarm.records import is_valid_peer_id


def _wants_json(request) -> bool:
    return "application/json" in request.headers.get("Accept", "")


@require_POST
def request_probe(request, peer_id: str):
    if not is_valid_peer_id(peer_id):
        raise Http404("that is not a valid peer id")
    wait = retry_after(request, "probe-request", settings.PROBE_REQUEST_RATE)
    if wait is not None:
        response = JsonResponse({"error": f"too many probe requests from your address (limit "
                                          f"{settings.PROBE_REQUEST_RATE}); try again in {wait} s"}, status=429)
        response["Retry-After"] = str(wait)
        return response
    dht_prefix = request.POST.get("model", "")
    server = (Server.objects.select_related("model", "peer")
              .filter(peer__peer_id=peer_id, model__dht_prefix=dht_prefix).first())
    if server is None:
        raise Http404("this server does not serve that model")
    if server.state != ServerStates.ONLINE:
        return JsonResponse({"error": f"the server is {server.state} on {dht_prefix[:64]}, so there is nothing to "
                                      f"probe"}, status=409)
    probe, created = probing.request_server_probe(server)
    if created:
        queue_probe(probe.pk)
    if _wants_json(request):
        return JsonResponse({"id": probe.pk, "status": probe.status, "created": created,
                             "ws": f"/ws/probes/{probe.pk}/"}, status=202)
    return HttpResponseRedirect(f"{reverse('server', args=[peer_id])}?probe={probe.pk}#probe")
