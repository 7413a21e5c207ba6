"""Template filters for swarm strings and numbers (see explorer.display for the rules)."""

from __future__ import annotations

from functools import lru_cache
from urllib.parse import quote

from django import template
from django.urls import reverse
from django.utils.html import escape
from django.utils.safestring import mark_safe

from explorer import display
from explorer.alerting.transports import kind_label

register = template.Library()


@register.filter
def cap(value, limit=display.DEFAULT_CAP):
    return display.cap(value, int(limit))


@register.filter
def http_url(value):
    return display.http_url(value)


@register.filter
def short_peer(value):
    return display.short_peer_id(str(value))


@register.filter
def rtt_ms(value):
    return "failed" if value is None else f"{value * 1000:.1f} ms"


@register.filter
def replication_class(count):
    return "rep-0" if count == 0 else "rep-1" if count == 1 else "rep-ok"


@register.filter
def get_item(mapping, key):
    return mapping.get(key) if hasattr(mapping, "get") else None


@register.filter
def seconds(value):
    """A duration for people: ms below a second; a dash when unknown."""
    if value is None:
        return "–"
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"


@register.filter
def online_records(records):
    """The records of servers that are online now (the ones a visitor may probe)."""
    return [record for record in records if getattr(record.state, "value", record.state) == "online"]


@register.filter
def coverage_cells(row):
    """One coverage-map row's cells as HTML. Built here rather than by a template loop: 80 blocks x 100 servers of
    template lookups took most of a model page's time; every value is escaped all the same."""
    key = escape(row["key"])
    classes = {state: (f"cell state-{escape(state)}", escape(state)) for state in set(row["cells"]) if state}
    cells = []
    for block, state in enumerate(row["cells"]):
        css, title = classes[state] if state else ("cell", "")
        cells.append(f'<td class="{css}" data-server="{key}" data-block="{block}" title="{title}"></td>')
    return mark_safe("".join(cells))


@register.filter
def coverage_segments(report):
    """A model's coverage bar (one segment per block, classed by its replication) as HTML, built here for the same
    reason as coverage_cells: 80 blocks x 10 models of template lookups were most of the overview's time."""
    prefix = escape(report.dht_prefix)
    return mark_safe("".join(
        f'<span class="seg {replication_class(count)}" data-rep="{prefix}" data-block="{block}" '
        f'title="block {block}: {count}"></span>' for block, count in enumerate(report.replication)))


PLACEHOLDER = "0placeholder0"
URL_SAFE = "!$&'()*+,;=/~:@"  # what reverse() leaves unquoted in an argument (RFC 3986 sub-delims and /~:@)


@lru_cache(maxsize=None)
def _url_around(name: str) -> tuple[str, str]:
    before, _, after = reverse(name, args=[PLACEHOLDER]).partition(PLACEHOLDER)
    return before, after


def _link(name: str, argument) -> str:
    """reverse(name, args=[argument]) for a one-argument route, without resolving each time: under many concurrent
    requests each reverse() waits on asgiref's lock around the URLconf, which made a page with a hundred server links
    ten times slower at 50 connections."""
    before, after = _url_around(name)
    return before + quote(str(argument), safe=URL_SAFE) + after


@register.filter
def server_url(peer_id):
    return _link("server", peer_id)


@register.filter
def model_url(dht_prefix):
    return _link("model", dht_prefix)


@register.filter
def channel_kind(value: str) -> str:
    """A channel's kind as its transport calls it."""
    return kind_label(value)
