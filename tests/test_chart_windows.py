"""Charts on the rendered pages fit their data: a young installation's model history, probe and server charts span
its history (with a note), not an empty 24 h window; no server sample lies before the server was first seen; an old
installation keeps the window. In headless Chromium on a 390 px phone screen the charts fit their boxes and the
server chart's right-axis title clears its tick labels."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone

import pytest

from explorer.crawls.ingest import store_crawl
from explorer.models import Model, Peer, Probe
from swarm.localswarm.processes import wait_until
from tests.support.snapshots import PEERS, model, server, snapshot

pytestmark = pytest.mark.django_db
SERVER_PAGE = f"/servers/{PEERS[0]}/"
MODEL_CHARTS = ("figure-servers", "figure-replication", "figure-throughput", "figure-health")


def crawl_at(moments: list[datetime]) -> None:
    """Stores one crawl per moment (oldest first): model "m" served whole by one server with a growing cache."""
    for index, moment in enumerate(moments):
        record = server(0, 0, 6, throughput=12.5).model_copy(update={"cache_tokens_left": 250_000_000 * (index + 1)})
        store_crawl(snapshot(moment.timestamp(), [model([record])]))


def probe_at(moment: datetime, status: str = "ok") -> None:
    """A finished route probe as the probe worker stores it."""
    Probe.objects.create(model=Model.objects.get(dht_prefix="m"), kind="route", status=status, started_at=moment,
                         ttft_s=0.4, token_latency_median_s=0.1, token_latency_p95_s=0.2, tokens_per_s=9.0)


@pytest.fixture
def young():
    """An installation whose first crawl came 1-2 hours ago at 40 past an hour, so its first hourly sample's
    bucket starts 40 minutes before the server was first seen."""
    first = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0) - timedelta(hours=2, minutes=-40)
    crawl_at([first + timedelta(minutes=minutes) for minutes in (0, 25, 50, 75)])
    probe_at(first + timedelta(minutes=10))
    probe_at(first + timedelta(minutes=60), "failed")
    return first


@pytest.fixture
def old():
    """An installation crawling for 30 hours (a crawl 30 h ago, then recent ones)."""
    now = datetime.now(timezone.utc)
    crawl_at([now - timedelta(hours=30), now - timedelta(hours=2), now - timedelta(minutes=5)])
    probe_at(now - timedelta(hours=29))
    probe_at(now - timedelta(minutes=30))
    return now - timedelta(hours=30)


def figures(client, path: str) -> dict[str, dict]:
    """Every figure a page embeds, read from its json_script tags."""
    response = client.get(path)
    assert response.status_code == 200
    tags = re.findall(r'<script id="(figure-[\w-]+)" type="application/json">(.*?)</script>', response.content.decode(),
                      re.S)
    return {name: json.loads(text) for name, text in tags}


def x_range(figure: dict) -> list[datetime]:
    return [datetime.fromisoformat(moment) for moment in figure["layout"]["xaxis"]["range"]]


def note(figure: dict) -> str:
    return figure["layout"]["title"].get("subtitle", {}).get("text", "")


def test_a_young_models_history_and_probe_charts_span_its_history_not_the_day(client, young):
    first_seen = Model.objects.get(dht_prefix="m").first_seen
    assert first_seen == young
    charts = figures(client, "/models/m/")
    assert set(charts) == {*MODEL_CHARTS, "figure-probes"}
    for name, figure in charts.items():
        start, end = x_range(figure)
        assert start == first_seen, name
        assert end - start < timedelta(hours=3), name  # not the 24 h window
        assert note(figure) == f"history since {first_seen:%H:%M} UTC, shorter than the 24 h window", name
        drawn = [datetime.fromisoformat(x) for trace in figure["data"] for x in trace["x"]]
        assert drawn and all(start <= moment <= end for moment in drawn), name
    assert len(charts["figure-servers"]["data"][0]["x"]) == 4  # the four crawls
    assert charts["figure-probes"]["data"][-1]["x"] == [(young + timedelta(minutes=60)).isoformat()]  # the failure


def test_no_point_of_a_young_servers_chart_lies_before_it_was_first_seen(client, young):
    first_seen = Peer.objects.get(peer_id=PEERS[0]).first_seen
    figure = figures(client, SERVER_PAGE)["figure-server"]
    start, end = x_range(figure)
    assert start == first_seen and end - start < timedelta(hours=3)
    for trace in figure["data"]:
        drawn = [datetime.fromisoformat(x) for x in trace["x"]]
        assert len(drawn) == 2 and min(drawn) == first_seen  # the first hour's bucket began 40 minutes earlier
        assert drawn[1] == first_seen.replace(minute=0) + timedelta(hours=1)
    assert figure["data"][0]["y"] == [12.5, 12.5] and figure["data"][1]["y"] == [250_000_000, 500_000_000]


def test_an_old_installation_keeps_the_window_and_notes_only_a_longer_one(client, old):
    day = figures(client, "/models/m/")
    for name, figure in day.items():
        start, end = x_range(figure)
        assert end - start == timedelta(hours=24) and note(figure) == "", name
    week = figures(client, "/models/m/?range=7d")
    for name, figure in week.items():
        assert x_range(figure)[0] == old, name
        assert note(figure).endswith("shorter than the 7 d window"), name
    server = figures(client, SERVER_PAGE)["figure-server"]
    assert x_range(server)[0] == Peer.objects.get(peer_id=PEERS[0]).first_seen == old


BOXES = """
return Array.from(document.querySelectorAll('.js-plotly-plot')).map(function (plot) {
  var svg = plot.querySelector('svg.main-svg').getBoundingClientRect(), box = plot.getBoundingClientRect();
  var rect = function (node) { var r = node.getBoundingClientRect();
                               return {left: r.left, right: r.right, top: r.top, bottom: r.bottom}; };
  return {id: plot.dataset.figure, svgLeft: svg.left, svgRight: svg.right, boxLeft: box.left, boxRight: box.right,
          viewport: document.documentElement.clientWidth,
          subtitle: Array.from(plot.querySelectorAll('.gtitle-subtitle')).map(n => n.textContent).join(''),
          rightTitle: Array.from(plot.querySelectorAll('.g-y2title text')).map(rect),
          rightTicks: Array.from(plot.querySelectorAll('.y2tick text')).map(rect)};
});
"""


def overlaps(a: dict, b: dict) -> bool:
    return a["left"] < b["right"] and b["left"] < a["right"] and a["top"] < b["bottom"] and b["top"] < a["bottom"]


@pytest.mark.django_db(transaction=True)
def test_on_a_phone_screen_charts_fit_their_boxes_and_the_right_axis_title_clears_its_ticks(browser, live_server,
                                                                                              young):
    browser.set_window_size(390, 844)
    for path, count in (("/models/m/", 5), (SERVER_PAGE, 1)):
        browser.get(live_server.url + path)
        wait_until(lambda: len(browser.execute_script(BOXES)) == count, timeout=30, what=f"{path}'s charts to draw")
        for chart in browser.execute_script(BOXES):
            assert chart["svgRight"] <= chart["boxRight"] + 0.5 and chart["svgLeft"] >= chart["boxLeft"] - 0.5, chart
            assert chart["boxRight"] <= chart["viewport"], chart
            if path != SERVER_PAGE:  # the server chart has no window: it always spans the server's history
                assert "shorter than the 24 h window" in chart["subtitle"], chart
    [server_chart] = browser.execute_script(BOXES)
    [title] = server_chart["rightTitle"]
    assert server_chart["rightTicks"] and not any(overlaps(title, tick) for tick in server_chart["rightTicks"])
    assert title["right"] <= server_chart["svgRight"]
