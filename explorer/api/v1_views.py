"""/api/v1: the public monitor's endpoints, served from the stored latest crawl (state) or checked now (reachability)."""

from __future__ import annotations

from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from explorer.api import reachability
from explorer.api.state_cache import rendered_state
from explorer.rendered import bytes_response


def state(request):
    """The document's bytes, revalidated on each use (ETag / Last-Modified: a client with the current copy gets a
    304)."""
    return bytes_response(request, rendered_state(), "application/json")


def client_ip(request) -> str:
    return request.META.get("REMOTE_ADDR", "")


@never_cache
@require_safe
async def is_reachable(request, peer_id: str):
    """Dials the peer now from our DHT node (the check Petals servers run before they announce themselves), as
    explorer.api.reachability answers it. Through the web server a GET or HEAD for this site never gets here: the
    ASGI layer in front of Django (explorer.api.reachability_endpoint) answers it without taking a page slot. This
    view keeps the URL for reverse() and the routes, and answers Django's test client; other methods get a 405."""
    answer = await reachability.answer(peer_id, client_ip(request))
    response = JsonResponse(answer.body, status=answer.status)
    if answer.retry_after is not None:
        response["Retry-After"] = str(answer.retry_after)
    return response
