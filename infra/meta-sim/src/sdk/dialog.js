// The simulator's Embedded Signup dialog (the popup FB.login opens). Everything it posts was
// decided by the simulator when it rendered the page (see routes/sdk.rs): here it only waits a
// moment, posts the session info (as Meta's popup does) and the login response to the window
// that opened it, then closes.
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("signup").textContent);
  var state = document.getElementById("state");
  function post(message) {
    if (window.opener) { window.opener.postMessage(JSON.stringify(message), data.origin); }
  }
  setTimeout(function () {
    if (!window.opener) {
      state.textContent = "This window was not opened by FB.login; nothing to answer.";
      return;
    }
    if (data.session_info) { post(data.session_info); }
    post({ type: "MIPING_SIM_LOGIN_RESPONSE", authResponse: data.auth_response, status: data.status });
    state.textContent = "Done. This window closes itself.";
    setTimeout(function () { window.close(); }, 150);
  }, data.delay_ms);
})();
