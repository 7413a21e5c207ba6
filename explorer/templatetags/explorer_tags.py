"""Template filters for swarm strings and numbers (see explorer.display for the rules)."""

from __future__ import annotations

from datetime import timedelta
from functools import lru_cache
from urllib.parse import quote

from django import template
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.utils.timesince import timesince

from explorer import display
from explorer.alerting.conditions import vantage_of
from explorer.alerting.transports import kind_label
from swarm import vantage_views

register = template.Library()


@register.filter
def cap(value, limit=display.DEFAULT_CAP):
    return display.cap(value, int(limit))


@register.filter
def http_url(value):
    return display.http_url(value)


@register.filter
def alert_vantage(peer_id):
    """The vantage a vantage down alert is about, else None (explorer.alerting.conditions.vantage_of)."""
    return vantage_of(str(peer_id))


@register.filter
def short_peer(value):
    return display.short_peer_id(str(value))


SERVER_NAME_CAP = 48  # as the name columns before links carried names


@register.filter
def server_link(server, names=None):
    """A link to a server's page that shows its public name (escaped, capped), or its short peer id when it has no
    name, with the full peer id on hover. `server` is a Peer row, a ServerRecord or a peer id; for a bare peer id
    the name comes from `names` (peer id -> public name, resolved once per page)."""
    peer_id = str(getattr(server, "peer_id", server))
    name = getattr(server, "public_name", None) or (names.get(peer_id) if hasattr(names, "get") else None)
    if name:
        shown = escape(display.cap(name, SERVER_NAME_CAP))
    else:
        shown = f"<code>{escape(display.short_peer_id(peer_id))}</code>"
    return mark_safe(
        f'<a class="server-link" href="{escape(server_url(peer_id))}" title="{escape(peer_id)}">{shown}</a>')


JUST_NOW = timedelta(minutes=1)


@register.filter
def ago(moment):
    """How long ago a moment was, for people: "just now" under a minute (and for a moment a skewed clock puts
    ahead), else Django's timesince and "ago"; empty when unknown."""
    if moment is None:
        return ""
    if timezone.now() - moment < JUST_NOW:
        return "just now"
    return f"{timesince(moment)} ago"


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


def _percent(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".") + "%"


def _bar_position(start: int, end: int, num_blocks: int) -> str:
    """The left/width of a span's bar as shares of the model's blocks (clamped to them)."""
    if num_blocks <= 0:
        return "left:0%;width:0%"
    start, end = max(0, min(start, num_blocks)), max(0, min(end, num_blocks))
    return f"left:{_percent(100 * start / num_blocks)};width:{_percent(100 * max(0, end - start) / num_blocks)}"


@register.filter
def coverage_rows(report):
    """The coverage map's rows as HTML: one per server, its name linked to its page and one bar for its span, placed
    by left/width and classed by its state. Built here rather than by a template loop (a thousand servers of template
    lookups); every value is escaped, names capped."""
    rows = []
    for server in report.servers:
        state = escape(server.state.value)
        name = escape(display.cap(server.public_name or server.peer_id, 24))
        rows.append(
            f'<li><a href="{escape(server_url(server.peer_id))}">{name}</a><i class="cell state-{state}" '
            f'data-peer="{escape(server.peer_id)}" data-span="{server.start_block}:{server.end_block}" '
            f'style="{_bar_position(server.start_block, server.end_block, report.num_blocks)}"></i>'
            f'{_split_marker(server)}</li>')
    return mark_safe("".join(rows))


def _split_marker(server) -> str:
    """A mark on a server some vantage reached and another failed, titled "unreachable from B"; nothing when the
    vantages agree (most servers: the page stays the size it was)."""
    found = vantage_views.split(server)
    if not found.disputed:
        return ""
    return (f'<b class="cov-split" data-split="{escape(server.peer_id)}" '
            f'title="{escape(vantage_views.unreachable_from(found.failed))}">!</b>')


@register.filter
def replication_counts(report):
    """The coverage map's replication row as HTML: each block's count of online servers, classed rep-0 / rep-1 /
    rep-ok (live.js updates them in place)."""
    prefix = escape(report.dht_prefix)
    return mark_safe("".join(
        f'<b class="rep {replication_class(count)}" data-rep="{prefix}" data-block="{block}" '
        f'title="block {block}: {count}">{count}</b>' for block, count in enumerate(report.replication)))


TICKS_SHOWN = 10


@register.filter
def block_ticks(num_blocks):
    """(block, left) for the coverage map's block axis: a round step that gives at most TICKS_SHOWN labels."""
    if num_blocks <= 0:
        return []
    step = next(step for step in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 10**9)
                if num_blocks / step <= TICKS_SHOWN)
    return [(block, _percent(100 * block / num_blocks)) for block in range(0, num_blocks, step)]


@register.filter
def coverage_segments(report):
    """A model's coverage bar (one segment per block, classed by its replication) as HTML, built here for the same
    reason as coverage_rows: 80 blocks x 10 models of template lookups were most of the overview's time."""
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
