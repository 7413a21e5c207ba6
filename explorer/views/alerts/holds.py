"""Why each active alert's notifications are held right now (silence, inhibition, flapping), for the pages: the
same rules the evaluator applies, computed from the stored alerts and the silences in force."""

from __future__ import annotations

from datetime import datetime
from typing import Iterable, Optional

from explorer.alerting.suppression import Inhibition, held_reason, subject_of
from explorer.models import Alert, Silence


def current_holds(alerts: Iterable[Alert], now: datetime) -> dict[int, Optional[str]]:
    with_rules = [(alert, alert.rule) for alert in alerts]
    inhibition = Inhibition.among(with_rules)
    silences = list(Silence.objects.in_force(now))
    return {alert.pk: held_reason(subject_of(alert, rule), alert.flapping, inhibition, silences, now)
            for alert, rule in with_rules}
