"""`/alerts/channels/`: notification channels (create, edit, delete; a generated secret shown once), "send test
notification" (rate-limited per operator) and enabling a channel that a permanent error disabled. Staff only: channel
settings hold secrets."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse_lazy
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_POST
from django.views.generic import CreateView, DeleteView, ListView, UpdateView

from explorer.alerting.channel_actions import enable_channel, send_test_notification
from explorer.alerting.channel_config import target
from explorer.alerting.forms import ChannelForm
from explorer.models import AlertChannel
from explorer.ratelimits import retry_after
from explorer.views.alerts.access import StaffRequiredMixin, staff_required
from explorer.views.alerts.editing import EditingContext


class ChannelList(StaffRequiredMixin, ListView):
    model = AlertChannel
    template_name = "explorer/alerts/channels.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["channels"] = [(channel, target(channel)) for channel in context["object_list"]]
        return context


class ShowsGeneratedSecretOnce:
    """After a save that generated a secret (a webhook's signing secret left empty, or cleared), the one page that
    shows it, never stored by a browser or a proxy (Cache-Control: no-store), instead of the redirect: secrets are
    write-only, so there is no other place to read it."""

    def form_valid(self, form):
        response = super().form_valid(form)
        if not form.shown_once:
            return response
        _shown, note = form.shown_once
        page = render(self.request, "explorer/alerts/secret_once.html",
                      {"channel": self.object, "note": note, "next_url": self.success_url})
        add_never_cache_headers(page)
        page["Cache-Control"] = "no-store"
        return page


class ChannelCreate(StaffRequiredMixin, ShowsGeneratedSecretOnce, EditingContext, CreateView):
    model, form_class, noun = AlertChannel, ChannelForm, "channel"
    success_url = reverse_lazy("alert-channels")


class ChannelUpdate(StaffRequiredMixin, ShowsGeneratedSecretOnce, EditingContext, UpdateView):
    model, form_class, noun = AlertChannel, ChannelForm, "channel"
    success_url = reverse_lazy("alert-channels")


class ChannelDelete(StaffRequiredMixin, EditingContext, DeleteView):
    model, noun = AlertChannel, "channel"
    success_url = reverse_lazy("alert-channels")


def _operator(_group, request) -> str:
    return f"operator:{request.user.get_username()}"


@require_POST
@staff_required
def channel_test(request, pk: int):
    channel = get_object_or_404(AlertChannel, pk=pk)
    wait = retry_after(request, "alert-test", settings.ALERT_TEST_RATE, key=_operator)
    if wait is not None:
        response = render(request, "explorer/alerts/rate_limited.html", {
            "what": "test notifications", "rate": settings.ALERT_TEST_RATE, "wait": wait}, status=429)
        response["Retry-After"] = str(wait)
        return response
    delivery = send_test_notification(channel)
    messages.success(request, f"Test notification queued for {channel.name} (delivery #{delivery.pk}); "
                              f"its outcome appears under recent notifications.")
    return redirect("alerts")


@require_POST
@staff_required
def channel_enable(request, pk: int):
    channel = get_object_or_404(AlertChannel, pk=pk)
    enable_channel(channel)
    messages.success(request, f"Enabled {channel.name}.")
    return redirect("alert-channels")
