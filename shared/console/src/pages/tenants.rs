//! The platform owner's tenants (under /app/tenants): the list, provisioning, and one tenant's
//! page (plan and subscription, usage, balance, suspension, credits, the welcome email, the
//! ledger). Each form calls the use case its `/admin/tenants*` route calls.

use miping::domain::zone::Zone;
use std::collections::HashMap;

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use chrono::{DateTime, NaiveDate, Utc};
use miping::app::AppState;
use miping::domain::audit;
use miping::domain::billing::{self, CreditInput, EntryKind, LedgerEntry};
use miping::domain::tenants::{self, ProvisionInput, Tenant, TenantPatch, TenantStatus};
use miping::domain::{Error, Kind, usage};
use miping::http::audit::Audit;
use miping::store::plans::Plans;
use miping::store::tenants::Tenants;
use miping::store::users::Users;
use serde::Deserialize;

use crate::forms::{CsrfForm, Errors, status_of};
use crate::page::{self, ConfirmForm, Hx, Shell, confirm_page, confirmed, not_found_page};
use crate::paging::{self, CursorQuery};
use crate::session::SuperAdmin;
use crate::view::{When, number, tenant_status, when};

/// The platform's pages are in UTC.
const UTC: &Zone = &Zone::UTC;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(list).post(create))
        .route("/new", get(new_form))
        .route("/{id}", get(show))
        .route("/{id}/subscription", post(change_subscription))
        .route("/{id}/suspend", post(suspend))
        .route("/{id}/reactivate", post(reactivate))
        .route("/{id}/credits", post(add_credits))
        .route("/{id}/resend-welcome", post(resend_welcome))
}

const PAGE_SIZE: usize = 50;

/// id → (name, currency) of every plan (a platform has a handful).
async fn plan_names(state: &AppState) -> Result<HashMap<String, (String, String)>, Response> {
    let (plans, _) = Plans::new(&*state.ports.table).list(500, None).await.map_err(|e| page::failed("plans", e))?;
    Ok(plans.into_iter().map(|p| (p.id, (p.name, p.currency))).collect())
}

/// `<select>` options: (id, name), in the store's order.
async fn plan_options(state: &AppState) -> Result<Vec<(String, String)>, Response> {
    let (plans, _) = Plans::new(&*state.ports.table).list(500, None).await.map_err(|e| page::failed("plans", e))?;
    Ok(plans.into_iter().map(|p| (p.id, p.name)).collect())
}

pub struct TenantRow {
    pub id: String,
    pub name: String,
    pub slug: String,
    pub plan: String,
    pub status: (&'static str, &'static str),
    pub ends: Option<When>,
}

#[derive(Template)]
#[template(path = "tenants_list.html")]
pub struct ListPage {
    pub shell: Shell,
    pub rows: Vec<TenantRow>,
    pub next: Option<String>,
}

/// `GET /app/tenants`, newest first.
async fn list(
    State(state): State<AppState>,
    SuperAdmin(viewer): SuperAdmin,
    headers: HeaderMap,
    Query(q): Query<CursorQuery>,
) -> Response {
    let cursor = match paging::open(q.cursor.as_deref()) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let (tenants, next) = match Tenants::new(&*state.ports.table).list_newest_first(PAGE_SIZE, cursor).await {
        Ok(v) => v,
        Err(e) => return page::failed("tenants", e),
    };
    let plans = match plan_names(&state).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let rows = tenants
        .into_iter()
        .map(|t| TenantRow {
            plan: plans.get(&t.plan_id).map(|p| p.0.clone()).unwrap_or_else(|| t.plan_id.clone()),
            status: tenant_status(&t.status),
            ends: t.ends_at.map(|e| when(e, UTC)),
            id: t.id,
            name: t.name,
            slug: t.slug,
        })
        .collect();
    let shell = Shell::load(&state, &viewer, &headers, "Tenants", "/app/tenants").await;
    page::html(StatusCode::OK, &ListPage { shell, rows, next: next.map(|c| paging::seal(&c)) })
}

/// The provisioning form as typed (field names are `POST /admin/tenants`'s).
#[derive(Deserialize, Default, Clone)]
pub struct ProvisionForm {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub slug: String,
    #[serde(default)]
    pub admin_email: String,
    #[serde(default)]
    pub admin_name: String,
    #[serde(default)]
    pub plan_id: String,
    #[serde(default)]
    pub starts_at: String,
    #[serde(default)]
    pub ends_at: String,
}

const PROVISION_FIELDS: &[&str] = &["name", "slug", "admin_email", "admin_name", "plan_id", "starts_at", "ends_at"];

#[derive(Template)]
#[template(path = "tenants_new.html", blocks = ["form"])]
pub struct NewPage {
    pub shell: Shell,
    pub form: ProvisionForm,
    pub plans: Vec<(String, String)>,
    pub errors: Errors,
}

async fn new_page(
    state: &AppState,
    viewer: &crate::session::Viewer,
    headers: &HeaderMap,
    form: ProvisionForm,
    errors: Errors,
) -> Result<NewPage, Response> {
    let plans = plan_options(state).await?;
    let shell = Shell::load(state, viewer, headers, "New tenant", "/app/tenants/new").await;
    Ok(NewPage { shell, form, plans, errors })
}

/// `GET /app/tenants/new`
async fn new_form(State(state): State<AppState>, SuperAdmin(viewer): SuperAdmin, headers: HeaderMap) -> Response {
    match new_page(&state, &viewer, &headers, ProvisionForm::default(), Errors::none()).await {
        Ok(p) => page::html(StatusCode::OK, &p),
        Err(r) => r,
    }
}

/// A `<input type="date">` value as midnight UTC; empty is `None`. A value that is no date is
/// the form's own error (the API would refuse it as malformed JSON).
fn date_field(errors: Errors, field: &str, value: &str) -> (Errors, Option<DateTime<Utc>>) {
    let value = value.trim();
    if value.is_empty() {
        return (errors, None);
    }
    match NaiveDate::parse_from_str(value, "%Y-%m-%d") {
        Ok(d) => (errors, d.and_hms_opt(0, 0, 0).map(|t| t.and_utc())),
        Err(_) => (errors.field(field, "must be a date (YYYY-MM-DD)"), None),
    }
}

fn non_empty(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_owned())
}

/// `POST /app/tenants`: provisions, then the tenant's page with the welcome email's toast.
async fn create(
    State(state): State<AppState>,
    SuperAdmin(viewer): SuperAdmin,
    headers: HeaderMap,
    hx: Hx,
    audit: Audit,
    CsrfForm(form): CsrfForm<ProvisionForm>,
) -> Response {
    let (errors, starts_at) = date_field(Errors::none(), "starts_at", &form.starts_at);
    let (errors, ends_at) = date_field(errors, "ends_at", &form.ends_at);
    let result = if errors.is_empty() {
        let input = ProvisionInput {
            name: Some(form.name.clone()),
            slug: Some(form.slug.trim().to_owned()),
            admin_email: Some(form.admin_email.clone()),
            admin_name: Some(form.admin_name.clone()),
            plan_id: non_empty(&form.plan_id),
            starts_at,
            ends_at,
        };
        audit::provision_tenant(&state.ports, &audit, &state.config.public_url, input).await.map_err(|e| {
            let errors = match e.code {
                "slug_taken" => Errors::none().field("slug", e.message.clone()),
                "email_taken" => Errors::none().field("admin_email", e.message.clone()),
                _ => Errors::from_error(&e, PROVISION_FIELDS),
            };
            (status_of(&e), errors)
        })
    } else {
        Err((Ok(StatusCode::UNPROCESSABLE_ENTITY), errors))
    };
    match result {
        Ok(p) => {
            hx.done(&format!("/app/tenants/{}", p.tenant.id), &format!("Welcome email sent to {}", p.admin_user.email))
        }
        Err((Err(r), _)) => r,
        Err((Ok(status), errors)) => match new_page(&state, &viewer, &headers, form, errors).await {
            Ok(p) => page::page_or_fragment(hx, status, &p, p.as_form()),
            Err(r) => r,
        },
    }
}

/// The subscription form as typed.
#[derive(Deserialize, Default, Clone)]
pub struct SubscriptionForm {
    #[serde(default)]
    pub plan_id: String,
    #[serde(default)]
    pub ends_at: String,
}

/// The credits form as typed.
#[derive(Deserialize, Default, Clone)]
pub struct CreditForm {
    #[serde(default)]
    pub amount: String,
    #[serde(default)]
    pub description: String,
}

pub struct LedgerRow {
    pub at: When,
    pub kind: &'static str,
    pub amount: String,
    pub balance_after: String,
    pub description: String,
}

impl LedgerRow {
    fn of(e: &LedgerEntry) -> Self {
        LedgerRow {
            at: when(e.at, UTC),
            kind: match e.kind {
                EntryKind::Credit => "Credit",
                EntryKind::Debit => "Debit",
                EntryKind::Refund => "Refund",
                EntryKind::Adjustment => "Correction",
            },
            amount: e.signed_amount().to_string(),
            balance_after: e.balance_after.to_string(),
            description: e.description.clone().unwrap_or_default(),
        }
    }
}

#[derive(Template)]
#[template(path = "tenants_show.html", blocks = ["subscription_form", "credits_form"])]
pub struct ShowPage {
    pub shell: Shell,
    pub id: String,
    pub name: String,
    pub slug: String,
    pub suspended: bool,
    pub status: (&'static str, &'static str),
    pub plan_name: String,
    pub currency: String,
    pub starts: When,
    pub ends: Option<When>,
    pub sending: bool,
    pub admin_name: String,
    pub admin_email: String,
    pub period_start: String,
    pub messages_sent: String,
    pub messages_limit: String,
    pub contacts: String,
    pub contact_limit: String,
    pub balance: String,
    pub plans: Vec<(String, String)>,
    pub subscription: SubscriptionForm,
    pub subscription_errors: Errors,
    pub credit: CreditForm,
    pub credit_errors: Errors,
    pub ledger: Vec<LedgerRow>,
    pub ledger_next: Option<String>,
}

impl ShowPage {
    fn amount_label(&self) -> String {
        format!("Amount in {} (negative to correct a mistaken top-up)", self.currency)
    }
}

/// The tenant `id`, or the 404 page.
async fn tenant_or_404(state: &AppState, id: &str) -> Result<Tenant, Response> {
    match tenants::get(&state.ports, id).await {
        Ok(t) => Ok(t),
        Err(e) if e.kind == Kind::NotFound => Err(not_found_page()),
        Err(e) => Err(page::failed("tenant", e.message)),
    }
}

async fn show_page(
    state: &AppState,
    viewer: &crate::session::Viewer,
    headers: &HeaderMap,
    id: &str,
    ledger_cursor: Option<String>,
) -> Result<ShowPage, Response> {
    let tenant = tenant_or_404(state, id).await?;
    let ports = &state.ports;
    let users = Users::new(&*ports.table);
    let (plan, used, balance, ledger, admin, plans) = tokio::join!(
        miping::domain::plans::get(ports, &tenant.plan_id),
        usage::current(ports, &tenant.id, tenant.starts_at),
        billing::balance(ports, &tenant.id),
        billing::list(ports, &tenant.id, 20, ledger_cursor),
        users.get(&tenant.admin_user_id),
        plan_options(state),
    );
    let plans = plans?;
    let loaded = (|| Ok::<_, Error>((plan?, used?, balance?, ledger?, admin?)))();
    let (plan, used, balance, (entries, next), admin) = loaded.map_err(|e| page::failed("tenant page", e.message))?;
    let now = ports.clock.now();
    let view = tenant.view(now);
    let shell = Shell::load(state, viewer, headers, &tenant.name, "/app/tenants").await;
    Ok(ShowPage {
        shell,
        id: tenant.id.clone(),
        name: tenant.name.clone(),
        slug: tenant.slug.clone(),
        suspended: tenant.status == TenantStatus::Suspended,
        status: tenant_status(&tenant.status),
        plan_name: plan.name.clone(),
        currency: plan.currency.clone(),
        starts: when(tenant.starts_at, UTC),
        ends: tenant.ends_at.map(|e| when(e, UTC)),
        sending: view.subscription.active,
        admin_name: admin.as_ref().map(|a| a.name.clone()).unwrap_or_default(),
        admin_email: admin.map(|a| a.email).unwrap_or_default(),
        period_start: when(used.period_start, UTC).date,
        messages_sent: number(used.messages_sent),
        messages_limit: number(plan.monthly_message_limit),
        contacts: number(used.contacts),
        contact_limit: number(plan.contact_limit),
        balance: balance.to_string(),
        plans,
        subscription: SubscriptionForm {
            plan_id: tenant.plan_id.clone(),
            ends_at: tenant.ends_at.map(|e| e.format("%Y-%m-%d").to_string()).unwrap_or_default(),
        },
        subscription_errors: Errors::none(),
        credit: CreditForm::default(),
        credit_errors: Errors::none(),
        ledger: entries.iter().map(LedgerRow::of).collect(),
        ledger_next: next.map(|c| paging::seal(&c)),
    })
}

/// `GET /app/tenants/{id}` (`?cursor=` pages the ledger).
async fn show(
    State(state): State<AppState>,
    SuperAdmin(viewer): SuperAdmin,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<CursorQuery>,
) -> Response {
    let cursor = match paging::open(q.cursor.as_deref()) {
        Ok(c) => c,
        Err(r) => return r,
    };
    match show_page(&state, &viewer, &headers, &id, cursor).await {
        Ok(p) => page::html(StatusCode::OK, &p),
        Err(r) => r,
    }
}

fn tenant_url(id: &str) -> String {
    format!("/app/tenants/{id}")
}

/// `POST /app/tenants/{id}/subscription`: plan and end date (`PATCH /admin/tenants/{id}`). An
/// empty end date removes it.
async fn change_subscription(
    State(state): State<AppState>,
    SuperAdmin(viewer): SuperAdmin,
    headers: HeaderMap,
    hx: Hx,
    audit: Audit,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<SubscriptionForm>,
) -> Response {
    if let Err(r) = tenant_or_404(&state, &id).await {
        return r;
    }
    let (errors, ends_at) = date_field(Errors::none(), "ends_at", &form.ends_at);
    let result = if errors.is_empty() {
        let patch = TenantPatch { plan_id: Some(form.plan_id.trim().to_owned()), ends_at: Some(ends_at), status: None };
        audit::patch_tenant(&state.ports, &audit, &id, patch)
            .await
            .map_err(|e| (status_of(&e), Errors::from_error(&e, &["plan_id", "ends_at"])))
    } else {
        Err((Ok(StatusCode::UNPROCESSABLE_ENTITY), errors))
    };
    match result {
        Ok(_) => hx.done(&tenant_url(&id), "Subscription updated"),
        Err((Err(r), _)) => r,
        Err((Ok(status), errors)) => match show_page(&state, &viewer, &headers, &id, None).await {
            Ok(mut p) => {
                p.subscription = form;
                p.subscription_errors = errors;
                page::page_or_fragment(hx, status, &p, p.as_subscription_form())
            }
            Err(r) => r,
        },
    }
}

async fn set_status(state: &AppState, hx: Hx, audit: &Audit, id: &str, status: TenantStatus, toast: &str) -> Response {
    let patch = TenantPatch { status: Some(status), ..TenantPatch::default() };
    match audit::patch_tenant(&state.ports, audit, id, patch).await {
        Ok(_) => hx.done(&tenant_url(id), toast),
        Err(e) if e.kind == Kind::NotFound => not_found_page(),
        Err(e) => match status_of(&e) {
            Ok(_) => hx.done(&tenant_url(id), &format!("!{}", crate::forms::sentence(&e.message))),
            Err(r) => r,
        },
    }
}

/// `POST /app/tenants/{id}/suspend`: confirmed first (its users are signed out at once).
async fn suspend(
    State(state): State<AppState>,
    SuperAdmin(viewer): SuperAdmin,
    headers: HeaderMap,
    hx: Hx,
    audit: Audit,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<ConfirmForm>,
) -> Response {
    let tenant = match tenant_or_404(&state, &id).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    if !confirmed(&headers, form.confirmed.as_deref()) {
        let shell = Shell::load(&state, &viewer, &headers, "Suspend tenant", "/app/tenants").await;
        let question = suspend_question(&tenant.name);
        let action = format!("/app/tenants/{id}/suspend");
        return confirm_page(shell, &question, &action, "Suspend tenant", &tenant_url(&id), &[]);
    }
    set_status(&state, hx, &audit, &id, TenantStatus::Suspended, &format!("{} suspended", tenant.name)).await
}

pub fn suspend_question(name: &str) -> String {
    format!("Suspend {name}? Its people are signed out at once and its sends are held until you reactivate it.")
}

/// `POST /app/tenants/{id}/reactivate`: held sends go out again.
async fn reactivate(
    State(state): State<AppState>,
    SuperAdmin(_): SuperAdmin,
    hx: Hx,
    audit: Audit,
    Path(id): Path<String>,
    CsrfForm(_): CsrfForm<serde::de::IgnoredAny>,
) -> Response {
    let tenant = match tenant_or_404(&state, &id).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    set_status(&state, hx, &audit, &id, TenantStatus::Active, &format!("{} reactivated", tenant.name)).await
}

/// `POST /app/tenants/{id}/credits` (`POST /admin/tenants/{id}/credits`): a top-up, or with a
/// negative amount and a reason a correction that never takes the balance below zero.
async fn add_credits(
    State(state): State<AppState>,
    SuperAdmin(viewer): SuperAdmin,
    headers: HeaderMap,
    hx: Hx,
    audit: Audit,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<CreditForm>,
) -> Response {
    let tenant = match tenant_or_404(&state, &id).await {
        Ok(t) => t,
        Err(r) => return r,
    };
    let input = CreditInput {
        amount: non_empty(&form.amount).map(serde_json::Value::String),
        description: Some(form.description.clone()),
    };
    // Positive: a top-up; negative with a reason: a correction that never takes the balance below zero.
    let result = audit::change_credits(&state.ports, &audit, &tenant.id, input).await;
    match result {
        Ok(entry) if entry.kind == EntryKind::Adjustment => {
            hx.done(&tenant_url(&id), &format!("Removed {} credits", entry.amount))
        }
        Ok(entry) => hx.done(&tenant_url(&id), &format!("Added {} credits", entry.amount)),
        Err(e) => match status_of(&e) {
            Err(r) => r,
            Ok(status) => match show_page(&state, &viewer, &headers, &id, None).await {
                Ok(mut p) => {
                    p.credit_errors = Errors::from_error(&e, &["amount", "description"]);
                    p.credit = form;
                    page::page_or_fragment(hx, status, &p, p.as_credits_form())
                }
                Err(r) => r,
            },
        },
    }
}

/// `POST /app/tenants/{id}/resend-welcome`: a new one-time password, emailed.
async fn resend_welcome(
    State(state): State<AppState>,
    SuperAdmin(_): SuperAdmin,
    audit: Audit,
    hx: Hx,
    Path(id): Path<String>,
    CsrfForm(_): CsrfForm<serde::de::IgnoredAny>,
) -> Response {
    if let Err(r) = tenant_or_404(&state, &id).await {
        return r;
    }
    match audit::resend_welcome(&state.ports, &audit, &state.config.public_url, &id).await {
        Ok(admin) => hx.done(&tenant_url(&id), &format!("Welcome email sent to {}", admin.email)),
        Err(e) if e.kind == Kind::NotFound => not_found_page(),
        Err(e) => match status_of(&e) {
            // A refusal the domain names (e.g. the password was already changed): said as a toast.
            Ok(_) => hx.done(&tenant_url(&id), &format!("!{}", crate::forms::sentence(&e.message))),
            Err(r) => r,
        },
    }
}
