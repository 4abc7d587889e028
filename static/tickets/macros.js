/* The ticket page's macro picker (templates/admin/tickets/includes/macro_picker.html).
 *
 * Choosing a macro puts its text, rendered by the server for this ticket's customer, in the
 * reply box (replacing what is there, after asking), sets "Then set status" to the macro's
 * status when it has one, and names the macro in the form's hidden "macro" field. Changing
 * the status by hand afterwards drops the macro's, so the agent's choice wins. */
"use strict";

(function () {
  const picker = document.getElementById("mw-macro-picker");
  if (!picker) return;
  const form = picker.closest("form");
  const body = form.querySelector("textarea[name=body]");
  const status = form.querySelector("select[name=then_status]");
  const chosen = form.querySelector("input[name=macro]");

  picker.addEventListener("change", () => {
    const option = picker.selectedOptions[0];
    picker.value = "";
    if (!option || !option.value) return;
    if (body.value.trim() && body.value !== option.dataset.text && !window.confirm(picker.dataset.replace)) return;
    body.value = option.dataset.text;
    chosen.value = option.value;
    if (status && option.dataset.status) status.value = option.dataset.status;
    body.focus();
  });

  if (status) status.addEventListener("change", () => { chosen.value = ""; });
})();
