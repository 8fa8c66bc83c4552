// The "Connect WhatsApp" page: Meta's Embedded Signup (v4) through the Facebook JS SDK.
//
// Session: the page calls the API with the tenant's bearer token. The app that links here passes
// it in the URL fragment (`/connect#token=<jwt>`): a fragment is never sent to a server, so the
// token stays out of access logs and Referer headers; the page moves it to sessionStorage (this
// tab only) and removes it from the address bar. Without one, the page asks for email and
// password and signs in with POST /auth/login.
//
// Flow: GET /whatsapp/signup-config → load the SDK → FB.init → on click FB.login with the
// configuration id. Embedded Signup answers twice: the login callback brings the code (valid for
// about 30 seconds), and a `WA_EMBEDDED_SIGNUP` message from facebook.com brings the session info
// (WABA and phone number ids). As soon as both are there — or shortly after the code if the
// session info never comes — the page posts them to POST /whatsapp/connect and shows each step.
(function () {
  "use strict";

  // Embedded Signup's messages come from these origins only; anything else is ignored.
  var ALLOWED_ORIGINS = ["https://www.facebook.com", "https://web.facebook.com"];
  // How long to wait for the session info once the code is here (the code expires in ~30 s).
  var SESSION_INFO_GRACE_MS = 3000;
  var TOKEN_KEY = "miping.session";
  var STEP_LABELS = {
    exchange_code: "Exchange the signup code for a token",
    validate_token: "Check the permissions granted",
    fetch_phone_numbers: "Find the phone number",
    claim_number: "Reserve the number for this account",
    subscribe_app: "Subscribe to WhatsApp events",
    register_phone: "Register the number for the Cloud API",
    fetch_profile: "Read the business profile",
    sync_templates: "Sync message templates",
    install_library: "Install the template library"
  };
  var STATUS_LABELS = {
    not_connected: "Not connected",
    connecting: "Connecting",
    connected: "Connected",
    needs_reauth: "Needs to be reconnected",
    disconnected: "Disconnected",
    banned: "Disabled by Meta"
  };

  var config = JSON.parse(document.getElementById("connect-config").textContent || "{}");
  var $ = function (id) { return document.getElementById(id); };
  var token = null;
  var signup = null;        // {app_id, config_id, graph_version}
  var attempt = null;       // {code, session, posted, timer}

  function say(text, kind) {
    var box = $("message");
    box.textContent = text || "";
    box.setAttribute("data-kind", kind || "info");
  }

  function takeToken() {
    var match = /(?:^|[#&])token=([^&]+)/.exec(window.location.hash);
    if (match) {
      var t = decodeURIComponent(match[1]);
      try { sessionStorage.setItem(TOKEN_KEY, t); } catch (e) { /* private mode: keep it in memory */ }
      history.replaceState(null, "", window.location.pathname + window.location.search);
      return t;
    }
    try { return sessionStorage.getItem(TOKEN_KEY); } catch (e) { return null; }
  }

  function api(method, path, body) {
    var init = { method: method, headers: { "Accept": "application/json" } };
    if (token) { init.headers["Authorization"] = "Bearer " + token; }
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    return fetch(path, init).then(function (res) {
      if (res.status === 204) { return { ok: true, status: 204, body: null }; }
      return res.json().then(
        function (json) { return { ok: res.ok, status: res.status, body: json }; },
        function () { return { ok: res.ok, status: res.status, body: null }; }
      );
    });
  }

  function errorText(result) {
    var e = result.body && result.body.error;
    return e ? e.message : "The request failed (HTTP " + result.status + ").";
  }

  // --- sign-in ------------------------------------------------------------------------------
  function showLogin(message) {
    token = null;
    try { sessionStorage.removeItem(TOKEN_KEY); } catch (e) { /* ignore */ }
    $("connect-section").hidden = true;
    $("login-section").hidden = false;
    if (message) { say(message, "error"); }
    $("email").focus();
  }

  $("login-form").addEventListener("submit", function (ev) {
    ev.preventDefault();
    $("login-button").disabled = true;
    api("POST", "/auth/login", { email: $("email").value, password: $("password").value }).then(function (r) {
      $("login-button").disabled = false;
      $("password").value = "";
      if (!r.ok) { say(errorText(r), "error"); return; }
      token = r.body.token;
      try { sessionStorage.setItem(TOKEN_KEY, token); } catch (e) { /* ignore */ }
      $("login-section").hidden = true;
      say("");
      start();
    }, function () {
      $("login-button").disabled = false;
      say("The server could not be reached.", "error");
    });
  });

  // --- connection view ------------------------------------------------------------------------
  function render(view) {
    if (!view) { return; }
    $("connection-status").textContent = STATUS_LABELS[view.status] || view.status;
    $("connection-status").setAttribute("data-status", view.status);
    var details = $("connection-details");
    details.hidden = !view.waba_id;
    $("business-name").textContent = view.business_name || "—";
    $("display-phone-number").textContent = view.display_phone_number || "—";
    $("waba-id").textContent = view.waba_id || "—";
    $("phone-number-id").textContent = view.phone_number_id || "—";

    var list = $("steps");
    list.textContent = "";
    var failed = false;
    (view.steps || []).forEach(function (step) {
      var li = document.createElement("li");
      li.setAttribute("data-step", step.name);
      li.setAttribute("data-status", step.status);
      var label = document.createElement("span");
      label.textContent = (STEP_LABELS[step.name] || step.name.replace(/_/g, " ")) + ": ";
      var status = document.createElement("span");
      status.className = "step-status";
      status.textContent = step.status === "done" ? "done" : step.status === "failed" ? "failed" : "pending";
      li.appendChild(label);
      li.appendChild(status);
      if (step.error) {
        failed = true;
        var err = document.createElement("span");
        err.className = "step-error";
        err.textContent = step.error.message;
        li.appendChild(err);
      }
      list.appendChild(li);
    });
    // A failed step after the code exchange resumes with the stored token; before, it needs a new code.
    var exchangeDone = (view.steps || []).some(function (s) { return s.name === "exchange_code" && s.status === "done"; });
    $("retry-button").hidden = !(view.status === "connecting" && failed && exchangeDone);
    $("connect-button").textContent = view.status === "connected" ? "Reconnect with Facebook" : "Connect with Facebook";
  }

  function refreshStatus() {
    return api("GET", "/whatsapp/status").then(function (r) {
      if (r.status === 401) { showLogin("Your session has expired: sign in again."); return null; }
      if (r.ok) { render(r.body); }
      return r.body;
    });
  }

  function afterConnect(r) {
    if (r.ok) {
      render(r.body);
      say(r.body.status === "connected" ? "WhatsApp is connected." : "Connection status: " + r.body.status, r.body.status === "connected" ? "success" : "info");
      return;
    }
    if (r.status === 401) { showLogin("Your session has expired: sign in again, then connect again."); return; }
    say(errorText(r), "error");
    // The step list shows where it stopped (or another tab's run in progress).
    refreshStatus().then(function (view) {
      var code = r.body && r.body.error && r.body.error.code;
      if (code === "connect_in_progress") { poll(10); }
      return view;
    });
  }

  function poll(times) {
    if (times <= 0) { return; }
    setTimeout(function () {
      refreshStatus().then(function (view) { if (view && view.status === "connecting") { poll(times - 1); } });
    }, 2000);
  }

  // --- Embedded Signup -------------------------------------------------------------------------
  function submitIfReady(force) {
    if (!attempt || attempt.posted || !attempt.code) { return; }
    if (!attempt.session && !force) { return; }
    attempt.posted = true;
    clearTimeout(attempt.timer);
    var body = { code: attempt.code };
    if (attempt.session && attempt.session.waba_id) { body.waba_id = attempt.session.waba_id; }
    if (attempt.session && attempt.session.phone_number_id) { body.phone_number_id = attempt.session.phone_number_id; }
    say("Connecting your WhatsApp number…");
    $("connect-button").disabled = true;
    api("POST", "/whatsapp/connect", body).then(function (r) {
      $("connect-button").disabled = false;
      afterConnect(r);
    }, function () {
      $("connect-button").disabled = false;
      say("The server could not be reached; try again.", "error");
    });
  }

  window.addEventListener("message", function (event) {
    if (ALLOWED_ORIGINS.indexOf(event.origin) === -1) { return; }
    var data = event.data;
    if (typeof data === "string") {
      try { data = JSON.parse(data); } catch (e) { return; }
    }
    if (!data || data.type !== "WA_EMBEDDED_SIGNUP") { return; }
    var info = data.data || {};
    switch (data.event) {
      case "FINISH":
      case "FINISH_ONLY_WABA":
      case "FINISH_WHATSAPP_BUSINESS_APP_ONBOARDING":
        if (!attempt) { attempt = { code: null, session: null, posted: false, timer: null }; }
        attempt.session = { waba_id: info.waba_id || null, phone_number_id: info.phone_number_id || null };
        if (data.event === "FINISH_ONLY_WABA") {
          say("Signup finished without a phone number; checking your WhatsApp Business Account…");
        }
        submitIfReady(false);
        break;
      case "CANCEL":
        attempt = null;
        say("Signup was closed at step “" + (info.current_step || "unknown") + "”. Nothing was connected; you can start again.", "error");
        break;
      case "ERROR":
        attempt = null;
        say("Meta reported an error during signup: " + (info.error_message || "unknown error") + ".", "error");
        break;
      default:
        break;
    }
  });

  function onLogin(response) {
    var code = response && response.authResponse && response.authResponse.code;
    if (!code) {
      // A CANCEL or ERROR message has usually explained why already.
      if (!$("message").textContent) { say("Signup was closed before it finished. Nothing was connected.", "error"); }
      return;
    }
    if (!attempt) { attempt = { code: null, session: null, posted: false, timer: null }; }
    attempt.code = code;
    submitIfReady(false);
    // Without session info the server finds the WABA from the token's permissions.
    attempt.timer = setTimeout(function () { submitIfReady(true); }, SESSION_INFO_GRACE_MS);
  }

  $("connect-button").addEventListener("click", function () {
    if (!window.FB || !signup) { return; }
    attempt = { code: null, session: null, posted: false, timer: null };
    say("Follow the steps in the Facebook window…");
    window.FB.login(onLogin, {
      config_id: signup.config_id,
      response_type: "code",
      override_default_response_type: true,
      // v4 is chosen by the configuration (no `version` pinned here); session info is sent.
      extras: { setup: {}, featureType: "", sessionInfoVersion: "3" }
    });
  });

  $("retry-button").addEventListener("click", function () {
    $("retry-button").disabled = true;
    say("Retrying from the failed step…");
    api("POST", "/whatsapp/connect", {}).then(function (r) {
      $("retry-button").disabled = false;
      afterConnect(r);
    });
  });

  function loadSdk() {
    window.fbAsyncInit = function () {
      window.FB.init({ appId: signup.app_id, autoLogAppEvents: true, xfbml: true, version: signup.graph_version });
      $("connect-button").disabled = false;
    };
    var script = document.createElement("script");
    script.src = config.sdk_url;
    script.async = true;
    script.defer = true;
    script.crossOrigin = "anonymous";
    script.onerror = function () { say("The Facebook SDK could not be loaded (is a content blocker active?).", "error"); };
    document.body.appendChild(script);
  }

  function start() {
    $("connect-section").hidden = false;
    api("GET", "/whatsapp/signup-config").then(function (r) {
      if (r.status === 401) { showLogin("Sign in to connect WhatsApp."); return; }
      if (!r.ok) { say(errorText(r), "error"); return; }
      signup = r.body;
      loadSdk();
      refreshStatus();
    }, function () { say("The server could not be reached.", "error"); });
  }

  token = takeToken();
  if (token) { start(); } else { showLogin(); }
})();
