"""Plotly figure dicts for history charts (pure; the page hands them to Plotly.newPlot)."""

from __future__ import annotations

from datetime import datetime
from typing import Sequence

LAYOUT = {
    "margin": {"l": 48, "r": 16, "t": 36, "b": 36},
    "height": 240,
    "xaxis": {"type": "date"},
    "showlegend": False,
}


def _line(title: str, xs: list, ys: list, y_title: str, window: tuple[datetime, datetime], shape: str = "linear",
          name: str = "") -> dict:
    return {
        "data": [{"type": "scatter", "mode": "lines+markers", "marker": {"size": 3}, "x": xs, "y": ys,
                  "line": {"shape": shape}, "name": name or y_title}],
        "layout": {**LAYOUT, "title": {"text": title}, "yaxis": {"title": {"text": y_title}, "rangemode": "tozero"},
                   "xaxis": {"type": "date", "range": [window[0].isoformat(), window[1].isoformat()]}},
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


def model_history_figures(points: Sequence[dict], window: tuple[datetime, datetime]) -> dict[str, dict]:
    """Charts over the whole selected window (start, end), however few points it has."""
    xs = [point["bucket_start"].isoformat() for point in points]
    health = _line("Health (outages shaded)", xs, [round(point["healthy_fraction"], 3) for point in points],
                   "share of crawls healthy", window, shape="hv")
    health["layout"]["yaxis"]["range"] = [0, 1.05]
    health["layout"]["shapes"] = [
        {"type": "rect", "xref": "x", "yref": "paper", "x0": start.isoformat(), "x1": end.isoformat(),
         "y0": 0, "y1": 1, "fillcolor": "rgba(220, 38, 38, 0.18)", "line": {"width": 0}}
        for start, end in outages(points)
    ]
    return {
        "servers": _line("Servers online", xs, [point["servers_online_avg"] for point in points], "servers", window),
        "replication": _line("Minimum replication", xs, [point["replication_min"] for point in points],
                             "servers on the worst block", window, shape="hv"),
        "throughput": _line("Throughput of online servers", xs, [point["throughput_avg"] for point in points],
                            "rps", window),
        "health": health,
    }


def server_history_figure(samples: Sequence[dict], window: tuple[datetime, datetime]) -> dict:
    xs = [sample["hour"].isoformat() for sample in samples]
    figure = _line("Throughput and cache (hourly samples)", xs, [sample["throughput"] for sample in samples], "rps",
                   window, name="throughput")
    figure["data"].append({"type": "scatter", "mode": "lines", "x": xs, "yaxis": "y2",
                           "y": [sample["cache_tokens_left"] for sample in samples], "name": "cache tokens left"})
    figure["layout"]["yaxis2"] = {"title": {"text": "cache tokens left"}, "overlaying": "y", "side": "right",
                                  "rangemode": "tozero"}
    figure["layout"]["showlegend"] = True
    figure["layout"]["legend"] = {"orientation": "h"}
    return figure


def probe_latency_figure(points: Sequence[dict], window: tuple[datetime, datetime]) -> dict:
    """Route probes over the window: time to first token and per-token latency (median, p95); failures marked."""
    ok = [point for point in points if point["status"] == "ok"]
    xs = [point["started_at"].isoformat() for point in ok]
    figure = _line("End-to-end probes", xs, [point["ttft_s"] for point in ok], "seconds", window,
                   name="time to first token")
    for field, name in (("token_latency_median_s", "per token, median"), ("token_latency_p95_s", "per token, p95")):
        figure["data"].append({"type": "scatter", "mode": "lines+markers", "marker": {"size": 3}, "x": xs,
                               "y": [point[field] for point in ok], "name": name})
    failed = [point["started_at"].isoformat() for point in points if point["status"] != "ok"]
    figure["data"].append({"type": "scatter", "mode": "markers", "x": failed, "y": [0] * len(failed),
                           "name": "failed or not runnable", "marker": {"size": 8, "symbol": "x", "color": "#dc2626"}})
    figure["layout"]["showlegend"] = True
    figure["layout"]["legend"] = {"orientation": "h"}
    return figure
