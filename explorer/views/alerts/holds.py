"""Why each active alert's notifications are held right now (silence, inhibition, flapping), for the pages: the
same rules the evaluator applies, computed from the stored alerts and the silences in force."""

from __future__ import annotations

from datetime import datetime
from typing import Iterable, Optional

from explorer.alerting.lifecycle import ACTIVE
from explorer.alerting.suppression import Inhibition, Subject, held_reason
from explorer.models import Alert, Silence


def current_holds(alerts: Iterable[Alert], now: datetime) -> dict[int, Optional[str]]:
    alerts = list(alerts)
    inhibition = Inhibition.from_active(Subject(alert.rule.kind, alert.model, alert.peer_id)
                                        for alert in alerts if alert.state in ACTIVE and alert.rule.enabled)
    silences = list(Silence.objects.filter(starts_at__lte=now, ends_at__gt=now))
    return {alert.pk: held_reason(Subject(alert.rule.kind, alert.model, alert.peer_id), alert.flapping, inhibition,
                                  silences, now)
            for alert in alerts}
