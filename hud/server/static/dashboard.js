// Keeps a page current while its job runs: every few seconds, fetch the page again and swap in its
// <main id="live">, so counts and rows update without a reload (scroll and open details survive).
// Parsed with DOMParser, which never runs scripts; the server escapes every value it renders.
(function () {
  "use strict";
  var EVERY_MS = 2000;
  var live = document.getElementById("live");
  if (!live || live.dataset.refresh !== "1") return;
  function tick() {
    if (document.hidden) { setTimeout(tick, EVERY_MS); return; }
    fetch(location.href, { credentials: "same-origin", cache: "no-store" })
      .then(function (response) {
        if (response.redirected || !response.ok) return null;  // signed out or gone: leave the page as it is
        return response.text();
      })
      .then(function (html) {
        if (html === null) return;
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("live");
        if (!fresh) return;
        var open = Array.prototype.map.call(live.querySelectorAll("details[open] > summary"), function (s) { return s.textContent; });
        live.replaceChildren.apply(live, Array.prototype.slice.call(fresh.childNodes));
        live.querySelectorAll("details > summary").forEach(function (s) {
          if (open.indexOf(s.textContent) >= 0) s.parentNode.open = true;
        });
        live.dataset.refresh = fresh.dataset.refresh;
        live.dataset.updated = String(Date.now());
      })
      .catch(function () {})
      .then(function () { if (live.dataset.refresh === "1") setTimeout(tick, EVERY_MS); });
  }
  setTimeout(tick, EVERY_MS);
})();
