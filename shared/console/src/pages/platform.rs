//! The platform owner's start page (`GET /` signed in as the super admin): the tenants.

use askama::Template;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use miping::app::AppState;
use miping::domain::tenants::TenantView;
use miping::store::tenants::Tenants;

use crate::page::{self, Shell};
use crate::session::Viewer;

#[derive(Template)]
#[template(path = "platform_tenants.html")]
pub struct TenantsPage {
    pub shell: Shell,
    pub tenants: Vec<TenantView>,
}

pub async fn tenants(state: &AppState, viewer: &Viewer, headers: &HeaderMap) -> Response {
    let shell = Shell::load(state, viewer, headers, "Tenants", "/").await;
    let tenants = match Tenants::new(&*state.ports.table).list(100, None).await {
        Ok((items, _)) => {
            let now = state.ports.clock.now();
            items.iter().map(|t| t.view(now)).collect()
        }
        Err(e) => {
            tracing::error!(error = %e, "tenants failed to load");
            return page::server_error();
        }
    };
    page::html(StatusCode::OK, &TenantsPage { shell, tenants })
}
