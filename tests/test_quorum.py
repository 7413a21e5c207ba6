"""swarm.quorum: how several vantages' checks of one server become one check (pure)."""

import pytest

from swarm.quorum import failures_needed, merge, merge_all
from swarm.snapshot import ANSWERED, NO_ANSWER, NOT_CHECKED

OK = (ANSWERED, 0.05, None)
FAIL = (NO_ANSWER, None, "rpc_info: no answer within 5 s")
LATE = (NOT_CHECKED, None, "not finished: the crawl's 6 s for checks ran out")


def test_any_vantage_that_answers_makes_it_answered_with_the_local_rtt_first():
    assert merge({"local": (ANSWERED, 0.2, None), "B": (ANSWERED, 0.01, None)}, "all", 2) == (ANSWERED, 0.2, None)
    assert merge({"local": FAIL, "A": (ANSWERED, 0.3, None), "B": (ANSWERED, 0.1, None)}, "all", 3) == \
        (ANSWERED, 0.1, None)
    assert merge({"local": LATE, "B": OK}, 1, 2) == OK


def test_all_means_every_vantage_that_could_tell_and_not_checked_ones_do_not_count():
    outcome, rtt, error = merge({"local": FAIL, "B": FAIL}, "all", 2)
    assert (outcome, rtt) == (NO_ANSWER, None) and "2 of 2 vantages (B, local)" in error and FAIL[2] in error
    assert merge({"local": FAIL, "B": LATE}, "all", 2)[0] == NO_ANSWER  # B could not tell: not counted
    assert merge({"local": LATE, "B": LATE}, "all", 2) == LATE  # nobody could tell: the previous verdict stands


def test_a_number_needs_that_many_failures_or_every_vantage_asked_when_fewer():
    assert merge({"local": FAIL, "A": FAIL, "B": LATE}, 3, 3)[0] == NOT_CHECKED  # two of the needed three
    assert merge({"local": FAIL, "A": FAIL, "B": FAIL}, 3, 3)[0] == NO_ANSWER
    assert merge({"local": FAIL, "A": FAIL}, 5, 2)[0] == NO_ANSWER  # only two asked: two suffice
    assert failures_needed(2, counted=1, asked=3) == 2 and failures_needed("all", counted=1, asked=3) == 1
    with pytest.raises(ValueError):
        failures_needed(0, 1, 1)


def test_one_vantage_alone_keeps_its_own_check_word_for_word():
    assert merge({"local": FAIL}, "all", 1) == FAIL
    merged, by_vantage = merge_all("local", {"p1": FAIL, "p2": OK}, {}, "all")
    assert merged == {"p1": FAIL, "p2": OK}
    assert {peer: list(checks) for peer, checks in by_vantage.items()} == {"p1": ["local"], "p2": ["local"]}


def test_merge_all_counts_only_what_each_agent_reported_for_each_server():
    local = {"p1": OK, "p2": FAIL, "p3": FAIL}
    remote = {"B": {"p1": FAIL, "p2": FAIL, "elsewhere": OK}, "C": {"p3": (ANSWERED, 0.4, None)}}
    merged, by_vantage = merge_all("local", local, remote, "all", asked=["B", "C"])
    assert merged["p1"] == OK and merged["p2"][0] == NO_ANSWER and merged["p3"] == (ANSWERED, 0.4, None)
    assert "elsewhere" not in merged and set(by_vantage["p1"]) == {"local", "B"}
    assert by_vantage["p1"]["B"].outcome == NO_ANSWER and by_vantage["p3"]["C"].rtt_s == 0.4


@pytest.mark.parametrize("value, expected", [("all", "all"), ("ALL", "all"), ("2", 2), (None, "all")])
def test_the_quorum_setting_reads_all_or_a_number(monkeypatch, value, expected):
    from config.env_vantages import env_quorum

    if value is None:
        monkeypatch.delenv("X_QUORUM", raising=False)
    else:
        monkeypatch.setenv("X_QUORUM", value)
    assert env_quorum("X_QUORUM") == expected


@pytest.mark.parametrize("name, value", [("X_QUORUM", "0"), ("X_QUORUM", "most"), ("X_VANTAGE", "eu west"),
                                         ("X_VANTAGE", "-eu"), ("X_VANTAGE", "x" * 65)])
def test_bad_vantage_settings_fail_loudly_with_their_name(monkeypatch, name, value):
    from django.core.exceptions import ImproperlyConfigured

    from config.env_vantages import env_quorum, env_vantage_name

    monkeypatch.setenv(name, value)
    with pytest.raises(ImproperlyConfigured, match=name):
        env_quorum(name) if name == "X_QUORUM" else env_vantage_name(name, "local")


def test_the_agent_command_refuses_a_bad_or_the_central_vantage_name(monkeypatch):
    from django.core.management import call_command
    from django.core.management.base import CommandError

    monkeypatch.delenv("VANTAGE_NAME", raising=False)
    for bad in ("eu west", "local"):
        with pytest.raises(CommandError, match="--vantage"):
            call_command("agent", "--vantage", bad)
