// The log-a-call page: as the agent types the caller's number, say who it belongs to
// (the admin's caller view), before anything is saved. Text only, never HTML.
// The admin loads form media in the head: start once the form is there.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  const input = document.getElementById("id_caller_number");
  if (!input || !document.getElementById("calllog_form")) return;
  const out = document.createElement("p");
  out.id = "caller-preview";
  out.className = "help";
  out.setAttribute("role", "status");
  input.insertAdjacentElement("afterend", out);
  let timer = null;
  let asked = "";

  async function lookUp() {
    const number = input.value.trim();
    if (!number || number === asked) return;
    asked = number;
    const url = new URL("../caller/", window.location.href);
    url.searchParams.set("number", number);
    const response = await fetch(url, { credentials: "same-origin" });
    if (!response.ok || number !== input.value.trim()) return;
    const found = await response.json();
    if (!found.valid || !found.found) {
      out.textContent = found.detail;
      return;
    }
    const parts = [found.name];
    if (found.ticket) parts.push(found.ticket);
    parts.push(...found.contacts);
    out.textContent = parts.join(" · ");
  }

  input.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(lookUp, 400);
  });
  input.addEventListener("change", lookUp);
  lookUp();
});
