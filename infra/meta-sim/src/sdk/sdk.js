// Stand-in for the Facebook JavaScript SDK (connect.facebook.net/en_US/sdk.js), served by Miping's
// Meta simulator so that WhatsApp Embedded Signup completes in a browser without the internet.
//
// Like the real SDK it defines window.FB and calls window.fbAsyncInit once loaded. FB.login opens
// the simulator's signup dialog in a popup (as Meta's does); the dialog, served from the
// simulator's origin, posts to this window:
//   1. the session info, exactly as Meta's popup does: a JSON string
//      {type: "WA_EMBEDDED_SIGNUP", event: "FINISH", data: {phone_number_id, waba_id, business_id}, version: 3}
//      (FINISH_ONLY_WABA without a number, CANCEL, ERROR) — sent only when the login options ask
//      for it with extras.sessionInfoVersion, as with Meta;
//   2. the login result, which this script hands to the FB.login callback:
//      {authResponse: {code, ...}, status: "connected"} (or authResponse null when cancelled).
// Pages must accept the session info only from the simulator's origin (event.origin equal to
// the origin of this script's URL), as they accept Meta's only from https://www.facebook.com.
//
// Test controls (window.FB.__sim):
//   code        the signup code FB.login returns (default: the `code` query parameter of this
//               script's URL, else a fresh random code per login, i.e. a new business). The
//               simulator's conventions apply: "invalid", "…finish_only_waba…", "…numbers_3…",
//               "acme~2" (same business as "acme").
//   scenario    "finish" (default), "cancel" (the person closes the dialog) or "error".
//   phone_index which number of a multi-number business the FINISH message names (default 0).
//   delay_ms    how long the dialog stays open before it answers (default 300).
//   init        the options FB.init received; logins: every FB.login call with its options,
//               code and the response given to the callback.
(function () {
  "use strict";
  if (window.FB && window.FB.__sim) { return; }

  var script = document.currentScript;
  var scriptUrl = script && script.src ? new URL(script.src, window.location.href) : null;
  var SIM_ORIGIN = scriptUrl ? scriptUrl.origin : "__SIM_ORIGIN__";
  var DIALOG = SIM_ORIGIN + "/dialog/embedded_signup";

  var sim = {
    code: scriptUrl ? scriptUrl.searchParams.get("code") : null,
    scenario: "finish",
    phone_index: 0,
    delay_ms: 300,
    init: null,
    logins: []
  };

  function randomCode() {
    var bytes = new Uint8Array(8);
    window.crypto.getRandomValues(bytes);
    var hex = "";
    for (var i = 0; i < bytes.length; i++) { hex += ("0" + bytes[i].toString(16)).slice(-2); }
    return "sim-" + hex;
  }

  function login(callback, options) {
    options = options || {};
    callback = typeof callback === "function" ? callback : function () {};
    if (!sim.init) {
      console.error("FB.login() called before FB.init().");
      return;
    }
    var code = sim.code || randomCode();
    var extras = options.extras || {};
    var params = new URLSearchParams({
      app_id: sim.init.appId || "",
      config_id: options.config_id || "",
      response_type: options.response_type || "token",
      code: code,
      scenario: sim.scenario || "finish",
      phone_index: String(sim.phone_index || 0),
      delay_ms: String(sim.delay_ms),
      session_info_version: extras.sessionInfoVersion ? String(extras.sessionInfoVersion) : "",
      origin: window.location.origin
    });
    var record = { options: options, code: code, response: null };
    sim.logins.push(record);

    // A window of its own per login: reusing one name would navigate the previous dialog's
    // window, which may still be running its own close (150 ms after it answered) and would then
    // close this login's dialog before it answers — seen when a test logs in again at once.
    var popup = window.open(DIALOG + "?" + params.toString(), "fb_embedded_signup_" + sim.logins.length, "width=640,height=720");
    var done = false;
    var watcher = null;
    function finish(response) {
      if (done) { return; }
      done = true;
      window.removeEventListener("message", onMessage);
      if (watcher) { clearInterval(watcher); }
      record.response = response;
      callback(response);
    }
    function onMessage(event) {
      if (event.origin !== SIM_ORIGIN || event.source !== popup) { return; }
      var data = event.data;
      if (typeof data === "string") {
        try { data = JSON.parse(data); } catch (e) { return; }
      }
      if (!data || data.type !== "MIPING_SIM_LOGIN_RESPONSE") { return; }
      finish({ authResponse: data.authResponse, status: data.status });
    }
    if (!popup) {
      // A blocked popup: the real SDK answers the callback without an authResponse.
      setTimeout(function () { finish({ authResponse: null, status: "unknown" }); }, 0);
      return;
    }
    window.addEventListener("message", onMessage);
    // Closed without an answer (the person shut the window): no authResponse. The grace
    // period lets a message posted just before the close arrive first.
    watcher = setInterval(function () {
      if (popup.closed) {
        clearInterval(watcher);
        watcher = null;
        setTimeout(function () { finish({ authResponse: null, status: "unknown" }); }, 500);
      }
    }, 200);
  }

  window.FB = {
    __sim: sim,
    init: function (options) { sim.init = options || {}; },
    login: login,
    getLoginStatus: function (callback) {
      if (typeof callback === "function") { callback({ authResponse: null, status: "unknown" }); }
    },
    logout: function (callback) {
      if (typeof callback === "function") { callback({ authResponse: null, status: "unknown" }); }
    },
    AppEvents: { logPageView: function () {} }
  };

  if (typeof window.fbAsyncInit === "function") { window.fbAsyncInit(); }
})();
