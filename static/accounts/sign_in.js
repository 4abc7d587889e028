// The app opens /account/sign-in/#app_token=<token>. The fragment never reaches a server
// (nor its logs); this script takes the token out of the address bar at once, so it stays
// in neither the history nor a shared link, and posts it with the page's CSRF token.
(function () {
  "use strict";
  var form = document.getElementById("app-sign-in");
  var match = /(?:^#|&)app_token=([^&]+)/.exec(window.location.hash);
  if (!form || !match) {
    return;
  }
  window.history.replaceState(null, "", window.location.pathname + window.location.search);
  form.elements.app_token.value = decodeURIComponent(match[1]);
  document.getElementById("signing-in").hidden = false;
  document.getElementById("no-token").hidden = true;
  form.submit();
})();
