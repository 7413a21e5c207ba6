"""The overview shows each model's latest finished route probe (status, age, a link to the model page's probes),
read for all models in one query."""

import re
from datetime import datetime, timedelta, timezone

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from explorer.crawls.ingest import store_crawl
from explorer.models import Model, Probe
from explorer.views.overview import model_rows
from tests.support.snapshots import model, server, snapshot

pytestmark = pytest.mark.django_db


def probe(prefix: str, kind: str, status: str, minutes_ago: float) -> Probe:
    return Probe.objects.create(model=Model.objects.get(dht_prefix=prefix), kind=kind, status=status,
                                started_at=datetime.now(timezone.utc) - timedelta(minutes=minutes_ago))


def cell(page: str, prefix: str) -> str:
    match = re.search(rf'<td data-model-probe="{re.escape(prefix)}">(.*?)</td>', page, re.S)
    assert match, f"no probe cell for {prefix}"
    return match.group(1)


def test_each_model_shows_its_latest_route_probe_linked_to_its_probes(client):
    prefixes = ["ok-now", "failed-now", "never", "not-runnable"]
    store_crawl(snapshot(datetime.now(timezone.utc).timestamp() - 30,
                         [model([server(0, 0, 6)], prefix=prefix) for prefix in prefixes]))
    probe("ok-now", "route", "failed", 50)
    probe("ok-now", "route", "ok", 5)  # the latest route probe
    probe("ok-now", "server", "failed", 1)  # newer, but a probe of one server: not the model's status
    probe("ok-now", "route", "running", 0)  # not finished yet
    probe("failed-now", "route", "ok", 90)
    probe("failed-now", "route", "failed", 20)
    probe("not-runnable", "route", "not_runnable", 3)

    page = client.get("/").content.decode()
    assert re.fullmatch(r'<a href="/models/ok-now/#probes" class="probe-status probe-ok">ok</a> 5\sminutes ago',
                        cell(page, "ok-now"))
    assert cell(page, "failed-now").startswith(
        '<a href="/models/failed-now/#probes" class="probe-status probe-failed">failed</a> 20\xa0minutes ago')
    assert cell(page, "not-runnable").startswith(
        '<a href="/models/not-runnable/#probes" class="probe-status probe-not_runnable">not runnable</a> 3\xa0minutes')
    assert cell(page, "never") == '<a href="/models/never/#probes">not probed yet</a>'
    assert 'id="probes"' in client.get("/models/ok-now/").content.decode()  # where the link goes


def test_the_latest_probes_of_all_models_are_one_query():
    prefixes = [f"model-{index}" for index in range(10)]
    store_crawl(snapshot(1_790_000_000.0, [model([server(0, 0, 6)], prefix=prefix) for prefix in prefixes]))
    for index, prefix in enumerate(prefixes):
        for age in (30, 10, 20):
            probe(prefix, "route", "ok" if index % 2 else "failed", age + index)
    with CaptureQueriesContext(connection) as queries:
        rows = model_rows(prefixes)
    assert len(queries.captured_queries) == 1
    assert {prefix: (row["probe"].status, round((datetime.now(timezone.utc) - row["probe"].started_at).seconds / 60))
            for prefix, row in rows.items()} == {
        prefix: ("ok" if index % 2 else "failed", 10 + index) for index, prefix in enumerate(prefixes)}
