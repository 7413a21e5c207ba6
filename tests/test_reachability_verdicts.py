"""The pure parts of keeping the reachability signal true: the order servers are checked in, the caps on what a
crawl takes in, and the verdict from this crawl's check and the previous one (confirmation, not-checked)."""

import random

from swarm.admission import Caps, admit
from swarm.localswarm.synthetic import synthetic_peer_id
from swarm.reachability import CheckMemory, check_order, remember_reachable
from swarm.snapshot import ANSWERED, NO_ANSWER, NOT_CHECKED
from swarm.verdicts import PriorVerdict, conclude, prior_verdicts
from tests.support.snapshots import server

PEERS = [synthetic_peer_id(42, index) for index in range(16)]


def test_answered_recently_first_then_connected_then_never_checked_then_dead_least_recently_checked_first():
    memory = CheckMemory()
    memory.record(PEERS[0], True, at=100.0)
    memory.record(PEERS[1], True, at=200.0)
    memory.record(PEERS[2], False, at=300.0)
    memory.record(PEERS[3], False, at=150.0)
    order = check_order(PEERS[:8], memory, connected=frozenset({PEERS[7]}), rng=random.Random(1))
    assert order[:3] == [PEERS[1], PEERS[0], PEERS[7]]
    assert set(order[3:6]) == set(PEERS[4:7])  # never checked, shuffled
    assert order[6:] == [PEERS[3], PEERS[2]]


def test_a_suspect_awaiting_its_confirming_check_comes_right_after_those_that_answered():
    memory = CheckMemory()
    memory.record(PEERS[0], True, at=100.0)
    memory.record(PEERS[1], False, at=50.0)  # dead for long: retried first among the dead
    memory.record(PEERS[2], False, at=300.0)  # answered before, failed its last check: online until confirmed
    order = check_order(PEERS[:5], memory, connected=frozenset({PEERS[4]}), rng=random.Random(3),
                        suspects=frozenset({PEERS[2]}))
    assert order == [PEERS[0], PEERS[2], PEERS[4], PEERS[3], PEERS[1]]


def test_the_memory_is_bounded_and_seeding_never_overrides_a_real_check():
    memory = CheckMemory(size=3)
    memory.record(PEERS[0], False, at=1.0)
    assert remember_reachable([PEERS[0], PEERS[1]], memory, clock=lambda: 50.0) == 1
    assert memory.last(PEERS[0]) == (False, 1.0) and memory.last(PEERS[1]) == (True, 49.0)
    for peer in PEERS[2:5]:
        memory.record(peer, True, at=60.0)
    assert memory.last(PEERS[0]) is None and memory.last(PEERS[1]) is None  # least recently checked forgotten


def test_a_reachable_server_is_unreachable_only_after_two_failed_checks_running():
    failed = (NO_ANSWER, None, "rpc_info: no answer within 5 s")
    first = conclude(failed, PriorVerdict(True, 0))
    assert first.reachable and first.failed_checks == 1 and "check 1 of 2" in first.error
    second = conclude(failed, PriorVerdict(first.reachable, first.failed_checks))
    assert not second.reachable and second.failed_checks == 2
    assert conclude((ANSWERED, 0.01, None), PriorVerdict(True, 1)) == conclude((ANSWERED, 0.01, None), None)
    assert conclude((ANSWERED, 0.01, None), PriorVerdict(True, 1)).failed_checks == 0


def test_a_server_never_seen_reachable_needs_no_confirmation_and_one_setting_makes_the_first_failure_count():
    failed = (NO_ANSWER, None, "rpc_info: routing: not found")
    assert not conclude(failed, None).reachable
    assert not conclude(failed, PriorVerdict(False, 3)).reachable
    assert not conclude(failed, PriorVerdict(True, 0), confirmations=1).reachable


def test_a_server_we_could_not_check_keeps_its_previous_verdict():
    unchecked = (NOT_CHECKED, None, "not checked: the crawl's 6 s for checks ran out first")
    assert conclude(unchecked, PriorVerdict(True, 0)).reachable is True
    kept = conclude(unchecked, PriorVerdict(True, 1))
    assert kept.reachable and kept.failed_checks == 1 and kept.check == NOT_CHECKED
    assert conclude(unchecked, PriorVerdict(False, 2)).reachable is False
    assert conclude(unchecked, None).reachable is False  # nothing vouches for a server never checked


def test_prior_verdicts_come_from_the_servers_announced_online():
    records = [server(0, 0, 3), server(1, 3, 6).model_copy(update={"reachable": False, "failed_checks": 2}),
               server(2, 0, 6).model_copy(update={"announced_state": "offline", "reachable": None})]
    priors = prior_verdicts(records)
    assert set(priors) == {records[0].peer_id, records[1].peer_id}
    assert priors[records[1].peer_id] == PriorVerdict(False, 2)


def entries(peers, junk=0):
    found = {peer: ((2, 1.0, {}), 1e12) for peer in peers}
    found.update({f"junk-{index}": ((2, 1.0, {}), 1e12) for index in range(junk)})
    return found


def test_caps_admit_servers_that_answered_recently_first_and_count_the_rest():
    known = {PEERS[11]}
    rank = (lambda peer: (0,) if peer in known else (2,))
    # n's servers serve nothing of m, so the crawl holds 5 + 4 distinct servers whichever 5 of m are admitted
    raw = {"m.0": entries(PEERS[:6] + [PEERS[11]], junk=10), "m.1": entries(PEERS[6:11]), "n.0": entries(PEERS[12:])}
    admitted, cuts = admit(raw, [("m", 2), ("n", 1)], Caps(servers_per_model=5, servers_per_crawl=6, junk_per_key=3),
                           rank)
    in_m = {subkey for key in ("m.0", "m.1") for subkey in admitted[key] if not subkey.startswith("junk")}
    in_n = set(admitted["n.0"])
    assert PEERS[11] in in_m and len(in_m) <= 5 and len(in_m | in_n) <= 6
    assert sum(1 for subkey in admitted["m.0"] if subkey.startswith("junk")) == 3
    by_key = {cut.key: cut for cut in cuts}
    assert by_key["m.0"].count == 7 and "not peer ids" in by_key["m.0"].reason
    assert by_key["m.*"].count == 12 - 5 and "MAX_SERVERS_PER_MODEL" in by_key["m.*"].reason
    assert by_key["*"].count == 5 + 4 - 6 and "MAX_SERVERS_PER_CRAWL" in by_key["*"].reason


def test_within_the_caps_nothing_is_cut():
    raw = {"m.0": entries(PEERS[:3]), "m.1": None}
    admitted, cuts = admit(raw, [("m", 2)], Caps(), lambda peer: (2,))
    assert cuts == [] and admitted == raw


def test_keys_missing_a_server_its_span_or_the_last_crawl_says_they_hold_are_found_known_servers_first():
    from swarm.dht_reads import incomplete_keys

    record = (2, 1.0, {"start_block": 0, "end_block": 3})
    raw = {"m.0": {PEERS[0]: (record, 1e12)}, "m.1": {}, "m.2": None, "m.3": {PEERS[1]: ((2, 1.0, {}), 1e12)}}
    assert incomplete_keys(raw, [("m", 4)]) == ["m.1", "m.2"]
    assert incomplete_keys(raw, [("m", 4)], {"m": {PEERS[1]: range(2, 4)}}) == ["m.2", "m.1"]
    complete = {"m.0": {PEERS[0]: (record, 1e12)}, "m.1": {PEERS[0]: (record, 1e12)},
                "m.2": {PEERS[0]: (record, 1e12)}, "m.3": None}
    assert incomplete_keys(complete, [("m", 4)]) == []
