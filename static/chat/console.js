/* The agent console (templates/chat/console.html), speaking chat/protocol.py on /ws/agent/.
 *
 * Presence, the waiting list with live wait times, several chats at once (a tab each, with
 * its own thread, draft, typing indicator and customer panel), replies and internal notes,
 * macros (canned replies), transfer and close. New chats beep (Web Audio) and count in the title.
 * All text from the network is inserted with textContent. */
"use strict";

(function () {
  const { el, format, uuid, time, wsUrl, ReconnectingSocket } = window.MWChat;
  const config = window.MWChat.readJSON("console-config");
  const t = config.strings || {};
  const $ = (id) => document.getElementById(id);

  const ui = {
    presence: $("presence"),
    limit: $("chat-limit"),
    waitingList: $("waiting-list"),
    waitingCount: $("waiting-count"),
    waitingMore: $("waiting-more"),
    tabs: $("chat-tabs"),
    mineCount: $("mine-count"),
    noChats: $("no-chats"),
    panels: $("chat-panels"),
    pick: $("pick-chat"),
    banner: $("connection"),
    customer: $("customer-panel"),
    template: $("chat-panel-template"),
    announcer: $("announcer"),
  };

  const state = {
    me: null, // {id, name, presence, max_chats}
    queues: [],
    agents: [],
    waiting: [], // the oldest waiting chats, at most config.waitingListed of them
    waitingTotal: 0, // every chat waiting, listed or not
    pageAsked: 0, // when a fresh "waiting" page was last asked for
    chats: new Map(), // conversation id -> chat
    current: null,
    accepting: new Set(),
    shownIds: new Set(),
    socket: null,
    baseTitle: document.title,
  };

  /* ---- small helpers ---- */
  function announce(text) {
    ui.announcer.textContent = "";
    window.setTimeout(() => {
      ui.announcer.textContent = text;
    }, 50);
  }

  function showBanner(text, kind, link) {
    ui.banner.replaceChildren();
    if (text) ui.banner.append(text);
    if (link) ui.banner.append(" ", el("a", { href: link.href, text: link.text }));
    ui.banner.className = `cc-banner ${kind || ""}`;
    ui.banner.hidden = !text;
  }

  function elapsed(iso) {
    const start = new Date(iso).getTime();
    if (Number.isNaN(start)) return "";
    const seconds = Math.max(0, Math.floor((Date.now() - start) / 1000));
    const h = Math.floor(seconds / 3600);
    const m = Math.floor((seconds % 3600) / 60);
    const s = String(seconds % 60).padStart(2, "0");
    return h ? `${h}:${String(m).padStart(2, "0")}:${s}` : `${m}:${s}`;
  }

  function customerName(customer) {
    if (!customer) return t.anonymous;
    if (typeof customer === "string") return customer || t.anonymous;
    return customer.name || customer.display_name || customer.contact || t.anonymous;
  }

  /* ---- sound and title badge ---- */
  let audio = null;
  function unlockAudio() {
    const Context = window.AudioContext || window.webkitAudioContext;
    if (!Context) return;
    if (!audio) audio = new Context();
    if (audio.state === "suspended") audio.resume().catch(() => {});
  }
  document.addEventListener("pointerdown", unlockAudio, { once: true });
  document.addEventListener("keydown", unlockAudio, { once: true });

  function beep() {
    if (!audio || audio.state !== "running") return;
    const now = audio.currentTime;
    for (const [offset, freq] of [[0, 880], [0.16, 1175]]) {
      const osc = audio.createOscillator();
      const gain = audio.createGain();
      osc.type = "sine";
      osc.frequency.value = freq;
      gain.gain.setValueAtTime(0.0001, now + offset);
      gain.gain.exponentialRampToValueAtTime(0.2, now + offset + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, now + offset + 0.14);
      osc.connect(gain).connect(audio.destination);
      osc.start(now + offset);
      osc.stop(now + offset + 0.15);
    }
  }

  function updateTitle() {
    let count = state.waitingTotal;
    for (const chat of state.chats.values()) count += chat.unread;
    document.title = count ? `(${count}) ${state.baseTitle}` : state.baseTitle;
  }

  /* ---- presence ---- */
  function setPresence(status) {
    for (const input of ui.presence.querySelectorAll("input[name=presence]")) {
      input.checked = input.value === status;
    }
    ui.presence.dataset.status = status;
  }

  ui.presence.addEventListener("change", (event) => {
    if (event.target.name !== "presence") return;
    const status = event.target.value;
    ui.presence.dataset.status = status;
    if (state.me) state.me.presence = status;
    state.socket.send({ type: "presence", status }, { queue: true });
  });

  /* ---- waiting list ---- */
  function renderWaiting() {
    ui.waitingCount.textContent = String(state.waitingTotal);
    const more = state.waitingTotal - state.waiting.length;
    ui.waitingMore.textContent = more > 0 ? format(t.moreWaiting, { count: more }) : "";
    ui.waitingMore.hidden = more <= 0;
    const items = state.waiting.map((chat) => {
      const id = Number(chat.conversation);
      const busy = state.accepting.has(id);
      const waitLabel = el("span", { className: "cc-wait", dataset: { since: chat.waiting_since || "" } });
      waitLabel.textContent = format(t.waitingFor, { time: elapsed(chat.waiting_since) });
      return el(
        "li",
        { className: "cc-waiting-item", dataset: { conversation: String(id) } },
        el(
          "div",
          { className: "cc-waiting-main" },
          el("strong", { text: customerName(chat.customer) }),
          " ",
          el("span", { className: "cc-ref", text: chat.reference || "" }),
          el(
            "div",
            { className: "cc-waiting-meta" },
            chat.queue ? el("span", { className: "mw-badge", text: queueName(chat.queue) }) : null,
            " ",
            waitLabel,
          ),
          chat.preview ? el("p", { className: "cc-preview", text: chat.preview }) : null,
        ),
        el("button", {
          type: "button",
          className: "button default cc-accept",
          text: busy ? t.accepting : t.accept,
          disabled: busy,
          "aria-label": `${t.accept}: ${customerName(chat.customer)} ${chat.reference || ""}`,
          onclick: () => accept(id),
        }),
      );
    });
    if (!items.length) items.push(el("li", { className: "mw-muted cc-empty", text: t.noWaiting }));
    ui.waitingList.replaceChildren(...items);
    updateTitle();
  }

  function queueName(queue) {
    if (queue && typeof queue === "object") return queue.name || queue.slug || "";
    const found = state.queues.find((q) => q.slug === queue);
    return found ? found.name : String(queue);
  }

  function tickWaitTimes() {
    for (const label of ui.waitingList.querySelectorAll(".cc-wait")) {
      label.textContent = format(t.waitingFor, { time: elapsed(label.dataset.since) });
    }
  }
  window.setInterval(tickWaitTimes, 1000);

  function accept(id) {
    // Answered by a "chat" frame (ours now) or an error frame (someone was quicker); the
    // "waiting_change" that takes it off the list may come first, so only those two, or a
    // timeout, end the wait.
    state.accepting.add(id);
    state.socket.send({ type: "accept", conversation: id });
    renderWaiting();
    window.setTimeout(() => {
      if (state.accepting.delete(id)) renderWaiting();
    }, 15000);
  }

  /* ---- chats ---- */
  function chatFor(id) {
    return state.chats.get(Number(id)) || null;
  }

  function openChat(frame) {
    const id = Number(frame.conversation);
    let chat = chatFor(id);
    if (!chat) {
      chat = createChat(id);
      state.chats.set(id, chat);
    }
    chat.reference = frame.reference || chat.reference;
    chat.ticketUrl = frame.ticket_url || chat.ticketUrl;
    chat.customer = frame.customer || chat.customer;
    if (frame.claim !== undefined) chat.claim = frame.claim;
    if (frame.verified_by_app !== undefined) chat.verifiedByApp = frame.verified_by_app;
    if (frame.queue !== undefined) chat.queue = frame.queue;
    if (frame.macros !== undefined) chat.macros = frame.macros;
    fillCanned(chat);
    chat.state = frame.state || "active";
    chat.closed = chat.state === "closed" || chat.state === "ended";
    updateChatHeader(chat);
    setClosed(chat, chat.closed);
    state.socket.send({ type: "resume", conversation: id, after: chat.lastSeenId });
    for (const [clientId, entry] of chat.pending) {
      state.socket.send({ type: entry.kind, conversation: id, text: entry.text, client_id: clientId });
    }
    const wasAccepting = state.accepting.delete(id);
    if (wasAccepting || state.current === null) selectChat(id, { focus: wasAccepting });
    else if (state.current === id) renderCustomer(chat);
    if (wasAccepting) announce(format(t.chatAssigned, { reference: chat.reference || id }));
    renderTabs();
  }

  function createChat(id) {
    const panel = ui.template.content.firstElementChild.cloneNode(true);
    const chat = {
      id,
      reference: "",
      ticketUrl: "",
      customer: null,
      queue: null, // {slug, name} or null
      state: "active",
      closed: false,
      lastSeenId: 0,
      pending: new Map(),
      unread: 0,
      typingTimer: null,
      lastTypingSent: 0,
      panel,
      thread: panel.querySelector(".cc-thread"),
      typing: panel.querySelector(".cc-typing"),
      closedNote: panel.querySelector(".cc-closed-note"),
      form: panel.querySelector(".cc-composer"),
      text: panel.querySelector(".cc-text"),
      canned: panel.querySelector(".cc-canned"),
      transfer: panel.querySelector(".cc-transfer"),
    };
    panel.id = `chat-panel-${id}`;
    panel.setAttribute("aria-labelledby", `chat-tab-${id}`);
    // Unique ids and names for the cloned controls.
    const bind = (selector, labelSelector, suffix) => {
      const control = panel.querySelector(selector);
      control.id = `chat-${id}-${suffix}`;
      panel.querySelector(labelSelector).setAttribute("for", control.id);
    };
    bind(".cc-text", ".cc-text-label", "text");
    bind(".cc-canned", ".cc-canned-label", "canned");
    bind(".cc-transfer", ".cc-transfer-label", "transfer");
    for (const radio of panel.querySelectorAll(".cc-mode input")) radio.name = `mode-${id}`;

    fillCanned(chat);
    fillTransfer(chat);

    chat.form.addEventListener("submit", (event) => {
      event.preventDefault();
      sendFromComposer(chat);
    });
    chat.text.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing && event.keyCode !== 229) {
        event.preventDefault();
        sendFromComposer(chat);
      }
    });
    chat.text.addEventListener("input", () => {
      const now = Date.now();
      if (mode(chat) === "message" && now - chat.lastTypingSent > 2500 && chat.text.value.trim()) {
        chat.lastTypingSent = now;
        state.socket.send({ type: "typing", conversation: id });
      }
    });
    chat.form.addEventListener("change", (event) => {
      if (event.target.type === "radio") chat.form.classList.toggle("cc-note-mode", mode(chat) === "note");
    });
    chat.canned.addEventListener("change", () => {
      const reply = (chat.macros || [])[Number(chat.canned.value)];
      chat.canned.value = "";
      if (!reply) return;
      const { selectionStart: start, selectionEnd: end, value } = chat.text;
      chat.text.value = value.slice(0, start) + reply.text + value.slice(end);
      chat.text.focus();
      chat.text.setSelectionRange(start + reply.text.length, start + reply.text.length);
    });
    panel.querySelector(".cc-transfer-button").addEventListener("click", () => transfer(chat));
    const closeButton = panel.querySelector(".cc-close-button");
    closeButton.dataset.label = closeButton.textContent;
    closeButton.addEventListener("click", () => {
      if (chat.closed) {
        removeChat(chat);
        return;
      }
      if (window.confirm(t.confirmClose)) state.socket.send({ type: "close", conversation: id }, { queue: true });
    });
    ui.panels.append(panel);
    return chat;
  }

  function mode(chat) {
    const checked = chat.form.querySelector(".cc-mode input:checked");
    return checked ? checked.value : "message";
  }

  // The macros of the chat's "chat" frame: its queue's and the general ones, already
  // rendered for its customer by the server; the option's value is the index in chat.macros.
  function fillCanned(chat) {
    const first = chat.canned.options[0];
    const options = (chat.macros || []).map((reply, index) => el("option", { value: String(index), text: reply.title }));
    chat.canned.replaceChildren(first, ...options);
    chat.canned.hidden = options.length === 0;
  }

  function fillTransfer(chat) {
    const chosen = chat.transfer.value;
    const first = chat.transfer.options[0];
    const others = state.agents.filter((agent) => !state.me || agent.id !== state.me.id);
    const groups = [];
    if (others.length) {
      groups.push(
        el(
          "optgroup",
          { label: t.agent },
          ...others.map((agent) =>
            el("option", {
              value: `agent:${agent.id}`,
              text: `${agent.name} (${t[`presence_${agent.presence}`] || agent.presence || ""})`,
            }),
          ),
        ),
      );
    }
    if (state.queues.length) {
      groups.push(
        el(
          "optgroup",
          { label: t.queue },
          ...state.queues.map((queue) => el("option", { value: `queue:${queue.slug}`, text: queue.name })),
        ),
      );
    }
    chat.transfer.replaceChildren(first, ...groups);
    chat.transfer.value = chosen;
    if (chat.transfer.value !== chosen) chat.transfer.value = "";
  }

  function transfer(chat) {
    const value = chat.transfer.value;
    if (!value) {
      announce(t.chooseTransfer);
      chat.transfer.focus();
      return;
    }
    if (!window.confirm(t.confirmTransfer)) return;
    const [kind, target] = value.split(/:(.*)/s);
    const frame = { type: "transfer", conversation: chat.id };
    if (kind === "agent") frame.agent = Number(target);
    else frame.queue = target;
    state.socket.send(frame, { queue: true });
  }

  function sendFromComposer(chat) {
    const text = chat.text.value.trim();
    if (!text || chat.closed) return;
    const kind = mode(chat);
    const clientId = uuid();
    const li = messageItem(chat, {
      author: kind === "note" ? "note" : "agent",
      name: (state.me && state.me.name) || t.you,
      text,
      sentAt: new Date().toISOString(),
      pending: true,
    });
    appendToThread(chat, li, true);
    chat.pending.set(clientId, { kind, text, li });
    state.socket.send({ type: kind, conversation: chat.id, text, client_id: clientId });
    chat.text.value = "";
    chat.text.focus();
  }

  function messageItem(chat, { author, name, text, sentAt, attachments, pending }) {
    const kind = ["customer", "agent", "note", "system"].includes(author) ? author : "system";
    const li = el("li", { className: `cc-msg cc-msg-${kind}${pending ? " cc-pending" : ""}` });
    const label = kind === "note" ? `${t.note} · ${name || ""}` : name || t[kind] || "";
    const meta = el(
      "p",
      { className: "cc-msg-meta" },
      el("span", { className: "cc-msg-author", text: label }),
      " ",
      el("time", { datetime: sentAt || "", text: time(sentAt) }),
    );
    if (pending !== undefined && kind !== "customer" && kind !== "system") {
      meta.append(" ", el("span", { className: "cc-msg-state", text: pending ? t.sending : t.sent }));
    }
    li.append(meta);
    if (text) li.append(el("p", { className: "cc-msg-text", text }));
    for (const file of attachments || []) {
      const link = el("a", { href: file.url, target: "_blank", rel: "noopener", className: "cc-attachment" });
      if (String(file.content_type || "").startsWith("image/")) {
        link.append(el("img", { src: file.url, alt: file.name || "", loading: "lazy" }));
      } else {
        link.textContent = file.name || file.url;
      }
      li.append(link);
    }
    return li;
  }

  function appendToThread(chat, li, force) {
    const list = chat.thread;
    const stick = force || list.scrollHeight - list.scrollTop - list.clientHeight < 80;
    // Stored messages stay in id order (see the customer page's appendItem).
    const id = Number(li.dataset.id || 0);
    let before = null;
    if (id) {
      for (let node = list.lastElementChild; node; node = node.previousElementSibling) {
        if (!node.classList.contains("cc-pending") && !(Number(node.dataset.id || 0) > id)) break;
        before = node;
      }
    }
    list.insertBefore(li, before);
    if (stick) list.scrollTop = list.scrollHeight;
  }

  function markSent(li) {
    li.classList.remove("cc-pending");
    const label = li.querySelector(".cc-msg-state");
    if (label) label.textContent = t.sent;
  }

  function onMessage(frame) {
    const chat = chatFor(frame.conversation);
    const id = Number(frame.id);
    if (!chat || !Number.isFinite(id)) return;
    chat.lastSeenId = Math.max(chat.lastSeenId, id);
    if (state.shownIds.has(id)) return;
    state.shownIds.add(id);
    if (frame.client_id && chat.pending.has(frame.client_id)) {
      const entry = chat.pending.get(frame.client_id);
      chat.pending.delete(frame.client_id);
      markSent(entry.li);
      entry.li.dataset.id = String(id);
      return;
    }
    const li = messageItem(chat, {
      author: frame.author,
      name: frame.name,
      text: frame.text || "",
      sentAt: frame.sent_at,
      attachments: frame.attachments,
    });
    li.dataset.id = String(id);
    appendToThread(chat, li, false);
    if (frame.author === "customer") {
      hideTyping(chat);
      if (state.current !== chat.id || document.hidden) {
        chat.unread += 1;
        renderTabs();
        updateTitle();
      }
      announce(format(t.newMessage, { reference: chat.reference, name: frame.name || customerName(chat.customer) }));
    }
  }

  function onAck(frame) {
    const chat = chatFor(frame.conversation);
    if (!chat) return;
    const entry = chat.pending.get(frame.client_id);
    if (!entry) return;
    chat.pending.delete(frame.client_id);
    const id = Number(frame.id);
    if (state.shownIds.has(id)) {
      // The same message already came as a message frame: keep one.
      entry.li.remove();
      return;
    }
    state.shownIds.add(id);
    entry.li.dataset.id = String(id);
    markSent(entry.li);
  }

  function showTyping(chat) {
    chat.typing.textContent = t.customerTyping;
    chat.typing.hidden = false;
    window.clearTimeout(chat.typingTimer);
    chat.typingTimer = window.setTimeout(() => hideTyping(chat), 5000);
  }

  function hideTyping(chat) {
    chat.typing.hidden = true;
    window.clearTimeout(chat.typingTimer);
  }

  function setClosed(chat, closed, note) {
    chat.closed = closed;
    chat.form.hidden = closed;
    chat.closedNote.hidden = !closed;
    chat.closedNote.textContent = closed ? note || t.closed : "";
    const closeButton = chat.panel.querySelector(".cc-close-button");
    closeButton.textContent = closed ? t.removeChat : closeButton.dataset.label;
    chat.panel.querySelector(".cc-transfer-button").disabled = closed;
    chat.transfer.disabled = closed;
    updateChatHeader(chat);
  }

  function onStatus(frame) {
    const chat = chatFor(frame.conversation);
    if (!chat) return;
    if (frame.state === "closed") {
      hideTyping(chat);
      chat.state = "closed";
      setClosed(chat, true, t.closed);
      announce(`${chat.reference}: ${t.closed}`);
    } else if (frame.state === "transferred" || frame.state === "left") {
      hideTyping(chat);
      announce(`${chat.reference}: ${frame.state === "transferred" ? t.transferred : t.left}`);
      removeChat(chat);
    } else if (frame.state) {
      chat.state = frame.state;
      updateChatHeader(chat);
    }
    renderTabs();
  }

  function removeChat(chat) {
    chat.panel.remove();
    state.chats.delete(chat.id);
    if (state.current === chat.id) {
      state.current = null;
      const next = state.chats.keys().next();
      if (!next.done) selectChat(next.value, { focus: false });
      else showPlaceholder();
    }
    renderTabs();
    updateTitle();
  }

  function showPlaceholder() {
    ui.pick.hidden = false;
    ui.customer.replaceChildren();
  }

  function updateChatHeader(chat) {
    const panel = chat.panel;
    panel.querySelector(".cc-customer-name").textContent = customerName(chat.customer);
    const link = panel.querySelector(".cc-ticket-link");
    const url = chat.ticketUrl && window.MWChat.safeUrl(chat.ticketUrl);
    if (url) link.setAttribute("href", url);
    link.textContent = chat.reference ? format(t.openTicket, { reference: chat.reference }) : "";
    const badge = panel.querySelector(".cc-state");
    const closed = chat.closed;
    badge.textContent = closed ? t.closedList : t.stateActive;
    badge.className = `mw-status cc-state mw-status-${closed ? "closed" : "active"}`;
  }

  function updateLimit() {
    let held = 0;
    for (const chat of state.chats.values()) if (!chat.closed) held += 1;
    ui.limit.textContent =
      state.me && state.me.max_chats ? format(t.chatLimit, { held, max: state.me.max_chats }) : "";
  }

  /* ---- tabs ---- */
  function renderTabs() {
    updateLimit();
    const tabs = [];
    for (const chat of state.chats.values()) {
      const selected = state.current === chat.id;
      const tab = el(
        "button",
        {
          type: "button",
          role: "tab",
          id: `chat-tab-${chat.id}`,
          className: `cc-tab${selected ? " cc-tab-selected" : ""}${chat.closed ? " cc-tab-closed" : ""}`,
          "aria-selected": selected ? "true" : "false",
          "aria-controls": `chat-panel-${chat.id}`,
          tabindex: selected || (state.current === null && !tabs.length) ? "0" : "-1",
          dataset: { conversation: String(chat.id) },
          onclick: () => selectChat(chat.id, { focus: true }),
        },
        el("span", { className: "cc-tab-name", text: customerName(chat.customer) }),
        el("span", { className: "cc-tab-ref", text: chat.closed ? `${chat.reference} · ${t.closedList}` : chat.reference }),
      );
      if (chat.unread) {
        tab.append(
          el("span", {
            className: "cc-unread",
            text: String(chat.unread),
            "aria-label": format(t.unread, { count: chat.unread }),
          }),
        );
      }
      tabs.push(tab);
    }
    ui.tabs.replaceChildren(...tabs);
    ui.mineCount.textContent = String(state.chats.size);
    ui.noChats.hidden = state.chats.size > 0;
  }

  // Arrow keys move between tabs (the WAI-ARIA tabs pattern).
  ui.tabs.addEventListener("keydown", (event) => {
    if (!["ArrowDown", "ArrowUp", "Home", "End"].includes(event.key)) return;
    const tabs = Array.from(ui.tabs.querySelectorAll("[role=tab]"));
    if (!tabs.length) return;
    const index = tabs.indexOf(document.activeElement);
    let next = 0;
    if (event.key === "ArrowDown") next = (index + 1) % tabs.length;
    else if (event.key === "ArrowUp") next = (index - 1 + tabs.length) % tabs.length;
    else if (event.key === "End") next = tabs.length - 1;
    event.preventDefault();
    selectChat(Number(tabs[next].dataset.conversation), { focus: false });
    ui.tabs.querySelector(`#chat-tab-${tabs[next].dataset.conversation}`).focus();
  });

  function selectChat(id, { focus }) {
    const chat = chatFor(id);
    if (!chat) return;
    state.current = id;
    for (const other of state.chats.values()) other.panel.hidden = other.id !== id;
    ui.pick.hidden = true;
    chat.unread = 0;
    renderTabs();
    renderCustomer(chat);
    updateTitle();
    chat.thread.scrollTop = chat.thread.scrollHeight;
    if (focus && !chat.closed) chat.text.focus();
  }

  /* ---- customer panel (from the "chat" frame) ---- */
  function renderCustomer(chat) {
    const c = chat.customer;
    const nodes = [];
    if (!c || typeof c !== "object") {
      nodes.push(el("div", { className: "mw-card" }, el("h3", { text: customerName(c) }), el("p", { className: "mw-muted", text: t.noCustomer })));
      ui.customer.replaceChildren(...nodes);
      return;
    }
    const card = el("div", { className: "mw-card cc-customer-card" });
    const heading = el("h3", {}, `${t.customer}: `);
    const customerUrl = c.url || c.admin_url;
    heading.append(customerUrl ? el("a", { href: customerUrl, text: customerName(c) }) : customerName(c));
    card.append(heading);
    // Who the customer is to us: proven by the app, or only claimed by a typed contact
    // (the frame then carries nothing of the claimed customer but a name and a mask).
    if (chat.verifiedByApp) card.append(el("p", { className: "mw-ok cc-verified", text: t.verifiedByApp }));
    if (chat.claim) {
      card.append(el("p", { className: "mw-failed-text cc-claim", text: format(t.claimsToBe, { name: chat.claim.name || t.anonymous, contact: chat.claim.contact || "" }) }));
    }
    if (chat.queue) {
      card.append(el("p", { className: "cc-queue" }, `${t.queue}: `, el("span", { className: "mw-badge", text: queueName(chat.queue) })));
    }
    if (c.contact) card.append(el("p", { className: "cc-contact", text: format(t.contactGiven, { contact: c.contact }) }));
    const identities = c.identities || c.contacts || [];
    if (identities.length) {
      card.append(
        el(
          "ul",
          { className: "cc-identities" },
          ...identities.map((identity) =>
            typeof identity === "string"
              ? el("li", { text: identity })
              : el(
                  "li",
                  {},
                  el("span", { className: `mw-badge mw-channel-${identity.kind || ""}`, text: identity.kind_display || identity.kind || "" }),
                  " ",
                  identity.value || identity.masked_value || "",
                ),
          ),
        ),
      );
    }
    const wallets = c.wallets || (c.wallet ? [c.wallet] : []);
    if (!identities.length && !wallets.length) card.append(el("p", { className: "mw-muted", text: t.noCustomer }));
    for (const wallet of wallets) card.append(walletNode(wallet, c));
    if (!wallets.length && c.failed_transactions) card.append(failedNode(c.failed_transactions));
    const earlier = c.earlier_tickets || c.tickets || [];
    if (earlier.length) {
      card.append(
        el("p", { className: "mw-subhead", text: t.earlierTickets }),
        el(
          "ul",
          { className: "cc-earlier" },
          ...earlier.map((ticket) =>
            el(
              "li",
              {},
              ticket.url ? el("a", { href: ticket.url, text: ticket.reference || "" }) : ticket.reference || "",
              " ",
              ticket.subject || "",
            ),
          ),
        ),
      );
    }
    ui.customer.replaceChildren(card);
  }

  function walletNode(wallet, customer) {
    const status = wallet.status || "";
    const box = el(
      "div",
      { className: "cc-wallet" },
      el(
        "h4",
        {},
        wallet.url ? el("a", { href: wallet.url, text: wallet.number || "" }) : wallet.number || "",
        " ",
        el("span", { className: `mw-status mw-status-${status}`, text: wallet.status_label || wallet.status_display || status }),
      ),
    );
    const rows = [];
    if (wallet.lock_reason || wallet.lock_reason_label) {
      rows.push([t.lockReason, wallet.lock_reason_label || wallet.lock_reason_display || wallet.lock_reason]);
    }
    if (wallet.balance !== undefined) rows.push([t.balance, `${wallet.balance} ${wallet.currency || ""}`.trim()]);
    if (rows.length) {
      box.append(el("dl", {}, ...rows.flatMap(([key, value]) => [el("dt", { text: key }), el("dd", { text: value })])));
    }
    const failed = wallet.failed_transactions || wallet.recent_failed || customer.failed_transactions || [];
    box.append(failedNode(failed));
    return box;
  }

  function failedNode(transactions) {
    const wrap = el("div", { className: "cc-failed" }, el("p", { className: "mw-subhead", text: t.failedTransactions }));
    if (!transactions.length) {
      wrap.append(el("p", { className: "mw-muted", text: t.noFailed }));
      return wrap;
    }
    wrap.append(
      el(
        "table",
        { className: "mw-table mw-transactions" },
        ...transactions.map((txn) =>
          el(
            "tr",
            { className: "mw-failed" },
            el("td", { text: txn.occurred_at ? shortDate(txn.occurred_at) : "" }),
            el("td", { text: txn.merchant || txn.kind_display || txn.kind || "" }),
            el("td", { className: "mw-num", text: txn.amount === undefined ? "" : `${txn.amount} ${txn.currency || ""}`.trim() }),
            el("td", { className: "mw-failed-text", text: txn.failure_label || txn.failure_reason_display || txn.failure_reason || "" }),
          ),
        ),
      ),
    );
    return wrap;
  }

  function shortDate(iso) {
    const date = new Date(iso);
    if (Number.isNaN(date.getTime())) return "";
    return date.toLocaleString(document.documentElement.lang || undefined, {
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      hourCycle: "h23",
    });
  }

  /* ---- frames ---- */
  function onHello(frame) {
    state.me = frame.agent || null;
    state.queues = frame.queues || [];
    state.agents = frame.agents || [];
    if (state.me) {
      setPresence(state.me.presence || "offline");
    }
    updateLimit();
    for (const chat of state.chats.values()) fillTransfer(chat);
  }

  // Another agent's presence changed (or ours, in another console of ours).
  function onPresence(frame) {
    const agent = frame.agent;
    if (!agent || agent.id === undefined) return;
    if (state.me && agent.id === state.me.id) {
      state.me.presence = agent.presence;
      setPresence(agent.presence);
    }
    const known = state.agents.find((other) => other.id === agent.id);
    if (known) Object.assign(known, agent);
    else state.agents.push({ id: agent.id, name: agent.name || "", presence: agent.presence });
    for (const chat of state.chats.values()) fillTransfer(chat);
  }

  /* The server sends the oldest chats and a count ("waiting"), then small changes
   * ("waiting_change"): never the whole queue, however long (chat/protocol.py). */
  function listedLimit() {
    return Math.max(1, Number(config.waitingListed) || 50);
  }

  function waitingOrder(a, b) {
    const since = Date.parse(a.waiting_since) - Date.parse(b.waiting_since);
    return since || Number(a.conversation) - Number(b.conversation);
  }

  function onWaiting(frame) {
    const chats = Array.isArray(frame.chats) ? frame.chats : [];
    state.waiting = chats.slice().sort(waitingOrder).slice(0, listedLimit());
    state.waitingTotal = Number.isInteger(frame.count) ? frame.count : state.waiting.length;
    renderWaiting();
  }

  function onWaitingChange(frame) {
    const gone = new Set([...(frame.taken || []), ...(frame.left || [])].map(Number));
    const listed = new Map();
    for (const chat of state.waiting) {
      if (!gone.has(Number(chat.conversation))) listed.set(Number(chat.conversation), chat);
    }
    for (const chat of [...(frame.added || []), ...(frame.fill || [])]) {
      listed.set(Number(chat.conversation), chat);
    }
    state.waiting = [...listed.values()].sort(waitingOrder).slice(0, listedLimit());
    if (Number.isInteger(frame.count)) state.waitingTotal = Math.max(frame.count, state.waiting.length);
    renderWaiting();
    // Changes built concurrently may arrive out of order: a list shorter than it should be
    // asks for a fresh page (at most every two seconds).
    if (state.waiting.length < Math.min(listedLimit(), state.waitingTotal)) askForPage();
  }

  function askForPage() {
    const now = Date.now();
    if (now - state.pageAsked < 2000) return;
    state.pageAsked = now;
    state.socket.send({ type: "waiting_page" });
  }

  function onError(frame) {
    if (frame.conversation !== undefined && state.accepting.delete(Number(frame.conversation))) {
      askForPage(); // taken by someone else: the list may hold it still
    }
    const refused = frame.client_id ? chatFor(frame.conversation) : null;
    const entry = refused ? refused.pending.get(frame.client_id) : null;
    if (entry && frame.code === "not_stored") {
      // Not stored this time: send it again with the same client_id (stored once).
      window.setTimeout(() => {
        if (refused.pending.get(frame.client_id) === entry) {
          state.socket.send({ type: entry.kind, conversation: refused.id, text: entry.text, client_id: frame.client_id });
        }
      }, 1000);
      return;
    }
    if (entry) {
      // Refused for good: mark it and stop re-sending it.
      refused.pending.delete(frame.client_id);
      entry.li.classList.remove("cc-pending");
      entry.li.classList.add("cc-failed");
      const label = entry.li.querySelector(".cc-msg-state");
      if (label) label.textContent = t.failed;
    }
    renderWaiting();
    const text = frame.code === "rate_limited" ? t.rateLimited : format(t.error, { detail: frame.detail || frame.code || "" });
    const chat = frame.conversation !== undefined ? chatFor(frame.conversation) : null;
    if (chat) appendToThread(chat, messageItem(chat, { author: "system", name: t.system, text }), true);
    else showBanner(text, "warning");
    announce(text);
  }

  function onFrame(frame) {
    switch (frame.type) {
      case "hello":
        onHello(frame);
        break;
      case "waiting":
        onWaiting(frame);
        break;
      case "waiting_change":
        onWaitingChange(frame);
        break;
      case "chat":
        openChat(frame);
        break;
      case "message":
        onMessage(frame);
        break;
      case "ack":
        onAck(frame);
        break;
      case "typing": {
        const chat = chatFor(frame.conversation);
        if (chat && frame.author === "customer") showTyping(chat);
        break;
      }
      case "status":
        onStatus(frame);
        break;
      case "presence":
        onPresence(frame);
        break;
      case "new_chat":
        beep();
        announce(format(t.newChat, { reference: frame.reference || "" }));
        updateTitle();
        break;
      case "error":
        onError(frame);
        break;
      default:
        break;
    }
  }

  state.socket = new ReconnectingSocket(wsUrl(config.socketPath), {
    onopen() {
      showBanner("", "");
    },
    onframe: onFrame,
    onclose(code, willRetry) {
      // 4401: signed out (logout, password change, deactivation); 4403: no longer an agent.
      if (code === 4401 || code === 4403) {
        const text = code === 4401 ? t.signedOut : t.sessionEnded;
        showBanner(text, "error", { href: window.location.href, text: t.signIn });
        return;
      }
      if (willRetry) showBanner(t.reconnecting, "warning");
    },
  }, { finalCodes: [4401, 4403] });
  showBanner(t.connecting, "info");
  state.socket.connect();
  renderWaiting();
  renderTabs();
})();
