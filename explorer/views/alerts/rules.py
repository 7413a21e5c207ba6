"""`/alerts/rules/`: the rules, and creating, editing and deleting them (staff only)."""

from __future__ import annotations

from django.urls import reverse_lazy
from django.views.generic import CreateView, DeleteView, ListView, UpdateView

from explorer.alerting.forms import RuleForm
from explorer.alerting.rule_params import in_words, watches
from explorer.models import AlertRule
from explorer.views.alerts.access import StaffRequiredMixin
from explorer.views.alerts.editing import EditingContext


class RuleList(StaffRequiredMixin, ListView):
    model = AlertRule
    template_name = "explorer/alerts/rules.html"
    context_object_name = "rules"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["rules"] = [(rule, in_words(rule)) for rule in context["rules"]]
        return context


class RuleCreate(StaffRequiredMixin, EditingContext, CreateView):
    model, form_class, noun = AlertRule, RuleForm, "rule"
    form_template = "explorer/alerts/rule_form.html"
    success_url = reverse_lazy("alert-rules")


class RuleUpdate(StaffRequiredMixin, EditingContext, UpdateView):
    model, form_class, noun = AlertRule, RuleForm, "rule"
    form_template = "explorer/alerts/rule_form.html"
    success_url = reverse_lazy("alert-rules")


class RuleDelete(StaffRequiredMixin, EditingContext, DeleteView):
    model, noun = AlertRule, "rule"
    success_url = reverse_lazy("alert-rules")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        rule = self.object
        context["subject"] = f"the {rule.get_kind_display()} rule watching {watches(rule)}" + (
            f" (server {rule.peer_id})" if rule.peer_id else "")
        return context
