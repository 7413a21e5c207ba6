"""The thresholds each rule kind takes, with defaults and bounds: one table that forms, the command and the
evaluator all read, so a rule's parameters are validated the same way wherever they are set."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Optional

from packaging.version import InvalidVersion, Version

from explorer.alerting.durations import format_duration, parse_duration
from explorer.models import AlertRule

Kind = AlertRule.Kind


@dataclass(frozen=True)
class Param:
    name: str
    type: type  # int, float or str
    default: Any  # None: optional, unset
    help: str
    minimum: Optional[float] = None
    maximum: Optional[float] = None
    duration: bool = False  # a float of seconds that may also be typed as "90s", "5m", "2h" (explorer.alerting.durations)


PARAMS: dict[str, tuple[Param, ...]] = {
    Kind.MODEL_DEGRADED: (Param("min_replication", int, 2, "fires when some block has fewer online servers", 1),),
    Kind.PROBE_FAILING: (Param("consecutive", int, 3, "fires after this many route probes in a row failed", 1, 100),),
    Kind.PROBE_SLOW: (
        Param("p95_seconds", float, None, "fires when a probe's per-token p95 latency is above this (seconds)", 0.0),
        Param("median_factor", float, 3.0, "fires when the p95 is this many times its median over the baseline", 1.0),
        Param("baseline_days", float, 7.0, "days of successful probes the median is taken over", 0.1, 90),
        Param("min_baseline_probes", int, 5, "probes the baseline needs before the factor applies", 1),
    ),
    Kind.BOOTSTRAP_UNREACHABLE: (
        Param("min_unreachable", int, 1, "fires when at least this many bootstrap peers do not answer", 1),
    ),
    Kind.CRAWLER_STALE: (
        Param("intervals", int, 3, "fires after this many crawl intervals without a good crawl", 1),
        Param("max_unchecked_share", float, 0.5, "also fires when that many crawls running could not check more than "
              "this share of the servers announced online and not already found unreachable (the crawler runs "
              "but can no longer tell who is up)", 0.0, 1.0),
    ),
    Kind.VERSION_DRIFT: (
        Param("max_outdated_share", float, 0.5, "fires when a larger share of servers runs an older Petals", 0.0, 1.0),
        Param("minimum_version", str, None, "the oldest version not counted as outdated (default: the newest seen)"),
    ),
    Kind.UNREACHABLE_FROM: (
        Param("min_vantages", int, 2, "fires for a server at least this many vantages failed to reach in the latest "
              "crawl (vantages that did not report in time are not counted)", 1, 1000),
    ),
    Kind.VANTAGE_DOWN: (
        Param("down_for_s", float, 120.0, "fires for an agent's vantage that has been down (no heartbeat within "
              "VANTAGE_EXPIRY) longer than this: seconds, or 90s, 5m, 2h", 1.0, 366 * 86400.0, duration=True),
    ),
}

ALL_PARAMS: dict[str, Param] = {param.name: param for params in PARAMS.values() for param in params}
MODEL_SCOPED = {Kind.MODEL_BROKEN, Kind.MODEL_DEGRADED, Kind.SERVER_GONE, Kind.PROBE_FAILING, Kind.PROBE_SLOW,
                Kind.SERVER_INCONSISTENT, Kind.VERSION_DRIFT, Kind.UNREACHABLE_FROM}  # may be limited to one model
SWARM_ONLY = {Kind.BOOTSTRAP_UNREACHABLE, Kind.CRAWLER_STALE, Kind.VANTAGE_DOWN}


class InvalidParams(ValueError):
    """Carries {field: message} for forms and the command."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{field}: {message}" for field, message in errors.items()))
        self.errors = errors


def _coerce(param: Param, value: Any) -> Any:
    if param.type is str:
        text = str(value).strip()
        if param.name == "minimum_version":
            try:
                Version(text)
            except InvalidVersion:
                raise ValueError(f"{text[:40]!r} is not a version number such as 2.2.0") from None
        return text[:64]
    if isinstance(value, bool):
        raise ValueError("expected a number")
    if param.duration and isinstance(value, str) and value.strip()[-1:].isalpha():
        value = parse_duration(value).total_seconds()
    try:
        number = param.type(value)
    except (TypeError, ValueError):
        raise ValueError("expected a whole number" if param.type is int else "expected a number") from None
    if isinstance(number, float) and not math.isfinite(number):
        raise ValueError("expected a finite number")
    if param.minimum is not None and number < param.minimum:
        raise ValueError(f"must be at least {param.minimum:g}")
    if param.maximum is not None and number > param.maximum:
        raise ValueError(f"must be at most {param.maximum:g}")
    return number


def clean_params(kind: str, given: dict[str, Any]) -> dict[str, Any]:
    """The parameters of `kind` from `given` (empty values dropped), validated; unknown names are errors."""
    allowed = {param.name: param for param in PARAMS.get(kind, ())}
    errors, cleaned = {}, {}
    for name, value in given.items():
        if value is None or value == "":
            continue
        param = allowed.get(name)
        if param is None:
            errors[name] = (f"not a parameter of {kind} rules"
                            + (f" (they take {', '.join(allowed)})" if allowed else " (they take none)"))
            continue
        try:
            cleaned[name] = _coerce(param, value)
        except ValueError as error:
            errors[name] = str(error)
    if errors:
        raise InvalidParams(errors)
    return cleaned


def param(rule: AlertRule, name: str) -> Any:
    """A rule's parameter, or its default; a stored value that no longer validates falls back to the default."""
    spec = ALL_PARAMS[name]
    value = (rule.params or {}).get(name)
    if value is None:
        return spec.default
    try:
        return _coerce(spec, value)
    except ValueError:
        return spec.default


def describe(rule: AlertRule) -> str:
    """The rule's effective thresholds, for lists: "min_replication=2"."""
    return ", ".join(f"{item.name}={param(rule, item.name)}" for item in PARAMS.get(rule.kind, ())
                     if param(rule, item.name) is not None)


def watches(rule: AlertRule) -> str:
    """What the rule watches, for people: its model, "every model", or "the swarm" for kinds with no model."""
    if rule.kind not in MODEL_SCOPED:
        return "the swarm"
    return rule.model or "every model"


def _share(value: float) -> str:
    return f"{value:.0%}"


def _probe_slow(get) -> str:
    over_median = (f"p95 over {get('median_factor'):g}x the {get('baseline_days'):g}-day median "
                   f"(after {get('min_baseline_probes')} probes)")
    limit = get("p95_seconds")
    return f"p95 over {limit:g} s per token, or {over_median}" if limit is not None else over_median


def _crawler_stale(get) -> str:
    intervals = get("intervals")
    return (f"no good crawl for {intervals} crawl interval{'s' if intervals != 1 else ''}, or {intervals} crawls in a "
            f"row unable to check over {_share(get('max_unchecked_share'))} of the servers")


def _version_drift(get) -> str:
    minimum = get("minimum_version")
    return (f"over {_share(get('max_outdated_share'))} of servers run a Petals older than "
            f"{minimum if minimum else 'the newest seen'}")


def _bootstrap_unreachable(get) -> str:
    wanted = get("min_unreachable")
    return f"at least {wanted} bootstrap peer{'s' if wanted != 1 else ''} not answering"


def _unreachable_from(get) -> str:
    wanted = get("min_vantages")
    return f"a server unreachable from at least {wanted} vantage{'s' if wanted != 1 else ''}"


READABLE = {  # each kind's thresholds in words: the pages' one formatter (describe() stays key=value for scripts)
    Kind.MODEL_DEGRADED: lambda get: f"some block on fewer than {get('min_replication')} online servers",
    Kind.PROBE_FAILING: lambda get: f"{get('consecutive')} failed probes in a row",
    Kind.PROBE_SLOW: _probe_slow,
    Kind.BOOTSTRAP_UNREACHABLE: _bootstrap_unreachable,
    Kind.CRAWLER_STALE: _crawler_stale,
    Kind.VERSION_DRIFT: _version_drift,
    Kind.UNREACHABLE_FROM: _unreachable_from,
    Kind.VANTAGE_DOWN: lambda get: f"an agent's vantage down for over {format_duration(get('down_for_s'))}",
}


def readable(rule: AlertRule) -> str:
    """The rule's effective thresholds in words, for the pages: "p95 over 3x the 7-day median (after 5 probes)";
    "" for kinds that take none."""
    words = READABLE.get(rule.kind)
    return words(lambda name: param(rule, name)) if words else ""


@dataclass(frozen=True)
class RuleWords:
    """A rule as the pages show it."""

    watches: str  # "tiny-llama", "every model", "the swarm"
    thresholds: str  # "3 failed probes in a row"; "" when the kind takes none
    grace: str  # "2 min"
    reminders: str  # "every 4 h", "none"


def in_words(rule: AlertRule) -> RuleWords:
    return RuleWords(watches=watches(rule), thresholds=readable(rule), grace=format_duration(rule.grace_s),
                     reminders=f"every {format_duration(rule.repeat_s)}" if rule.repeat_s else "none")
