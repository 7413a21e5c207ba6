// The rule form (/alerts/rules/new/, /alerts/rules/<id>/): shows only the fields of the kind chosen in its kind
// select. Each group of fields carries data-kinds (the kinds it belongs to); the others are hidden and disabled, so
// they are not sent. Without this script every field shows, grouped and labelled by kind.
(function () {
  "use strict";
  const form = document.querySelector("form[data-rule-form]");
  const kind = form && form.querySelector("select[name=kind]");
  if (!kind) return;
  function showChosenKind() {
    for (const group of form.querySelectorAll("[data-kinds]")) {
      const shown = group.dataset.kinds.split(" ").includes(kind.value);
      group.hidden = !shown;
      group.disabled = !shown;  // a disabled fieldset disables (and does not send) every control in it
    }
  }
  kind.addEventListener("change", showChosenKind);
  showChosenKind();
})();
