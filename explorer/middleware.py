"""Rejects requests whose path or query carries a NUL character: no database stores one (PostgreSQL refuses them),
so such a request can only be junk; it gets a clear 400 instead of a server error."""

from django.http import JsonResponse


class RejectNulCharactersMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if "\x00" in request.path or any("\x00" in key or any("\x00" in value for value in values)
                                         for key, values in request.GET.lists()):
            return JsonResponse({"detail": "NUL characters are not allowed in the path or the query"}, status=400)
        return self.get_response(request)
