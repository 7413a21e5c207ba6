"""How the checks of one server from several vantages (the central stack's own and each agent's) become one check,
which then goes through swarm.verdicts like a single check does. Pure.

Only definite checks count (answered or no_answer); a vantage that did not report in time, or could not check (our
own trouble: budget, a busy DHT process), is not counted. Then:
- any vantage answered: answered (its rtt: the local vantage's when it answered, else the smallest);
- else the failures reach the quorum: no_answer. Quorum "all": every counted vantage failed it (so with no agent, or
  none that reported, the local check decides alone, as before agents existed). Quorum n: at least n vantages failed
  it, or every vantage asked in this crawl when fewer than n were (the local one and the live agents asked);
- else not_checked: too few vantages could tell, and the previous verdict stands.
"""

from __future__ import annotations

from typing import Mapping, Sequence, Union

from swarm.snapshot import ANSWERED, NO_ANSWER, NOT_CHECKED, VantageCheck

Quorum = Union[str, int]  # "all" or n >= 1


def failures_needed(quorum: Quorum, counted: int, asked: int) -> int:
    """How many vantages must fail a server for no_answer, given how many counted and how many were asked."""
    if quorum == "all":
        return counted
    if isinstance(quorum, bool) or not isinstance(quorum, int) or quorum < 1:
        raise ValueError(f"quorum must be 'all' or a whole number >= 1, not {quorum!r}")
    return min(quorum, max(asked, 1))


def merge(checks: Mapping[str, tuple], quorum: Quorum, asked: int, local: str = "local") -> tuple:
    """One server's checks by vantage (each (outcome, rtt_s, error)) as one (outcome, rtt_s, error). `asked`: how
    many vantages were asked this crawl, the local one included."""
    counted = {name: check for name, check in checks.items() if check[0] in (ANSWERED, NO_ANSWER)}
    answered = {name: check for name, check in counted.items() if check[0] == ANSWERED}
    if answered:
        if local in answered:
            return answered[local]
        return min(answered.values(), key=lambda check: check[1] if check[1] is not None else float("inf"))
    if not counted:
        if local in checks:
            return checks[local]
        return NOT_CHECKED, None, "not checked: no vantage could check it"
    if len(checks) == 1:
        return next(iter(checks.values()))  # one vantage alone: its own check, word for word
    failed = sorted(counted)
    needed = failures_needed(quorum, len(counted), asked)
    first = counted[local] if local in counted else counted[failed[0]]
    if len(failed) >= needed:
        return NO_ANSWER, None, f"no answer from {len(failed)} of {len(counted)} vantages ({', '.join(failed)}): " \
                                f"{first[2]}"
    return NOT_CHECKED, None, (f"no answer from {len(failed)} vantages ({', '.join(failed)}), fewer than the quorum "
                               f"of {needed}: {first[2]}")


def merge_all(local: str, local_checks: Mapping[str, tuple], remote: Mapping[str, Mapping[str, tuple]],
              quorum: Quorum, asked: Sequence[str] = ()) -> tuple[dict[str, tuple], dict[str, dict[str, VantageCheck]]]:
    """Every server the local vantage checked, merged with the agents' checks of it: the merged checks by peer id,
    and each server's checks by vantage (what is stored). `asked`: the agents asked this crawl."""
    merged: dict[str, tuple] = {}
    by_vantage: dict[str, dict[str, VantageCheck]] = {}
    asked_count = 1 + len(set(asked) - {local})
    for peer_id, check in local_checks.items():
        checks = {local: tuple(check)}
        for vantage, results in remote.items():
            if vantage != local and peer_id in results:
                checks[vantage] = tuple(results[peer_id])
        merged[peer_id] = merge(checks, quorum, asked_count, local)
        by_vantage[peer_id] = {name: VantageCheck(outcome=outcome, rtt_s=rtt, error=error)
                               for name, (outcome, rtt, error) in sorted(checks.items())}
    return merged, by_vantage
