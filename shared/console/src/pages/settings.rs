//! Settings (`/app/settings`): the business settings (default country, time zone, opt-out /
//! opt-in keywords, brand name and colour), API keys (created with a name and shown once, listed
//! without secrets, revoked after confirming), the callback URL and signing secret (shown once)
//! and the recent callback deliveries. Each form calls the use case of its API route
//! (`PATCH /tenant/settings`, `/api-keys`, `PUT /settings/callback`,
//! `GET /settings/callback/deliveries`). The brand's logo is an image uploaded with `POST /media`'s
//! use case (only an image is stored) and set as `brand.logo_media_id`; the top bar shows it
//! (`/brand/logo/{id}`, [`serve_logo`]).

use askama::Template;
use axum::Router;
use axum::extract::multipart::{Multipart, MultipartRejection};
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use miping::app::AppState;
use miping::domain::api_keys::{self, ApiKeyView, CreateInput, CreatedApiKey};
use miping::domain::audit;
use miping::domain::callbacks::settings::{self as callback, CallbackInput, CallbackView};
use miping::domain::callbacks::worker::{self, DeliveryView};
use miping::domain::inbox::Scope;
use miping::domain::media::service::{self as media, Upload};
use miping::domain::tenants::TenantSettings;
use miping::domain::tenants::settings::{self as tenant_settings, BrandInput, SettingsPatch};
use miping::http::audit::Audit;
use serde::Deserialize;

use crate::forms::{CsrfForm, Errors, status_of};
use crate::page::{self, ConfirmForm, Hx, Shell, Toast};
use crate::paging::{self, CursorQuery};
use crate::session::TenantAdmin;
use crate::view::{When, when};
use miping::domain::zone::Zone;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(show))
        .route("/api-keys", post(create_key))
        .route("/api-keys/{id}/revoke", post(revoke_key))
        .route("/callback", post(set_callback))
        .route("/business", post(set_business))
        .route("/logo", post(set_logo).layer(DefaultBodyLimit::max(LOGO_BODY_LIMIT)))
}

/// A logo is an image: at most 5 MB (WhatsApp's image limit), plus the form around it.
const LOGO_BODY_LIMIT: usize = 6 * 1024 * 1024;

/// Deliveries per page.
const DELIVERIES_PAGE: usize = 20;
/// More keys than any plan allows at once: the list is one page.
const KEYS_PAGE: usize = 500;

pub struct KeyRow {
    pub id: String,
    pub name: String,
    pub prefix: String,
    pub created: When,
    pub last_used: Option<When>,
}

impl KeyRow {
    fn of(k: ApiKeyView, tz: &Zone) -> Self {
        Self {
            created: when(k.created_at, tz),
            last_used: k.last_used_at.map(|at| when(at, tz)),
            id: k.id,
            name: k.name,
            prefix: k.prefix,
        }
    }
}

pub struct DeliveryRow {
    pub event_id: String,
    pub kind: String,
    pub attempt: u32,
    pub at: When,
    pub badge: (&'static str, String),
    pub outcome: String,
    pub next: Option<When>,
}

impl DeliveryRow {
    fn of(d: DeliveryView, tz: &Zone) -> Self {
        let class = match d.status.as_str() {
            "delivered" => "badge--success",
            "pending" => "badge--warning",
            "failed" | "gave_up" => "badge--danger",
            _ => "",
        };
        let outcome = match (d.status_code, d.error) {
            (Some(code), Some(e)) => format!("HTTP {code} · {e}"),
            (Some(code), None) => format!("HTTP {code}"),
            (None, Some(e)) => e,
            (None, None) => String::new(),
        };
        Self {
            event_id: d.event_id,
            kind: d.kind,
            attempt: d.attempt,
            at: when(d.at, tz),
            badge: (class, d.status.replace('_', " ")),
            outcome,
            next: d.next_attempt_at.map(|at| when(at, tz)),
        }
    }
}

#[derive(Template)]
#[template(path = "settings.html", blocks = ["business", "api_keys", "callback"])]
pub struct SettingsPage {
    pub shell: Shell,
    pub csrf: String,
    pub business: BusinessForm,
    pub business_errors: Errors,
    /// `/brand/logo/{id}` when the brand has a logo.
    pub logo_url: Option<String>,
    pub logo_errors: Errors,
    pub keys: Vec<KeyRow>,
    /// Just created: its key, shown this once.
    pub new_key: Option<CreatedApiKey>,
    pub key_name: String,
    pub key_errors: Errors,
    pub callback: Option<CallbackView>,
    pub callback_updated: Option<When>,
    pub callback_url: String,
    pub callback_errors: Errors,
    /// Just saved: the signing secret, shown this once.
    pub new_secret: Option<String>,
    pub deliveries: Vec<DeliveryRow>,
    /// The sealed cursor of the next deliveries page.
    pub deliveries_next: Option<String>,
}

/// A page of deliveries and its "Load more" row (a template of its own, like billing's rows).
#[derive(Template)]
#[template(path = "settings_delivery_rows.html")]
pub struct DeliveryRows<'a> {
    pub deliveries: &'a [DeliveryRow],
    pub deliveries_next: &'a Option<String>,
}

struct Loaded {
    settings: TenantSettings,
    keys: Vec<ApiKeyView>,
    callback: Option<CallbackView>,
    deliveries: Vec<DeliveryView>,
    deliveries_next: Option<String>,
}

async fn keys(state: &AppState, tenant_id: &str) -> Result<Vec<ApiKeyView>, miping::domain::Error> {
    let (mut keys, _) = api_keys::page(&state.ports, tenant_id, KEYS_PAGE, None).await?;
    // Newest first (the use case lists oldest first).
    keys.reverse();
    Ok(keys)
}

async fn load(state: &AppState, tenant_id: &str, cursor: Option<String>) -> Result<Loaded, Response> {
    let (s, k, c, d) = tokio::join!(
        tenant_settings::get(&state.ports, tenant_id),
        keys(state, tenant_id),
        callback::get(&state.ports, tenant_id),
        worker::deliveries(&state.ports, tenant_id, DELIVERIES_PAGE, cursor),
    );
    let settings = s.map_err(|e| page::failed("business settings", e))?;
    let keys = k.map_err(|e| page::failed("API keys", e))?;
    let callback = c.map_err(|e| page::failed("callback", e))?.map(|s| s.view);
    let (deliveries, next) = d.map_err(|e| page::failed("deliveries", e))?;
    Ok(Loaded { settings, keys, callback, deliveries, deliveries_next: next.map(|c| paging::seal(&c)) })
}

async fn settings_page(
    state: &AppState,
    viewer: &crate::session::Viewer,
    tenant_id: &str,
    headers: &HeaderMap,
    cursor: Option<String>,
) -> Result<SettingsPage, Response> {
    let (shell, loaded) =
        tokio::join!(Shell::load(state, viewer, headers, "Settings", "/app/settings"), load(state, tenant_id, cursor));
    let loaded = loaded?;
    let tz = &shell.tz.clone();
    Ok(SettingsPage {
        shell,
        csrf: viewer.csrf.clone(),
        business: BusinessForm::of(&loaded.settings),
        business_errors: Errors::none(),
        logo_url: logo_url(&loaded.settings),
        logo_errors: Errors::none(),
        keys: loaded.keys.into_iter().map(|k| KeyRow::of(k, tz)).collect(),
        new_key: None,
        key_name: String::new(),
        key_errors: Errors::none(),
        callback_url: loaded.callback.as_ref().map(|c| c.url.clone()).unwrap_or_default(),
        callback_updated: loaded.callback.as_ref().map(|c| when(c.updated_at, tz)),
        callback: loaded.callback,
        callback_errors: Errors::none(),
        new_secret: None,
        deliveries: loaded.deliveries.into_iter().map(|d| DeliveryRow::of(d, tz)).collect(),
        deliveries_next: loaded.deliveries_next,
    })
}

/// `GET /app/settings[?cursor=]`: with a cursor and `HX-Request`, the next deliveries rows.
pub async fn show(
    State(state): State<AppState>,
    TenantAdmin(viewer, tenant_id): TenantAdmin,
    headers: HeaderMap,
    hx: Hx,
    Query(q): Query<CursorQuery>,
) -> Response {
    let cursor = match paging::open(q.cursor.as_deref()) {
        Ok(c) => c,
        Err(r) => return r,
    };
    let paging = cursor.is_some();
    match settings_page(&state, &viewer, &tenant_id, &headers, cursor).await {
        Ok(p) if paging => {
            let rows = DeliveryRows { deliveries: &p.deliveries, deliveries_next: &p.deliveries_next };
            page::page_or_fragment(hx, StatusCode::OK, &p, rows)
        }
        Ok(p) => page::html(StatusCode::OK, &p),
        Err(r) => r,
    }
}

#[derive(Deserialize)]
pub struct KeyForm {
    #[serde(default)]
    name: String,
}

/// `POST /app/settings/api-keys`: the page (or its API keys section) with the new key shown once.
/// Answered directly, not redirected: the key must not travel through a cookie or a URL.
pub async fn create_key(
    State(state): State<AppState>,
    TenantAdmin(viewer, tenant_id): TenantAdmin,
    headers: HeaderMap,
    hx: Hx,
    audit: Audit,
    CsrfForm(form): CsrfForm<KeyForm>,
) -> Response {
    let result =
        audit::create_api_key(&state.ports, &audit, &tenant_id, CreateInput { name: Some(form.name.clone()) }).await;
    let mut p = match settings_page(&state, &viewer, &tenant_id, &headers, None).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let status = match result {
        Ok(created) => {
            p.new_key = Some(created);
            StatusCode::OK
        }
        Err(e) => match status_of(&e) {
            Ok(status) => {
                p.key_name = form.name;
                p.key_errors = Errors::from_error(&e, &["name"]);
                status
            }
            Err(r) => return r,
        },
    };
    if status.is_success() {
        p.shell.flash.push(Toast { kind: "success", text: "API key created".into() });
    }
    let mut r = page::page_or_fragment(hx, status, &p, p.as_api_keys());
    if status.is_success() && hx.0 {
        r.headers_mut().insert("hx-trigger", page::toast_trigger("API key created", "success"));
    }
    r
}

/// `POST /app/settings/api-keys/{id}/revoke` (confirmed, naming the key). Another tenant's or an
/// unknown id: the 404 page.
pub async fn revoke_key(
    State(state): State<AppState>,
    TenantAdmin(viewer, tenant_id): TenantAdmin,
    headers: HeaderMap,
    hx: Hx,
    audit: Audit,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<ConfirmForm>,
) -> Response {
    let name = match keys(&state, &tenant_id).await {
        Ok(keys) => match keys.into_iter().find(|k| k.id == id) {
            Some(k) => k.name,
            None => return page::not_found_page(),
        },
        Err(e) => {
            return page::failed("API keys", e);
        }
    };
    if !page::confirmed(&headers, form.confirmed.as_deref()) {
        let shell = Shell::load(&state, &viewer, &headers, "Revoke API key", "/app/settings").await;
        let question = format!("Revoke the API key “{name}”? Systems using it are refused from the next request.");
        let action = format!("/app/settings/api-keys/{id}/revoke");
        return page::confirm_page(shell, &question, &action, "Revoke key", "/app/settings", &[]);
    }
    match audit::revoke_api_key(&state.ports, &audit, &tenant_id, &id).await {
        Ok(true) => hx.done("/app/settings", &format!("API key “{name}” revoked")),
        Ok(false) => page::not_found_page(),
        Err(e) => page::failed("API key revoke", e),
    }
}

#[derive(Deserialize)]
pub struct CallbackForm {
    #[serde(default)]
    url: String,
    #[serde(default)]
    secret: String,
}

/// 32 random bytes in hex (what the API's documentation suggests).
fn generated_secret() -> String {
    (0..32).map(|_| format!("{:02x}", rand::random::<u8>())).collect()
}

/// `POST /app/settings/callback`: the same use case as `PUT /settings/callback`. An empty secret
/// field gets a generated one; either way the secret is shown this once.
pub async fn set_callback(
    State(state): State<AppState>,
    TenantAdmin(viewer, tenant_id): TenantAdmin,
    audit: Audit,
    headers: HeaderMap,
    hx: Hx,
    CsrfForm(form): CsrfForm<CallbackForm>,
) -> Response {
    let secret = if form.secret.is_empty() { generated_secret() } else { form.secret };
    let input = CallbackInput { url: Some(form.url.clone()), secret: Some(secret.clone()) };
    let result =
        audit::put_callback(&state.ports, &audit, &tenant_id, input, state.config.allow_private_callbacks).await;
    let mut p = match settings_page(&state, &viewer, &tenant_id, &headers, None).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let status = match result {
        Ok(_) => {
            p.new_secret = Some(secret);
            StatusCode::OK
        }
        Err(e) => match status_of(&e) {
            Ok(status) => {
                p.callback_url = form.url;
                p.callback_errors = Errors::from_error(&e, &["url", "secret"]);
                status
            }
            Err(r) => return r,
        },
    };
    if status.is_success() {
        p.shell.flash.push(Toast { kind: "success", text: "Callback saved".into() });
    }
    let mut r = page::page_or_fragment(hx, status, &p, p.as_callback());
    if status.is_success() && hx.0 {
        r.headers_mut().insert("hx-trigger", page::toast_trigger("Callback saved", "success"));
    }
    r
}

/// The business settings form as typed; the names are `PATCH /tenant/settings`'s fields. The
/// keyword lists are comma-separated.
#[derive(Deserialize, Default, Clone, Debug)]
pub struct BusinessForm {
    #[serde(default)]
    pub default_country: String,
    #[serde(default)]
    pub time_zone: String,
    #[serde(default)]
    pub opt_out_keywords: String,
    #[serde(default)]
    pub opt_in_keywords: String,
    #[serde(default, rename = "brand.name")]
    pub brand_name: String,
    #[serde(default, rename = "brand.color")]
    pub brand_color: String,
}

const BUSINESS_FIELDS: &[&str] =
    &["default_country", "time_zone", "opt_out_keywords", "opt_in_keywords", "brand.name", "brand.color"];

/// Trimmed, without empty ones or case-insensitive repeats: the list the domain keeps, so the
/// index in its `opt_out_keywords[i]` details is the index here.
fn keyword_list(typed: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for k in typed.split([',', '\n']).map(str::trim).filter(|k| !k.is_empty()) {
        if !out.iter().any(|o| o.eq_ignore_ascii_case(k)) {
            out.push(k.to_owned());
        }
    }
    out
}

impl BusinessForm {
    fn of(s: &TenantSettings) -> Self {
        BusinessForm {
            default_country: s.default_country.clone().unwrap_or_default(),
            time_zone: s.time_zone.clone(),
            opt_out_keywords: s.opt_out_keywords.join(", "),
            opt_in_keywords: s.opt_in_keywords.join(", "),
            brand_name: s.brand.as_ref().map(|b| b.name.clone()).unwrap_or_default(),
            brand_color: s.brand.as_ref().map_or(crate::brand::DEFAULT_COLOR, |b| b.color.as_str()).to_owned(),
        }
    }

    /// The whole form as one patch: an empty field is `null` (the default). Without a brand name
    /// and with the default colour there is no brand; a colour without a name is sent as it is,
    /// so the domain says the name is required. The logo (set through the API) is kept.
    fn patch(&self, current: &TenantSettings) -> SettingsPatch {
        let text = |s: &str| Some(s.trim().to_owned()).filter(|s| !s.is_empty());
        let keywords = |s: &str| Some(Some(keyword_list(s)).filter(|l| !l.is_empty()));
        let color = self.brand_color.trim();
        let no_brand = self.brand_name.trim().is_empty()
            && (color.is_empty() || color.eq_ignore_ascii_case(crate::brand::DEFAULT_COLOR));
        let brand = (!no_brand).then(|| BrandInput {
            name: Some(self.brand_name.clone()),
            color: text(color),
            logo_media_id: current.brand.as_ref().and_then(|b| b.logo_media_id.clone()),
        });
        SettingsPatch {
            default_country: Some(text(&self.default_country)),
            time_zone: Some(text(&self.time_zone)),
            opt_out_keywords: keywords(&self.opt_out_keywords),
            opt_in_keywords: keywords(&self.opt_in_keywords),
            brand: Some(brand),
        }
    }

    /// The domain's refusal next to the fields; a keyword's says which word it is about.
    fn errors(&self, e: &miping::domain::Error) -> Errors {
        let mut e = e.clone();
        for d in &mut e.details {
            let Some((list, i)) = d.field.strip_suffix(']').and_then(|f| f.split_once('[')) else { continue };
            let typed = match list {
                "opt_out_keywords" => &self.opt_out_keywords,
                "opt_in_keywords" => &self.opt_in_keywords,
                _ => continue,
            };
            if let Some(word) = i.parse::<usize>().ok().and_then(|i| keyword_list(typed).into_iter().nth(i)) {
                d.message = format!("“{word}” {}", d.message);
            }
        }
        Errors::from_error(&e, BUSINESS_FIELDS)
    }
}

/// `POST /app/settings/business`: the same use case as `PATCH /tenant/settings`. Saved: the page
/// again, in full (the brand and time zone change every page), with a toast.
pub async fn set_business(
    State(state): State<AppState>,
    TenantAdmin(viewer, tenant_id): TenantAdmin,
    audit: Audit,
    headers: HeaderMap,
    hx: Hx,
    CsrfForm(form): CsrfForm<BusinessForm>,
) -> Response {
    let result = match tenant_settings::get(&state.ports, &tenant_id).await {
        Ok(current) => audit::patch_settings(&state.ports, &audit, &tenant_id, form.patch(&current)).await,
        Err(e) => Err(e),
    };
    let e = match result {
        Ok(_) => return hx.done("/app/settings", "Business settings saved"),
        Err(e) => e,
    };
    let status = match status_of(&e) {
        Ok(status) => status,
        Err(r) => return r,
    };
    match settings_page(&state, &viewer, &tenant_id, &headers, None).await {
        Ok(mut p) => {
            p.business_errors = form.errors(&e);
            p.business = form;
            page::page_or_fragment(hx, status, &p, p.as_business())
        }
        Err(r) => r,
    }
}

/// Where the console serves the brand's logo, if it has one.
pub fn logo_url(settings: &TenantSettings) -> Option<String> {
    settings.brand.as_ref().and_then(|b| b.logo_media_id.as_ref()).map(|id| format!("/brand/logo/{id}"))
}

/// What the logo form carried: the `_csrf` field and the file.
#[derive(Default)]
struct LogoUpload {
    csrf: Option<String>,
    file: Option<Upload>,
}

async fn read_logo(multipart: Result<Multipart, MultipartRejection>) -> Result<LogoUpload, StatusCode> {
    let mut multipart = multipart.map_err(|_| StatusCode::BAD_REQUEST)?;
    let mut upload = LogoUpload::default();
    while let Some(field) = multipart.next_field().await.map_err(|e| e.status())? {
        match field.name() {
            Some(crate::csrf::FIELD) => upload.csrf = field.text().await.ok(),
            Some("file") => {
                let declared_type = field.content_type().map(str::to_owned);
                let filename = field.file_name().map(str::to_owned);
                let body = field.bytes().await.map_err(|e| e.status())?;
                upload.file = Some(Upload { declared_type, filename, body }).filter(|u| !u.body.is_empty());
            }
            _ => {}
        }
    }
    Ok(upload)
}

/// `POST /app/settings/logo` (multipart: `_csrf`, `file`): the image is uploaded with the media
/// use case (anything but a jpeg or png is refused before it is stored) and becomes the brand's
/// logo; a tenant without a brand yet gets one with its own name and the default colour.
pub async fn set_logo(
    State(state): State<AppState>,
    TenantAdmin(viewer, tenant_id): TenantAdmin,
    headers: HeaderMap,
    hx: Hx,
    multipart: Result<Multipart, MultipartRejection>,
) -> Response {
    let upload = match read_logo(multipart).await {
        Ok(u) => u,
        Err(StatusCode::PAYLOAD_TOO_LARGE) => {
            return logo_refused(
                &state,
                &viewer,
                &tenant_id,
                &headers,
                StatusCode::PAYLOAD_TOO_LARGE,
                "Choose an image of at most 5 MB.",
            )
            .await;
        }
        Err(_) => {
            return page::message_page(
                StatusCode::BAD_REQUEST,
                "The upload could not be read",
                "Go back, choose the image again and retry.",
            );
        }
    };
    if let Err(r) = crate::forms::check(&state, &headers, upload.csrf.as_deref()) {
        return r;
    }
    let Some(file) = upload.file else {
        return logo_refused(
            &state,
            &viewer,
            &tenant_id,
            &headers,
            StatusCode::UNPROCESSABLE_ENTITY,
            "Choose an image (JPEG or PNG).",
        )
        .await;
    };
    let result = async {
        let item = media::upload_image(&state.ports, &tenant_id, &viewer.user().id, file).await?;
        let (current, tenant) = tokio::join!(
            tenant_settings::get(&state.ports, &tenant_id),
            miping::domain::tenants::get(&state.ports, &tenant_id)
        );
        let brand = match current?.brand {
            Some(b) => BrandInput { name: Some(b.name), color: Some(b.color), logo_media_id: Some(item.id) },
            None => BrandInput {
                name: Some(tenant?.name),
                color: Some(crate::brand::DEFAULT_COLOR.to_owned()),
                logo_media_id: Some(item.id),
            },
        };
        let patch = SettingsPatch { brand: Some(Some(brand)), ..SettingsPatch::default() };
        tenant_settings::patch(&state.ports, &tenant_id, patch).await
    }
    .await;
    match result {
        Ok(_) => hx.done("/app/settings", "Logo saved"),
        Err(e) => {
            let status = match status_of(&e) {
                Ok(status) => status,
                Err(r) => return r,
            };
            // A field's own message when the refusal names one (the file, or the logo setting).
            let message = e.details.first().map_or(e.message.as_str(), |d| d.message.as_str());
            logo_refused(&state, &viewer, &tenant_id, &headers, status, &crate::forms::sentence(message)).await
        }
    }
}

/// The settings page with `message` next to the logo field.
async fn logo_refused(
    state: &AppState,
    viewer: &crate::session::Viewer,
    tenant_id: &str,
    headers: &HeaderMap,
    status: StatusCode,
    message: &str,
) -> Response {
    match settings_page(state, viewer, tenant_id, headers, None).await {
        Ok(mut p) => {
            p.logo_errors = Errors::none().field("file", message);
            page::html(status, &p)
        }
        Err(r) => r,
    }
}

/// `GET /brand/logo/{id}`: the brand's logo for anyone signed in to its tenant (the console's
/// own answer, so its Content-Security-Policy stays `img-src 'self'`). Any other id: 404.
pub async fn serve_logo(
    State(state): State<AppState>,
    viewer: crate::session::Viewer,
    Path(id): Path<String>,
) -> Response {
    let Some(tenant_id) = viewer.tenant_id() else { return page::not_found_page() };
    let settings = match tenant_settings::get(&state.ports, tenant_id).await {
        Ok(s) => s,
        Err(e) => return page::failed("brand logo", e),
    };
    if settings.brand.and_then(|b| b.logo_media_id).as_deref() != Some(id.as_str()) {
        return page::not_found_page();
    }
    match media::read_file(&state.ports, tenant_id, &id, &Scope::All).await {
        Ok((_, object)) => (
            [
                (axum::http::header::CONTENT_TYPE, object.info.content_type),
                (axum::http::header::CACHE_CONTROL, "private, max-age=300".to_owned()),
                (axum::http::header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
            ],
            object.body,
        )
            .into_response(),
        Err(e) if e.kind == miping::domain::Kind::NotFound => page::not_found_page(),
        Err(e) => page::failed("brand logo", e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords_are_read_as_the_domain_keeps_them() {
        assert_eq!(keyword_list(" band karo,RUKO, ,Band Karo\nshuru "), ["band karo", "RUKO", "shuru"]);
        let form = BusinessForm { brand_color: "#3B5BDB".into(), ..BusinessForm::default() };
        let patch = form.patch(&TenantSettings::default());
        assert!(matches!(patch.brand, Some(None)), "no name and the default colour: no brand");
        assert!(matches!(patch.opt_out_keywords, Some(None)) && matches!(patch.time_zone, Some(None)));
        let form = BusinessForm { brand_color: "#0b5fff".into(), ..BusinessForm::default() };
        let brand = form.patch(&TenantSettings::default()).brand.flatten().expect("a colour is a brand");
        assert_eq!((brand.name.as_deref(), brand.color.as_deref()), (Some(""), Some("#0b5fff")));
    }
}
