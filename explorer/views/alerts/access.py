"""Staff only: anonymous visitors are sent to sign in, signed-in users who are not staff get 403."""

from __future__ import annotations

from functools import wraps

from django.contrib.auth.mixins import UserPassesTestMixin
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied

NOT_STAFF = "Alert rules, channels and silences are for the operators of this site (staff accounts)."


class StaffRequiredMixin(UserPassesTestMixin):
    permission_denied_message = NOT_STAFF

    def test_func(self) -> bool:
        return self.request.user.is_active and self.request.user.is_staff


def staff_required(view):
    @wraps(view)
    def guarded(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not (request.user.is_active and request.user.is_staff):
            raise PermissionDenied(NOT_STAFF)
        return view(request, *args, **kwargs)

    return guarded
