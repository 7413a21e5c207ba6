"""The thresholds each rule kind takes, with defaults and bounds: one table that forms, the command and the
evaluator all read, so a rule's parameters are validated the same way wherever they are set."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Optional

from packaging.version import InvalidVersion, Version

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
}

ALL_PARAMS: dict[str, Param] = {param.name: param for params in PARAMS.values() for param in params}
MODEL_SCOPED = {Kind.MODEL_BROKEN, Kind.MODEL_DEGRADED, Kind.SERVER_GONE, Kind.PROBE_FAILING, Kind.PROBE_SLOW,
                Kind.SERVER_INCONSISTENT, Kind.VERSION_DRIFT}  # may be limited to one model
SWARM_ONLY = {Kind.BOOTSTRAP_UNREACHABLE, Kind.CRAWLER_STALE}


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
