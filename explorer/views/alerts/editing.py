"""What the create, edit and delete pages of rules, channels and silences share: one form template, one
confirmation template, a title and where "cancel" goes."""

from __future__ import annotations

from django.contrib import messages
from django.views.generic import DeleteView


class EditingContext:
    noun = "object"
    form_template = "explorer/alerts/form.html"

    def get_template_names(self):
        if isinstance(self, DeleteView):
            return ["explorer/alerts/confirm_delete.html"]
        return [self.form_template]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        if isinstance(self, DeleteView):
            verb = "Delete"
        else:
            verb = "New" if getattr(self, "object", None) is None else "Edit"
        context.update(heading=f"{verb} {self.noun}", cancel_url=self.success_url)
        return context

    def form_valid(self, form):
        response = super().form_valid(form)
        messages.success(self.request, f"Saved the {self.noun}.")
        return response
