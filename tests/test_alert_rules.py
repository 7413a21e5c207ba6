"""Each rule kind's condition against stored crawls, probes and consistency checks, and rule parameter checking."""

import pytest

from explorer.alerting.conditions import block_ranges
from explorer.alerting.rule_params import InvalidParams, clean_params
from explorer.crawls.ingest import record_failed_crawl, store_crawl
from explorer.models import Alert, ConsistencyCheck, ConsistencyVerdict, Model, Peer, Probe
from swarm.snapshot import BootstrapPeer, CrawlChecks, ServerState
from tests.support.alerting import PEERS, T0, at, broken, crawl, evaluate, healthy, rule
from tests.support.snapshots import model, server, snapshot

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def crawl_interval(settings):
    settings.CRAWL_INTERVAL = 15.0


def firing() -> dict:
    return {(alert.rule.kind, alert.model, alert.peer_id): alert.summary
            for alert in Alert.objects.filter(state="firing").select_related("rule")}


def probe(seconds: float, status: str, p95: float | None = 0.05, failed_peer: str | None = None) -> Probe:
    peer = Peer.objects.get_or_create(peer_id=failed_peer, defaults={"first_seen": at(0)})[0] if failed_peer else None
    return Probe.objects.create(model=Model.objects.get(dht_prefix="m"), kind="route", status=status,
                                started_at=at(seconds), token_latency_p95_s=p95 if status == "ok" else None,
                                error="" if status == "ok" else "session refused", failed_peer=peer,
                                failed_start=0 if peer else None, failed_end=6 if peer else None)


def test_block_ranges():
    assert block_ranges([5, 0, 3, 4, 7]) == "0, 3–5, 7" and block_ranges([]) == ""


def test_probe_failing_fires_after_k_consecutive_failed_route_probes_only():
    rule("probe_failing", params={"consecutive": 3})
    crawl(0, healthy())
    probe(1, "failed", failed_peer=PEERS[0])
    probe(2, "ok")
    probe(3, "failed", failed_peer=PEERS[0])
    probe(4, "failed", failed_peer=PEERS[0])
    Probe.objects.create(model=Model.objects.get(dht_prefix="m"), kind="route", status="not_runnable",
                         started_at=at(4.5))  # could not even try: neither a failure nor a success
    evaluate(5)
    assert not firing()
    probe(6, "failed", failed_peer=PEERS[0])
    evaluate(7)
    [(key, summary)] = firing().items()
    assert key == ("probe_failing", "m", "")
    assert f"the last 3 end-to-end probes failed; the latest at server {PEERS[0]} blocks 0:6" in summary


def test_probe_slow_against_an_absolute_limit_and_against_its_own_median():
    rule("probe_slow", params={"median_factor": 3, "min_baseline_probes": 5})
    crawl(0, healthy())
    for index in range(5):
        probe(index, "ok", p95=0.05)
    probe(10, "ok", p95=0.12)  # 2.4x the median: fine
    evaluate(11)
    assert not firing()
    probe(12, "ok", p95=0.2)  # 4x
    evaluate(13)
    assert "per-token p95 latency 200 ms is 4.0× its 7-day median of 50 ms" in firing()[("probe_slow", "m", "")]
    rule("probe_slow", model="m", params={"p95_seconds": 0.1, "median_factor": 100})
    evaluate(14)
    assert Alert.objects.filter(state="firing").count() == 2


def test_server_inconsistent_names_each_flagged_server_of_the_latest_check():
    rule("server_inconsistent")
    crawl(0, healthy("m", peers=(0, 1, 2)))
    check = ConsistencyCheck.objects.create(model=Model.objects.get(dht_prefix="m"), status="ok", started_at=at(1),
                                            duration_s=1.0, inconsistent=1)
    for index, verdict in enumerate(["consistent", "consistent", "inconsistent"]):
        ConsistencyVerdict.objects.create(consistency_check=check, peer=Peer.objects.get(peer_id=PEERS[index]),
                                          start_block=0, end_block=6, verdict=verdict, max_deviation=0.4,
                                          compared_with=PEERS[:2] if index == 2 else [])
    evaluate(2)
    assert list(firing()) == [("server_inconsistent", "m", PEERS[2])]
    ConsistencyCheck.objects.create(model=Model.objects.get(dht_prefix="m"), status="ok", started_at=at(3),
                                    duration_s=1.0)  # a newer check that flags no one
    evaluate(4)
    assert not firing()


def test_bootstrap_unreachable_from_a_crawls_peers_and_from_a_crawl_that_could_not_join():
    rule("bootstrap_unreachable")
    good = snapshot(T0, [healthy()])
    half = good.model_copy(update={"bootstrap": good.bootstrap + (
        BootstrapPeer(maddr="/ip4/10.0.0.1/tcp/1/p2p/" + PEERS[1], reachable=False, error="timeout"),)})
    from explorer.crawls.ingest import store_crawl

    store_crawl(half)
    evaluate(1)
    assert "1 of 2 bootstrap peers did not answer: /ip4/10.0.0.1/tcp/1" in firing()[("bootstrap_unreachable", "", "")]
    store_crawl(snapshot(T0 + 15, [healthy()]))
    evaluate(16)
    assert not firing()
    record_failed_crawl(T0 + 30, 5.0, "could not join the swarm through /ip4/…: timed out", bootstrap_total=1)
    evaluate(31)
    assert "none of the 1 bootstrap peers answered: could not join" in firing()[("bootstrap_unreachable", "", "")]


def test_crawler_stale_counts_intervals_since_the_last_good_crawl_and_quotes_the_last_failure():
    rule("crawler_stale", params={"intervals": 2})
    crawl(0, healthy())
    record_failed_crawl(T0 + 20, 1.0, "DHT read timed out")
    evaluate(30)
    assert not firing()
    evaluate(31.5)
    summary = firing()[("crawler_stale", "", "")]
    assert "no successful crawl since" in summary and "the last attempt failed: DHT read timed out" in summary


def test_crawler_stale_also_fires_on_a_crawler_that_runs_but_can_no_longer_check():
    rule("crawler_stale", params={"intervals": 2, "max_unchecked_share": 0.5})

    def checked(seconds: float, unfinished: int, deferred: int = 0) -> None:
        checks = CrawlChecks(wanted=100, started=100 - unfinished, answered=max(0, 90 - unfinished),
                             failed=min(10, 100 - unfinished), unfinished=unfinished, deferred=deferred)
        store_crawl(snapshot(T0 + seconds, [healthy()]).model_copy(update={"checks": checks}))

    checked(0, 10)
    checked(15, 70)
    evaluate(16)
    assert not firing()  # one blind crawl is not yet a blind crawler
    checked(30, 60)
    evaluate(31)
    summary = firing()[("crawler_stale", "", "")]
    assert "the last 2 crawls could not check more than 50% of the servers" in summary
    assert "worst: 70 of 100 unchecked" in summary
    checked(45, 20)
    evaluate(46)
    assert not firing()
    # a crowd of servers already found unreachable, retried a share per crawl, does not blind it
    checked(60, 80, deferred=75)
    checked(75, 70, deferred=60)
    evaluate(76)
    assert not firing()
    checked(90, 80, deferred=20)  # 60 of the 80 it did not know to be down
    evaluate(91)
    assert not firing()
    checked(105, 70, deferred=10)
    evaluate(106)
    summary = firing()[("crawler_stale", "", "")]
    assert "worst: 60 of 80 unchecked, 20 more already unreachable" in summary


def test_version_drift_counts_online_servers_once_each_against_the_newest_or_a_minimum():
    rule("version_drift")  # more than half older than the newest seen
    old = [server(0, 0, 6), server(1, 0, 6)]
    new = server(2, 0, 6).model_copy(update={"version": "2.3.0"})
    crawl(0, model(old + [new]))
    evaluate(0)
    assert "2 of 3 online servers (67%) run a Petals older than 2.3.0" in firing()[("version_drift", "", "")]
    crawl(15, model([old[0], new]))
    evaluate(15)
    assert not firing()
    rule("version_drift", model="m", params={"minimum_version": "2.4", "max_outdated_share": 0.9})
    evaluate(16)
    assert "2 of 2 online servers (100%) run a Petals older than 2.4" in firing()[("version_drift", "m", "")]


def test_server_gone_for_a_watched_peer_that_is_offline_unreachable_absent_or_never_seen():
    rule("server_gone", peer_id=PEERS[0])
    rule("server_gone", peer_id=PEERS[1], model="m")
    rule("server_gone", peer_id=PEERS[2])
    crawl(0, model([server(0, 0, 6, state=ServerState.OFFLINE),
                    server(1, 0, 6, state=ServerState.UNREACHABLE, error="timed out")]))
    evaluate(0)
    found = firing()
    assert found[("server_gone", "m", PEERS[0])] == "announced offline"
    assert found[("server_gone", "m", PEERS[1])] == "announced online but unreachable: timed out"
    assert found[("server_gone", "", PEERS[2])] == "never seen in the swarm"
    crawl(15, model([server(1, 0, 6), server(2, 0, 3, state=ServerState.JOINING)]))
    evaluate(15)
    assert firing() == {("server_gone", "m", PEERS[0]): "no record in the DHT (expired or never announced)"}


def test_a_rule_for_one_model_ignores_the_others():
    rule("model_broken", model="m")
    crawl(0, broken("m"), broken("n", peers=(1,)))
    evaluate(0)
    assert list(firing()) == [("model_broken", "m", "")]


def test_rule_parameters_are_checked_by_kind():
    assert clean_params("model_degraded", {"min_replication": "3"}) == {"min_replication": 3}
    assert clean_params("probe_slow", {"p95_seconds": "", "median_factor": 2.5}) == {"median_factor": 2.5}
    with pytest.raises(InvalidParams) as error:
        clean_params("model_degraded", {"min_replication": 0, "consecutive": 3})
    assert error.value.errors == {"min_replication": "must be at least 1",
                                  "consecutive": "not a parameter of model_degraded rules (they take min_replication)"}
    with pytest.raises(InvalidParams, match="expected a finite number"):
        clean_params("probe_slow", {"p95_seconds": "nan"})
    with pytest.raises(InvalidParams, match="is not a version number"):
        clean_params("version_drift", {"minimum_version": "latest"})
    with pytest.raises(InvalidParams, match="they take none"):
        clean_params("model_broken", {"min_replication": 1})


def test_before_the_first_good_crawl_nothing_is_said_about_models_or_servers_only_that_crawls_fail():
    rule("model_broken", model="m")
    rule("model_degraded")
    rule("server_gone", peer_id=PEERS[0])
    rule("version_drift")
    rule("crawler_stale")
    record_failed_crawl(T0, 1.0, "could not join the swarm")
    evaluate(10)  # the rules exist for an hour already
    assert list(firing()) == [("crawler_stale", "", "")]
