"""`/alerts/silences/`: silences in force, upcoming and past; creating one (its author is the signed-in operator)
and ending one early (an upcoming one is cancelled). Staff only."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse_lazy
from django.utils import timezone
from django.views.decorators.http import require_POST
from django.views.generic import CreateView, ListView

from explorer.alerting.forms import SilenceForm
from explorer.models import Silence
from explorer.views.alerts.access import StaffRequiredMixin, staff_required
from explorer.views.alerts.editing import EditingContext

PAST_SHOWN = 50


class SilenceList(StaffRequiredMixin, ListView):
    model = Silence
    template_name = "explorer/alerts/silences.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        now = timezone.now()
        context.update(now=now, current=Silence.objects.filter(ends_at__gt=now).order_by("starts_at"),
                       past=Silence.objects.filter(ends_at__lte=now).order_by("-ends_at")[:PAST_SHOWN])
        return context


class SilenceCreate(StaffRequiredMixin, EditingContext, CreateView):
    model, form_class, noun = Silence, SilenceForm, "silence"
    success_url = reverse_lazy("alert-silences")

    def form_valid(self, form):
        form.instance.author = self.request.user
        form.instance.author_name = self.request.user.get_username()
        return super().form_valid(form)


@require_POST
@staff_required
def silence_expire(request, pk: int):
    silence = get_object_or_404(Silence, pk=pk)
    now = timezone.now()
    if silence.starts_at >= now:
        silence.delete()
        messages.success(request, f"Silence #{pk} cancelled before it began.")
    elif silence.ends_at > now:
        Silence.objects.filter(pk=pk).update(ends_at=now)
        messages.success(request, f"Silence #{pk} ended.")
    return redirect("alert-silences")
