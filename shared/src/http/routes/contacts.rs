//! `/contacts`: create, list (tag filter, search, cursor pages), get, patch, delete, import.
//! Tenant users only; every key is built from the caller's tenant, so another tenant's id is
//! simply not found (404).

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::from_fn_with_state;
use axum::routing::{get, post};
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

use crate::app::AppState;
use crate::domain::contacts::ContactView;
use crate::domain::contacts::import::{self, Format, ImportReport};
use crate::domain::contacts::service::{self, CreateInput, PatchInput};
use crate::http::auth::{PasswordGate, Principal, authenticated};
use crate::http::idempotency::idempotency;
use crate::http::pagination::{ListResponse, PageParams};
use crate::http::{ApiError, ApiJson, ApiResult, Created};

/// Import bodies: 100,000 rows of a realistic CSV are ~5 MB; leave room for wide files.
pub const IMPORT_BODY_LIMIT: usize = 50 * 1024 * 1024;

pub fn router(state: AppState) -> Router {
    let import_route =
        Router::new().route("/contacts/import", post(import_contacts)).layer(DefaultBodyLimit::max(IMPORT_BODY_LIMIT));
    Router::new()
        .route("/contacts", get(list).post(create))
        .route("/contacts/{id}", get(show).patch(patch).delete(delete))
        .merge(import_route)
        .route_layer(from_fn_with_state(state.clone(), idempotency))
        .route_layer(from_fn_with_state((state.clone(), PasswordGate::Enforce), authenticated))
        .with_state(state)
}

#[derive(Deserialize)]
struct CreateBody {
    phone: Option<String>,
    name: Option<String>,
    attributes: Option<Map<String, Value>>,
    tags: Option<Vec<String>>,
}

async fn create(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(body): ApiJson<CreateBody>,
) -> ApiResult<Created<ContactView>> {
    let input = CreateInput { phone: body.phone, name: body.name, attributes: body.attributes, tags: body.tags };
    let contact = service::create(&state.ports, principal.tenant_id()?, input).await?;
    Ok(Created(contact.into()))
}

/// Not `#[serde(flatten)]` of `PageParams`: flattening makes the query-string decoder see
/// `limit` as a string and refuse it.
#[derive(Deserialize)]
struct ListParams {
    tag: Option<String>,
    q: Option<String>,
    limit: Option<usize>,
    cursor: Option<String>,
}

async fn list(
    State(state): State<AppState>,
    principal: Principal,
    Query(params): Query<ListParams>,
) -> ApiResult<ApiJson<ListResponse<ContactView>>> {
    let tenant_id = principal.tenant_id()?;
    let page = PageParams { limit: params.limit, cursor: params.cursor };
    Ok(ApiJson(service::list(&state.ports, tenant_id, params.tag.as_deref(), params.q.as_deref(), &page).await?))
}

async fn show(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
) -> ApiResult<ApiJson<ContactView>> {
    Ok(ApiJson(service::get(&state.ports, principal.tenant_id()?, &id).await?.into()))
}

/// `Some(None)` for an explicit `null`, `None` for an absent field.
fn double_option<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

#[derive(Deserialize)]
struct PatchBody {
    #[serde(default, deserialize_with = "double_option")]
    name: Option<Option<String>>,
    attributes: Option<Map<String, Value>>,
    tags: Option<Vec<String>>,
    opted_out: Option<bool>,
    #[serde(default)]
    phone: Option<Value>,
}

async fn patch(
    State(state): State<AppState>,
    principal: Principal,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<PatchBody>,
) -> ApiResult<ApiJson<ContactView>> {
    let input = PatchInput {
        name: body.name,
        attributes: body.attributes,
        tags: body.tags,
        opted_out: body.opted_out,
        phone_given: body.phone.is_some(),
    };
    Ok(ApiJson(service::patch(&state.ports, principal.tenant_id()?, &id, input).await?.into()))
}

async fn delete(State(state): State<AppState>, principal: Principal, Path(id): Path<String>) -> ApiResult<StatusCode> {
    service::delete(&state.ports, principal.tenant_id()?, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

fn import_format(headers: &HeaderMap) -> Result<Format, ApiError> {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let mime = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    match mime.as_str() {
        "text/csv" | "application/csv" => Ok(Format::Csv),
        "application/json" => Ok(Format::Json),
        _ => Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the file as text/csv or application/json",
        )),
    }
}

async fn import_contacts(
    State(state): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<ApiJson<ImportReport>> {
    let tenant_id = principal.tenant_id()?;
    let format = import_format(&headers)?;
    Ok(ApiJson(import::import(&state.ports, tenant_id, format, body).await?))
}
