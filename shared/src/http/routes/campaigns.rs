//! `/campaigns`: create (immediate or scheduled), list, show with live counts, cancel, the report
//! and the recipients export.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::middleware::from_fn_with_state;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::domain::audit;
use crate::domain::campaigns::create::CreateInput;
use crate::domain::campaigns::report::{self, CampaignReport};
use crate::domain::campaigns::test_send::{self, TestSendInput};
use crate::domain::campaigns::{self, CampaignView, StatusCounts, counters};
use crate::domain::messages::accept::Accepted;
use crate::http::audit::Audit;
use crate::http::auth::{PasswordGate, Principal, authenticated};
use crate::http::error::Body as ErrorBody;
use crate::http::idempotency::idempotency;
use crate::http::openapi::tags;
use crate::http::pagination::{ListResponse, PageParams};
use crate::http::{ApiError, ApiJson, ApiResult};
use crate::store::campaigns as store;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create_campaign))
        .routes(routes!(show))
        .routes(routes!(cancel_campaign))
        .routes(routes!(campaign_report))
        .routes(routes!(recipients_csv))
        .routes(routes!(retry_failed))
        .routes(routes!(test_send))
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

#[utoipa::path(get, path = "/campaigns/{id}/report", tag = tags::CAMPAIGNS, operation_id = "get_campaign_report",
    summary = "A campaign's funnel and its failures grouped by Meta error code",
    description = "The funnel is cumulative (`delivered` includes `read`; `sent` includes both); `failed` never \
        counts as sent. Failures are grouped by Meta's error code with its title (code 0: the platform's own \
        reason, e.g. `insufficient_credits`, in `title`), most frequent first, each saying whether \
        `POST /campaigns/{id}/retry-failed` would retry it. Exact under duplicated and out-of-order webhooks.",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Campaign id (`cmp_…`)")),
    responses(
        (status = 200, description = "The report", body = CampaignReport),
        (status = 404, description = "No such campaign", body = ErrorBody),
    ))]
async fn campaign_report(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
) -> ApiResult<ApiJson<CampaignReport>> {
    Ok(ApiJson(report::report(&state.ports, p.tenant_id()?, &id).await?))
}

/// Page by page: memory stays one page (500 messages) whatever the campaign's size, streamed in
/// the answer or written to storage and redirected to (`report::export`).
#[utoipa::path(get, path = "/campaigns/{id}/recipients.csv", tag = tags::CAMPAIGNS, operation_id = "export_campaign_recipients",
    summary = "Every recipient of a campaign with its message's status, as CSV (streamed, or a redirect to a download)",
    description = "Columns: `contact_id,phone,status,error_code,error_title,sent_at,delivered_at,read_at` (times \
        RFC 3339, UTC; empty when not reached). One row per message of the campaign (skipped contacts have \
        none, nor contacts deleted since), in the audience's order. Fields that a spreadsheet would run as a formula are prefixed with `'`. \
        The local process streams the CSV in its answer (200, chunked). On AWS, where an answer is capped at 6 MB, \
        the CSV is written to storage and the answer is a 303 to a presigned GET of it, valid 2 minutes: the same \
        bytes (follow the redirect without the `Authorization` header, as HTTP clients do across origins).",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Campaign id (`cmp_…`)")),
    responses(
        (status = 200, description = "The CSV, streamed", content_type = "text/csv", body = String),
        (status = 303, description = "The CSV was written to storage: `Location` is a presigned GET of it, valid 2 minutes",
            headers(("Location" = String, description = "The presigned download URL"))),
        (status = 404, description = "No such campaign", body = ErrorBody),
    ))]
async fn recipients_csv(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<String>,
) -> ApiResult<axum::response::Response> {
    use axum::http::header;
    use futures_util::StreamExt;

    let start = match report::export(&state.ports, p.tenant_id()?, &id).await? {
        report::Export::Stream(walk) => *walk,
        report::Export::Download(url) => {
            return axum::response::Response::builder()
                .status(StatusCode::SEE_OTHER)
                .header(header::LOCATION, url.url)
                .header(header::CACHE_CONTROL, "no-store")
                .body(axum::body::Body::empty())
                .map_err(|e| ApiError::from(crate::domain::Error::internal(e)));
        }
    };
    let filename = format!("attachment; filename=\"{id}-recipients.csv\"");
    let body = axum::body::Body::from_stream(report::csv_stream(state.ports.clone(), start).map(|chunk| {
        chunk.map_err(|e| {
            tracing::error!(error = %e, "recipients export failed");
            std::io::Error::other("export failed")
        })
    }));
    axum::response::Response::builder()
        .header(header::CONTENT_TYPE, report::CSV_CONTENT_TYPE)
        .header(header::CONTENT_DISPOSITION, filename)
        .header(header::CACHE_CONTROL, "no-store")
        .body(body)
        .map_err(|e| ApiError::from(crate::domain::Error::internal(e)))
}

#[utoipa::path(post, path = "/campaigns/{id}/retry-failed", tag = tags::CAMPAIGNS, operation_id = "retry_failed_campaign_recipients",
    summary = "A new campaign to the recipients whose message failed for a reason a retry can fix",
    description = "Same template and variables, to the recipients whose message failed with any error except \
        131026 (undeliverable), 131047 (outside the 24 h window), 131050 (the user stopped marketing \
        messages) and 130472 (Meta experiment); opted-out contacts are skipped as in any campaign. The \
        original campaign stays as it is. A campaign is retried once (409 `already_retried`; retry the retry \
        campaign to go again), and each retried recipient is billed once. The checks of `POST /campaigns` \
        apply (quota, credits, an approved template); at most 1,000 recipients (422 `too_many_to_retry`).",
    security(("bearer" = [])),
    params(("id" = String, Path, description = "Campaign id (`cmp_…`)")),
    responses(
        (status = 201, description = "The retry campaign, `running`", body = CampaignView),
        (status = 404, description = "No such campaign", body = ErrorBody),
        (status = 409, description = "`already_retried`, or the tenant's WhatsApp connection is not usable", body = ErrorBody),
        (status = 422, description = "`nothing_to_retry`, `too_many_to_retry`, `insufficient_credits`, or the template \
            is no longer approved", body = ErrorBody),
        (status = 429, description = "`quota_exceeded`: the plan's monthly limit has no room for the retry", body = ErrorBody),
    ))]
async fn retry_failed(
    State(state): State<AppState>,
    p: Principal,
    audit: Audit,
    Path(id): Path<String>,
) -> ApiResult<(StatusCode, ApiJson<CampaignView>)> {
    let campaign = audit::retry_failed_campaign(&state.ports, &audit, &state.prices, p.tenant_id()?, &id).await?;
    Ok((StatusCode::CREATED, ApiJson(campaign.view(StatusCounts::default()))))
}

#[utoipa::path(post, path = "/campaigns/test-send", tag = tags::CAMPAIGNS, operation_id = "test_send_campaign_message",
    summary = "Send the message a campaign would send to one number, before creating the campaign",
    description = "Takes the campaign's `template` and `variables` and a number `to`. `{{contact.*}}` variables are \
        filled from `contact_id` (e.g. the first recipient: the test shows what they would get). It is sent as \
        a one-off template message (`POST /messages`'s checks, billing and answer; it appears in \
        `GET /messages`, never in a campaign's counts).",
    security(("bearer" = [])),
    request_body = TestSendInput,
    responses(
        (status = 202, description = "Queued", body = Accepted),
        (status = 422, description = "A variable that does not parse (`variables[i]` `invalid_variable`), `contact_id` \
            `required` / `unknown_contact` / `missing_contact_data`, or any refusal of `POST /messages`", body = ErrorBody),
    ))]
async fn test_send(
    State(state): State<AppState>,
    p: Principal,
    ApiJson(input): ApiJson<TestSendInput>,
) -> ApiResult<(StatusCode, ApiJson<Accepted>)> {
    Ok((StatusCode::ACCEPTED, ApiJson(test_send::test_send(&state.ports, p.tenant_id()?, input).await?)))
}
