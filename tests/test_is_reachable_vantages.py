"""/api/v1/is_reachable from everywhere: fresh checks from the vantages decide without a dial (reachable when any
vantage reached the peer, the message naming those that did not); stale ones, or fresh ones that all failed, leave
the answer to a dial now, as before. The peer here is served by no one, so only an answer from the stored checks can
say it is reachable, and a dial always says it is not."""

import uuid
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from django.utils import timezone

from explorer.api import reachability
from explorer.models import Model, Peer, Server, VantageResult
from tests.support.swarm import NOWHERE

pytestmark = pytest.mark.django_db(transaction=True)

ABSENT = NOWHERE.rsplit("/", 1)[1]  # a valid peer id no one serves


def fresh_address() -> str:
    return "10." + ".".join(str(byte) for byte in uuid.uuid4().bytes[:3])


def checked(peer_id: str, results: dict[str, str], age_s: float) -> None:
    """The peer serving one model, with these outcomes by vantage, checked `age_s` seconds ago."""
    now = timezone.now()
    model, _ = Model.objects.get_or_create(dht_prefix="vantage-llama",
                                           defaults={"num_blocks": 6, "first_seen": now, "last_seen": now})
    peer, _ = Peer.objects.get_or_create(peer_id=peer_id, defaults={"first_seen": now})
    server, _ = Server.objects.get_or_create(peer=peer, model=model, defaults={
        "state": "online", "state_since": now, "start_block": 0, "end_block": 6, "first_seen": now})
    for vantage, outcome in results.items():
        VantageResult.objects.update_or_create(server=server, vantage=vantage, defaults={
            "outcome": outcome, "rtt_s": 0.01 if outcome == "answered" else None,
            "checked_at": now - timedelta(seconds=age_s)})


def ask(peer_id: str) -> reachability.Answer:
    return async_to_sync(reachability.answer)(peer_id, fresh_address())


def test_fresh_checks_from_two_vantages_decide_without_a_dial(settings, redis_url):
    settings.IS_REACHABLE_FRESH = 30.0
    checked(ABSENT, {"local": "no_answer", "B": "answered"}, age_s=5)
    answer = ask(ABSENT)
    assert answer.status == 200 and answer.body["success"] is True  # no dial: nobody serves this peer
    assert answer.body["message"].startswith("reachable from B, but unreachable from local")
    assert set(answer.body) == {"success", "message", "your_ip"}

    checked(ABSENT, {"local": "answered", "B": "answered"}, age_s=5)
    both = ask(ABSENT)
    assert both.status == 200 and both.body["success"] is True and both.body["message"] is None


def test_stale_checks_or_fresh_failures_only_leave_it_to_a_dial(settings, redis_url):
    settings.IS_REACHABLE_FRESH = 30.0
    settings.REACHABILITY_TIMEOUT = 1.0
    checked(ABSENT, {"local": "answered", "B": "answered"}, age_s=60)  # reachable, but longer ago than 30 s
    stale = ask(ABSENT)
    assert stale.body["success"] is False and stale.body["message"]  # the dial found no one, and said why
    assert "reachable from" not in (stale.body["message"] or "")

    checked(ABSENT, {"local": "no_answer", "B": "no_answer"}, age_s=5)  # fresh, all failed: dialled again now
    failed = ask(ABSENT)
    assert failed.body["success"] is False and "reachable from" not in (failed.body["message"] or "")

    settings.IS_REACHABLE_FRESH = 0.0  # off: every answer is a dial
    checked(ABSENT, {"local": "answered", "B": "answered"}, age_s=0)
    assert ask(ABSENT).body["success"] is False
