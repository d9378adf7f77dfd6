/* Consulta teleconsultation pages: the live waiting room and dashboard, the call and the self-test.
   No inline script (the Content-Security-Policy forbids it): every page passes its data in data-* attributes. */
(function () {
  "use strict";

  // Live pages follow one Server-Sent Events stream each (http/tele_stream.py); nothing polls.
  function follow(url, handlers, status) {
    if (!window.EventSource) { return; }  // the page's own slow refresh (or its link) still works
    var source = new EventSource(url);
    var say = function (name) {
      if (status && status.hasAttribute("data-text-" + name)) {
        status.textContent = status.getAttribute("data-text-" + name);
      }
    };
    Object.keys(handlers).forEach(function (name) {
      source.addEventListener(name, function (event) { say("here"); handlers[name](event.data); });
    });
    source.addEventListener("expired", function () { source.close(); location.reload(); });
    source.onopen = function () { say("here"); };
    source.onerror = function () {
      say("lost");
      // Refused (session over, consultation closed): the browser stops retrying; show what the server says now.
      if (source.readyState === 2) { setTimeout(function () { location.reload(); }, 5000); }
    };
  }

  // The patient's waiting room (and the call page): go where the consultation is now.
  var waiting = document.querySelector("[data-status-events]");
  if (waiting) {
    var live = document.getElementById("live-state");
    if (live) { live.setAttribute("data-text-here", waiting.getAttribute("data-text-here") || ""); }
    if (live) { live.setAttribute("data-text-lost", waiting.getAttribute("data-text-lost") || ""); }
    follow(waiting.getAttribute("data-status-events"), {
      status: function (data) {
        var state = JSON.parse(data);
        var stay = waiting.getAttribute("data-status-stay");  // the self-test stays while the patient waits
        if (state.next && state.next !== location.pathname && state.next !== stay) { location.assign(state.next); }
      }
    }, live);
  }

  // The practitioner's dashboard: who waits, replaced in place when it changes.
  var rows = document.getElementById("tele-rows");
  if (rows) {
    follow(rows.getAttribute("data-rows-events"), {
      rows: function (html) { rows.innerHTML = html; }
    }, document.getElementById("live-state"));
  }

  var call = document.getElementById("call");
  if (!call) { return; }
  var text = function (name) { return call.getAttribute("data-text-" + name) || name; };
  var state = document.getElementById("call-state");
  var peerState = document.getElementById("peer-state");
  var remote = document.getElementById("remote");
  var local = document.getElementById("local");
  var log = document.getElementById("chat-log");
  var csrf = document.querySelector("#token-form input[name=_csrf_token]");
  var stream = null, pc = null, ws = null, chat = null, leaving = false, retry = null;

  function say(node, message) { if (node) { node.textContent = message; } }

  function addChat(who, message) {
    if (!log) { return; }
    var item = document.createElement("li");
    item.textContent = who + " : " + message;
    log.appendChild(item);
  }

  function gathered(peer) {
    if (peer.iceGatheringState === "complete") { return Promise.resolve(); }
    return new Promise(function (resolve) {
      peer.addEventListener("icegatheringstatechange", function () {
        if (peer.iceGatheringState === "complete") { resolve(); }
      });
    });
  }

  function reconnect() {
    if (leaving || retry) { return; }
    say(state, text("reconnecting"));
    retry = setTimeout(function () { retry = null; connect(); }, 2000);
  }

  function connect() {
    if (pc) { pc.close(); }
    if (ws) { ws.onclose = null; ws.close(); }
    fetch(call.getAttribute("data-token-url"), {
      method: "POST", credentials: "same-origin", headers: { "x-csrftoken": csrf ? csrf.value : "" }
    }).then(function (answer) {
      if (!answer.ok) { throw new Error("token " + answer.status); }
      return answer.json();
    }).then(function (grant) {
      pc = new RTCPeerConnection({ iceServers: grant.ice_servers });
      window.consultaPeer = pc; // read by the browser tests (getStats)
      stream.getTracks().forEach(function (track) { pc.addTrack(track, stream); });
      var incoming = new MediaStream();
      remote.srcObject = incoming;
      pc.ontrack = function (event) { incoming.addTrack(event.track); };
      pc.onconnectionstatechange = function () {
        if (pc.connectionState === "connected") { say(state, text("connected")); }
        if (pc.connectionState === "failed") { reconnect(); }
      };
      chat = pc.createDataChannel("chat");
      chat.onmessage = function (event) {
        try {
          var message = JSON.parse(event.data);
          if (message.kind === "text") { addChat(text("them"), message.text); }
        } catch (e) { /* not a chat message */ }
      };
      var scheme = location.protocol === "https:" ? "wss://" : "ws://";
      ws = new WebSocket(scheme + location.host + grant.path);
      ws.onopen = function () { ws.send(JSON.stringify({ type: "hello", token: grant.token })); };
      ws.onclose = reconnect;
      ws.onmessage = function (event) {
        var message = JSON.parse(event.data);
        if (message.type === "ready") {
          say(peerState, message.peer ? "" : text("alone"));
          pc.createOffer()
            .then(function (offer) { return pc.setLocalDescription(offer); })
            .then(function () { return gathered(pc); })  // no trickle ICE: the offer carries every candidate
            .then(function () { ws.send(JSON.stringify({ type: "offer", sdp: pc.localDescription.sdp })); });
        } else if (message.type === "answer") {
          pc.setRemoteDescription({ type: "answer", sdp: message.sdp });
        } else if (message.type === "peer") {
          say(peerState, message.present ? "" : text("alone"));
        } else if (message.type === "error") {
          say(state, text("refused"));
        }
      };
    }).catch(function () { reconnect(); });
  }

  navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 640, height: 360 } })
    .then(function (media) {
      stream = media;
      if (local) { local.srcObject = media; }
      connect();
    })
    .catch(function () { say(state, text("nodevice")); });

  var toggle = function (id, kind) {
    var button = document.getElementById(id);
    if (!button) { return; }
    button.addEventListener("click", function () {
      var off = button.getAttribute("aria-pressed") !== "true";
      button.setAttribute("aria-pressed", off ? "true" : "false");
      if (stream) { stream.getTracks().forEach(function (t) { if (t.kind === kind) { t.enabled = !off; } }); }
    });
  };
  toggle("mute", "audio");
  toggle("camera", "video");

  var leftUrl = call.getAttribute("data-left-url");
  var reportLeft = function () {
    if (!leftUrl || !navigator.sendBeacon) { return; }
    var form = new FormData();
    form.append("_csrf_token", csrf ? csrf.value : "");
    navigator.sendBeacon(leftUrl, form);  // recorded as "left" in the consultation's story
  };
  window.addEventListener("pagehide", function () { if (!leaving) { reportLeft(); } });

  var leave = document.getElementById("leave");
  if (leave) {
    leave.addEventListener("click", function () {
      leaving = true;
      if (ws && ws.readyState === 1) { ws.send(JSON.stringify({ type: "leave" })); }
      if (pc) { pc.close(); }
      if (stream) { stream.getTracks().forEach(function (t) { t.stop(); }); }
      reportLeft();
      say(state, text("left"));
    });
  }

  var form = document.getElementById("chat-form");
  if (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var input = document.getElementById("chat-text");
      var message = input.value.trim();
      if (!message || !chat || chat.readyState !== "open") { return; }
      chat.send(JSON.stringify({ kind: "text", text: message }));
      addChat(text("me"), message);
      input.value = "";
    });
  }
})();
