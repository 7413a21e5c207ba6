// The overview's globe: draws the figure the server embedded (explorer/views/globe.py) with Plotly, its world
// outlines from our own static files (topojsonURL; never a CDN); a button switches between the globe and a flat map.
// After each live crawl (the header's last-crawl time changes) it reads the overview again (the kept page, cheap)
// and redraws the globe in place with Plotly.react, keeping the projection the visitor chose.
(function () {
  "use strict";
  var element = document.querySelector("[data-globe]");
  var source = element && document.getElementById(element.dataset.globe);
  if (!element || !source || !window.Plotly) return;
  var button = document.querySelector("[data-globe-toggle]");
  var projections = (button ? button.dataset.projections : "orthographic").split("|");
  var config = { responsive: true, displayModeBar: false, scrollZoom: false, topojsonURL: element.dataset.topojsonUrl };

  function projection() { return element.dataset.projection || projections[0]; }

  function layoutOf(figure) {
    // uirevision: a redraw after a crawl keeps where the visitor turned the globe to
    var layout = Object.assign({}, figure.layout, { autosize: true, uirevision: "globe" });
    var width = element.clientWidth;  // a phone's narrow box gets a shorter plot: the globe is as wide as the box
    if (width) layout.height = Math.max(260, Math.min(layout.height || 460, Math.round(width * 0.85) + 40));
    var geo = layout.geo || {};
    layout.geo = Object.assign({}, geo, { projection: Object.assign({}, geo.projection, { type: projection() }) });
    return layout;
  }

  // hover text comes as lines ("\n"), already escaped: Plotly breaks lines at <br>
  function withBreaks(data) {
    return data.map(function (trace) {
      if (!Array.isArray(trace.text)) return trace;
      var lines = trace.text.map(function (text) { return String(text).split("\n").join("<br>"); });
      return Object.assign({}, trace, { text: lines });
    });
  }

  function note(text) {
    var span = document.querySelector("[data-globe-unplaced]");
    if (span) span.textContent = text || "";
  }

  var figure = JSON.parse(source.textContent);
  element.dataset.projection = projections[0];
  element.dataset.crawl = String(figure.crawl);
  window.Plotly.newPlot(element, withBreaks(figure.data), layoutOf(figure), config).then(function () {
    element.dataset.drawn = "1";
    element.on("plotly_click", function (event) {  // a point is a server: a click opens its page
      var point = event && event.points && event.points[0];
      var peer = point && point.customdata;
      if (typeof peer === "string" && /^[1-9A-HJ-NP-Za-km-z]+$/.test(peer)) {
        location.href = "/servers/" + encodeURIComponent(peer) + "/";
      }
    });
  });

  if (button) {
    button.addEventListener("click", function () {
      var next = projections[(projections.indexOf(projection()) + 1) % projections.length];
      element.dataset.projection = next;
      window.Plotly.relayout(element, { "geo.projection.type": next });
      var flat = next !== projections[0];
      button.textContent = flat ? "Globe" : "Flat map";
      button.setAttribute("aria-pressed", flat ? "true" : "false");
    });
  }

  // The header's "last crawl" time, which live.js sets from each message: "2026-12-04 17:56:37 UTC" -> unix seconds.
  var crawlTime = document.querySelector("[data-last-crawl]");
  function announced() {
    var seconds = Date.parse(crawlTime.textContent.trim().replace(" UTC", "Z").replace(" ", "T")) / 1000;
    return isNaN(seconds) ? null : seconds;
  }
  var wanted = null, fetching = false, tries = 0;
  var RETRIES = 5, RETRY_MS = 2000;  // the site may serve its kept page of the crawl before while it renders anew
  function refresh() {
    if (fetching || wanted === null || Math.floor(figure.crawl || 0) >= wanted) return;
    fetching = true;
    fetch(location.pathname, { headers: { "Accept": "text/html" } })
      .then(function (response) { return response.ok ? response.text() : Promise.reject(response.status); })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById(element.dataset.globe);
        if (!fresh) return;
        var next = JSON.parse(fresh.textContent);
        if ((next.crawl || 0) <= (figure.crawl || 0)) return;
        figure = next;
        note(next.unplaced);
        element.dataset.points = String(next.points);
        element.dataset.crawl = String(next.crawl);
        return window.Plotly.react(element, withBreaks(next.data), layoutOf(next), config);
      })
      .catch(function () {})
      .then(function () {
        fetching = false;
        if (Math.floor(figure.crawl || 0) < wanted && ++tries < RETRIES) setTimeout(refresh, RETRY_MS);
      });
  }
  if (crawlTime && window.MutationObserver) {  // live.js rewrites the time on every message: act on a newer one
    new MutationObserver(function () {
      var seconds = announced();
      if (seconds !== null && seconds !== wanted && seconds > Math.floor(figure.crawl || 0)) {
        wanted = seconds;
        tries = 0;
        if (!document.hidden) refresh();
      }
    }).observe(crawlTime, { childList: true, characterData: true, subtree: true });
    document.addEventListener("visibilitychange", function () { if (!document.hidden) refresh(); });
  }
})();
