/* A ticket page's presence: tells the other agents on this ticket that this agent is
   typing a reply, shows who else is ("Wang Fang is replying…", gone 15 s after their last
   keystroke), and asks before sending when someone else answered since the page loaded.
   The texts come from the page (#mw-ticket-live's data attributes), in the agent's
   language. */
"use strict";

(function () {
  const TYPING_EVERY_MS = 3000;
  const SHOWN_MS = 15000;

  document.addEventListener("DOMContentLoaded", () => {
    const box = document.getElementById("mw-ticket-live");
    const form = document.getElementById("reply");
    if (!box) return;
    const ticket = Number(box.dataset.ticket);
    const lastLoaded = Number(box.dataset.lastMessage || 0);
    const replying = new Map();  // name -> timer
    let answeredSince = false;
    let lastTyping = 0;

    const socket = window.mwWorkspaceSocket((frame) => {
      if (frame.ticket !== ticket) return;
      if (frame.type === "replying") show(frame.name);
      if (frame.type === "message" && frame.message > lastLoaded && frame.direction === "outbound") {
        answeredSince = true;
        box.querySelector(".mw-answered").hidden = false;
      }
    }, (api) => api.send({ type: "watch", ticket }));

    function show(name) {
      clearTimeout(replying.get(name));
      replying.set(name, setTimeout(() => { replying.delete(name); render(); }, SHOWN_MS));
      render();
    }

    function render() {
      const names = [...replying.keys()];
      const line = box.querySelector(".mw-replying");
      line.hidden = names.length === 0;
      line.textContent = names.length ? box.dataset.replying.replace("{names}", names.join(", ")) : "";
    }

    if (!form) return;
    form.querySelector("textarea").addEventListener("input", () => {
      const now = Date.now();
      if (now - lastTyping < TYPING_EVERY_MS) return;
      lastTyping = now;
      socket.send({ type: "typing" });
    });
    form.addEventListener("submit", (event) => {
      if (answeredSince && !window.confirm(box.dataset.confirm)) event.preventDefault();
    });
  });
})();
