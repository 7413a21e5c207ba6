"""The server page's "From each vantage" table: each vantage's latest check of this server (reached, no answer, not
checked), its latency and when, and the line "unreachable from B" when the vantages disagree; and the public list of
vantages (/rejected/: up or down, since when, last seen)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Optional

from explorer import vantage_status
from explorer.models import Vantage, VantageResult
from swarm.snapshot import ANSWERED, NO_ANSWER, CrawlSnapshot, ServerRecord
from swarm.vantage_views import split_outcomes, unreachable_from

OUTCOME_WORDS = {ANSWERED: "reached", NO_ANSWER: "no answer"}  # anything else: not checked
ROWS_SHOWN = 50  # vantages are an operator's few agents; a bound all the same


@dataclass(frozen=True)
class VantageRow:
    name: str
    outcome: str  # answered, no_answer, not_checked
    rtt_s: Optional[float]
    error: str
    checked_at: Optional[datetime]

    @property
    def words(self) -> str:
        return OUTCOME_WORDS.get(self.outcome, "not checked")


def vantage_rows(peer, records: list[ServerRecord], snapshot: Optional[CrawlSnapshot]) -> list[VantageRow]:
    """The latest check from each vantage: the latest crawl's (from its records) over the stored ones (a vantage
    that did not report in the latest crawl keeps its older result, with its time), sorted by vantage name."""
    rows: dict[str, VantageRow] = {}
    if peer is not None:
        for result in VantageResult.objects.filter(server__peer=peer).order_by("-checked_at", "-id")[:1000]:
            rows.setdefault(result.vantage, VantageRow(result.vantage, result.outcome, result.rtt_s,
                                                       result.error, result.checked_at))
    crawled = datetime.fromtimestamp(snapshot.started_at, tz=timezone.utc) if snapshot else None
    for record in records:
        for name, check in record.vantages.items():
            known = rows.get(name)
            if known is None or known.checked_at is None or crawled is None or known.checked_at <= crawled:
                rows[name] = VantageRow(name, check.outcome, check.rtt_s, check.error or "", crawled)
    return [rows[name] for name in sorted(rows)][:ROWS_SHOWN]


def disagreement(rows: list[VantageRow]) -> str:
    """"unreachable from B" when some vantage reached the server and another failed it; "" when they agree."""
    found = split_outcomes({row.name: row.outcome for row in rows})
    return unreachable_from(found.failed) if found.disputed else ""


def vantage_context(peer, records: list[ServerRecord], snapshot: Optional[CrawlSnapshot]) -> dict:
    rows = vantage_rows(peer, records, snapshot)
    return {"vantage_rows": rows, "vantage_disagreement": disagreement(rows)}


@dataclass(frozen=True)
class VantageState:
    name: str
    local: bool
    up: bool
    since: datetime
    last_seen: datetime


def vantage_states(now: datetime) -> list[VantageState]:
    """Every vantage (the local one and the agents'), up or down as explorer.vantage_status says, by name."""
    return [VantageState(vantage.name, vantage_status.is_local(vantage), vantage_status.is_up(vantage, now),
                         vantage_status.up_since(vantage, now), vantage.last_seen)
            for vantage in Vantage.objects.order_by("name")[:ROWS_SHOWN]]
