"""The page a locked-out sign-in gets (AXES_LOCKOUT_CALLABLE), on /accounts/login/ and /admin/login/ alike: 429,
in the site's layout, saying that sign-in is locked and until when."""

from __future__ import annotations

import math
from datetime import timedelta

from axes.helpers import get_client_parameters, get_client_username, get_cool_off
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Max
from django.shortcuts import render
from django.utils import timezone

STATUS = 429


def unlocks_at(request, credentials, cool_off: timedelta):
    """When the lock lifts at the latest: the cool-off after the newest failure that counts against this sign-in."""
    username = get_client_username(request, credentials)
    filters = get_client_parameters(username, getattr(request, "axes_ip_address", None),
                                    getattr(request, "axes_user_agent", ""), request, credentials)
    newest = [moment for terms in filters
              if (moment := AccessAttempt.objects.filter(**terms).aggregate(newest=Max("attempt_time"))["newest"])]
    return (max(newest) if newest else timezone.now()) + cool_off


def lockout_response(request, *_):
    """axes passes (request, response, credentials) or, from its async middleware, (request, credentials): the
    credentials are read from the request, where axes always leaves them."""
    credentials = getattr(request, "axes_credentials", None)
    cool_off = get_cool_off(request) or timedelta(minutes=settings.SIGNIN_LOCKOUT_MINUTES)
    until = unlocks_at(request, credentials, cool_off)
    wait = max(1, math.ceil((until - timezone.now()).total_seconds()))
    response = render(request, "registration/locked_out.html", {
        "failure_limit": settings.SIGNIN_FAILURE_LIMIT,
        "minutes": max(1, math.ceil(wait / 60)),
        "until": until,
        "lockout_minutes": math.ceil(cool_off.total_seconds() / 60),
    }, status=STATUS)
    response["Retry-After"] = str(wait)
    return response
