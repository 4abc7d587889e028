/* The workspace socket (/ws/workspace/, workspace/consumers.py), shared by the inbox and
   the ticket page: opens it, reopens it after a drop (with back-off), and hands each frame
   to the page's handler. */
"use strict";

window.mwWorkspaceSocket = function (onFrame, onOpen) {
  let delay = 1000;
  let socket = null;
  const api = {
    send(frame) {
      if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(frame));
    },
  };
  function open() {
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + location.host + "/ws/workspace/");
    socket.addEventListener("message", (event) => {
      let frame;
      try { frame = JSON.parse(event.data); } catch (error) { return; }
      if (frame.type === "hello") { delay = 1000; if (onOpen) onOpen(api); return; }
      onFrame(frame, api);
    });
    socket.addEventListener("close", (event) => {
      if (event.code === 4403 || event.code === 4401) return;  // not an agent (any more)
      setTimeout(open, delay);
      delay = Math.min(delay * 2, 30000);
    });
  }
  open();
  return api;
};
