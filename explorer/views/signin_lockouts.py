"""Staff only: the failed sign-ins still counted and the addresses and accounts they lock (django-axes' records), for
operators who are not superusers (superusers also have the admin's Axes pages)."""

from __future__ import annotations

import math
from datetime import timedelta

from axes.helpers import get_cool_off
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Max, Sum
from django.shortcuts import render
from django.utils import timezone

from explorer.views.alerts.access import staff_required

SHOWN = 200  # rows of each table


def lockout_period() -> timedelta:
    return get_cool_off() or timedelta(minutes=settings.SIGNIN_LOCKOUT_MINUTES)


def locked(attempts, field: str) -> list[dict]:
    """The values of `field` (ip_address or username) whose failures reach the limit, newest failure first."""
    return list(attempts.values(field).annotate(failures=Sum("failures_since_start"), last=Max("attempt_time"))
                .filter(failures__gte=settings.SIGNIN_FAILURE_LIMIT).order_by("-last")[:SHOWN])


@staff_required
def signin_lockouts(request):
    period = lockout_period()
    since = timezone.now() - period
    attempts = AccessAttempt.objects.filter(attempt_time__gte=since)
    return render(request, "registration/lockouts.html", {
        "attempts": attempts.order_by("-attempt_time")[:SHOWN],
        "locked_addresses": locked(attempts, "ip_address"),
        "locked_accounts": locked(attempts.exclude(username=None), "username"),
        "failure_limit": settings.SIGNIN_FAILURE_LIMIT,
        "lockout_minutes": math.ceil(period.total_seconds() / 60),
    })
