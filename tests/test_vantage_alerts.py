"""The two vantage rule kinds through the real evaluation (explorer.alerting.evaluate) on stored crawls and rows:
"unreachable from n of m vantages" fires per server and resolves when the vantages reach it again; "vantage down"
fires per agent's vantage after its duration and resolves on a fresh heartbeat, never for the local vantage."""

import pytest

from explorer.alerting.forms import RuleForm
from explorer.alerting.rule_params import InvalidParams, clean_params, readable
from explorer.models import Alert, Vantage
from swarm.snapshot import VantageCheck
from tests.support.alerting import PEERS, at, crawl, evaluate, rule
from tests.support.snapshots import model, server

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def vantage_settings(settings):
    settings.CRAWL_INTERVAL = 15.0
    settings.VANTAGE_NAME = "local"
    settings.VANTAGE_EXPIRY = 60.0


def states() -> dict:
    return {(alert.rule.kind, alert.model, alert.peer_id): (alert.state, alert.summary)
            for alert in Alert.objects.select_related("rule")}


def firing() -> dict:
    return {key: summary for key, (state, summary) in states().items() if state == "firing"}


def checked(peer: int, prefix: str = "m", **outcomes):
    vantages = {name: VantageCheck(outcome=outcome, rtt_s=0.01 if outcome == "answered" else None)
                for name, outcome in outcomes.items()}
    return server(peer, 0, 6, prefix=prefix).model_copy(update={"vantages": vantages})


def test_unreachable_from_n_vantages_fires_per_server_and_resolves():
    rule("unreachable_from", params={"min_vantages": 2})
    rule("unreachable_from", model="other", params={"min_vantages": 1})  # watches a model nobody failed
    crawl(0, model([checked(0, local="answered", b="no_answer", c="no_answer", d="not_checked"),
                    checked(1, local="answered", c="no_answer"),
                    checked(2, local="no_answer", b="not_checked")], prefix="m"),
          model([checked(2, prefix="other", local="answered")], prefix="other"))
    evaluate(1)
    assert firing() == {("unreachable_from", "m", PEERS[0]): "unreachable from b, c (2 of 3 vantages that checked it)"}
    crawl(30, model([checked(0, local="answered", b="answered", c="no_answer"),
                     checked(1, local="answered", c="no_answer", b="no_answer")], prefix="m"))
    evaluate(31)
    assert firing() == {("unreachable_from", "m", PEERS[1]): "unreachable from b, c (2 of 3 vantages that checked it)"}
    assert states()[("unreachable_from", "m", PEERS[0])][0] == "resolved"


def vantage(name: str, last_seen: float, up: bool = True, up_since: float = -3600) -> None:
    Vantage.objects.update_or_create(name=name, defaults={"first_seen": at(-7200), "last_seen": at(last_seen),
                                                          "up": up, "up_since": at(up_since)})


def test_vantage_down_fires_per_vantage_after_its_duration_and_resolves_on_a_heartbeat():
    rule("vantage_down", params=clean_params("vantage_down", {"down_for_s": "5m"}))
    crawl(0, model([checked(0, local="answered", b="answered")]))
    vantage("local", last_seen=-3000)  # the central stack's own: "crawler stale" speaks for it, never this rule
    vantage("b", last_seen=0)  # heartbeat expires at 60 s
    vantage("c", last_seen=-10, up=False, up_since=100)  # marked down at 100 s
    evaluate(200)
    assert not firing()  # b down 140 s, c 100 s: under 5 min
    evaluate(380)
    assert list(firing()) == [("vantage_down", "", "vantage:b")]
    assert firing()[("vantage_down", "", "vantage:b")].startswith("vantage b down since ")
    evaluate(420)
    assert sorted(firing()) == [("vantage_down", "", "vantage:b"), ("vantage_down", "", "vantage:c")]
    vantage("b", last_seen=430)
    evaluate(440)
    assert list(firing()) == [("vantage_down", "", "vantage:c")]
    assert states()[("vantage_down", "", "vantage:b")][0] == "resolved"
    assert not [key for key in states() if key[0] != "vantage_down"]  # no server alert came of it


def test_the_kinds_parameters_are_checked():
    assert clean_params("vantage_down", {"down_for_s": "2h"}) == {"down_for_s": 7200.0}
    assert clean_params("vantage_down", {"down_for_s": "90"}) == {"down_for_s": 90.0}
    assert clean_params("unreachable_from", {"min_vantages": "3"}) == {"min_vantages": 3}
    for kind, given in (("vantage_down", {"down_for_s": "5 parsecs"}), ("vantage_down", {"down_for_s": "0.5"}),
                        ("unreachable_from", {"min_vantages": 0}), ("unreachable_from", {"down_for_s": 60})):
        with pytest.raises(InvalidParams):
            clean_params(kind, given)
    assert readable(rule("vantage_down", params={"down_for_s": 300})) == "an agent's vantage down for over 5 min"
    assert readable(rule("unreachable_from")) == "a server unreachable from at least 2 vantages"


def test_the_rule_form_takes_a_duration_as_operators_type_it():
    form = RuleForm(data={"kind": "vantage_down", "model": "", "peer_id": "", "enabled": "on", "grace_s": "0",
                          "repeat_s": "0", "note": "", "down_for_s": "10m"})
    assert form.is_valid(), form.errors
    assert form.save().params == {"down_for_s": 600.0}
    refused = RuleForm(data={"kind": "vantage_down", "model": "", "peer_id": "", "grace_s": "0", "repeat_s": "0",
                             "down_for_s": "soon"})
    assert not refused.is_valid() and "down_for_s" in refused.errors


def test_the_alert_pages_point_a_vantage_down_at_the_vantages_list(admin_client):
    rule("vantage_down", params={"down_for_s": 60})
    vantage("b", last_seen=0)
    evaluate(300)
    alert = Alert.objects.get(peer_id="vantage:b")
    html = admin_client.get(f"/alerts/{alert.pk}/").content.decode()
    assert 'href="/rejected/#vantages">vantage <code>b</code></a>' in html and "/servers/vantage" not in html
