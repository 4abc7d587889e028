// Self-service pages: the "new code" button counts down and then becomes usable. Without
// JavaScript the page still works: reloading it shows the remaining wait.
(function () {
  "use strict";
  document.querySelectorAll("button[data-wait]").forEach(function (button) {
    var left = parseInt(button.getAttribute("data-wait"), 10) || 0;
    var template = button.textContent;
    var shown = String(left);
    var timer = setInterval(function () {
      left -= 1;
      if (left <= 0) {
        clearInterval(timer);
        button.disabled = false;
        button.textContent = button.getAttribute("data-ready");
        return;
      }
      button.textContent = template.replace(shown, String(left));
    }, 1000);
  });
})();
