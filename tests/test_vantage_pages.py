"""What pages show of vantages, from stored crawls and rows: the server page's "From each vantage" table and its
"unreachable from B" line, the coverage map's mark on a server the vantages disagree on (and on no other), the
public list of vantages on /rejected/; vantage names (an operator's strings) escaped and capped everywhere."""

import re
import time
from datetime import datetime, timedelta, timezone

import pytest

from explorer.crawls.ingest import store_crawl
from explorer.models import Server, Vantage, VantageResult
from swarm.snapshot import VantageCheck
from tests.support.snapshots import PEERS, model, server, snapshot

pytestmark = pytest.mark.django_db

HOSTILE = '<img src=x onerror="alert(1)">'
LONG = "v" * 100


def checks(**outcomes) -> dict[str, VantageCheck]:
    """local="answered:0.012", b="no_answer:timed out" -> {name: VantageCheck}."""
    found = {}
    for name, text in outcomes.items():
        outcome, _, detail = text.partition(":")
        found[name] = VantageCheck(outcome=outcome, rtt_s=float(detail) if outcome == "answered" else None,
                                   error=detail if outcome == "no_answer" else None)
    return found


def with_vantages(record, vantages: dict):
    return record.model_copy(update={"vantages": vantages})


def page(client, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200
    return response.content.decode()


def store(*records, at: float | None = None) -> None:
    store_crawl(snapshot(at or time.time(), [model(list(records), num_blocks=6, prefix="m")]))


def test_the_server_page_shows_each_vantage_and_names_the_one_that_cannot_reach_it(client):
    disputed = checks(local="answered:0.012", b="no_answer:timed out after 5 s", asia="not_checked")
    disputed[HOSTILE] = VantageCheck(outcome="no_answer", error="refused")
    store(with_vantages(server(0, 0, 6), disputed), with_vantages(server(1, 0, 6), checks(local="answered:0.02",
                                                                                           b="answered:0.03")))
    html = page(client, f"/servers/{PEERS[0]}/")
    assert "From each vantage" in html
    rows = re.findall(r'<tr data-vantage="([^"]*)"><td>[^<]*</td><td><span class="check-([a-z_]+)">([a-z ]+)</span>',
                      html)
    assert [(name, words) for name, _, words in rows] == [
        ('&lt;img src=x onerror=&quot;alert(1)&quot;&gt;', "no answer"), ("asia", "not checked"),
        ("b", "no answer"), ("local", "reached")]
    assert "12.0 ms" in html and "timed out after 5 s" in html
    [line] = re.findall(r'<p class="vantage-split" data-vantage-split>([^<]*)</p>', html)
    assert line == "unreachable from &lt;img src=x onerror=&quot;alert(1)&quot;&gt;, b"
    assert HOSTILE not in html  # escaped wherever the name shows

    agreed = page(client, f"/servers/{PEERS[1]}/")
    assert "From each vantage" in agreed and "data-vantage-split" not in agreed
    assert "30.0 ms" in agreed


def test_a_long_vantage_name_is_capped_and_an_older_result_shows_with_its_time(client):
    store(with_vantages(server(0, 0, 6), {LONG: VantageCheck(outcome="answered", rtt_s=0.004)}))
    VantageResult.objects.create(server=Server.objects.get(peer__peer_id=PEERS[0]), vantage="gone-agent",
                                 outcome="no_answer", error="no route",
                                 checked_at=datetime.now(timezone.utc) - timedelta(hours=3))
    html = page(client, f"/servers/{PEERS[0]}/")
    assert LONG not in html and f'data-vantage="{LONG[:63]}…"' in html
    [gone] = re.findall(r'<tr data-vantage="gone-agent">.*?</tr>', html)
    assert "no answer" in gone and "no route" in gone and "3\xa0hours ago" in gone
    assert "unreachable from gone-agent" in html  # its latest result, older than the crawl, still disagrees


def test_a_server_checked_from_nowhere_has_no_vantage_table(client):
    store(server(0, 0, 6))
    assert "From each vantage" not in page(client, f"/servers/{PEERS[0]}/")


def test_the_coverage_map_marks_only_the_server_the_vantages_disagree_on(client):
    store(with_vantages(server(0, 0, 3), {**checks(local="answered:0.01"), HOSTILE: VantageCheck(outcome="no_answer")}),
          with_vantages(server(1, 3, 6), checks(local="answered:0.01", b="answered:0.02", c="not_checked")),
          server(2, 0, 6))
    html = page(client, "/models/m/")
    marks = re.findall(r'<b class="cov-split" data-split="([^"]+)" title="([^"]*)">!</b>', html)
    assert marks == [(PEERS[0], "unreachable from &lt;img src=x onerror=&quot;alert(1)&quot;&gt;")]
    assert HOSTILE not in html


def test_a_server_every_vantage_fails_is_not_marked_as_disputed(client):
    store(with_vantages(server(0, 0, 6), checks(local="no_answer:x", b="no_answer:y")))
    assert 'data-split="' not in page(client, "/models/m/")


def test_rejected_lists_the_vantages_up_or_down(client):
    now = datetime.now(timezone.utc)
    for name, up, last_seen in (("local", True, now), ("b", True, now - timedelta(seconds=5)),
                                ("c", True, now - timedelta(minutes=10)), (HOSTILE, False, now - timedelta(hours=1))):
        Vantage.objects.update_or_create(name=name, defaults={"first_seen": now - timedelta(days=1),
                                                              "last_seen": last_seen, "up": up,
                                                              "up_since": now - timedelta(days=1)})
    html = page(client, "/rejected/")
    rows = dict(re.findall(r'<tr data-vantage="([^"]*)"><td>.*?</td><td>(up|<span class="warn">down</span>)</td>',
                           html))
    assert rows == {"local": "up", "b": "up", "c": '<span class="warn">down</span>',
                    "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;": '<span class="warn">down</span>'}
    assert "(this stack)" in html and HOSTILE not in html
