//! `/admin/webhooks/quarantine*` (super admin): what the webhook processor set aside, newest
//! first, and one entry with what was received. Part of the `admin-api` group.

use axum::Router;
use axum::extract::{Path, Query, State};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::domain::webhooks::quarantine::{self, QuarantineDetail, QuarantineEntry};
use crate::http::error::Body as ErrorBody;
use crate::http::openapi::tags;
use crate::http::pagination::{ListResponse, PageParams};
use crate::http::{ApiJson, ApiResult};

/// Routes only; the admin group adds authentication and the role check.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list)).routes(routes!(show))
}

pub fn router() -> Router<AppState> {
    routes().into()
}

#[utoipa::path(get, path = "/admin/webhooks/quarantine", tag = tags::QUARANTINE,
    operation_id = "list_quarantined_webhooks",
    summary = "Webhook deliveries and events the platform could not act on, newest first (kept 30 days)",
    description = "`reason`: `malformed` (the body could not be read), `unrouted` (no tenant has the phone \
        number or WABA), `unhandled` (a field or event kind the platform does not act on).",
    security(("bearer" = [])),
    params(PageParams),
    responses((status = 200, description = "A page of quarantined webhooks", body = ListResponse<QuarantineEntry>)))]
async fn list(
    State(state): State<AppState>,
    Query(page): Query<PageParams>,
) -> ApiResult<ApiJson<ListResponse<QuarantineEntry>>> {
    let (items, next_cursor) = quarantine::list(&state.ports, page.limit()?, page.cursor()?).await?;
    Ok(ApiJson(ListResponse { items, next_cursor }))
}

#[utoipa::path(get, path = "/admin/webhooks/quarantine/{id}", tag = tags::QUARANTINE,
    operation_id = "get_quarantined_webhook",
    summary = "One quarantined webhook: why, and the body or event as received (never a header or secret)",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Quarantine entry id (`wq_…`)")),
    responses(
        (status = 200, description = "The entry and its payload", body = QuarantineDetail),
        (status = 404, description = "No such entry (or it expired)", body = ErrorBody),
    ))]
async fn show(State(state): State<AppState>, Path(id): Path<String>) -> ApiResult<ApiJson<QuarantineDetail>> {
    Ok(ApiJson(quarantine::get(&state.ports, &id).await?))
}
