"""The rules a fresh installation starts with: every swarm-wide kind, enabled, with the default thresholds (server
gone needs a peer to watch, so operators add those). Created only while no rule exists at all: an operator who
wants fewer alerts disables rules rather than deleting them all."""

from __future__ import annotations

from django.db import transaction

from explorer.models import AlertRule

Kind = AlertRule.Kind
DEFAULT_RULES = (
    (Kind.MODEL_BROKEN, 60.0),
    (Kind.MODEL_DEGRADED, 300.0),
    (Kind.PROBE_FAILING, 0.0),
    (Kind.PROBE_SLOW, 0.0),
    (Kind.SERVER_INCONSISTENT, 0.0),
    (Kind.BOOTSTRAP_UNREACHABLE, 60.0),
    (Kind.CRAWLER_STALE, 0.0),
    (Kind.VERSION_DRIFT, 3600.0),
)


def ensure_default_rules() -> list[AlertRule]:
    """Creates the default rules if there are no rules yet; returns the ones it created."""
    with transaction.atomic():
        if AlertRule.objects.exists():
            return []
        return AlertRule.objects.bulk_create(
            [AlertRule(kind=kind, grace_s=grace, note="default rule") for kind, grace in DEFAULT_RULES])
