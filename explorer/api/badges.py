"""/badges/models/<dht_prefix>.svg and .json (shields.io endpoint format): healthy, degraded or broken; "unknown" for
a model the latest crawl did not see, also one never seen at all. Always a badge with status 200, never an HTML 404:
a README embeds the badge before (or after) the model is served, and shields.io's endpoint badge shows our message
only from a 200 answer (for an error status it shows an error of its own)."""

from __future__ import annotations

from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import cache_control

from explorer.crawls.latest import latest_snapshot
from explorer.display import cap
from swarm.snapshot import ModelReport

COLORS = {"healthy": "#2e7d32", "degraded": "#f9a825", "broken": "#c62828", "unknown": "#9e9e9e"}
CHAR_WIDTH = 6.5  # rough width of one 11px Verdana character, enough to size the two halves of a badge


def badge_status(report: ModelReport | None) -> str:
    """The model's health (ModelReport.health), or "unknown" for a model the latest crawl did not see."""
    return "unknown" if report is None else report.health


def _status_for(dht_prefix: str) -> tuple[str, str]:
    snapshot = latest_snapshot()
    report = snapshot.model(dht_prefix) if snapshot else None
    return cap(dht_prefix, 40), badge_status(report)


@cache_control(max_age=30)
def badge_json(request, dht_prefix: str):
    label, status = _status_for(dht_prefix)
    return json_badge(label, status, COLORS[status])


def json_badge(label: str, status: str, color: str) -> JsonResponse:
    """A badge in shields.io's endpoint format."""
    return JsonResponse({"schemaVersion": 1, "label": label, "message": status, "color": color})


def svg_badge(request, label: str, status: str, color: str):
    """A shields-like SVG badge: the label on grey, the status on its colour (the template escapes both)."""
    label_width = int(len(label) * CHAR_WIDTH + 12)
    status_width = int(len(status) * CHAR_WIDTH + 12)
    return render(request, "explorer/badge.svg", {
        "label": label, "status": status, "color": color, "label_width": label_width,
        "status_width": status_width, "width": label_width + status_width,
        "label_x": label_width / 2, "status_x": label_width + status_width / 2,
    }, content_type="image/svg+xml")


@cache_control(max_age=30)
def badge_svg(request, dht_prefix: str):
    label, status = _status_for(dht_prefix)
    return svg_badge(request, label, status, COLORS[status])
