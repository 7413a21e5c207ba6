// "Probe this server": posts the form with fetch, then follows the probe's progress on /ws/probes/<id>/.
// Without JavaScript the form posts normally and the page comes back with ?probe=<id>. Text is set with textContent.
(function () {
  "use strict";
  var output = document.querySelector("[data-probe-progress]");
  if (!output) { return; }

  function show(text, status) {
    output.textContent = text;
    output.className = "probe-progress" + (status ? " probe-" + status : "");
  }

  function describe(probe) {
    if (probe.ok) {
      var speed = probe.tokens_per_s ? ", " + probe.tokens_per_s.toFixed(1) + " tokens/s" : "";
      return "Probe " + probe.id + " ok: first token after " + (probe.ttft_s * 1000).toFixed(0) + " ms" + speed +
        "; route " + probe.route.map(function (hop) { return hop.start + ":" + hop.end; }).join(" → ") + ".";
    }
    return "Probe " + probe.id + " " + probe.status.replace("_", " ") + ": " + (probe.error || "no reason given") +
      (probe.failed_peer_id ? " (server " + probe.failed_peer_id + ")" : "");
  }

  function follow(id) {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    var socket = new WebSocket(scheme + location.host + "/ws/probes/" + encodeURIComponent(id) + "/");
    socket.onmessage = function (event) {
      var message = JSON.parse(event.data);
      if (message.stage === "result") { show(describe(message.probe), message.probe.status); socket.close(); }
      else if (message.stage === "queued") { show("Probe " + id + " is queued…", "queued"); }
      else if (message.stage === "running" || message.stage === "routing") { show("Probe " + id + ": finding a route…", "running"); }
      else if (message.stage === "routed") { show("Probe " + id + ": route found, connecting…", "running"); }
      else if (message.stage === "token") { show("Probe " + id + ": token " + message.index + " of " + message.of + "…", "running"); }
    };
    socket.onerror = function () { show("Probe " + id + " started; reload the page for its result.", "queued"); };
  }

  document.querySelectorAll("[data-probe-form]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      show("Asking for a probe…", "queued");
      fetch(form.action, {
        method: "POST", body: new FormData(form), credentials: "same-origin",
        headers: { "Accept": "application/json", "X-CSRFToken": form.querySelector("[name=csrfmiddlewaretoken]").value }
      }).then(function (response) {
        return response.json().then(function (body) { return { status: response.status, body: body }; });
      }).then(function (reply) {
        if (reply.status === 202) { follow(reply.body.id); }
        else { show(reply.body.error || ("The request failed (" + reply.status + ")."), "failed"); }
      }).catch(function () { show("The request failed; try again.", "failed"); });
    });
  });
  if (output.dataset.probeId) { follow(output.dataset.probeId); }
})();
