//! `/auth/*`: login, logout, change password, forgotten password, who am I.

use axum::Router;
use axum::http::StatusCode;
use axum::middleware::from_fn_with_state;
use secrecy::SecretString;
use serde::Deserialize;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::AppState;
use crate::domain::audit;
use crate::domain::auth::{self, LoginResponse};
use crate::domain::user::UserView;
use crate::domain::{password_reset, sessions};
use crate::http::audit::Audit;
use crate::http::auth::{PasswordGate, Principal, authenticated};
use crate::http::client_addr::ClientAddr;
use crate::http::error::Body as ErrorBody;
use crate::http::openapi::tags;
use crate::http::{ApiError, ApiJson, ApiResult, FieldError, NoBody};

fn public_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(login)).routes(routes!(forgot_password)).routes(routes!(reset_password))
}

fn signed_in_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(me)).routes(routes!(change_password)).routes(routes!(logout))
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
    description = "A wrong email and a wrong password get the same 401. Attempts are throttled per email and \
        client address (after 5, each next attempt waits twice as long as the last: 1 s, 2 s, 4 s ... up to 15 \
        minutes) and per client address across emails (429 `login_throttled` with Retry-After). The token \
        belongs to a server-side session: `POST /auth/logout` ends it.",
    request_body = LoginBody,
    responses(
        (status = 200, description = "A session token and the user", body = LoginResponse),
        (status = 401, description = "Wrong email or password", body = ErrorBody),
        (status = 422, description = "Empty email", body = ErrorBody),
        (status = 429, description = "Too many attempts for this email from this address, or from this address \
            (`login_throttled`)", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
    ))]
async fn login(
    axum::extract::State(state): axum::extract::State<AppState>,
    client: ClientAddr,
    audit: Audit,
    ApiJson(body): ApiJson<LoginBody>,
) -> ApiResult<ApiJson<LoginResponse>> {
    if body.email.trim().is_empty() {
        return Err(ApiError::validation(vec![FieldError::new("email", "required", "is required")]));
    }
    let throttle = &state.config.login_throttle;
    let result = auth::login(&state.ports, &state.jwt, throttle, &body.email, &client.bucket(), body.password).await;
    audit::sign_in(&state.ports, &audit, &body.email, result.as_ref().map(|r| &r.user)).await?;
    Ok(ApiJson(result?))
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
    description = "Ends every other session of the user (their tokens get 401 `session_revoked`); this one stays.",
    security(("bearer" = [])),
    request_body = ChangePasswordBody,
    responses(
        (status = 204, description = "Changed"),
        (status = 422, description = "Wrong current password or a too weak new one", body = ErrorBody),
    ))]
async fn change_password(
    axum::extract::State(state): axum::extract::State<AppState>,
    principal: Principal,
    audit: Audit,
    ApiJson(body): ApiJson<ChangePasswordBody>,
) -> ApiResult<StatusCode> {
    auth::change_password(
        &state.ports,
        &principal.user,
        &principal.session_id,
        body.current_password,
        body.new_password,
    )
    .await?;
    audit.own_account(&state.ports, &principal.user, "auth.password_changed").await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/auth/logout", tag = tags::AUTH, operation_id = "logout",
    summary = "Sign out: end this token's session",
    description = "The token (and only this one) gets 401 `session_revoked` from now on.",
    security(("bearer" = [])),
    responses(
        (status = 204, description = "The session has ended"),
        (status = 400, description = "A body other than `{}` (this route takes none)", body = ErrorBody),
        (status = 415, description = "A body that is not JSON (this route takes none; send nothing or `{}`)", body = ErrorBody),
    ))]
async fn logout(
    axum::extract::State(state): axum::extract::State<AppState>,
    principal: Principal,
    audit: Audit,
    _: NoBody,
) -> ApiResult<StatusCode> {
    sessions::end(&state.ports, &principal.session_id).await?;
    audit.own_account(&state.ports, &principal.user, "auth.logout").await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = ForgotPasswordInput, example = json!({"email": "admin@sunrise.example"}))]
struct ForgotPasswordBody {
    email: String,
}

#[utoipa::path(post, path = "/auth/forgot-password", tag = tags::AUTH, operation_id = "forgot_password",
    summary = "Email a password reset link",
    description = "202 whether or not the email has an account (the answer and its timing are the same). An \
        account's owner gets a link `{MIPING_PUBLIC_URL}/reset-password#token=...`, single-use, valid 30 minutes; \
        at most one such email per minute.",
    request_body = ForgotPasswordBody,
    responses(
        (status = 202, description = "Accepted (an email goes out if the account exists)"),
        (status = 422, description = "Not an email address", body = ErrorBody),
    ))]
async fn forgot_password(
    axum::extract::State(state): axum::extract::State<AppState>,
    ApiJson(body): ApiJson<ForgotPasswordBody>,
) -> ApiResult<StatusCode> {
    let valid_for = i64::try_from(state.config.password_reset_ttl.as_secs()).unwrap_or(i64::MAX);
    password_reset::request(&state.ports, &state.config.public_url, valid_for, &body.email).await?;
    Ok(StatusCode::ACCEPTED)
}

#[derive(Deserialize, utoipa::ToSchema)]
#[schema(as = ResetPasswordInput, example = json!({"token": "the token from the emailed link", "new_password": "a long new passphrase"}))]
struct ResetPasswordBody {
    #[schema(value_type = String, format = Password)]
    token: SecretString,
    #[schema(value_type = String, format = Password)]
    new_password: SecretString,
}

#[utoipa::path(post, path = "/auth/reset-password", tag = tags::AUTH, operation_id = "reset_password",
    summary = "Set a new password with an emailed reset token",
    description = "Uses the token up, sets the password and ends every session of the user.",
    request_body = ResetPasswordBody,
    responses(
        (status = 204, description = "The password is set"),
        (status = 404, description = "Unknown or already used token (`reset_token_not_found`)", body = ErrorBody),
        (status = 410, description = "The link has expired (`reset_token_expired`)", body = ErrorBody),
        (status = 422, description = "A too weak new password", body = ErrorBody),
    ))]
async fn reset_password(
    axum::extract::State(state): axum::extract::State<AppState>,
    audit: Audit,
    ApiJson(body): ApiJson<ResetPasswordBody>,
) -> ApiResult<StatusCode> {
    let user = password_reset::reset(&state.ports, &body.token, body.new_password).await?;
    audit.own_account(&state.ports, &user, "auth.password_reset").await?;
    Ok(StatusCode::NO_CONTENT)
}
