//! `/auth/*`: login, change password, who am I.

use axum::Router;
use axum::http::StatusCode;
use axum::middleware::from_fn_with_state;
use secrecy::SecretString;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::domain::auth::{self, LoginResponse};
use crate::domain::user::UserView;
use crate::http::auth::{PasswordGate, Principal, authenticated};
use crate::http::error::Body as ErrorBody;
use crate::http::openapi::tags;
use crate::http::{ApiError, ApiJson, ApiResult, FieldError};

fn public_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(login))
}

fn signed_in_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(me)).routes(routes!(change_password))
}

pub fn routes() -> OpenApiRouter<AppState> {
    public_routes().merge(signed_in_routes())
}

pub fn router(state: AppState) -> Router {
    let signed_in = Router::from(signed_in_routes())
        .route_layer(from_fn_with_state((state.clone(), PasswordGate::AllowPending), authenticated));
    Router::from(public_routes()).merge(signed_in).with_state(state)
}

#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = LoginInput, example = json!({"email": "admin@sunrise.example", "password": "correct horse battery staple"}))]
struct LoginBody {
    email: String,
    #[schema(value_type = String, format = Password)]
    password: SecretString,
}

#[utoipa::path(post, path = "/auth/login", tag = tags::AUTH, operation_id = "login",
    summary = "Sign in",
    description = "A wrong email and a wrong password get the same 401. Repeated failures for one email are \
        throttled (429 with Retry-After).",
    request_body = LoginBody,
    responses(
        (status = 200, description = "A session token and the user", body = LoginResponse),
        (status = 401, description = "Wrong email or password", body = ErrorBody),
        (status = 422, description = "Empty email", body = ErrorBody),
        (status = 429, description = "Too many failures for this email (`login_throttled`)", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
    ))]
async fn login(
    axum::extract::State(state): axum::extract::State<AppState>,
    ApiJson(body): ApiJson<LoginBody>,
) -> ApiResult<ApiJson<LoginResponse>> {
    if body.email.trim().is_empty() {
        return Err(ApiError::validation(vec![FieldError::new("email", "required", "is required")]));
    }
    Ok(ApiJson(auth::login(&state.ports, &state.jwt, &body.email, body.password).await?))
}

#[utoipa::path(get, path = "/auth/me", tag = tags::AUTH, operation_id = "get_me",
    summary = "The signed-in user (also before the one-time password is changed)",
    security(("bearer" = [])),
    responses((status = 200, description = "The user", body = UserView)))]
async fn me(principal: Principal) -> ApiJson<UserView> {
    ApiJson(UserView::from(&principal.user))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = ChangePasswordInput, example = json!({"current_password": "the one from the welcome email", "new_password": "a long new passphrase"}))]
struct ChangePasswordBody {
    #[schema(value_type = String, format = Password)]
    current_password: SecretString,
    #[schema(value_type = String, format = Password)]
    new_password: SecretString,
}

#[utoipa::path(post, path = "/auth/change-password", tag = tags::AUTH, operation_id = "change_password",
    summary = "Change the password (clears must_change_password)",
    security(("bearer" = [])),
    request_body = ChangePasswordBody,
    responses(
        (status = 204, description = "Changed"),
        (status = 422, description = "Wrong current password or a too weak new one", body = ErrorBody),
    ))]
async fn change_password(
    axum::extract::State(state): axum::extract::State<AppState>,
    principal: Principal,
    ApiJson(body): ApiJson<ChangePasswordBody>,
) -> ApiResult<StatusCode> {
    auth::change_password(&state.ports, &principal.user, body.current_password, body.new_password).await?;
    Ok(StatusCode::NO_CONTENT)
}
