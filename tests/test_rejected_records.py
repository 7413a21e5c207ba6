"""Rejected DHT records are counted per crawl and shown to operators: on /rejected/, on the overview and in
/api/v2/rejected-records/ and /api/v2/crawls/; only the first MAX_REJECTED_KEPT keep their details, escaped."""

import time

import pytest

from explorer.crawls.ingest import store_crawl
from swarm.snapshot import MAX_REJECTED_KEPT, CrawlSnapshot, RejectedRecord
from tests.support.snapshots import model, server, snapshot

pytestmark = pytest.mark.django_db(transaction=True)
SCRIPT = "<script>document.title='pwned'</script>"


def with_rejections(total: int) -> CrawlSnapshot:
    kept = tuple(RejectedRecord(key=f"m.{index % 6}", subkey=f"junk-{index}", reason="subkey is not a valid peer id",
                                value_preview=SCRIPT) for index in range(min(total, MAX_REJECTED_KEPT)))
    return snapshot(time.time(), [model([server(0, 0, 6)])]).model_copy(
        update={"rejected": kept, "rejected_total": total})


def test_the_page_the_overview_and_the_apis_show_the_latest_crawls_rejections(client):
    store_crawl(snapshot(time.time() - 60, [model([server(0, 0, 6)])]))
    store_crawl(with_rejections(5000))

    page = client.get("/rejected/").content.decode()
    assert 'data-rejected-total="5000"' in page and f"the first {MAX_REJECTED_KEPT} are shown" in page
    assert page.count("junk-") == MAX_REJECTED_KEPT and SCRIPT not in page
    assert "&lt;script&gt;document.title=&#x27;pwned&#x27;&lt;/script&gt;" in page
    assert "data-rejected-link>5000</a>" in client.get("/").content.decode()

    document = client.get("/api/v2/rejected-records/").json()
    assert document["total"] == 5000 and len(document["records"]) == MAX_REJECTED_KEPT
    assert document["records"][0] == {"key": "m.0", "subkey": "junk-0", "reason": "subkey is not a valid peer id",
                                      "value_preview": SCRIPT}
    crawls = client.get("/api/v2/crawls/").json()["results"]
    assert [crawl["records_rejected"] for crawl in crawls] == [5000, 0]


def test_before_any_crawl_the_page_and_the_api_say_so(client):
    assert "No crawl yet." in client.get("/rejected/").content.decode()
    assert client.get("/api/v2/rejected-records/").json() == {"crawl_id": None, "total": 0, "records": []}


def test_a_snapshot_stored_before_the_total_existed_counts_the_records_it_kept():
    stored = with_rejections(3).model_dump()
    del stored["rejected_total"]
    assert CrawlSnapshot.model_validate(stored).rejected_total == 3


def test_a_snapshot_keeps_the_first_rejected_records_and_counts_them_all():
    flood = [RejectedRecord(key="m.0", subkey=f"junk-{index}", reason="subkey is not a valid peer id")
             for index in range(MAX_REJECTED_KEPT + 50)]
    kept = snapshot(time.time(), []).model_dump()
    capped = CrawlSnapshot.model_validate({**kept, "rejected": flood})
    assert capped.rejected == tuple(flood[:MAX_REJECTED_KEPT]) and capped.rejected_total == MAX_REJECTED_KEPT + 50
