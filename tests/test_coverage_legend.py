"""The coverage bar (overview) and the coverage map (model page) say what each colour means."""

import re

import pytest

from explorer.crawls.ingest import store_crawl
from tests.support.snapshots import model, server, snapshot

pytestmark = pytest.mark.django_db


def legend(page: str, name: str) -> str:
    match = re.search(rf'<p class="[^"]*legend[^"]*" data-legend="{name}">(.*?)</p>', page, re.S)
    assert match, f"no {name} legend"
    return re.sub(r"\s+", " ", match.group(1))


def test_the_overview_has_one_legend_for_its_coverage_bars(client):
    store_crawl(snapshot(1_790_000_000.0, [model([server(0, 0, 6)], prefix="a"), model([server(1, 0, 3)], prefix="b")]))
    page = client.get("/").content.decode()
    assert page.count('data-legend="coverage-bar"') == 1  # once under the table, not once per model
    text = legend(page, "coverage-bar")
    for swatch, meaning in (("rep-0", "0, a gap"), ("rep-1", "1, a single server"), ("rep-ok", "2 or more")):
        assert re.search(rf'<span class="swatch {swatch}"></span> {meaning}', text), (swatch, text)


def test_the_coverage_map_legend_names_each_state_and_replication(client):
    store_crawl(snapshot(1_790_000_000.0, [model([server(0, 0, 6)])]))
    text = legend(client.get("/models/m/").content.decode(), "coverage-map")
    for state in ("online", "joining", "offline", "unreachable"):
        assert f'<span class="cell state-{state}"></span> {state}' in text
    assert '<span class="rep rep-0">0</span> a gap (broken)' in text
    assert '<span class="rep rep-1">1</span> a single server (degraded)' in text
    assert '<span class="rep rep-ok">2+</span> replicated (healthy)' in text
