"""Retention: old per-crawl aggregates become hourly rows, old hourly rows daily rows, with weighted averages."""

from datetime import datetime, timedelta, timezone

import pytest

from explorer.crawls.retention import apply_retention
from explorer.models import Crawl, Model, ModelStat

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 6, 30, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
def llama():
    return Model.objects.create(dht_prefix="llama", num_blocks=6, first_seen=NOW, last_seen=NOW)


def raw(model, at, replication_min, online, healthy):
    return ModelStat.objects.create(
        model=model, resolution="crawl", bucket_start=at, samples=1, blocks_covered_min=6 if healthy else 5,
        replication_min=replication_min, replication_avg=float(online), servers_online_avg=float(online),
        servers_online_max=online, throughput_avg=10.0 * online, healthy_fraction=1.0 if healthy else 0.0,
    )


def test_old_crawl_rows_roll_up_into_hourly_rows(llama, settings):
    settings.RETENTION_RAW_DAYS = 7
    old_hour = NOW - timedelta(days=8)  # 12:00 eight days ago
    for minute, (rep, online, healthy) in enumerate([(1, 2, True), (0, 1, False), (2, 3, True), (1, 2, True)]):
        raw(llama, old_hour + timedelta(minutes=15 * minute), rep, online, healthy)
    recent = raw(llama, NOW - timedelta(days=1), 1, 2, True)

    report = apply_retention(NOW)

    assert report.rolled_to_hourly == 4
    hourly = ModelStat.objects.get(resolution="hour")
    assert hourly.bucket_start == old_hour and hourly.samples == 4
    assert hourly.replication_min == 0 and hourly.servers_online_max == 3 and hourly.blocks_covered_min == 5
    assert hourly.servers_online_avg == pytest.approx(2.0) and hourly.healthy_fraction == pytest.approx(0.75)
    assert list(ModelStat.objects.filter(resolution="crawl")) == [recent]


def test_hourly_rows_roll_up_into_days_and_merge_with_earlier_rollups(llama, settings):
    settings.RETENTION_RAW_DAYS = 1
    settings.RETENTION_HOURLY_DAYS = 30
    day = (NOW - timedelta(days=40)).replace(hour=0)
    for hour, healthy in ((1, 1.0), (2, 0.0)):
        ModelStat.objects.create(
            model=llama, resolution="hour", bucket_start=day + timedelta(hours=hour), samples=240,
            blocks_covered_min=6, replication_min=1, replication_avg=1.5, servers_online_avg=2.0,
            servers_online_max=2, throughput_avg=20.0, healthy_fraction=healthy)
    ModelStat.objects.create(  # a day row already holding 120 fully healthy samples of that day
        model=llama, resolution="day", bucket_start=day, samples=120, blocks_covered_min=6, replication_min=2,
        replication_avg=2.0, servers_online_avg=3.0, servers_online_max=4, throughput_avg=30.0, healthy_fraction=1.0)

    report = apply_retention(NOW)

    assert report.rolled_to_daily == 2
    daily = ModelStat.objects.get(resolution="day")
    assert daily.samples == 600 and daily.replication_min == 1 and daily.servers_online_max == 4
    assert daily.healthy_fraction == pytest.approx((240 * 1.0 + 240 * 0.0 + 120 * 1.0) / 600)
    assert not ModelStat.objects.filter(resolution="hour").exists()


def test_old_daily_rows_and_old_crawls_are_deleted_but_the_newest_crawl_stays(llama, settings):
    settings.RETENTION_RAW_DAYS = 7
    settings.RETENTION_DAILY_DAYS = 365
    ModelStat.objects.create(
        model=llama, resolution="day", bucket_start=NOW - timedelta(days=400), samples=1, blocks_covered_min=6,
        replication_min=1, replication_avg=1, servers_online_avg=1, servers_online_max=1, throughput_avg=1,
        healthy_fraction=1)
    for days_ago in (30, 20, 10):
        at = NOW - timedelta(days=days_ago)
        Crawl.objects.create(started_at=at, finished_at=at, duration_s=0.1, status="ok")

    report = apply_retention(NOW)

    assert report.deleted_daily == 1 and report.deleted_crawls == 2
    assert Crawl.objects.get().started_at == NOW - timedelta(days=10)  # kept: the last crawl we know of


def test_old_alert_history_is_forgotten_but_not_a_notification_still_being_delivered(settings):
    from explorer.models import Alert, AlertChannel, AlertDelivery, AlertNotification, AlertRule, AlertTransition

    settings.RETENTION_ALERT_DAYS = 30
    alert = Alert.objects.create(rule=AlertRule.objects.create(kind="model_broken"), model="m", state="firing")
    channel = AlertChannel.objects.create(kind="slack", name="s", config={"url": "https://x.example/"})
    for days_ago in (40, 10):
        AlertTransition.objects.create(alert=alert, at=NOW - timedelta(days=days_ago), old_state="pending",
                                       new_state="firing", reason="fired")
    old_sent, old_retrying, recent = (
        AlertNotification.objects.create(kind="firing", created_at=NOW - timedelta(days=days), title="t", text="t")
        for days in (40, 40, 10))
    AlertDelivery.objects.create(notification=old_sent, channel=channel, status="sent", created_at=NOW)
    AlertDelivery.objects.create(notification=old_retrying, channel=channel, status="retrying", created_at=NOW)

    report = apply_retention(NOW)

    assert report.deleted_alert_history >= 2
    assert list(AlertTransition.objects.values_list("at", flat=True)) == [NOW - timedelta(days=10)]
    assert set(AlertNotification.objects.all()) == {old_retrying, recent}
    assert Alert.objects.filter(pk=alert.pk).exists()


def test_absent_servers_are_forgotten_after_their_retention_never_online_ones_sooner(settings):
    """A server that was online stays RETENTION_PEER_DAYS after it left; one never seen online (what a flood of fresh
    peer ids leaves) RETENTION_NEVER_ONLINE_DAYS; a peer's other servers and the model's history stay."""
    from explorer.crawls.ingest import store_crawl
    from explorer.models import Peer, Server, ServerSession, StateChange
    from swarm.snapshot import ServerState
    from tests.support.snapshots import PEERS, model, server, snapshot

    settings.RETENTION_PEER_DAYS, settings.RETENTION_NEVER_ONLINE_DAYS = 30, 1
    start = (NOW - timedelta(days=40)).timestamp()
    store_crawl(snapshot(start, [model([server(0, 0, 6), server(1, 0, 6, state=ServerState.UNREACHABLE),
                                        server(2, 0, 6)])]))
    store_crawl(snapshot(start + 86400 * 38, [model([server(2, 0, 6)])]))  # 0 and 1 absent for two days
    kept_stats = ModelStat.objects.count()

    apply_retention(NOW)
    assert set(Peer.objects.values_list("peer_id", flat=True)) == {PEERS[0], PEERS[2]}
    assert not StateChange.objects.filter(server__peer__peer_id=PEERS[1]).exists()
    assert ServerSession.objects.filter(server__peer__peer_id=PEERS[0]).exists()

    report = apply_retention(NOW + timedelta(days=29))
    assert report.deleted_servers == 1 and report.deleted_peers == 1
    assert list(Server.objects.values_list("peer__peer_id", flat=True)) == [PEERS[2]]
    assert ModelStat.objects.filter(model__dht_prefix="m").aggregate(n=models_sum("samples"))["n"] == kept_stats


def models_sum(field):
    from django.db.models import Sum

    return Sum(field)
