"""The site's answers for an address with nothing behind it (404) and for a failure of ours (500): pages in the
site's layout that say what happened and link back; under /api/ a 404 is JSON, as the API's own 404s are."""

from __future__ import annotations

from django.http import Http404, HttpResponseServerError, JsonResponse
from django.shortcuts import render
from django.template import loader
from django.views.decorators.csrf import requires_csrf_token

API_PREFIX = "/api/"
NO_PAGE = "There is no page at this address."


def not_found_message(exception) -> str:
    """The reason a view gave (Http404("no model named X has been seen")), or a plain sentence when nothing matched
    the address (Django's resolver gives a dict of the patterns it tried, which is no message for a visitor)."""
    if isinstance(exception, Http404) and exception.args and isinstance(exception.args[0], str):
        return exception.args[0]
    return NO_PAGE


@requires_csrf_token
def page_not_found(request, exception=None):
    message = not_found_message(exception)
    if request.path.startswith(API_PREFIX):
        return JsonResponse({"detail": message if message != NO_PAGE else "Not found."}, status=404)
    return render(request, "404.html", {"message": message}, status=404)


def server_error(request):
    """Renders 500.html without the request: no context processor runs, so nothing here touches the database."""
    return HttpResponseServerError(loader.get_template("500.html").render())
