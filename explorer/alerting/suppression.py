"""Why an alert's notification is held back, pure: inhibition (a stale crawler holds everything derived from crawls;
a broken model holds its own degraded, per-server and probe alerts), silences (matchers on model, rule kind and
peer id, with * and ? wildcards) and flapping."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from fnmatch import fnmatchcase
from typing import Iterable, Optional

from explorer.alerting.lifecycle import ACTIVE
from explorer.models import Alert, AlertRule, Silence

Kind = AlertRule.Kind

CRAWL_DERIVED = {Kind.MODEL_BROKEN, Kind.MODEL_DEGRADED, Kind.SERVER_GONE, Kind.VERSION_DRIFT,
                 Kind.BOOTSTRAP_UNREACHABLE, Kind.UNREACHABLE_FROM, Kind.VANTAGE_DOWN}
HELD_BY_BROKEN_MODEL = {Kind.MODEL_DEGRADED, Kind.SERVER_GONE, Kind.SERVER_INCONSISTENT, Kind.PROBE_FAILING,
                        Kind.PROBE_SLOW}


@dataclass(frozen=True)
class Subject:
    kind: str
    model: str = ""
    peer_id: str = ""


def subject_of(alert: Alert, rule: AlertRule) -> Subject:
    return Subject(rule.kind, alert.model, alert.peer_id)


@dataclass(frozen=True)
class Inhibition:
    crawler_stale: bool = False
    broken_models: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def among(cls, alerts: Iterable[tuple[Alert, AlertRule]]) -> "Inhibition":
        """From the alerts whose condition holds now (pending or firing): an inhibitor need not have fired yet, so
        that its consequences never get announced ahead of it."""
        active = [subject_of(alert, rule) for alert, rule in alerts if alert.state in ACTIVE]
        return cls(crawler_stale=any(item.kind == Kind.CRAWLER_STALE for item in active),
                   broken_models=frozenset(item.model for item in active if item.kind == Kind.MODEL_BROKEN))

    def reason(self, subject: Subject) -> Optional[str]:
        if self.crawler_stale and subject.kind in CRAWL_DERIVED:
            return "inhibited: the crawler is stale, so crawl-derived alerts are not trusted"
        if subject.model in self.broken_models and subject.kind in HELD_BY_BROKEN_MODEL:
            return f"inhibited: {subject.model[:128]} is broken"
        return None


def silence_matches(silence: Silence, subject: Subject) -> bool:
    return ((not silence.model_pattern or fnmatchcase(subject.model, silence.model_pattern))
            and (not silence.kind or silence.kind == subject.kind)
            and (not silence.peer_pattern or fnmatchcase(subject.peer_id, silence.peer_pattern)))


def silence_active(silence: Silence, now: datetime) -> bool:
    return silence.starts_at <= now < silence.ends_at


def held_reason(subject: Subject, flapping: bool, inhibition: Inhibition, silences: Iterable[Silence],
                now: datetime) -> Optional[str]:
    """Why a notification about `subject` is held now, or None when it may go out."""
    for silence in silences:
        if silence_active(silence, now) and silence_matches(silence, subject):
            return f"silenced by silence #{silence.pk} ({silence.author_name[:60]}: {silence.comment[:120]})"
    inhibited = inhibition.reason(subject)
    if inhibited is not None:
        return inhibited
    if flapping:
        return "held: the alert is flapping"
    return None
