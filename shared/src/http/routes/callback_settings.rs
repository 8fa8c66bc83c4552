//! `/settings/callback`: the tenant's outbound callback (URL and signing secret) and the recent
//! delivery attempts. Part of the `tenant-api` group.

use axum::Router;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::domain::audit;
use crate::domain::callbacks::settings::{self, CallbackInput, CallbackView};
use crate::domain::callbacks::worker::{self, DeliveryView};
use crate::http::audit::Audit;
use crate::http::auth::Principal;
use crate::http::error::Body as ErrorBody;
use crate::http::openapi::tags;
use crate::http::pagination::{ListResponse, PageParams};
use crate::http::{ApiError, ApiJson, ApiResult};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(show, put, remove)).routes(routes!(deliveries))
}

pub fn router() -> Router<AppState> {
    routes().into()
}

/// What the receiver gets; the PUT operation's description (the docs page shows it there).
const CALLBACK_FORMAT: &str = "Once set, your system gets an HTTP `POST` to `url` for every change of a message's \
status (`message.status`: sent, delivered, read, failed) and for every inbound customer message \
(`message.inbound`).\n\n\
**Request we send**\n\n\
```http\n\
POST /hooks/miping HTTP/1.1\n\
Content-Type: application/json\n\
X-Miping-Signature: sha256=5d2f…e1  (hex HMAC-SHA256 of \"<timestamp>.<raw body>\", key = your secret)\n\
X-Miping-Timestamp: 1795248004        (unix seconds of this attempt)\n\
X-Miping-Event-Id: evt_3f2a9c1d8e7b6a5f4e3d2c1b0a998877\n\
X-Miping-Delivery-Attempt: 1\n\
\n\
{\"id\": \"evt_3f2a9c1d8e7b6a5f4e3d2c1b0a998877\", \"type\": \"message.status\", \
\"created_at\": \"2026-11-21T08:00:04Z\", \"sequence\": 5, \"data\": {\"message_id\": \"msg_01jd5xa1b2c3d4e5f6g7h8j9k0\", \
\"status\": \"delivered\", \"at\": \"2026-11-21T08:00:04Z\", \"to\": \"+919876543210\", \
\"contact_id\": \"con_01jd5x9z8y7x6w5v4t3s2r1q0p\", \"campaign_id\": null, \"wamid\": \"wamid.HBgM…\", \"error\": null}}\n\
```\n\n\
The body is the `CallbackEvent` schema. `data` for `message.status`: `{message_id, status, at, to, contact_id, \
campaign_id, wamid, error}`; for `message.inbound`: `{message_id, contact_id, from, type, text, wamid, at}`.\n\n\
**Verifying**: compute HMAC-SHA256 with your secret over the `X-Miping-Timestamp` value, a `.`, and the raw \
request body (before parsing), hex-encode it, and compare with the part of `X-Miping-Signature` after \
`sha256=` in constant time. The timestamp is signed: refuse requests whose timestamp is more than a few \
minutes from your clock, and a captured request cannot be replayed later.\n\n\
**Delivery**: at least once and in any order. Dedupe on `id` (also `X-Miping-Event-Id`; the same fact always \
has the same id). For a message's statuses keep the highest `sequence` (read 6 > delivered 5 > failed 4 > \
sent 3); a `message.inbound` event has `sequence` 8 (`received`). Answer any 2xx within 10 s; anything else (or a timeout) is retried with exponential backoff \
(1 s, 2 s, 4 s … at most 15 min apart) until 24 h after the event. Redirects are not followed. \
`GET /settings/callback/deliveries` shows every attempt.\n\n\
**URL rules**: http or https, no credentials in the URL, and a host whose addresses are all public (no \
loopback, private, link-local or metadata addresses), checked now and again at every delivery.";

#[utoipa::path(put, path = "/settings/callback", tag = tags::CALLBACKS, operation_id = "set_callback",
    summary = "Set (or replace) the callback URL and signing secret",
    description = CALLBACK_FORMAT,
    security(("bearer" = [])),
    request_body = CallbackInput,
    responses(
        (status = 200, description = "The callback (never the secret)", body = CallbackView),
        (status = 422, description = "`url` is missing, not http(s), has credentials or resolves to a non-public \
            address; `secret` is missing or not 16 to 256 characters", body = ErrorBody),
    ))]
async fn put(
    State(state): State<AppState>,
    p: Principal,
    audit: Audit,
    ApiJson(input): ApiJson<CallbackInput>,
) -> ApiResult<ApiJson<CallbackView>> {
    let allow_private = state.config.allow_private_callbacks;
    Ok(ApiJson(audit::put_callback(&state.ports, &audit, p.tenant_id()?, input, allow_private).await?))
}

#[utoipa::path(get, path = "/settings/callback", tag = tags::CALLBACKS, operation_id = "get_callback",
    summary = "The callback URL (never the secret)",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The callback", body = CallbackView),
        (status = 404, description = "No callback is set", body = ErrorBody),
    ))]
async fn show(State(state): State<AppState>, p: Principal) -> ApiResult<ApiJson<CallbackView>> {
    let stored = settings::get(&state.ports, p.tenant_id()?).await?;
    stored.map(|s| ApiJson(s.view)).ok_or_else(|| ApiError::not_found("callback"))
}

#[utoipa::path(delete, path = "/settings/callback", tag = tags::CALLBACKS, operation_id = "delete_callback",
    summary = "Stop callbacks (pending retries are dropped)",
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Removed"),
        (status = 404, description = "No callback is set", body = ErrorBody),
    ))]
async fn remove(State(state): State<AppState>, p: Principal, audit: Audit) -> ApiResult<StatusCode> {
    if audit::delete_callback(&state.ports, &audit, p.tenant_id()?).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("callback"))
    }
}

/// Newest first; attempts are kept 7 days.
#[utoipa::path(get, path = "/settings/callback/deliveries", tag = tags::CALLBACKS,
    operation_id = "list_callback_deliveries",
    summary = "Recent delivery attempts, newest first (kept 7 days)",
    description = "One row per attempt: its HTTP status or error and, after a failure, when the next attempt \
        is due. Use it to debug a receiver.",
    security(("bearer" = [])),
    params(PageParams),
    responses((status = 200, description = "A page of delivery attempts", body = ListResponse<DeliveryView>)))]
async fn deliveries(
    State(state): State<AppState>,
    p: Principal,
    Query(page): Query<PageParams>,
) -> ApiResult<ApiJson<ListResponse<DeliveryView>>> {
    let (items, next_cursor) = worker::deliveries(&state.ports, p.tenant_id()?, page.limit()?, page.cursor()?)
        .await
        .map_err(super::list_error)?;
    Ok(ApiJson(ListResponse { items, next_cursor }))
}
