//! `/contacts`: create, list (tag filter, search, cursor pages), get, patch, delete, import.
//! Tenant users only; every key is built from the caller's tenant, so another tenant's id is
//! simply not found (404).

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::from_fn_with_state;
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::domain::audit;
use crate::domain::contacts::ContactView;
use crate::domain::contacts::import::{Format, ImportReport};
use crate::domain::contacts::service::{self, CreateInput, PatchInput};
use crate::http::audit::Audit;
use crate::http::auth::{PasswordGate, Principal, authenticated};
use crate::http::error::Body as ErrorBody;
use crate::http::idempotency::idempotency;
use crate::http::openapi::tags;
use crate::http::pagination::{ListResponse, PageParams};
use crate::http::{ApiError, ApiJson, ApiResult, Created};

/// Import bodies: 100,000 rows of a realistic CSV are ~5 MB; leave room for wide files.
pub const IMPORT_BODY_LIMIT: usize = 50 * 1024 * 1024;

fn import_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(import_contacts))
}

fn crud_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list, create)).routes(routes!(show, patch, delete))
}

pub fn routes() -> OpenApiRouter<AppState> {
    crud_routes().merge(import_routes())
}

pub fn router(state: AppState) -> Router {
    let import_route = Router::from(import_routes()).layer(DefaultBodyLimit::max(IMPORT_BODY_LIMIT));
    Router::from(crud_routes())
        .merge(import_route)
        .route_layer(from_fn_with_state(state.clone(), idempotency))
        .route_layer(from_fn_with_state((state.clone(), PasswordGate::Enforce), authenticated))
        .with_state(state)
}

#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = ContactInput, example = json!({"phone": "+91 98765-43210", "name": "Asha Rao", "attributes": {"city": "Pune", "roll_no": "CS-118"}, "tags": ["parents", "batch-2026"]}))]
struct CreateBody {
    /// Any common notation; stored in E.164 (`+919876543210`).
    phone: Option<String>,
    name: Option<String>,
    attributes: Option<Map<String, Value>>,
    tags: Option<Vec<String>>,
}

#[utoipa::path(post, path = "/contacts", tag = tags::CONTACTS, operation_id = "create_contact",
    summary = "Create a contact", security(("bearer" = [])),
    request_body = CreateBody,
    responses(
        (status = 201, description = "The contact", body = ContactView),
        (status = 409, description = "A contact with this phone exists", body = ErrorBody),
        (status = 422, description = "Invalid phone, name, attributes or tags (`details`)", body = ErrorBody),
        (status = 429, description = "The plan's contact limit is reached (`contact_limit_reached`)", body = ErrorBody),
    ))]
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
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
struct ListParams {
    /// Only contacts with this tag.
    #[param(example = "parents")]
    tag: Option<String>,
    /// Search by phone or name prefix.
    q: Option<String>,
    /// Page size, 1 to 500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<usize>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

#[utoipa::path(get, path = "/contacts", tag = tags::CONTACTS, operation_id = "list_contacts",
    summary = "List or search contacts", security(("bearer" = [])),
    params(ListParams),
    responses((status = 200, description = "A page of contacts", body = ListResponse<ContactView>)))]
async fn list(
    State(state): State<AppState>,
    principal: Principal,
    Query(params): Query<ListParams>,
) -> ApiResult<ApiJson<ListResponse<ContactView>>> {
    let tenant_id = principal.tenant_id()?;
    let page = PageParams { limit: params.limit, cursor: params.cursor };
    let limit = page.limit()?;
    let filter = service::list_filter(params.tag.as_deref(), params.q.as_deref())?;
    let (items, next_cursor) = service::list(&state.ports, tenant_id, &filter, limit, page.cursor()?).await?;
    Ok(ApiJson(ListResponse { items, next_cursor }))
}

#[utoipa::path(get, path = "/contacts/{id}", tag = tags::CONTACTS, operation_id = "get_contact",
    summary = "Get a contact", security(("bearer" = [])), params(("id" = String, Path, description = "Contact id")),
    responses(
        (status = 200, description = "The contact", body = ContactView),
        (status = 404, description = "No such contact", body = ErrorBody),
    ))]
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

#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = ContactPatch, example = json!({"opted_out": true}))]
struct PatchBody {
    /// `null` removes the name.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    name: Option<Option<String>>,
    attributes: Option<Map<String, Value>>,
    tags: Option<Vec<String>>,
    opted_out: Option<bool>,
    /// The phone cannot change (422): create a new contact instead.
    #[serde(default)]
    phone: Option<Value>,
}

#[utoipa::path(patch, path = "/contacts/{id}", tag = tags::CONTACTS, operation_id = "update_contact",
    summary = "Change a contact (name, attributes, tags, opt-out)", security(("bearer" = [])), params(("id" = String, Path, description = "Contact id")),
    request_body = PatchBody,
    responses(
        (status = 200, description = "The contact", body = ContactView),
        (status = 404, description = "No such contact", body = ErrorBody),
        (status = 409, description = "Changed concurrently; retry", body = ErrorBody),
        (status = 422, description = "An invalid field, or an attempt to change the phone", body = ErrorBody),
    ))]
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
        opt_out_source: None,
        phone_given: body.phone.is_some(),
    };
    Ok(ApiJson(service::patch(&state.ports, principal.tenant_id()?, &id, input).await?.into()))
}

#[utoipa::path(delete, path = "/contacts/{id}", tag = tags::CONTACTS, operation_id = "delete_contact",
    summary = "Delete a contact", security(("bearer" = [])), params(("id" = String, Path, description = "Contact id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such contact", body = ErrorBody),
    ))]
async fn delete(
    State(state): State<AppState>,
    principal: Principal,
    audit: Audit,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    audit::delete_contact(&state.ports, &audit, principal.tenant_id()?, &id).await?;
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

/// The JSON form of an import (the CSV form has a header row `phone,name,<attribute>...` and a
/// `tags` column `a;b`). Documentation only: the handler reads the raw body to accept both.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
#[schema(as = ContactImport, example = json!({"contacts": [{"phone": "+919876543210", "name": "Asha Rao", "attributes": {"city": "Pune"}, "tags": ["parents"]}]}))]
struct ImportJson {
    contacts: Vec<CreateBody>,
}

#[utoipa::path(post, path = "/contacts/import", tag = tags::CONTACTS, operation_id = "import_contacts",
    summary = "Import contacts from JSON or CSV (up to 50 MB)",
    description = "New phones are created, known ones updated; bad rows are reported, not fatal.",
    security(("bearer" = [])),
    request_body(content(
        (ImportJson = "application/json"),
        (String = "text/csv", example = "phone,name,city,tags\n+919876543210,Asha Rao,Pune,parents;batch-2026\n"),
    )),
    responses(
        (status = 200, description = "What was imported", body = ImportReport),
        (status = 422, description = "The file cannot be read (bad header, not CSV/JSON)", body = ErrorBody),
        (status = 429, description = "The plan's contact limit would be exceeded", body = ErrorBody),
    ))]
async fn import_contacts(
    State(state): State<AppState>,
    principal: Principal,
    audit: Audit,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult<ApiJson<ImportReport>> {
    let tenant_id = principal.tenant_id()?;
    let format = import_format(&headers)?;
    Ok(ApiJson(audit::import_contacts(&state.ports, &audit, tenant_id, format, body).await?))
}
