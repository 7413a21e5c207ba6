"""/api/v1: the public monitor's endpoints, served from the stored latest crawl (state) or checked now (reachability)."""

from __future__ import annotations

from asgiref.sync import sync_to_async
from django.conf import settings
from django.http import JsonResponse
from django.views.decorators.cache import never_cache

from explorer.api.state_cache import rendered_state
from explorer.crawls.crawling import initial_peers
from explorer.ratelimits import retry_after
from explorer.rendered import bytes_response
from swarm.dial import check_reachable
from swarm.records import is_valid_peer_id


def state(request):
    """The document's bytes, revalidated on each use (ETag / Last-Modified: a client with the current copy gets a
    304)."""
    return bytes_response(request, rendered_state(), "application/json")


def client_ip(request) -> str:
    return request.META.get("REMOTE_ADDR", "")


@never_cache
async def is_reachable(request, peer_id: str):
    """Dials the peer now from our DHT node (the check Petals servers run before they announce themselves).
    Rate-limited per client address, because every call makes outbound connections."""
    your_ip = client_ip(request)
    wait = await sync_to_async(retry_after)(request, "api-v1-is-reachable", settings.IS_REACHABLE_RATE)
    if wait is not None:
        response = JsonResponse({"success": False, "message": f"too many checks from your address (limit "
                                 f"{settings.IS_REACHABLE_RATE}); try again later", "your_ip": your_ip}, status=429)
        response["Retry-After"] = str(wait)
        return response
    if not is_valid_peer_id(peer_id):
        return JsonResponse({"success": False, "message": "not a valid peer id (expected a base58 libp2p peer id)",
                             "your_ip": your_ip}, status=400)
    try:
        ok, message = await sync_to_async(check_reachable, thread_sensitive=False)(
            peer_id, initial_peers(), settings.REACHABILITY_TIMEOUT)
    except Exception as error:
        return JsonResponse({"success": False, "message": f"could not run the check: {error}"[:300],
                             "your_ip": your_ip}, status=503)
    return JsonResponse({"success": ok, "message": message, "your_ip": your_ip})
