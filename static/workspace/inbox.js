/* The inbox's live updates: when the workspace socket says tickets changed, the page
   fetches itself again and swaps in the rows and the tabs' counts, highlighting the rows
   of the tickets that changed. No reload; nothing is swapped while the agent has rows
   selected for a bulk action (it is done once they clear the selection). */
"use strict";

(function () {
  const WAIT_MS = 800;  // gather the announcements of a busy moment into one fetch
  let changed = new Set();
  let timer = null;

  function selecting() {
    return document.querySelector("#result_list input.action-select:checked") !== null;
  }

  function schedule() {
    if (timer === null) timer = setTimeout(refresh, WAIT_MS);
  }

  async function refresh() {
    timer = null;
    if (selecting()) { timer = setTimeout(refresh, 3000); return; }
    const ids = changed;
    changed = new Set();
    const response = await fetch(location.href, { credentials: "same-origin" });
    if (!response.ok) return;
    const page = new DOMParser().parseFromString(await response.text(), "text/html");
    swap(page, "#result_list tbody");
    swap(page, ".mw-inbox-tabs");
    swap(page, ".paginator");
    document.querySelectorAll("#result_list input.action-select").forEach((box) => {
      if (ids.has(Number(box.value))) box.closest("tr").classList.add("mw-changed");
    });
  }

  function swap(page, selector) {
    const fresh = page.querySelector(selector);
    const current = document.querySelector(selector);
    if (fresh && current) current.replaceWith(fresh);
  }

  document.addEventListener("DOMContentLoaded", () => {
    if (!document.querySelector("#result_list, .mw-inbox-tabs")) return;
    window.mwWorkspaceSocket((frame) => {
      if (frame.type !== "changed") return;
      frame.tickets.forEach((id) => changed.add(id));
      schedule();
    });
  });
})();
