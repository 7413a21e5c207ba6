"""Render and query times over a stored history, through Django's test Client (the whole middleware, view and
template stack in this process, no HTTP server and no network)."""

from __future__ import annotations

import time
from urllib.parse import quote

from django.test import Client

from bench.report import median, percentile
from explorer.crawls.history import RANGES
from explorer.crawls.latest import latest_snapshot


def _time(client: Client, url: str, repeats: int) -> dict:
    client.get(url)  # warm-up: template compilation, first connection
    seconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        response = client.get(url)
        seconds.append(time.perf_counter() - started)
        if response.status_code != 200:
            raise RuntimeError(f"{url} answered {response.status_code}")
    return {"url": url, "median_s": median(seconds), "p95_s": percentile(seconds, 0.95),
            "bytes": len(response.content)}


def time_requests(dht_prefix: str, peer_id: str, repeats: int) -> list[dict]:
    """The model page (default range and 30 days), the server page, and the history API for every range."""
    client = Client(HTTP_HOST="127.0.0.1")
    model = quote(dht_prefix, safe="")
    urls = [("model page (24h charts)", f"/models/{model}/"),
            ("model page (30d charts)", f"/models/{model}/?range=30d"),
            ("server page", f"/servers/{peer_id}/")]
    urls += [(f"history API {key}", f"/api/v2/models/{model}/history/?range={key}") for key in RANGES]
    return [{"name": name, **_time(client, url, repeats)} for name, url in urls]


def time_snapshot_parse(repeats: int) -> dict:
    """What every page pays before its own queries: reading and parsing the latest snapshot row."""
    seconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        latest_snapshot()
        seconds.append(time.perf_counter() - started)
    return {"median_s": median(seconds), "p95_s": percentile(seconds, 0.95)}
