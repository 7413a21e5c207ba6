"""`/live/state.json`: the live state document, for pages whose WebSocket is blocked (they poll this instead)."""

from django.http import JsonResponse
from django.views.decorators.cache import never_cache

from explorer.crawls.latest import latest_live_state


@never_cache
def live_state_json(request):
    return JsonResponse(latest_live_state())
