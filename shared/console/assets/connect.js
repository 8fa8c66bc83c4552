// The console's Connect WhatsApp page: Meta's Embedded Signup through the Facebook JS SDK (the
// simulator's stand-in locally). The button's data attributes carry the SDK's URL and settings
// (no inline script: the page's CSP allows this file and the SDK's origin only).
//
// Embedded Signup answers twice: FB.login's callback brings the code (valid ~30 s), and a
// `WA_EMBEDDED_SIGNUP` message from Meta's dialog brings the WABA and number ids. Once both are
// here — or shortly after the code if the ids never come — the page posts them (form-encoded,
// CSRF header) to /app/connect/code, which runs the same use case as POST /whatsapp/connect.
// While that runs, the steps panel is refreshed every second (console.js does the fetching: the
// panel listens for a `refresh` event); at the end the page reloads with a toast.
(function () {
  "use strict";
  var button = document.getElementById("connect-button");
  if (!button) { return; }
  var cfg = button.dataset;
  // Only these origins may send the signup's session info; anything else is ignored.
  var origins = (cfg.messageOrigins || "").split(/\s+/).filter(Boolean);
  var GRACE_MS = 3000;
  var attempt = null;

  function say(text) {
    var box = document.getElementById("connect-message");
    if (box) { box.textContent = text || ""; }
  }

  function refreshSteps() {
    var panel = document.getElementById("connection");
    if (panel) { panel.dispatchEvent(new Event("refresh")); }
  }

  function submit(force) {
    if (!attempt || attempt.posted || !attempt.code) { return; }
    if (!attempt.session && !force) { return; }
    attempt.posted = true;
    clearTimeout(attempt.timer);
    var body = new URLSearchParams({ code: attempt.code });
    if (attempt.session && attempt.session.waba_id) { body.set("waba_id", attempt.session.waba_id); }
    if (attempt.session && attempt.session.phone_number_id) { body.set("phone_number_id", attempt.session.phone_number_id); }
    var csrf = document.querySelector('meta[name="csrf-token"]');
    say("Connecting your WhatsApp number…");
    button.disabled = true;
    var poller = setInterval(refreshSteps, 1000);
    fetch("/app/connect/code", {
      method: "POST",
      headers: { "HX-Request": "true", "X-CSRF-Token": csrf ? csrf.content : "" },
      body: body
    }).then(function (res) {
      clearInterval(poller);
      var go = res.headers.get("HX-Location");
      if (go) { window.location.assign(go); return; }
      button.disabled = false;
      say("Connecting failed (" + res.status + "). Reload the page and try again.");
    }, function () {
      clearInterval(poller);
      button.disabled = false;
      say("Network error: check your connection and try again.");
    });
  }

  window.addEventListener("message", function (event) {
    if (origins.indexOf(event.origin) === -1) { return; }
    var data = event.data;
    if (typeof data === "string") {
      try { data = JSON.parse(data); } catch (e) { return; }
    }
    if (!data || data.type !== "WA_EMBEDDED_SIGNUP" || !attempt) { return; }
    var info = data.data || {};
    if (/^FINISH/.test(data.event || "")) {
      attempt.session = { waba_id: info.waba_id || null, phone_number_id: info.phone_number_id || null };
      submit(false);
    } else if (data.event === "CANCEL") {
      attempt.stopped = "Signup was closed at step “" + (info.current_step || "unknown") + "”. Nothing was connected; you can start again.";
      say(attempt.stopped);
    } else if (data.event === "ERROR") {
      attempt.stopped = "Meta reported an error during signup: " + (info.error_message || "unknown error") + ".";
      say(attempt.stopped);
    }
  });

  function onLogin(response) {
    var code = response && response.authResponse && response.authResponse.code;
    if (!attempt) { return; }
    if (!code) {
      if (!attempt.stopped) { say("Signup was closed before it finished. Nothing was connected."); }
      return;
    }
    attempt.code = code;
    submit(false);
    // Without the session info the server finds the WABA from the token's permissions.
    attempt.timer = setTimeout(function () { submit(true); }, GRACE_MS);
  }

  button.addEventListener("click", function () {
    if (!window.FB) { return; }
    attempt = { code: null, session: null, posted: false, timer: null, stopped: null };
    say("Follow the steps in Meta's window…");
    window.FB.login(onLogin, {
      config_id: cfg.configId,
      response_type: "code",
      override_default_response_type: true,
      extras: { setup: {}, featureType: "", sessionInfoVersion: "3" }
    });
  });

  window.fbAsyncInit = function () {
    window.FB.init({ appId: cfg.appId, autoLogAppEvents: true, xfbml: true, version: cfg.graphVersion });
    button.disabled = false;
  };
  var sdk = document.createElement("script");
  sdk.src = cfg.sdkUrl;
  sdk.async = true;
  sdk.crossOrigin = "anonymous";
  sdk.onerror = function () { say("Meta's SDK could not be loaded (is a content blocker active?)."); };
  document.body.appendChild(sdk);
})();
