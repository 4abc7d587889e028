/* The customer chat page (templates/chat/page.html), speaking chat/protocol.py on /ws/chat/.
 *
 * Messages show at once as "sending" and turn "sent" on their ack; every message is shown
 * once, keyed by its id; after a reconnect the page resumes from the last id it saw and
 * re-sends what was never acknowledged with the same client_id (the server stores it once).
 * All text from the network is inserted with textContent. */
"use strict";

(function () {
  const { el, format, uuid, post, time, wsUrl, ReconnectingSocket } = window.MWChat;
  const config = window.MWChat.readJSON("chat-config");
  const t = config.strings || {};

  const $ = (id) => document.getElementById(id);
  const ui = {
    subtitle: $("chat-subtitle"),
    endButton: $("end-chat"),
    banner: $("connection"),
    startView: $("start-view"),
    startForm: $("start-form"),
    startError: $("start-error"),
    startButton: $("start-button"),
    suggestView: $("suggest-view"),
    suggestList: $("suggest-list"),
    suggestAnswered: $("suggest-answered"),
    suggestAgent: $("suggest-agent"),
    suggestThanks: $("suggest-thanks"),
    conversation: $("conversation-view"),
    notice: $("chat-notice"),
    verified: $("chat-verified"),
    messages: $("messages"),
    typing: $("typing"),
    offline: $("offline-view"),
    leaveForm: $("leave-form"),
    leaveWho: $("leave-who"),
    leaveIntro: $("leave-intro"),
    leaveIntroVerified: $("leave-intro-verified"),
    leaveError: $("leave-error"),
    leaveThanks: $("leave-thanks"),
    rating: $("rating-view"),
    ratingForm: $("rating-form"),
    ratingError: $("rating-error"),
    ratingThanks: $("rating-thanks"),
    newChat: $("new-chat"),
    composer: $("composer"),
    text: $("composer-text"),
    image: $("composer-image"),
    announcer: $("announcer"),
    language: document.querySelector(".chat-lang"),
  };

  const state = {
    conversation: null, // {id, reference}
    status: null, // waiting | offline | active | closed
    verified: false, // the MY Wallet app verified this chat
    agent: "",
    lastSeenId: 0,
    shown: new Map(), // message id -> <li>
    pending: new Map(), // client_id -> {text, li, image}
    socket: null,
    lastTypingSent: 0,
    typingTimer: null,
    rated: false,
    leftMessage: false,
  };

  /* ---- screen reader announcements ---- */
  function announce(text) {
    // Clear first so the same text twice is announced twice.
    ui.announcer.textContent = "";
    window.setTimeout(() => {
      ui.announcer.textContent = text;
    }, 50);
  }

  /* ---- connection banner ---- */
  function showBanner(text, kind) {
    ui.banner.textContent = text || "";
    ui.banner.className = `chat-banner ${kind || ""}`;
    ui.banner.hidden = !text;
  }

  /* ---- messages ---- */
  function scrollToEnd() {
    ui.messages.scrollTop = ui.messages.scrollHeight;
  }

  function nearBottom() {
    const list = ui.messages;
    return list.scrollHeight - list.scrollTop - list.clientHeight < 80;
  }

  function authorName(frame) {
    if (frame.author === "customer") return t.you;
    if (frame.author === "agent") return frame.name || t.agent;
    return frame.name || t.system;
  }

  function attachmentNodes(attachments) {
    return (attachments || []).map((file) => {
      const isImage = String(file.content_type || "").startsWith("image/");
      const link = el("a", { href: file.url, target: "_blank", rel: "noopener", className: "attachment" });
      if (isImage) {
        link.append(el("img", { src: file.url, alt: file.name || t.imageSent, loading: "lazy" }));
      } else {
        link.textContent = file.name || file.url;
      }
      return link;
    });
  }

  function messageItem({ author, name, text, sentAt, attachments, pending }) {
    const li = el("li", { className: `msg msg-${author}${pending ? " msg-pending" : ""}` });
    if (author === "system") {
      li.append(el("p", { className: "msg-text", text }));
      return li;
    }
    const bubble = el("div", { className: "msg-bubble" });
    if (author !== "customer") bubble.append(el("p", { className: "msg-author", text: name }));
    if (text) bubble.append(el("p", { className: "msg-text", text }));
    for (const node of attachmentNodes(attachments)) bubble.append(node);
    li.append(bubble);
    const meta = el("p", { className: "msg-meta" }, el("time", { datetime: sentAt || "", text: time(sentAt) }));
    if (author === "customer") {
      meta.append(" ", el("span", { className: "msg-state", text: pending ? t.sending : t.sent }));
    }
    li.append(meta);
    return li;
  }

  function appendItem(li) {
    const stick = nearBottom() || li.classList.contains("msg-customer");
    // Stored messages stay in id order: one that arrives late (resumed after a reconnect)
    // goes before later ones and before messages still being sent.
    const id = Number(li.dataset.id || 0);
    let before = null;
    if (id) {
      for (let node = ui.messages.lastElementChild; node; node = node.previousElementSibling) {
        if (!node.classList.contains("msg-pending") && !(Number(node.dataset.id || 0) > id)) break;
        before = node;
      }
    }
    ui.messages.insertBefore(li, before);
    if (stick) scrollToEnd();
  }

  function systemLine(text) {
    appendItem(messageItem({ author: "system", text }));
  }

  function markSent(li, id) {
    li.classList.remove("msg-pending", "msg-failed");
    li.dataset.id = String(id);
    const label = li.querySelector(".msg-state");
    if (label) label.textContent = t.sent;
  }

  function onMessage(frame) {
    const id = Number(frame.id);
    if (!Number.isFinite(id) || id <= 0) return;
    state.lastSeenId = Math.max(state.lastSeenId, id);
    if (state.shown.has(id)) return; // resumed or echoed: shown once
    // Our own message echoed back before its ack: the pending bubble becomes it.
    if (frame.client_id && state.pending.has(frame.client_id)) {
      const entry = state.pending.get(frame.client_id);
      state.pending.delete(frame.client_id);
      markSent(entry.li, id);
      state.shown.set(id, entry.li);
      return;
    }
    const li = renderFrame(frame, id);
    state.shown.set(id, li);
    appendItem(li);
    if (frame.author === "agent") {
      hideTyping();
      announce(format(t.newMessage, { name: authorName(frame), text: frame.text || t.imageSent }));
    } else if (frame.author === "system") {
      announce(frame.text || "");
    }
  }

  function renderFrame(frame, id) {
    const li = messageItem({
      author: ["customer", "agent"].includes(frame.author) ? frame.author : "system",
      name: authorName(frame),
      text: frame.text || "",
      sentAt: frame.sent_at,
      attachments: frame.attachments,
    });
    li.dataset.id = String(id);
    return li;
  }

  function onAck(frame) {
    const entry = state.pending.get(frame.client_id);
    if (!entry) return;
    state.pending.delete(frame.client_id);
    const id = Number(frame.id);
    if (state.shown.has(id)) {
      // The message frame came first (e.g. through resume): keep that one.
      entry.li.remove();
      return;
    }
    markSent(entry.li, id);
    state.shown.set(id, entry.li);
  }

  /* ---- sending ---- */
  function sendText(text) {
    const clientId = uuid();
    const li = messageItem({ author: "customer", text, sentAt: new Date().toISOString(), pending: true });
    li.dataset.clientId = clientId;
    appendItem(li);
    state.pending.set(clientId, { text, li });
    state.socket.send({ type: "message", text, client_id: clientId });
  }

  function resendPending() {
    for (const [clientId, entry] of state.pending) {
      if (!entry.image) state.socket.send({ type: "message", text: entry.text, client_id: clientId });
    }
  }

  async function sendImage(file) {
    if (file.size > (config.maxImageMb || 10) * 1024 * 1024) {
      systemLine(format(t.imageTooLarge, { size: config.maxImageMb || 10 }));
      return;
    }
    const clientId = uuid();
    const preview = URL.createObjectURL(file);
    const li = messageItem({
      author: "customer",
      text: "",
      sentAt: new Date().toISOString(),
      attachments: [{ name: file.name, url: preview, content_type: file.type || "image/*" }],
      pending: true,
    });
    li.dataset.clientId = clientId;
    appendItem(li);
    state.pending.set(clientId, { text: "", li, image: true });
    const data = new FormData();
    data.append("image", file);
    data.append("client_id", clientId);
    let result;
    try {
      result = await post(config.uploadUrl, data);
    } catch (error) {
      result = { ok: false, data: {} };
    }
    if (result.ok && result.data && result.data.id) {
      onAck({ client_id: clientId, id: result.data.id });
    } else {
      state.pending.delete(clientId);
      markFailed(li);
      const detail = firstError(result.data);
      systemLine(detail ? `${t.uploadFailed} ${detail}` : t.uploadFailed);
    }
  }

  /* ---- typing ---- */
  function hideTyping() {
    ui.typing.hidden = true;
    window.clearTimeout(state.typingTimer);
  }

  function showTyping() {
    ui.typing.textContent = t.agentTyping;
    ui.typing.hidden = false;
    window.clearTimeout(state.typingTimer);
    state.typingTimer = window.setTimeout(hideTyping, 5000);
  }

  function typed() {
    const now = Date.now();
    if (now - state.lastTypingSent > 2500 && ui.text.value.trim()) {
      state.lastTypingSent = now;
      state.socket.send({ type: "typing" });
    }
  }

  /* ---- status ---- */
  function setView(status) {
    state.status = status;
    const closed = status === "closed";
    const offline = status === "offline" && !state.leftMessage;
    ui.offline.hidden = !offline;
    ui.rating.hidden = !closed;
    ui.composer.hidden = closed || status === "offline";
    // With nobody online and nothing said yet, the card goes to the top of the screen.
    ui.messages.hidden = status === "offline" && ui.messages.children.length === 0;
    ui.endButton.hidden = closed || status === "offline";
  }

  function onStatus(frame) {
    const previous = state.status;
    switch (frame.state) {
      case "waiting":
        ui.notice.textContent = frame.position
          ? format(t.waiting, { position: frame.position })
          : t.waitingNoPosition;
        ui.notice.hidden = false;
        ui.subtitle.textContent = t.waitingNoPosition;
        setView("waiting");
        break;
      case "offline":
        // The leave-a-message card says it all; the notice would only repeat it.
        ui.notice.textContent = "";
        ui.notice.hidden = true;
        ui.subtitle.textContent = t.offlineShort;
        setView("offline");
        prefillLeaveForm();
        break;
      case "active":
        ui.notice.hidden = true;
        ui.notice.textContent = "";
        if (frame.agent && frame.agent !== state.agent) {
          state.agent = frame.agent;
          const text = format(t.agentJoined, { agent: frame.agent });
          systemLine(text);
          announce(text);
        }
        ui.subtitle.textContent = format(t.chattingWith, { agent: state.agent || t.agent });
        setView("active");
        break;
      case "left": {
        const text = format(t.agentLeft, { agent: frame.agent || state.agent || t.agent });
        systemLine(text);
        announce(text);
        state.agent = "";
        hideTyping();
        ui.subtitle.textContent = t.waitingNoPosition;
        setView("waiting");
        break;
      }
      case "closed":
        hideTyping();
        ui.notice.hidden = true;
        ui.subtitle.textContent = t.closed;
        if (previous !== "closed") {
          systemLine(t.closed);
          announce(t.closed);
        }
        setView("closed");
        if (state.rated) showRatingDone();
        break;
      default:
        break;
    }
  }

  function markFailed(li) {
    li.classList.remove("msg-pending");
    li.classList.add("msg-failed");
    const label = li.querySelector(".msg-state");
    if (label) label.textContent = t.failed;
  }

  function onError(frame) {
    const entry = frame.client_id ? state.pending.get(frame.client_id) : null;
    if (entry && frame.code === "not_stored") {
      // Not stored this time: send it again with the same client_id (stored once).
      window.setTimeout(() => {
        if (state.pending.get(frame.client_id) === entry && !entry.image) {
          state.socket.send({ type: "message", text: entry.text, client_id: frame.client_id });
        }
      }, 1000);
      return;
    }
    if (entry) {
      // Refused for good (the chat is closed, the text invalid): stop re-sending it.
      markFailed(entry.li);
      state.pending.delete(frame.client_id);
    }
    if (frame.code === "rate_limited") {
      showBanner(t.rateLimited, "warning");
      return;
    }
    systemLine(format(t.error, { detail: frame.detail || frame.code || "" }));
  }

  /* ---- the socket ---- */
  function connect() {
    if (state.socket) state.socket.stop();
    showBanner(t.connecting, "info");
    state.socket = new ReconnectingSocket(wsUrl(config.socketPath), {
      onopen() {
        showBanner("", "");
        state.socket.send({ type: "resume", after: state.lastSeenId });
        resendPending();
      },
      onframe(frame) {
        switch (frame.type) {
          case "message":
            onMessage(frame);
            break;
          case "ack":
            onAck(frame);
            break;
          case "typing":
            if (frame.author !== "customer") showTyping();
            break;
          case "status":
            onStatus(frame);
            break;
          case "error":
            onError(frame);
            break;
          default:
            break;
        }
      },
      onclose(code, willRetry) {
        if (code === 4403) {
          // The session has no conversation (any more). After the end of a chat the page
          // stays as it is (rating, thanks); otherwise the customer starts afresh.
          if (state.status === "closed") state.socket.stop();
          else endConversation(t.sessionEnded);
          return;
        }
        if (willRetry) showBanner(t.reconnecting, "warning");
      },
    });
    state.socket.connect();
  }

  function endConversation(message) {
    if (state.socket) state.socket.stop();
    state.socket = null;
    state.conversation = null;
    showBanner("", "");
    ui.conversation.hidden = true;
    ui.endButton.hidden = true;
    ui.startView.hidden = false;
    ui.language.hidden = false;
    ui.startError.textContent = message || "";
    ui.subtitle.textContent = "";
  }

  function openConversation(data) {
    state.conversation = { id: data.conversation, reference: data.reference };
    state.lastSeenId = 0;
    state.shown.clear();
    state.pending.clear();
    state.agent = "";
    state.rated = false;
    state.leftMessage = false;
    state.status = null;
    ui.messages.replaceChildren();
    ui.ratingForm.hidden = false;
    ui.ratingThanks.hidden = true;
    ui.newChat.hidden = true;
    ui.leaveForm.hidden = false;
    ui.leaveThanks.hidden = true;
    ui.startView.hidden = true;
    ui.conversation.hidden = false;
    ui.language.hidden = true; // room in the header for "End chat"
    ui.notice.textContent = "";
    ui.verified.hidden = !data.verified_by_app;
    // The app told us who this is: the offline form asks for no contact.
    state.verified = Boolean(data.verified_by_app);
    ui.leaveWho.hidden = state.verified;
    ui.leaveIntro.hidden = state.verified;
    ui.leaveIntroVerified.hidden = !state.verified;
    if (data.reference) ui.messages.setAttribute("aria-description", format(t.reference, { reference: data.reference }));
    if (data.state === "offline" || data.agents_online === false) onStatus({ state: "offline" });
    else setView(data.state === "active" ? "active" : "waiting");
    connect();
    ui.text.focus();
  }

  /* ---- help articles before the queue ---- */
  // The customer's question is offered the matching help articles once (chat/protocol.py,
  // GET /chat/suggestions/); "I still need an agent" starts the chat with the question in
  // the message box. No articles, or no answer from the server: the chat starts at once.
  let offeredFor = "";

  function question() {
    return ui.startForm.elements.question.value.trim();
  }

  async function offerArticles() {
    const text = question();
    if (!text || text === offeredFor) return false;
    offeredFor = text;
    try {
      const response = await fetch(`${config.suggestionsUrl}?q=${encodeURIComponent(text)}`, {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      });
      const articles = response.ok ? (await response.json()).articles || [] : [];
      if (!articles.length) return false;
      ui.suggestList.replaceChildren(
        ...articles.map((article) => el("li", {}, el("a", { href: article.url, target: "_blank", rel: "noopener", text: article.title })))
      );
    } catch (error) {
      return false;
    }
    ui.startForm.hidden = true;
    ui.suggestView.hidden = false;
    ui.suggestList.querySelector("a").focus();
    return true;
  }

  ui.suggestAnswered.addEventListener("click", () => {
    ui.suggestView.hidden = true;
    ui.suggestThanks.hidden = false;
  });
  ui.suggestAgent.addEventListener("click", () => {
    ui.suggestView.hidden = true;
    ui.startForm.hidden = false;
    ui.startForm.requestSubmit();
  });

  /* ---- forms ---- */
  async function startChat(event) {
    event.preventDefault();
    ui.startError.textContent = "";
    ui.startButton.disabled = true;
    try {
      if (await offerArticles()) return;
      const result = await post(config.startUrl, new FormData(ui.startForm));
      if (!result.ok || !result.data.conversation) {
        ui.startError.textContent = firstError(result.data) || t.startFailed;
        return;
      }
      openConversation(result.data);
      if (question() && !ui.text.value) ui.text.value = question();
    } catch (error) {
      ui.startError.textContent = t.startFailed;
    } finally {
      ui.startButton.disabled = false;
    }
  }

  /* The MY Wallet app opens /chat/#app_token=<JWT>: the token is taken out of the address
   * bar (and so out of the history) at once, and the chat starts with it. A refused token
   * is told, and the start form stays for the customer to go on as a guest. */
  function takeAppToken() {
    const match = /(?:^#|&)app_token=([^&]+)/.exec(window.location.hash);
    if (!match) return "";
    window.history.replaceState(null, "", window.location.pathname + window.location.search);
    return decodeURIComponent(match[1]);
  }

  async function startWithAppToken(token) {
    const form = new FormData();
    form.append("app_token", token);
    ui.startButton.disabled = true;
    try {
      const result = await post(config.startUrl, form);
      if (result.ok && result.data.conversation) {
        openConversation(result.data);
        return;
      }
      const reason = firstError(result.data) || t.startFailed;
      ui.startError.textContent = `${reason} ${t.appTokenRefused}`;
    } catch (error) {
      ui.startError.textContent = t.startFailed;
    } finally {
      ui.startButton.disabled = false;
    }
  }

  function firstError(data) {
    if (!data) return "";
    if (typeof data.error === "string" && data.error) return data.error;
    if (typeof data.detail === "string") return data.detail;
    if (data.errors && typeof data.errors === "object") {
      for (const value of Object.values(data.errors)) {
        const first = Array.isArray(value) ? value[0] : value;
        if (first) return typeof first === "string" ? first : first.message || "";
      }
    }
    return "";
  }

  function prefillLeaveForm() {
    const contact = ui.leaveForm.elements.contact;
    const name = ui.leaveForm.elements.name;
    if (!contact.value) contact.value = ui.startForm.elements.contact.value;
    if (!name.value) name.value = ui.startForm.elements.name.value;
  }

  async function leaveMessage(event) {
    event.preventDefault();
    const form = ui.leaveForm;
    ui.leaveError.textContent = "";
    if (!state.verified && !form.elements.contact.value.trim()) {
      ui.leaveError.textContent = t.contactRequired;
      form.elements.contact.setAttribute("aria-invalid", "true");
      form.elements.contact.focus();
      return;
    }
    form.elements.contact.removeAttribute("aria-invalid");
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      const result = await post(config.leaveMessageUrl, new FormData(form));
      if (!result.ok) {
        ui.leaveError.textContent = firstError(result.data) || t.leaveFailed;
        return;
      }
      state.leftMessage = true;
      form.hidden = true;
      const reference = result.data.reference || "";
      const thanks = reference ? format(t.leaveSent, { reference }) : t.leaveSentNoRef;
      // The reference (MW-000123) is kept on one line: never broken at its hyphen.
      const at = reference ? thanks.indexOf(reference) : -1;
      if (at < 0) ui.leaveThanks.textContent = thanks;
      else {
        ui.leaveThanks.replaceChildren(
          thanks.slice(0, at),
          el("span", { className: "nowrap", text: reference }),
          thanks.slice(at + reference.length),
        );
      }
      ui.leaveThanks.hidden = false;
      ui.offline.hidden = false;
      announce(ui.leaveThanks.textContent);
    } catch (error) {
      ui.leaveError.textContent = t.leaveFailed;
    } finally {
      button.disabled = false;
    }
  }

  function sendRating(event) {
    event.preventDefault();
    const form = ui.ratingForm;
    const score = Number(new FormData(form).get("score"));
    if (!(score >= 1 && score <= 5)) {
      ui.ratingError.textContent = t.ratingRequired;
      form.querySelector("input[name=score]").focus();
      return;
    }
    ui.ratingError.textContent = "";
    state.socket.send(
      { type: "rating", score, comment: form.elements.comment.value.trim() },
      { queue: true },
    );
    state.rated = true;
    showRatingDone();
    announce(t.ratingThanks);
  }

  function showRatingDone() {
    ui.ratingForm.hidden = true;
    ui.ratingThanks.textContent = t.ratingThanks;
    ui.ratingThanks.hidden = false;
    ui.newChat.hidden = false;
  }

  function submitComposer(event) {
    if (event) event.preventDefault();
    const text = ui.text.value.trim();
    if (!text || !state.socket) return;
    sendText(text);
    ui.text.value = "";
    autosize();
    ui.text.focus();
  }

  function autosize() {
    ui.text.style.height = "auto";
    ui.text.style.height = `${Math.min(ui.text.scrollHeight, 140)}px`;
  }

  /* ---- wiring ---- */
  ui.startForm.addEventListener("submit", startChat);
  ui.leaveForm.addEventListener("submit", leaveMessage);
  ui.ratingForm.addEventListener("submit", sendRating);
  ui.composer.addEventListener("submit", submitComposer);
  ui.text.addEventListener("keydown", (event) => {
    // Enter sends; Shift+Enter is a new line; Enter that confirms an IME candidate
    // (Chinese input) is not a send.
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing && event.keyCode !== 229) {
      submitComposer(event);
    }
  });
  ui.text.addEventListener("input", () => {
    autosize();
    typed();
  });
  ui.image.addEventListener("change", () => {
    const file = ui.image.files && ui.image.files[0];
    ui.image.value = "";
    if (file && state.socket) sendImage(file);
  });
  ui.endButton.addEventListener("click", () => {
    if (!state.socket) return;
    if (!window.confirm(t.confirmEnd)) return;
    state.socket.send({ type: "close" }, { queue: true });
  });
  ui.newChat.addEventListener("click", () => {
    endConversation("");
    ui.startForm.elements.name.focus();
  });

  // A reload resumes the conversation the session already has; the server gives that one
  // back to a start with a token too, so the token is spent only on a new chat.
  const appToken = takeAppToken();
  if (config.conversation) openConversation(config.conversation);
  else if (appToken) startWithAppToken(appToken);
})();
