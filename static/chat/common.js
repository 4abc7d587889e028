/* Shared by the customer chat page and the agent console: a websocket that reconnects by
 * itself, and small DOM helpers. Every text from the network goes in with textContent. */
"use strict";

(function () {
  const MWChat = {};

  /* Strings and settings rendered by the page as JSON (json_script): never parsed as HTML. */
  MWChat.readJSON = function (id) {
    const node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : {};
  };

  /* "Position %(position)s" with {position: 3}; values inserted as text later. */
  MWChat.format = function (template, values) {
    return String(template).replace(/%\((\w+)\)s/g, (match, key) =>
      Object.prototype.hasOwnProperty.call(values, key) ? String(values[key]) : match,
    );
  };

  /* el("p", {className: "x", text: "..."}, child, ...): text is textContent, never HTML. */
  MWChat.el = function (tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key === "text") node.textContent = value;
      else if (key === "className") node.className = value;
      else if (key === "dataset") Object.assign(node.dataset, value);
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else if (key === "href" || key === "src") {
        const url = MWChat.safeUrl(value);
        if (url) node.setAttribute(key, url);
      } else node.setAttribute(key, value === true ? "" : value);
    }
    for (const child of children) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  };

  /* Only same-origin paths, http(s) and local blob: previews; never javascript: or data:. */
  MWChat.safeUrl = function (value) {
    try {
      const url = new URL(String(value), window.location.href);
      if (url.protocol === "http:" || url.protocol === "https:" || url.protocol === "blob:") {
        return url.href;
      }
    } catch (error) {
      /* not a URL */
    }
    return null;
  };

  MWChat.uuid = function () {
    if (window.crypto && typeof window.crypto.randomUUID === "function") {
      return window.crypto.randomUUID();
    }
    // randomUUID needs a secure context; getRandomValues works on plain http too.
    const bytes = window.crypto.getRandomValues(new Uint8Array(16));
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  };

  MWChat.cookie = function (name) {
    for (const part of document.cookie.split(";")) {
      const [key, ...rest] = part.trim().split("=");
      if (key === name) return decodeURIComponent(rest.join("="));
    }
    return "";
  };

  MWChat.csrfToken = function () {
    const input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return MWChat.cookie("csrftoken") || (input ? input.value : "");
  };

  /* POST a FormData with the CSRF token; resolves to {ok, status, data}. */
  MWChat.post = async function (url, formData) {
    const response = await fetch(url, {
      method: "POST",
      body: formData,
      credentials: "same-origin",
      headers: { "X-CSRFToken": MWChat.csrfToken(), Accept: "application/json" },
    });
    let data = {};
    try {
      data = await response.json();
    } catch (error) {
      data = {};
    }
    return { ok: response.ok, status: response.status, data };
  };

  MWChat.time = function (iso) {
    const date = iso ? new Date(iso) : new Date();
    if (Number.isNaN(date.getTime())) return "";
    return date.toLocaleTimeString(document.documentElement.lang || undefined, {
      hour: "2-digit",
      minute: "2-digit",
    });
  };

  MWChat.wsUrl = function (path) {
    const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
    return `${scheme}//${window.location.host}${path}`;
  };

  /* Exponential back-off with full jitter: a random delay in [cap/2, cap], where the cap
   * doubles per failed attempt from base up to max. */
  MWChat.backoff = function (attempt, base = 500, max = 30000) {
    const cap = Math.min(max, base * 2 ** attempt);
    return Math.round(cap / 2 + Math.random() * (cap / 2));
  };

  /* A websocket that reconnects with back-off and jitter until stop() is called.
   * Handlers: onopen(), onframe(frame), onclose(code, willRetry). Close codes listed in
   * `finalCodes` end the reconnecting (e.g. 4403: not allowed). */
  class ReconnectingSocket {
    constructor(url, handlers, { finalCodes = [4403] } = {}) {
      this.url = url;
      this.handlers = handlers;
      this.finalCodes = finalCodes;
      this.attempt = 0;
      this.socket = null;
      this.timer = null;
      this.stopped = false;
      this.outbox = [];
      this.retryNow = () => {
        if (!this.stopped && !this.isOpen() && this.timer !== null) {
          clearTimeout(this.timer);
          this.timer = null;
          this.connect();
        }
      };
      window.addEventListener("online", this.retryNow);
      document.addEventListener("visibilitychange", () => {
        if (document.visibilityState === "visible") this.retryNow();
      });
    }

    isOpen() {
      return this.socket !== null && this.socket.readyState === WebSocket.OPEN;
    }

    connect() {
      if (this.stopped) return;
      let socket;
      try {
        socket = new WebSocket(this.url);
      } catch (error) {
        this.scheduleRetry();
        return;
      }
      this.socket = socket;
      let opened = false;
      socket.addEventListener("open", () => {
        opened = true;
        this.attempt = 0;
        if (this.handlers.onopen) this.handlers.onopen();
        const queued = this.outbox.splice(0);
        for (const frame of queued) this.send(frame, { queue: true });
      });
      socket.addEventListener("message", (event) => {
        let frame;
        try {
          frame = JSON.parse(event.data);
        } catch (error) {
          return;
        }
        if (frame && typeof frame === "object" && this.handlers.onframe) {
          this.handlers.onframe(frame);
        }
      });
      socket.addEventListener("close", (event) => {
        if (this.socket !== socket) return;
        this.socket = null;
        const final = this.stopped || this.finalCodes.includes(event.code);
        if (this.handlers.onclose) this.handlers.onclose(event.code, !final, opened);
        if (!final) {
          // Rate-limited: wait longer before trying again.
          if (event.code === 4429) this.attempt = Math.max(this.attempt, 4);
          this.scheduleRetry();
        }
      });
    }

    scheduleRetry() {
      if (this.stopped) return;
      const delay = MWChat.backoff(this.attempt);
      this.attempt = Math.min(this.attempt + 1, 10);
      this.timer = setTimeout(() => {
        this.timer = null;
        this.connect();
      }, delay);
    }

    /* Send a frame now; with queue: true keep it for the next connection if closed. */
    send(frame, { queue = false } = {}) {
      if (this.isOpen()) {
        this.socket.send(JSON.stringify(frame));
        return true;
      }
      if (queue) this.outbox.push(frame);
      return false;
    }

    stop() {
      this.stopped = true;
      if (this.timer !== null) clearTimeout(this.timer);
      this.timer = null;
      window.removeEventListener("online", this.retryNow);
      if (this.socket) this.socket.close(1000);
    }
  }

  MWChat.ReconnectingSocket = ReconnectingSocket;
  window.MWChat = MWChat;
})();
