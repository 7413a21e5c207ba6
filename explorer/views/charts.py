"""Plotly figure dicts for history charts (pure; the page hands them to Plotly.newPlot). A chart spans its window,
or only its history when that is shorter (with a note saying so); it sizes itself to its box."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Iterable, Optional, Sequence

MIN_SPAN = timedelta(minutes=1)  # a history younger than this still gets an x range Plotly can draw
LAYOUT = {
    "autosize": True,  # no width: the chart takes its box's width (charts.js plots with responsive: true)
    "margin": {"l": 48, "r": 16, "t": 36, "b": 36},
    "height": 240,
    "showlegend": False,
}
LEGEND = {"orientation": "h", "x": 0, "xanchor": "left", "y": -0.2, "yanchor": "top"}  # below the x ticks; wraps


def span_label(span: timedelta) -> str:
    """"24 h", "7 d": how a window's length reads in a note."""
    if span >= timedelta(days=2) and span % timedelta(days=1) == timedelta(0):
        return f"{span.days} d"
    return f"{span.total_seconds() / 3600:g} h"


def history_start(times: Iterable[datetime], first_seen: Optional[datetime]) -> Optional[datetime]:
    """When a chart's history starts: the first-seen time of what it shows (nothing is recorded about a model or
    server before the crawler first saw it), or its first point where that is earlier; None without either."""
    candidates = [moment for moment in (*times, first_seen) if moment is not None]
    return min(candidates) if candidates else None


def not_before(moment: datetime, first_seen: Optional[datetime]) -> datetime:
    """Where a point stamped with its bucket's start is drawn: there, but never before first_seen. An hourly bucket
    (a server's sample, a model's 7 d / 30 d point) starts up to an hour before the crawl that first saw the model or
    server; its data were measured from first_seen on."""
    return moment if first_seen is None else max(moment, first_seen)


def shown_range(window: tuple[datetime, datetime], since: Optional[datetime]) -> tuple[datetime, datetime, str]:
    """The x range to draw, and a note: the whole window when the history covers it, else from `since` on, with
    "history since <time>, shorter than the <span> window"."""
    start, end = window
    if since is None or since <= start:
        return start, end, ""
    since = min(since, end - MIN_SPAN)
    moment = since.strftime("%H:%M" if end - since < timedelta(hours=20) else "%b %d %H:%M")
    return since, end, f"history since {moment} UTC, shorter than the {span_label(end - start)} window"


def _line(title: str, xs: list, ys: list, y_title: str, window: tuple[datetime, datetime],
          since: Optional[datetime] = None, shape: str = "linear", name: str = "") -> dict:
    start, end, note = shown_range(window, since)
    title_dict: dict = {"text": title, "x": 0, "xanchor": "left", "xref": "paper"}
    margin = dict(LAYOUT["margin"])
    if note:
        title_dict["subtitle"] = {"text": note, "font": {"size": 11, "color": "#4b5563"}}
        margin["t"] = 56
    return {
        "data": [{"type": "scatter", "mode": "lines+markers", "marker": {"size": 3}, "x": xs, "y": ys,
                  "line": {"shape": shape}, "name": name or y_title, "cliponaxis": False}],
        "layout": {**LAYOUT, "margin": margin, "title": title_dict,
                   "yaxis": {"title": {"text": y_title}, "rangemode": "tozero", "automargin": True},
                   "xaxis": {"type": "date", "range": [start.isoformat(), end.isoformat()], "automargin": True}},
    }


def outages(points: Sequence[dict]) -> list[tuple[datetime, datetime]]:
    """Contiguous runs of points where the model could not serve a full forward pass (healthy_fraction < 1)."""
    runs, start, previous = [], None, None
    for point in points:
        broken = point["healthy_fraction"] < 1.0
        if broken and start is None:
            start = point["bucket_start"]
        if not broken and start is not None:
            runs.append((start, point["bucket_start"]))
            start = None
        previous = point["bucket_start"]
    if start is not None:
        runs.append((start, previous))
    return runs


def model_history_figures(points: Sequence[dict], window: tuple[datetime, datetime],
                          first_seen: Optional[datetime] = None) -> dict[str, dict]:
    """Charts over the selected window (start, end), or from the model's history start (history_start of its
    points and first_seen) when the model is younger than the window; no point is drawn before first_seen."""
    points = [{**point, "bucket_start": not_before(point["bucket_start"], first_seen)} for point in points]
    since = history_start((point["bucket_start"] for point in points), first_seen)
    xs = [point["bucket_start"].isoformat() for point in points]
    health = _line("Not broken (outages shaded)", xs, [round(point["healthy_fraction"], 3) for point in points],
                   "share of crawls not broken", window, since, shape="hv")
    health["layout"]["yaxis"]["range"] = [0, 1.05]
    health["layout"]["shapes"] = [
        {"type": "rect", "xref": "x", "yref": "paper", "x0": start.isoformat(), "x1": end.isoformat(),
         "y0": 0, "y1": 1, "fillcolor": "rgba(220, 38, 38, 0.18)", "line": {"width": 0}}
        for start, end in outages(points)
    ]
    return {
        "servers": _line("Servers online", xs, [point["servers_online_avg"] for point in points], "servers",
                         window, since),
        "replication": _line("Minimum replication", xs, [point["replication_min"] for point in points],
                             "servers on the worst block", window, since, shape="hv"),
        "throughput": _line("Throughput of online servers", xs, [point["throughput_avg"] for point in points],
                            "tokens/s", window, since),
        "health": health,
    }


def sample_times(samples: Sequence[dict], first_seen: datetime) -> list[datetime]:
    """Where each hourly sample is plotted: at its hour's start, but never before the server was first seen
    (not_before).

    A sample is taken by the first crawl of its hour (explorer.crawls.ingest._sample_servers) and stored under the
    hour's start, so the hour's start is when it was measured to within one crawl interval, except in the hour the
    server appeared: that sample was taken at first_seen, later in the hour. Clamping to first_seen is therefore the
    honest place for every sample; plotting at the bucket's middle or end would move all of them up to an hour
    later than they were measured."""
    return [not_before(sample["hour"], first_seen) for sample in samples]


def server_history_figure(samples: Sequence[dict], first_seen: datetime, now: datetime) -> dict:
    """A server's hourly samples from when it was first seen to now: throughput (left axis) and cache tokens left
    (right axis, its title kept clear of its tick labels by automargin and a standoff)."""
    xs = [moment.isoformat() for moment in sample_times(samples, first_seen)]
    figure = _line("Throughput and cache (hourly samples)", xs, [sample["throughput"] for sample in samples],
                   "tokens/s", (first_seen, now), name="throughput")
    figure["data"].append({"type": "scatter", "mode": "lines+markers", "marker": {"size": 3}, "x": xs,
                           "yaxis": "y2", "y": [sample["cache_tokens_left"] for sample in samples],
                           "name": "cache tokens left (right axis)", "cliponaxis": False})
    figure["layout"]["yaxis2"] = {"title": {"text": "cache tokens left", "standoff": 10}, "overlaying": "y",
                                  "side": "right", "rangemode": "tozero", "automargin": True}
    figure["layout"]["showlegend"] = True
    figure["layout"]["legend"] = LEGEND
    figure["layout"]["height"] = 280
    return figure


def probe_latency_figure(points: Sequence[dict], window: tuple[datetime, datetime],
                         first_seen: Optional[datetime] = None) -> dict:
    """Route probes over the window (or since the model's history start, when shorter): time to first token and
    per-token latency (median, p95); failures marked."""
    since = history_start((point["started_at"] for point in points), first_seen)
    ok = [point for point in points if point["status"] == "ok"]
    xs = [point["started_at"].isoformat() for point in ok]
    figure = _line("End-to-end probes", xs, [point["ttft_s"] for point in ok], "seconds", window, since,
                   name="time to first token")
    for field, name in (("token_latency_median_s", "per token, median"), ("token_latency_p95_s", "per token, p95")):
        figure["data"].append({"type": "scatter", "mode": "lines+markers", "marker": {"size": 3}, "x": xs,
                               "y": [point[field] for point in ok], "name": name, "cliponaxis": False})
    failed = [point["started_at"].isoformat() for point in points if point["status"] != "ok"]
    figure["data"].append({"type": "scatter", "mode": "markers", "x": failed, "y": [0] * len(failed),
                           "name": "failed or not runnable", "cliponaxis": False,
                           "marker": {"size": 8, "symbol": "x", "color": "#dc2626"}})
    figure["layout"]["showlegend"] = True
    figure["layout"]["legend"] = LEGEND
    figure["layout"]["height"] = 300
    return figure
