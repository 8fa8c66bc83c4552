//! The tenant admin's start page (`GET /` signed in): WhatsApp health, this month's usage against
//! the plan, the balance.

use askama::Template;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use miping::app::AppState;
use miping::domain::whatsapp::connect;
use miping::domain::whatsapp::model::ConnectionView;
use miping::domain::{billing, plans, tenants, usage};

use crate::page::{self, Shell};
use crate::session::Viewer;
use crate::view::{number, percent_of};

#[derive(Template)]
#[template(path = "dashboard.html")]
pub struct DashboardPage {
    pub shell: Shell,
    pub connection: ConnectionView,
    pub connection_badge: (&'static str, &'static str),
    pub plan_name: String,
    pub messages_used: String,
    pub messages_limit: String,
    pub messages_value: u64,
    pub messages_max: u64,
    pub messages_percent: String,
    pub contacts_used: String,
    pub contacts_limit: String,
    pub contacts_value: u64,
    pub contacts_max: u64,
    pub balance: String,
    pub currency: String,
    pub period_start: String,
}

pub async fn show(state: &AppState, viewer: &Viewer, headers: &HeaderMap) -> Response {
    let Some(tenant_id) = viewer.tenant_id() else { return page::not_found_page() };
    let shell = Shell::load(state, viewer, headers, "Dashboard", "/").await;
    let loaded = async {
        let tenant = tenants::get(&state.ports, tenant_id).await?;
        let (plan, used, balance, connection) = tokio::join!(
            plans::get(&state.ports, &tenant.plan_id),
            usage::current(&state.ports, tenant_id, tenant.starts_at),
            billing::balance(&state.ports, tenant_id),
            connect::status(&state.ports, tenant_id),
        );
        Ok::<_, miping::domain::Error>((plan?, used?, balance?, connection?))
    }
    .await;
    let (plan, used, balance, connection) = match loaded {
        Ok(v) => v,
        Err(e) => {
            tracing::error!(error = %e.message, "dashboard failed to load");
            return page::server_error();
        }
    };
    let connection_badge = crate::view::connection_badge(connection.status);
    let page = DashboardPage {
        shell,
        connection,
        connection_badge,
        plan_name: plan.name.clone(),
        messages_used: number(used.messages_sent),
        messages_limit: number(plan.monthly_message_limit),
        messages_value: used.messages_sent.min(plan.monthly_message_limit),
        messages_max: plan.monthly_message_limit.max(1),
        messages_percent: percent_of(used.messages_sent, plan.monthly_message_limit),
        contacts_used: number(used.contacts),
        contacts_limit: number(plan.contact_limit),
        contacts_value: used.contacts.min(plan.contact_limit),
        contacts_max: plan.contact_limit.max(1),
        balance: balance.to_string(),
        currency: plan.currency.clone(),
        period_start: used.period_start.format("%-d %b %Y").to_string(),
    };
    page::html(StatusCode::OK, &page)
}
