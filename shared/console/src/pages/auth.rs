//! `GET /` (the sign-in page, or the signed-in person's start page), sign-in and sign-out.

use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use miping::app::AppState;
use miping::domain::audit;
use miping::domain::user::Role;
use miping::domain::{Kind, auth, sessions};
use miping::http::audit::Audit;
use miping::http::client_addr::ClientAddr;
use secrecy::SecretString;
use serde::Deserialize;

use crate::forms::{CsrfForm, Errors};
use crate::page::{self, Chrome, Hx};
use crate::session::{self, NoSession, PendingViewer};

#[derive(Template)]
#[template(path = "sign_in.html", blocks = ["form"])]
pub struct SignInPage {
    pub chrome: Chrome,
    pub email: String,
    pub errors: Errors,
    pub ended: bool,
}

#[derive(Deserialize)]
pub struct EndedQuery {
    #[serde(default)]
    ended: Option<String>,
}

/// `GET /`: the start page for the signed-in person's role, else the sign-in page.
pub async fn home(
    State(state): State<AppState>,
    headers: HeaderMap,
    axum::extract::Query(q): axum::extract::Query<EndedQuery>,
) -> Response {
    match session::resolve(&headers, &state).await {
        Ok(viewer) if viewer.user().must_change_password => page::redirect_to("/change-password"),
        Ok(viewer) => match viewer.role() {
            Role::TenantAdmin => super::dashboard::show(&state, &viewer, &headers).await,
            // The platform owner's start page is the tenants list.
            Role::SuperAdmin => page::redirect_to("/app/tenants"),
            // An agent's start page is the inbox.
            Role::TenantAgent => page::redirect_to("/app/inbox"),
        },
        Err(NoSession::SignIn { ended }) => {
            let chrome = Chrome::signed_out(&state, &headers);
            let page =
                SignInPage { chrome, email: String::new(), errors: Errors::none(), ended: ended || q.ended.is_some() };
            page.chrome.finish(page::html(StatusCode::OK, &page))
        }
        Err(other) => other.into_response(),
    }
}

#[derive(Deserialize)]
pub struct SignInForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
}

/// `POST /sign-in`: the API's sign-in (same throttle, same session), the token in the cookie.
pub async fn sign_in(
    State(state): State<AppState>,
    headers: HeaderMap,
    hx: Hx,
    client: ClientAddr,
    audit: Audit,
    CsrfForm(form): CsrfForm<SignInForm>,
) -> Response {
    let refuse = |status: StatusCode, errors: Errors| {
        let chrome = Chrome::signed_out(&state, &headers);
        let page = SignInPage { chrome, email: form.email.clone(), errors, ended: false };
        page.chrome.finish(page::page_or_fragment(hx, status, &page, page.as_form()))
    };
    if form.email.trim().is_empty() {
        return refuse(StatusCode::UNPROCESSABLE_ENTITY, Errors::none().field("email", "Enter your email."));
    }
    let throttle = &state.config.login_throttle;
    let password = SecretString::from(form.password.clone());
    let result = auth::login(&state.ports, &state.jwt, throttle, &form.email, &client.bucket(), password).await;
    audit::logged(audit::sign_in(&state.ports, &audit, &form.email, result.as_ref().map(|l| &l.user)).await);
    match result {
        Ok(login) => {
            let now = state.ports.clock.now();
            let next = if login.user.must_change_password { "/change-password" } else { "/" };
            let mut r = hx.go(next);
            r.headers_mut()
                .append(header::SET_COOKIE, session::set_cookie(&state, &login.token, login.expires_at, now));
            r
        }
        Err(e) if e.kind == Kind::Unauthenticated => {
            refuse(StatusCode::UNAUTHORIZED, Errors::alert("Wrong email or password."))
        }
        Err(e) if e.kind == Kind::Limit => {
            let wait = e.retry_after.unwrap_or(60);
            let text = format!("Too many attempts. Try again in {}.", duration_words(wait));
            let mut r = refuse(StatusCode::TOO_MANY_REQUESTS, Errors::alert(text));
            r.headers_mut().insert(header::RETRY_AFTER, wait.into());
            r
        }
        Err(e) => match crate::forms::status_of(&e) {
            Ok(status) => refuse(status, Errors::from_error(&e, &["email", "password"])),
            Err(r) => r,
        },
    }
}

/// "45 seconds", "2 minutes"
pub fn duration_words(secs: u64) -> String {
    match secs {
        0..=1 => "a second".into(),
        2..=89 => format!("{secs} seconds"),
        _ => format!("{} minutes", secs.div_ceil(60)),
    }
}

/// `POST /sign-out`: ends the session (the API's logout) and drops the cookie.
pub async fn sign_out(
    State(state): State<AppState>,
    hx: Hx,
    viewer: Result<PendingViewer, Response>,
    audit: Audit,
    CsrfForm(_): CsrfForm<serde::de::IgnoredAny>,
) -> Response {
    if let Ok(PendingViewer(viewer)) = viewer {
        if let Err(e) = sessions::end(&state.ports, &viewer.principal.session_id).await {
            tracing::error!(error = %e, "could not end the session");
            return page::server_error();
        }
        audit::logged(audit.own_account(&state.ports, viewer.user(), "auth.logout").await);
    }
    let mut r = hx.done("/", "Signed out");
    r.headers_mut().append(header::SET_COOKIE, session::clear_cookie(&state));
    r
}
