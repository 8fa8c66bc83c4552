//! `/campaigns`: create (immediate or scheduled), list, show with live counts, cancel.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::middleware::from_fn_with_state;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::domain::audit;
use crate::domain::campaigns::create::CreateInput;
use crate::domain::campaigns::{self, CampaignView, StatusCounts, counters};
use crate::http::audit::Audit;
use crate::http::auth::{PasswordGate, Principal, authenticated};
use crate::http::error::Body as ErrorBody;
use crate::http::idempotency::idempotency;
use crate::http::openapi::tags;
use crate::http::pagination::{ListResponse, PageParams};
use crate::http::{ApiError, ApiJson, ApiResult};
use crate::store::campaigns as store;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list, create_campaign)).routes(routes!(show)).routes(routes!(cancel_campaign))
}

pub fn router(state: AppState) -> Router {
    Router::from(routes())
        .route_layer(from_fn_with_state(state.clone(), idempotency))
        .route_layer(from_fn_with_state((state.clone(), PasswordGate::Enforce), authenticated))
        .with_state(state)
}

/// 201 with the campaign as created (its counts start at zero).
#[utoipa::path(post, path = "/campaigns", tag = tags::CAMPAIGNS, operation_id = "create_campaign",
    summary = "Send an approved template to an audience of contacts, now or at `schedule_at`",
    description = "**Audience**: exactly one of `all: true` (every contact), `tags` (contacts with any of the \
        tags) or `contact_ids` (up to 1,000; each must exist, else 422 `unknown_contacts`). It is the contacts \
        that exist at creation: contacts added later are not in it, even for a scheduled campaign. No contact \
        matching is 422 `empty_audience`.\n\n\
        **Variables**: one per template parameter, in order. A string that is exactly `{{contact.name}}`, \
        `{{contact.phone}}` or `{{contact.attributes.<key>}}` is filled from each recipient; any other value \
        (text, a number, a currency object, other `{{...}}` text) is a literal sent to everyone. A \
        `{{contact.<other>}}` is a 422 `invalid_variables` (a typo is not sent to thousands as text), as is a \
        count or type that does not fit the template.\n\n\
        **Skipped contacts**: recipients who opted out are counted in `counts.skipped_opted_out`; those \
        missing a mapped value (or with one the template cannot take), without a phone, or deleted meanwhile \
        in `counts.skipped_missing_data`. Neither gets a message nor uses quota.\n\n\
        **Quota**: the plan's monthly message limit is reserved for the whole audience up front: if it does \
        not fit, nothing is sent and the answer is 429 `quota_exceeded`. What the campaign does not use \
        (skipped contacts, a cancel) is given back. With prepaid credits, the balance must cover the \
        audience at the template category's price (422 `insufficient_credits`).\n\n\
        Without `schedule_at` the campaign is `running` at once and its messages are queued in the \
        background; follow them with `GET /campaigns/{id}` or `GET /messages?campaign_id=`.",
    security(("bearer" = [])),
    request_body = CreateInput,
    responses(
        (status = 201, description = "Created: `running`, or `scheduled` with `schedule_at`", body = CampaignView),
        (status = 403, description = "The tenant may not send now (`tenant_suspended`, `subscription_expired`, ...)", body = ErrorBody),
        (status = 409, description = "WhatsApp is not connected (`whatsapp_not_connected`), needs reconnecting, \
            or the account is banned", body = ErrorBody),
        (status = 422, description = "Invalid fields (`validation_failed`), unknown or unapproved template, \
            `invalid_variables`, `unknown_contacts`, `empty_audience`, `insufficient_credits`", body = ErrorBody),
        (status = 429, description = "The audience does not fit in the plan's monthly message limit \
            (`quota_exceeded`); nothing was sent", body = ErrorBody),
    ))]
async fn create_campaign(
    State(state): State<AppState>,
    p: Principal,
    audit: Audit,
    ApiJson(input): ApiJson<CreateInput>,
) -> ApiResult<(StatusCode, ApiJson<CampaignView>)> {
    let campaign = audit::create_campaign(&state.ports, &audit, &state.prices, p.tenant_id()?, input).await?;
    Ok((StatusCode::CREATED, ApiJson(campaign.view(StatusCounts::default()))))
}

/// Newest first, each with its live counts.
#[utoipa::path(get, path = "/campaigns", tag = tags::CAMPAIGNS, operation_id = "list_campaigns",
    summary = "List campaigns, newest first, with their live counts", security(("bearer" = [])),
    params(PageParams),
    responses((status = 200, description = "A page of campaigns", body = ListResponse<CampaignView>)))]
async fn list(
    State(state): State<AppState>,
    p: Principal,
    Query(page): Query<PageParams>,
) -> ApiResult<ApiJson<ListResponse<CampaignView>>> {
    let tenant = p.tenant_id()?;
    let (items, next_cursor) = store::Campaigns::new(&*state.ports.table)
        .page(tenant, page.limit()?, page.cursor()?)
        .await
        .map_err(super::list_error)?;
    let counts =
        futures_util::future::join_all(items.iter().map(|c| counters::read(&state.ports, tenant, &c.id))).await;
    let items = items.into_iter().zip(counts).map(|(c, n)| Ok(c.view(n?))).collect::<Result<_, ApiError>>()?;
    Ok(ApiJson(ListResponse { items, next_cursor }))
}

/// A foreign id is looked up under the caller's tenant key, so it is simply not found.
#[utoipa::path(get, path = "/campaigns/{id}", tag = tags::CAMPAIGNS, operation_id = "get_campaign",
    summary = "Get a campaign with its live counts", security(("bearer" = [])),
    params(("id" = String, Path, description = "Campaign id (`cmp_…`)")),
    responses(
        (status = 200, description = "The campaign", body = CampaignView),
        (status = 404, description = "No such campaign", body = ErrorBody),
    ))]
async fn show(State(state): State<AppState>, p: Principal, Path(id): Path<String>) -> ApiResult<ApiJson<CampaignView>> {
    let view =
        campaigns::view(&state.ports, p.tenant_id()?, &id).await?.ok_or_else(|| ApiError::not_found("campaign"))?;
    Ok(ApiJson(view))
}

/// 200 with the campaign after the cancel (idempotent: cancelling again answers the same).
#[utoipa::path(post, path = "/campaigns/{id}/cancel", tag = tags::CAMPAIGNS, operation_id = "cancel_campaign",
    summary = "Cancel a campaign: no further messages, unsent ones cancelled, unused quota given back",
    description = "A `scheduled` campaign is never released and gives its whole quota reservation back. A \
        `running` or `completed` one stops creating messages at once; its messages still `queued` become \
        `cancelled` shortly after (in the background: `counts.cancelled` grows), and their quota is given \
        back. Messages already handed to WhatsApp are not recalled. Idempotent: cancelling a cancelled \
        campaign answers it as it is.",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Campaign id (`cmp_…`)")),
    responses(
        (status = 200, description = "The campaign, `cancelled`", body = CampaignView),
        (status = 404, description = "No such campaign", body = ErrorBody),
    ))]
async fn cancel_campaign(
    State(state): State<AppState>,
    p: Principal,
    audit: Audit,
    Path(id): Path<String>,
) -> ApiResult<ApiJson<CampaignView>> {
    let tenant = p.tenant_id()?;
    let campaign = audit::cancel_campaign(&state.ports, &audit, tenant, &id).await?;
    let counts = counters::read(&state.ports, tenant, &id).await?;
    Ok(ApiJson(campaign.view(counts)))
}
