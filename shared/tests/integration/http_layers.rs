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
use miping::http::auth::{PasswordGate, Principal, authenticated};
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
        login_throttle: Default::default(),
        password_reset_ttl: miping::config::DEFAULT_PASSWORD_RESET_TTL,
        trust_forwarded_for: false,
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
        status: Default::default(),
        created_at: now,
        updated_at: now,
    };
    assert!(Users::new(&*state.ports.table).create(&user).await.unwrap());
    user
}

/// A token of a fresh session of `user`, as a sign-in makes it.
async fn token(state: &AppState, user: &User) -> String {
    let now = state.ports.clock.now();
    let expires_at = state.jwt.expiry(now);
    let session = miping::domain::sessions::start(&state.ports, &user.id, expires_at).await.unwrap();
    state.jwt.issue(user, &session, now, expires_at).unwrap()
}

/// A router with one super-admin route (`GET /plans`), one route for anyone signed in
/// (`GET /auth/me`), and one that panics (`GET /admin/tenants`): the roles come from
/// `http::access::ROUTES`, the one table, checked by the auth layer.
fn router(state: &AppState) -> Router {
    let signed_in = Router::new()
        .route("/plans", get(|| async { "ok" }))
        .route("/auth/me", get(|p: Principal| async move { p.user.id.clone() }))
        .route(
            "/admin/tenants",
            get(|| async {
                if true {
                    panic!("handler bug");
                }
                "unreachable"
            }),
        )
        .route("/not-in-the-table", get(|| async { "never" }))
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

    let (status, _) = call(&app, "/plans", Some(&token(&env.state, &admin).await)).await;
    assert_eq!(status, StatusCode::OK);
    let (status, body) = call(&app, "/plans", Some(&token(&env.state, &tenant_admin).await)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["error"]["code"], "forbidden_for_role");
    let (status, body) = call(&app, "/auth/me", Some(&token(&env.state, &tenant_admin).await)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, Value::String(tenant_admin.id.clone()));
    // A route without a row in the table is refused to everyone (fail closed).
    let (status, body) = call(&app, "/not-in-the-table", Some(&token(&env.state, &admin).await)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["error"]["code"], "forbidden_for_role");
}

#[tokio::test]
async fn a_pending_password_change_blocks_other_routes() {
    let env = env().await;
    let app = router(&env.state);
    let pending = user(&env.state, Role::SuperAdmin, true).await;
    let (status, body) = call(&app, "/auth/me", Some(&token(&env.state, &pending).await)).await;
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
    let issued = miping::ports::Clock::now(&clock);
    let session =
        miping::domain::sessions::start(&env.state.ports, &admin.id, issued + chrono::Duration::days(1)).await.unwrap();
    let expired = keys.issue(&admin, &session, issued, keys.expiry(issued)).unwrap();
    let (status, body) = call(&app, "/auth/me", Some(&expired)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"]["code"], "unauthorized");

    // A valid signature for a user that no longer exists.
    let mut ghost = admin.clone();
    ghost.id = "usr_ghost".into();
    let (status, _) = call(&app, "/auth/me", Some(&token(&env.state, &ghost).await)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_panic_is_a_json_500_without_internals() {
    let env = env().await;
    let app = router(&env.state);
    let admin = user(&env.state, Role::SuperAdmin, false).await;
    let (status, body) = call(&app, "/admin/tenants", Some(&token(&env.state, &admin).await)).await;
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

/// Counts the table reads a request makes (gets and queries), passing everything through.
struct CountingTable {
    inner: Arc<dyn miping::ports::Table>,
    reads: std::sync::atomic::AtomicUsize,
}

#[async_trait::async_trait]
impl miping::ports::Table for CountingTable {
    async fn get(
        &self,
        key: &miping::ports::table::Key,
    ) -> Result<Option<miping::ports::table::Item>, miping::ports::table::TableError> {
        self.reads.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.inner.get(key).await
    }
    async fn put(
        &self,
        item: miping::ports::table::Item,
        cond: Option<miping::ports::table::Cond>,
    ) -> Result<(), miping::ports::table::TableError> {
        self.inner.put(item, cond).await
    }
    async fn update(
        &self,
        key: &miping::ports::table::Key,
        update: miping::ports::table::Update,
        cond: Option<miping::ports::table::Cond>,
    ) -> Result<miping::ports::table::Item, miping::ports::table::TableError> {
        self.inner.update(key, update, cond).await
    }
    async fn delete(
        &self,
        key: &miping::ports::table::Key,
        cond: Option<miping::ports::table::Cond>,
    ) -> Result<Option<miping::ports::table::Item>, miping::ports::table::TableError> {
        self.inner.delete(key, cond).await
    }
    async fn query(
        &self,
        query: miping::ports::table::Query,
    ) -> Result<miping::ports::table::Page, miping::ports::table::TableError> {
        self.reads.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        self.inner.query(query).await
    }
    async fn transact(&self, ops: Vec<miping::ports::table::TxOp>) -> Result<(), miping::ports::table::TableError> {
        self.inner.transact(ops).await
    }
}

/// The session check costs one table read per request, no more: `GET /auth/me` reads the
/// session, the user and (for a tenant user) the tenant — 2 and 3 reads, one more than before
/// sessions existed. (On AWS each is one strongly consistent GetItem; the session and the user
/// are read concurrently.)
#[tokio::test]
async fn the_session_check_is_one_extra_table_read() {
    let env = env().await;
    let counting = Arc::new(CountingTable { inner: env.state.ports.table.clone(), reads: Default::default() });
    let mut ports = env.state.ports.clone();
    ports.table = counting.clone();
    let state = AppState::new(ports, (*env.state.config).clone());
    let app = with_common_layers(miping::http::routes::auth_group(state.clone()));

    let admin = user(&state, Role::SuperAdmin, false).await;
    let tenant_id = state.ports.ids.new_id("ten");
    state
        .ports
        .table
        .put(
            miping::ports::table::Item::new(miping::store::keys::tenant(&tenant_id))
                .with("id", tenant_id.clone())
                .with("status", "active"),
            None,
        )
        .await
        .unwrap();
    let mut tenant_admin = user(&state, Role::TenantAdmin, false).await;
    tenant_admin.tenant_id = Some(tenant_id);
    tenant_admin.id = state.ports.ids.new_id("usr");
    tenant_admin.email = format!("{}@example.test", tenant_admin.id);
    assert!(Users::new(&*state.ports.table).create(&tenant_admin).await.unwrap());
    for (who, expected_reads) in [(&admin, 2), (&tenant_admin, 3)] {
        let token = token(&state, who).await;
        counting.reads.store(0, std::sync::atomic::Ordering::SeqCst);
        let (status, _) = call(&app, "/auth/me", Some(&token)).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(counting.reads.load(std::sync::atomic::Ordering::SeqCst), expected_reads, "{:?}", who.role);
    }
}

/// Behind API Gateway the client address is the request context's `sourceIp` (what the sign-in
/// throttle counts by), not a header anyone can write.
#[tokio::test]
async fn the_client_address_on_lambda_is_the_source_ip() {
    let env = env().await;
    let app = Router::new()
        .route(
            "/auth/login",
            axum::routing::post(|client: miping::http::client_addr::ClientAddr| async move { client.bucket() }),
        )
        .with_state(env.state.clone());
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../events");
    let login = std::fs::read_to_string(root.join("auth-api-login.json")).unwrap();
    let mut event: Value = serde_json::from_str(&login).unwrap();
    event["headers"]["x-forwarded-for"] = Value::from("198.51.100.77");
    let req = lambda_http::request::from_str(&event.to_string()).expect("a valid API Gateway v2 event");
    let res = app.oneshot(req.map(|b| Body::from(b.to_vec()))).await.unwrap();
    let body = res.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(body, "203.0.113.10");
}
