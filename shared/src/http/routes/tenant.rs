//! `GET /tenant`: the caller's own tenant, its plan, subscription, usage and balance.

use axum::Router;
use axum::extract::State;
use serde::Serialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::domain::plans::{self, Plan};
use crate::domain::tenants::{self, Standing, SubscriptionView, TenantStatus};
use crate::http::auth::Principal;
use crate::http::openapi::tags;
use crate::http::{ApiJson, ApiResult};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(show))
}

pub fn router() -> Router<AppState> {
    routes().into()
}

#[derive(Serialize, utoipa::ToSchema)]
struct TenantOverview {
    id: String,
    name: String,
    slug: String,
    status: TenantStatus,
    plan: Plan,
    subscription: SubscriptionView,
    #[serde(flatten)]
    standing: Standing,
}

#[utoipa::path(get, path = "/tenant", tag = tags::TENANT, operation_id = "get_tenant_overview",
    summary = "The caller's tenant: plan, subscription, usage this period and credit balance",
    security(("bearer" = [])),
    responses((status = 200, description = "The tenant", body = TenantOverview)))]
async fn show(State(state): State<AppState>, principal: Principal) -> ApiResult<ApiJson<TenantOverview>> {
    let tenant = tenants::get(&state.ports, principal.tenant_id()?).await?;
    let view = tenant.view(state.ports.clock.now());
    let plan = plans::get(&state.ports, &tenant.plan_id).await?;
    let standing = tenants::standing(&state.ports, &tenant).await?;
    Ok(ApiJson(TenantOverview {
        id: view.id,
        name: view.name,
        slug: view.slug,
        status: view.status,
        plan,
        subscription: view.subscription,
        standing,
    }))
}
