//! Passwords: the change (forced after signing in with a one-time password), the forgotten
//! password request and the reset from the emailed link. Each calls the same use case as its
//! `/auth/*` route; only the confirmation field is the console's own.

use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use miping::app::AppState;
use miping::domain::{Kind, audit, auth, password_reset};
use miping::http::audit::Audit;
use secrecy::SecretString;
use serde::Deserialize;

use crate::forms::{CsrfForm, Errors, status_of};
use crate::page::{self, Chrome, Hx};
use crate::session::PendingViewer;

#[derive(Template)]
#[template(path = "change_password.html", blocks = ["form"])]
pub struct ChangePasswordPage {
    pub chrome: Chrome,
    pub email: String,
    pub must_change: bool,
    pub errors: Errors,
}

/// `GET /change-password`
pub async fn change_form(PendingViewer(viewer): PendingViewer, headers: HeaderMap) -> Response {
    let page = ChangePasswordPage {
        chrome: Chrome::signed_in(&viewer, &headers),
        email: viewer.user().email.clone(),
        must_change: viewer.user().must_change_password,
        errors: Errors::none(),
    };
    page::html(StatusCode::OK, &page)
}

#[derive(Deserialize)]
pub struct ChangeForm {
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    confirm_password: String,
}

const CHANGE_FIELDS: &[&str] = &["current_password", "new_password", "confirm_password"];

/// `POST /change-password`: the other sessions end; this one stays.
pub async fn change(
    State(state): State<AppState>,
    PendingViewer(viewer): PendingViewer,
    headers: HeaderMap,
    hx: Hx,
    audit: Audit,
    CsrfForm(form): CsrfForm<ChangeForm>,
) -> Response {
    let refuse = |status: StatusCode, errors: Errors| {
        let page = ChangePasswordPage {
            chrome: Chrome::signed_in(&viewer, &headers),
            email: viewer.user().email.clone(),
            must_change: viewer.user().must_change_password,
            errors,
        };
        page::page_or_fragment(hx, status, &page, page.as_form())
    };
    if form.new_password != form.confirm_password {
        return refuse(
            StatusCode::UNPROCESSABLE_ENTITY,
            Errors::none().field("confirm_password", "does not match the new password"),
        );
    }
    let result = auth::change_password(
        &state.ports,
        viewer.user(),
        &viewer.principal.session_id,
        SecretString::from(form.current_password),
        SecretString::from(form.new_password),
    )
    .await;
    match result {
        Ok(()) => {
            audit::logged(audit.own_account(&state.ports, viewer.user(), "auth.password_changed").await);
            hx.done("/", "Password changed")
        }
        Err(e) => match status_of(&e) {
            Ok(status) => refuse(status, Errors::from_error(&e, CHANGE_FIELDS)),
            Err(r) => r,
        },
    }
}

#[derive(Template)]
#[template(path = "forgot_password.html", blocks = ["form"])]
pub struct ForgotPage {
    pub chrome: Chrome,
    pub email: String,
    pub sent: bool,
    pub errors: Errors,
}

/// `GET /forgot-password`
pub async fn forgot_form(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let page = ForgotPage {
        chrome: Chrome::signed_out(&state, &headers),
        email: String::new(),
        sent: false,
        errors: Errors::none(),
    };
    page.chrome.finish(page::html(StatusCode::OK, &page))
}

#[derive(Deserialize)]
pub struct ForgotForm {
    #[serde(default)]
    email: String,
}

/// `POST /forgot-password`: the same answer whether or not the email has an account.
pub async fn forgot(
    State(state): State<AppState>,
    headers: HeaderMap,
    hx: Hx,
    CsrfForm(form): CsrfForm<ForgotForm>,
) -> Response {
    let valid_for = i64::try_from(state.config.password_reset_ttl.as_secs()).unwrap_or(i64::MAX);
    let result = password_reset::request(&state.ports, &state.config.public_url, valid_for, &form.email).await;
    let (status, sent, errors) = match result {
        Ok(()) => (StatusCode::OK, true, Errors::none()),
        Err(e) => match status_of(&e) {
            Ok(status) => (status, false, Errors::from_error(&e, &["email"])),
            Err(r) => return r,
        },
    };
    let page = ForgotPage { chrome: Chrome::signed_out(&state, &headers), email: form.email, sent, errors };
    page.chrome.finish(page::page_or_fragment(hx, status, &page, page.as_form()))
}

#[derive(Template)]
#[template(path = "reset_password.html", blocks = ["form"])]
pub struct ResetPage {
    pub chrome: Chrome,
    pub token: String,
    pub errors: Errors,
}

/// `GET /reset-password` (the emailed link: `#token=…` is read by the page's script).
pub async fn reset_form(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let page = ResetPage { chrome: Chrome::signed_out(&state, &headers), token: String::new(), errors: Errors::none() };
    page.chrome.finish(page::html(StatusCode::OK, &page))
}

#[derive(Deserialize)]
pub struct ResetForm {
    #[serde(default)]
    token: String,
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    confirm_password: String,
}

/// `POST /reset-password`: then the sign-in page, with a toast.
pub async fn reset(
    State(state): State<AppState>,
    headers: HeaderMap,
    hx: Hx,
    audit: Audit,
    CsrfForm(form): CsrfForm<ResetForm>,
) -> Response {
    let refuse = |status: StatusCode, errors: Errors, token: String| {
        let page = ResetPage { chrome: Chrome::signed_out(&state, &headers), token, errors };
        page.chrome.finish(page::page_or_fragment(hx, status, &page, page.as_form()))
    };
    if form.new_password != form.confirm_password {
        return refuse(
            StatusCode::UNPROCESSABLE_ENTITY,
            Errors::none().field("confirm_password", "does not match the new password"),
            form.token,
        );
    }
    let token = SecretString::from(form.token.trim().to_owned());
    match password_reset::reset(&state.ports, &token, SecretString::from(form.new_password)).await {
        Ok(user) => {
            audit::logged(audit.own_account(&state.ports, &user, "auth.password_reset").await);
            hx.done("/", "Password changed. Sign in with your new password.")
        }
        Err(e) if matches!(e.kind, Kind::NotFound | Kind::Gone) => refuse(
            if e.kind == Kind::Gone { StatusCode::GONE } else { StatusCode::NOT_FOUND },
            Errors::alert("This reset link has expired or was already used. Ask for a new one."),
            form.token,
        ),
        Err(e) => match status_of(&e) {
            Ok(status) => {
                refuse(status, Errors::from_error(&e, &["token", "new_password", "confirm_password"]), form.token)
            }
            Err(r) => r,
        },
    }
}
