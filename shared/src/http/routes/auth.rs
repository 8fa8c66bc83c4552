//! `/auth/*`: login, change password, who am I.

use axum::Router;
use axum::http::StatusCode;
use axum::middleware::from_fn_with_state;
use axum::routing::{get, post};
use secrecy::SecretString;
use serde::Deserialize;

use crate::app::AppState;
use crate::domain::auth::{self, LoginResponse};
use crate::domain::user::UserView;
use crate::http::auth::{PasswordGate, Principal, authenticated};
use crate::http::{ApiError, ApiJson, ApiResult, FieldError};

pub fn router(state: AppState) -> Router {
    let signed_in = Router::new()
        .route("/auth/me", get(me))
        .route("/auth/change-password", post(change_password))
        .route_layer(from_fn_with_state((state.clone(), PasswordGate::AllowPending), authenticated));
    Router::new().route("/auth/login", post(login)).merge(signed_in).with_state(state)
}

#[derive(Deserialize)]
struct LoginBody {
    email: String,
    password: SecretString,
}

async fn login(
    axum::extract::State(state): axum::extract::State<AppState>,
    ApiJson(body): ApiJson<LoginBody>,
) -> ApiResult<ApiJson<LoginResponse>> {
    if body.email.trim().is_empty() {
        return Err(ApiError::validation(vec![FieldError::new("email", "required", "is required")]));
    }
    Ok(ApiJson(auth::login(&state.ports, &state.jwt, &body.email, body.password).await?))
}

async fn me(principal: Principal) -> ApiJson<UserView> {
    ApiJson(UserView::from(&principal.user))
}

#[derive(Deserialize)]
struct ChangePasswordBody {
    current_password: SecretString,
    new_password: SecretString,
}

async fn change_password(
    axum::extract::State(state): axum::extract::State<AppState>,
    principal: Principal,
    ApiJson(body): ApiJson<ChangePasswordBody>,
) -> ApiResult<StatusCode> {
    auth::change_password(&state.ports, &principal.user, body.current_password, body.new_password).await?;
    Ok(StatusCode::NO_CONTENT)
}
