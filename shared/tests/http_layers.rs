//! The HTTP layer's guarantees, exercised through the real middleware stack with the embedded
//! table: role and password gates, expired tokens, panics, and Lambda events served by the same
//! router the local process serves.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::middleware::from_fn_with_state;
use axum::routing::get;
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use miping::app::AppState;
use miping::config::{Config, MetaConfig};
use miping::domain::auth::JwtKeys;
use miping::domain::password;
use miping::domain::user::{Role, User};
use miping::http::auth::{PasswordGate, Principal, authenticated, require_role};
use miping::http::layers::with_common_layers;
use miping::ports::clock::{ManualClock, UlidGen};
use miping::store::users::Users;
use secrecy::SecretString;
use serde_json::Value;
use tower::ServiceExt;

struct Env {
    state: AppState,
    _dir: tempfile::TempDir,
}

async fn env() -> Env {
    let dir = tempfile::tempdir().unwrap();
    let config = Config {
        public_url: "http://127.0.0.1:3000".into(),
        jwt_secret: SecretString::from("test-session-key-0123456789abcdef0123456789"),
        jwt_ttl: std::time::Duration::from_secs(3600),
        super_admin: None,
        meta: MetaConfig {
            app_id: String::new(),
            app_secret: SecretString::from(""),
            config_id: String::new(),
            verify_token: SecretString::from(""),
            graph_version: "v24.0".into(),
            graph_url: "http://127.0.0.1:9".into(),
            sdk_url: miping::config::DEFAULT_SDK_URL.into(),
        },
        production: false,
        allow_private_callbacks: true,
        api_key_rate_limit: 20,
        reconcile: Default::default(),
        send_timing: Default::default(),
    };
    let mut ports = miping::platform::embedded::ports(dir.path(), &config.meta).unwrap();
    ports.ids = Arc::new(UlidGen::default());
    Env { state: AppState::new(ports, config), _dir: dir }
}

async fn user(state: &AppState, role: Role, must_change: bool) -> User {
    let now = state.ports.clock.now();
    let user = User {
        id: state.ports.ids.new_id("usr"),
        email: format!("{}@example.test", state.ports.ids.new_id("u")),
        name: "Test".into(),
        role,
        tenant_id: None,
        password_hash: password::dummy_hash().to_string(),
        must_change_password: must_change,
        created_at: now,
        updated_at: now,
    };
    assert!(Users::new(&*state.ports.table).create(&user).await.unwrap());
    user
}

fn token(state: &AppState, user: &User) -> String {
    state.jwt.issue(user, state.ports.clock.now()).unwrap().0
}

/// A router with one super-admin route, one route for anyone signed in, and one that panics.
fn router(state: &AppState) -> Router {
    let admin = Router::new()
        .route("/admin-only", get(|| async { "ok" }))
        .route_layer(from_fn_with_state(Role::SuperAdmin, require_role));
    let signed_in = Router::new()
        .route("/whoami", get(|p: Principal| async move { p.user.id.clone() }))
        .route(
            "/boom",
            get(|| async {
                if true {
                    panic!("handler bug");
                }
                "unreachable"
            }),
        )
        .merge(admin)
        .route_layer(from_fn_with_state((state.clone(), PasswordGate::Enforce), authenticated));
    with_common_layers(signed_in)
}

async fn call(router: &Router, path: &str, token: Option<&str>) -> (StatusCode, Value) {
    let mut req = Request::get(path);
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    let res = router.clone().oneshot(req.body(Body::empty()).unwrap()).await.unwrap();
    let status = res.status();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::String(String::from_utf8_lossy(&bytes).into())))
}

#[tokio::test]
async fn roles_are_enforced_by_middleware() {
    let env = env().await;
    let app = router(&env.state);
    let admin = user(&env.state, Role::SuperAdmin, false).await;
    let tenant_admin = user(&env.state, Role::TenantAdmin, false).await;

    let (status, _) = call(&app, "/admin-only", Some(&token(&env.state, &admin))).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = call(&app, "/admin-only", Some(&token(&env.state, &tenant_admin))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["error"]["code"], "forbidden");
    let (status, body) = call(&app, "/whoami", Some(&token(&env.state, &tenant_admin))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, Value::String(tenant_admin.id.clone()));
}

#[tokio::test]
async fn a_pending_password_change_blocks_other_routes() {
    let env = env().await;
    let app = router(&env.state);
    let pending = user(&env.state, Role::SuperAdmin, true).await;
    let (status, body) = call(&app, "/whoami", Some(&token(&env.state, &pending))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["error"]["code"], "password_change_required");
}

#[tokio::test]
async fn expired_and_orphaned_tokens_are_401() {
    let env = env().await;
    let app = router(&env.state);
    let admin = user(&env.state, Role::SuperAdmin, false).await;
    // Issued two hours ago with a one-hour lifetime.
    let clock = ManualClock::new(chrono::Utc::now() - chrono::Duration::hours(2));
    let keys = JwtKeys::new(&env.state.config.jwt_secret, std::time::Duration::from_secs(3600));
    let (expired, _) = keys.issue(&admin, miping::ports::Clock::now(&clock)).unwrap();
    let (status, body) = call(&app, "/whoami", Some(&expired)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"]["code"], "unauthorized");

    // A valid signature for a user that no longer exists.
    let mut ghost = admin.clone();
    ghost.id = "usr_ghost".into();
    let (status, _) = call(&app, "/whoami", Some(&token(&env.state, &ghost))).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_panic_is_a_json_500_without_internals() {
    let env = env().await;
    let app = router(&env.state);
    let admin = user(&env.state, Role::SuperAdmin, false).await;
    let (status, body) = call(&app, "/boom", Some(&token(&env.state, &admin))).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(body["error"]["code"], "internal_error");
    assert!(!body.to_string().contains("handler bug"));
}

/// The sample events in `events/` are valid Lambda payloads and the function's router serves
/// them through `lambda_http`'s request conversion.
#[tokio::test]
async fn sample_api_gateway_events_are_served_by_the_function_router() {
    let env = env().await;
    let app = with_common_layers(miping::http::routes::auth_group(env.state.clone()));
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../events");

    let health = std::fs::read_to_string(root.join("auth-api.json")).unwrap();
    let req = lambda_http::request::from_str(&health).expect("a valid API Gateway v2 event");
    let res = app.clone().oneshot(req.map(|b| Body::from(b.to_vec()))).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);

    let login = std::fs::read_to_string(root.join("auth-api-login.json")).unwrap();
    let req = lambda_http::request::from_str(&login).expect("a valid API Gateway v2 event");
    let res = app.oneshot(req.map(|b| Body::from(b.to_vec()))).await.unwrap();
    // Nobody has that password here: the point is that the body reached the handler.
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
}
