/* The ticket page's "Reveal" control (templates/admin/tickets/includes/personal_data.html).
 *
 * "Reveal" asks for the reason first when the page says one is needed (no strong
 * verification on the ticket), then posts the form (its CSRF token, the reason) to the
 * workspace's reveal URL, which calls the audited action and answers JSON. The value is
 * put in place of its masked form as text, and kept nowhere else: not in storage, not in
 * the URL, so reloading the page shows the masked form again. */
"use strict";

(function () {
  function show(form, text, isError) {
    const error = form.querySelector(".mw-reveal-error");
    error.textContent = isError ? text : "";
  }

  async function reveal(form) {
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      const response = await fetch(form.action, {
        method: "POST",
        body: new FormData(form),
        credentials: "same-origin",
        cache: "no-store",
        headers: { "X-Requested-With": "fetch" },
      });
      const isJson = (response.headers.get("content-type") || "").includes("json");
      const answer = isJson ? await response.json() : {};
      if (!response.ok || answer.value === undefined) {
        show(form, answer.error || form.dataset.failed, true);
        return;
      }
      const shown = document.getElementById(form.dataset.shows);
      shown.textContent = answer.value;
      shown.classList.add("mw-revealed");
      form.remove();
    } catch (failure) {
      show(form, form.dataset.failed, true);
    } finally {
      button.disabled = false;
    }
  }

  document.querySelectorAll("form.mw-reveal").forEach((form) => {
    const ask = form.querySelector(".mw-reveal-ask");
    if (ask) {
      ask.addEventListener("click", () => {
        ask.hidden = true;
        const reason = form.querySelector(".mw-reveal-reason");
        reason.hidden = false;
        reason.querySelector("input").focus();
      });
    }
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      reveal(form);
    });
  });
})();
