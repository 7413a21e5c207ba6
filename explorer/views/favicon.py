"""/favicon.ico: the site's icon (static/explorer/favicon.ico) at the address browsers and crawlers ask for unprompted;
the pages link it and its SVG twin from base.html."""

from __future__ import annotations

from functools import lru_cache

from django.contrib.staticfiles import finders
from django.http import HttpResponse
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_safe

ICON = "explorer/favicon.ico"


@lru_cache(maxsize=1)
def _icon() -> bytes:
    with open(finders.find(ICON), "rb") as icon:
        return icon.read()


@require_safe
@cache_control(max_age=86400, public=True)
def favicon(request):
    return HttpResponse(_icon(), content_type="image/x-icon")
