// Live updates: a WebSocket to /ws/swarm/ applies each crawl's delta in place; if the socket is blocked,
// the page polls /live/state.json instead. Text from the swarm is only ever set with textContent.
(function () {
  "use strict";
  var body = document.body;
  var interval = Math.max(2, parseFloat(body.dataset.crawlInterval || "15")) * 1000;
  var known = { servers: {} };
  var pollTimer = null;
  var socket = null;

  function utc(seconds, precise) {
    return new Date(seconds * 1000).toISOString().replace("T", " ").slice(0, precise ? 19 : 16) + " UTC";
  }
  function each(selector, fn) { document.querySelectorAll(selector).forEach(fn); }
  function attr(name, value) { return "[" + name + "=\"" + CSS.escape(value) + "\"]"; }

  function percent(value) { return (Math.round(value * 100) / 100) + "%"; }

  // The coverage map has one bar per server (data-peer inside the model's data-coverage-model): its state class,
  // span and position change in place; a server the map does not have yet makes it fetch the map again.
  function drawBar(bar, server, blocks) {
    if (!server) { bar.className = "cell state-absent"; return; }
    var start = Math.max(0, Math.min(server.start, blocks)), end = Math.max(start, Math.min(server.end, blocks));
    bar.className = "cell state-" + server.state;
    bar.dataset.span = server.start + ":" + server.end;
    if (blocks > 0) {
      bar.style.left = percent(100 * start / blocks);
      bar.style.width = percent(100 * (end - start) / blocks);
    }
  }

  function applyServer(key, server) {
    var slash = key.lastIndexOf("/");  // a key is "<dht_prefix>/<peer id>"; a prefix may hold slashes, a peer id not
    var map = document.querySelector(attr("data-coverage-model", key.slice(0, slash)));
    if (map) {
      var bar = map.querySelector(attr("data-peer", key.slice(slash + 1)));
      if (bar) drawBar(bar, server, parseInt(map.dataset.blocks || "0", 10));
      else if (server) refreshCoverage(server.dht_prefix);
    }
    each(attr("data-server-state", key), function (label) {
      var state = server ? server.state : "absent";
      label.textContent = state;
      label.className = "state state-" + state;
    });
  }

  function applyModel(prefix, model, crawl) {
    each(attr("data-model-health", prefix), function (el) {
      var now = model.health;  // healthy, degraded or broken; its colour is the class health-<word> (site.css)
      if (el.textContent !== now) {
        each(attr("data-model-since", prefix), function (since) {
          since.textContent = crawl && crawl.started_at ? "since " + utc(crawl.started_at) : "just now";
        });
      }
      el.textContent = now;
      el.className = "health health-" + now;
    });
    each(attr("data-model-servers", prefix), function (el) { el.textContent = model.servers_online; });
    each(attr("data-model-covered", prefix), function (el) {
      el.textContent = model.blocks_covered + "/" + model.num_blocks;
    });
    each(attr("data-model-throughput", prefix), function (el) { el.textContent = model.throughput.toFixed(1); });
    each(attr("data-model-repmin", prefix), function (el) {
      el.textContent = model.replication.length ? Math.min.apply(null, model.replication) : 0;
    });
    each(attr("data-rep", prefix), function (el) {
      var count = model.replication[parseInt(el.dataset.block, 10)] || 0;
      var level = count === 0 ? "rep-0" : count === 1 ? "rep-1" : "rep-ok";
      el.className = el.className.replace(/\brep-(0|1|ok)\b/g, "").trim() + " " + level;
      el.title = "block " + el.dataset.block + ": " + count;
      if (el.classList.contains("rep")) el.textContent = count;  // the map's counts (the overview's segments: no text)
    });
  }

  // A link to a server's page as the server_link template filter writes it: its public name (capped), or its short
  // peer id when it has none, with the full peer id on hover.
  function serverLink(peerId, server) {
    var link = document.createElement("a");
    var name = server && server.public_name;
    link.className = "server-link";
    link.href = "/servers/" + encodeURIComponent(peerId) + "/";
    link.title = peerId;
    if (name) {
      link.textContent = name.length > 32 ? name.slice(0, 31) + "…" : name;
    } else {
      var code = document.createElement("code");
      code.textContent = "…" + peerId.slice(-6);
      link.append(code);
    }
    return link;
  }

  function applyChanges(changes, servers) {
    each("[data-state-changes]", function (list) {
      changes.forEach(function (change) {
        if (list.dataset.filterModel && list.dataset.filterModel !== change.dht_prefix) return;
        if (list.dataset.filterPeer && list.dataset.filterPeer !== change.peer_id) return;
        var empty = list.querySelector(".empty");
        if (empty) empty.remove();
        var item = document.createElement("li");
        var time = document.createElement("time");
        time.textContent = change.at.replace("T", " ").slice(0, 19);
        var text = document.createElement("span");
        text.textContent = " on " + change.dht_prefix.slice(0, 40) + ": " + change.old + " → " + change.new + " ";
        var reason = document.createElement("span");
        reason.className = "reason";
        reason.textContent = change.reason.slice(0, 200);
        item.append(time, " ", serverLink(change.peer_id, (servers || {})[change.server]), text, reason);
        list.prepend(item);
      });
    });
  }

  function refreshCoverage(prefix) {
    var map = document.querySelector(attr("data-coverage-model", prefix));
    if (!map || map.dataset.refreshing) return;
    map.dataset.refreshing = "1";
    fetch("/models/" + encodeURI(prefix) + "/?fragment=coverage", { headers: { "Accept": "text/html" } })
      .then(function (response) { return response.ok ? response.text() : Promise.reject(response.status); })
      .then(function (html) {
        var holder = document.createElement("div");
        holder.innerHTML = html;  // our own server-rendered, escaped fragment
        var fresh = holder.querySelector("[data-coverage-model]");
        if (fresh) map.replaceWith(fresh);
      })
      .catch(function () { delete map.dataset.refreshing; });
  }

  function apply(message) {
    if (!message || !message.type) return;
    if (message.crawl && message.crawl.started_at) {
      each("[data-last-crawl]", function (el) {
        el.textContent = utc(message.crawl.started_at, true);
      });
    }
    var full = message.type === "resync" || message.type === "state";
    if (full) {
      Object.keys(known.servers).forEach(function (key) { if (!(key in message.servers)) applyServer(key, null); });
      known.servers = {};
    }
    Object.keys(message.models || {}).forEach(function (prefix) {
      applyModel(prefix, message.models[prefix], message.crawl);
    });
    Object.keys(message.servers || {}).forEach(function (key) {
      known.servers[key] = true;
      applyServer(key, message.servers[key]);
    });
    (message.removed_servers || []).forEach(function (key) { delete known.servers[key]; applyServer(key, null); });
    if (message.state_changes && message.state_changes.length) applyChanges(message.state_changes, message.servers);
    body.dataset.lastMessage = message.type;
    if (message.type === "delta") {
      body.dataset.deltasApplied = String(parseInt(body.dataset.deltasApplied || "0", 10) + 1);
    }
  }

  function poll() {
    fetch("/live/state.json", { cache: "no-store" })
      .then(function (response) { return response.json(); })
      .then(function (state) { apply(Object.assign({}, state, { type: "resync" })); })
      .catch(function () {});
  }
  function startPolling() {
    if (pollTimer) return;
    body.dataset.live = "polling";
    poll();
    pollTimer = setInterval(poll, interval);
  }
  function stopPolling() { if (pollTimer) { clearInterval(pollTimer); pollTimer = null; } }

  function connect() {
    if (!("WebSocket" in window)) { startPolling(); return; }
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    try { socket = new WebSocket(scheme + location.host + "/ws/swarm/"); } catch (error) { startPolling(); return; }
    socket.onopen = function () {
      stopPolling();
      body.dataset.live = "connected";
      body.dataset.connections = String(parseInt(body.dataset.connections || "0", 10) + 1);
    };
    socket.onmessage = function (event) { apply(JSON.parse(event.data)); };
    socket.onclose = function () {
      startPolling();
      setTimeout(connect, Math.min(30000, interval * 2));  // the server sends a resync when we are back
    };
  }
  each("[data-coverage-model] [data-peer]", function (bar) {
    known.servers[bar.closest("[data-coverage-model]").dataset.coverageModel + "/" + bar.dataset.peer] = true;
  });
  each("[data-server-state]", function (label) { known.servers[label.dataset.serverState] = true; });
  connect();
})();
