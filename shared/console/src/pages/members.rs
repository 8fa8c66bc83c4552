//! Members (`/app/members`, tenant admins): invite an admin or agent (the invitation email carries
//! a one-time password), change a member's role, deactivate or reactivate them, remove them after
//! confirming. Each form calls the use case of its API route (`domain::members`: `POST /members`,
//! `PATCH /members/{id}`, `DELETE /members/{id}`), so the refusals are the API's (`email_taken`,
//! `seat_limit_reached`, `last_admin`).

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use miping::app::AppState;
use miping::domain::Error;
use miping::domain::audit;
use miping::domain::members::{self, InviteInput, MemberPatch, MemberView};
use miping::domain::user::{MemberStatus, Role};
use miping::domain::zone::Zone;
use miping::http::audit::Audit;
use serde::Deserialize;

use crate::forms::{CsrfForm, Errors, status_of};
use crate::page::{self, ConfirmForm, Hx, Shell};
use crate::session::TenantAdmin;
use crate::view::{When, when};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(show).post(invite))
        .route("/{id}/role", post(change_role))
        .route("/{id}/status", post(change_status))
        .route("/{id}/remove", post(remove))
}

/// More members than any plan's seats: the list is one page.
const MEMBERS_PAGE: usize = 500;

pub struct MemberRow {
    pub id: String,
    pub name: String,
    pub email: String,
    pub is_admin: bool,
    pub active: bool,
    pub invited: bool,
    pub is_me: bool,
    pub joined: When,
}

impl MemberRow {
    fn new(m: MemberView, me: &str, tz: &Zone) -> Self {
        Self {
            is_me: m.id == me,
            is_admin: m.role == Role::TenantAdmin,
            active: m.status == MemberStatus::Active,
            invited: m.must_change_password,
            joined: when(m.created_at, tz),
            id: m.id,
            name: m.name,
            email: m.email,
        }
    }
}

#[derive(Template)]
#[template(path = "members.html", blocks = ["invite_form", "action_alert"])]
pub struct MembersPage {
    pub shell: Shell,
    pub csrf: String,
    pub members: Vec<MemberRow>,
    /// What the invitation form shows (kept after a refusal).
    pub form_email: String,
    pub form_name: String,
    pub form_role: String,
    pub errors: Errors,
    /// A refused change to a member (last admin, seat limit).
    pub action_error: Option<String>,
}

async fn list(state: &AppState, tenant_id: &str) -> Result<Vec<MemberView>, Response> {
    members::page(&state.ports, tenant_id, MEMBERS_PAGE, None)
        .await
        .map(|(m, _)| m)
        .map_err(|e| page::failed("members", e))
}

async fn members_page(
    state: &AppState,
    viewer: &crate::session::Viewer,
    tenant_id: &str,
    headers: &HeaderMap,
) -> Result<MembersPage, Response> {
    let (shell, members) =
        tokio::join!(Shell::load(state, viewer, headers, "Members", "/app/members"), list(state, tenant_id));
    let me = viewer.user().id.clone();
    let tz = &shell.tz.clone();
    Ok(MembersPage {
        shell,
        csrf: viewer.csrf.clone(),
        members: members?.into_iter().map(|m| MemberRow::new(m, &me, tz)).collect(),
        form_email: String::new(),
        form_name: String::new(),
        form_role: "TENANT_AGENT".into(),
        errors: Errors::none(),
        action_error: None,
    })
}

/// `GET /app/members`.
pub async fn show(
    State(state): State<AppState>,
    TenantAdmin(viewer, tenant_id): TenantAdmin,
    headers: HeaderMap,
) -> Response {
    match members_page(&state, &viewer, &tenant_id, &headers).await {
        Ok(p) => page::html(StatusCode::OK, &p),
        Err(r) => r,
    }
}

#[derive(Deserialize)]
pub struct InviteForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    role: String,
}

/// `POST /app/members`: invites; a refusal re-renders the form with the errors next to the fields.
pub async fn invite(
    State(state): State<AppState>,
    TenantAdmin(viewer, tenant_id): TenantAdmin,
    headers: HeaderMap,
    hx: Hx,
    audit: Audit,
    CsrfForm(form): CsrfForm<InviteForm>,
) -> Response {
    let input =
        InviteInput { email: Some(form.email.clone()), name: Some(form.name.clone()), role: Some(form.role.clone()) };
    let e = match audit::invite_member(&state.ports, &audit, &state.config.public_url, &tenant_id, input).await {
        Ok(m) => return hx.done("/app/members", &format!("Invitation sent to {}", m.email)),
        Err(e) => e,
    };
    let status = match status_of(&e) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let mut p = match members_page(&state, &viewer, &tenant_id, &headers).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    p.errors = match e.code {
        "email_taken" => Errors::none().field("email", "is already used by another account"),
        _ => Errors::from_error(&e, &["email", "name", "role"]),
    };
    (p.form_email, p.form_name, p.form_role) = (form.email, form.name, form.role);
    page::page_or_fragment(hx, status, &p, p.as_invite_form())
}

/// A change refused by the use case: the page with the reason on top, or (console.js) the alert
/// alone (a 404 for a member that is not this tenant's).
async fn refused(
    hx: Hx,
    state: &AppState,
    viewer: &crate::session::Viewer,
    tenant_id: &str,
    headers: &HeaderMap,
    e: Error,
) -> Response {
    let status = match status_of(&e) {
        Ok(StatusCode::NOT_FOUND) => return page::not_found_page(),
        Ok(s) => s,
        Err(r) => return r,
    };
    match members_page(state, viewer, tenant_id, headers).await {
        Ok(mut p) => {
            p.action_error = Some(crate::forms::sentence(&e.message));
            page::page_or_fragment(hx, status, &p, p.as_action_alert())
        }
        Err(r) => r,
    }
}

#[derive(Deserialize)]
pub struct RoleForm {
    #[serde(default)]
    role: String,
}

/// `POST /app/members/{id}/role`.
pub async fn change_role(
    State(state): State<AppState>,
    TenantAdmin(viewer, tenant_id): TenantAdmin,
    headers: HeaderMap,
    hx: Hx,
    audit: Audit,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<RoleForm>,
) -> Response {
    let patch = MemberPatch { role: Some(form.role), ..Default::default() };
    match audit::patch_member(&state.ports, &audit, &tenant_id, &id, patch).await {
        Ok(m) => {
            let role = if m.role == Role::TenantAdmin { "an admin" } else { "an agent" };
            hx.done("/app/members", &format!("{} is now {role}", m.name))
        }
        Err(e) => refused(hx, &state, &viewer, &tenant_id, &headers, e).await,
    }
}

#[derive(Deserialize)]
pub struct StatusForm {
    #[serde(default)]
    status: String,
}

/// `POST /app/members/{id}/status` (`active` | `deactivated`).
pub async fn change_status(
    State(state): State<AppState>,
    TenantAdmin(viewer, tenant_id): TenantAdmin,
    headers: HeaderMap,
    hx: Hx,
    audit: Audit,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<StatusForm>,
) -> Response {
    let patch = MemberPatch { status: Some(form.status), ..Default::default() };
    match audit::patch_member(&state.ports, &audit, &tenant_id, &id, patch).await {
        Ok(m) => {
            let what = if m.status == MemberStatus::Active { "reactivated" } else { "deactivated" };
            hx.done("/app/members", &format!("{} {what}", m.name))
        }
        Err(e) => refused(hx, &state, &viewer, &tenant_id, &headers, e).await,
    }
}

/// `POST /app/members/{id}/remove` (confirmed, naming the member).
pub async fn remove(
    State(state): State<AppState>,
    TenantAdmin(viewer, tenant_id): TenantAdmin,
    headers: HeaderMap,
    hx: Hx,
    audit: Audit,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<ConfirmForm>,
) -> Response {
    let member = match list(&state, &tenant_id).await {
        Ok(all) => match all.into_iter().find(|m| m.id == id) {
            Some(m) => m,
            None => return page::not_found_page(),
        },
        Err(r) => return r,
    };
    if !page::confirmed(&headers, form.confirmed.as_deref()) {
        let shell = Shell::load(&state, &viewer, &headers, "Remove member", "/app/members").await;
        let question = format!(
            "Remove {} ({})? They are signed out at once and can no longer sign in.",
            member.name, member.email
        );
        let action = format!("/app/members/{id}/remove");
        return page::confirm_page(shell, &question, &action, "Remove member", "/app/members", &[]);
    }
    match audit::remove_member(&state.ports, &audit, &tenant_id, &id).await {
        Ok(()) => hx.done("/app/members", &format!("{} removed", member.name)),
        Err(e) => refused(hx, &state, &viewer, &tenant_id, &headers, e).await,
    }
}
