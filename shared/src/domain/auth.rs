//! Authentication: login (throttled: `login_throttle`), sessions (`sessions`), password change,
//! JWT issue/verify, and the super admin bootstrap.

use chrono::{DateTime, Duration, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::config::SuperAdminBootstrap;
use crate::domain::login_throttle::{self, LoginThrottle};
use crate::domain::user::{Role, User, UserView, normalize_email};
use crate::domain::{Error, FieldError};
use crate::domain::{password, sessions};
use crate::ports::Ports;
use crate::store::users::Users;

/// JWT claims. `tid` is the tenant for tenant users; the role and tenant are re-checked against
/// the stored user on every request, so a token never outlives a suspension or a role change.
/// `sid` is the server-side session (`domain::sessions`); a token without one (issued before
/// sessions existed) is treated as ended.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub role: Role,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    pub iat: i64,
    pub exp: i64,
}

/// HS256 keys derived once from the configured secret.
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    ttl: Duration,
}

impl JwtKeys {
    pub fn new(secret: &SecretString, ttl: std::time::Duration) -> Self {
        let bytes = secret.expose_secret().as_bytes();
        Self {
            encoding: EncodingKey::from_secret(bytes),
            decoding: DecodingKey::from_secret(bytes),
            ttl: Duration::from_std(ttl).unwrap_or(Duration::hours(12)),
        }
    }

    /// When a token issued at `now` expires (and its session with it).
    pub fn expiry(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        now + self.ttl
    }

    /// A token for `user`'s session `session_id`, valid until `expires_at`.
    pub fn issue(
        &self,
        user: &User,
        session_id: &str,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<String, Error> {
        let claims = Claims {
            sub: user.id.clone(),
            role: user.role,
            tid: user.tenant_id.clone(),
            sid: Some(session_id.to_owned()),
            iat: now.timestamp(),
            exp: expires_at.timestamp(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding).map_err(Error::internal)
    }

    /// Verifies signature and expiry (no leeway: an expired token is expired).
    pub fn verify(&self, token: &str) -> Option<Claims> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "sub"]);
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation).ok().map(|d| d.claims)
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(example = json!({"token": "eyJhbGciOiJIUzI1NiJ9...", "expires_at": "2026-11-21T20:00:00Z", "user": {"id": "usr_01jd5x...", "email": "admin@sunrise.example", "name": "Asha Rao", "role": "TENANT_ADMIN", "tenant_id": "ten_01jd5x...", "must_change_password": false}}))]
pub struct LoginResponse {
    pub token: String,
    pub expires_at: DateTime<Utc>,
    pub user: UserView,
}

/// `POST /auth/login`. A wrong email and a wrong password are indistinguishable, in the answer
/// and in time (an unknown email still pays for one argon2 verification). Attempts are throttled
/// per (email, client address) and per client address (`login_throttle`); `client` is the
/// address's bucket (`ClientAddr::bucket`).
pub async fn login(
    ports: &Ports,
    jwt: &JwtKeys,
    throttle: &LoginThrottle,
    email: &str,
    client: &str,
    password: SecretString,
) -> Result<LoginResponse, Error> {
    let now = ports.clock.now();
    let email_key = email.trim().to_lowercase();
    let attempt = login_throttle::claim(ports, throttle, &email_key, client).await?;

    let user = match normalize_email(email) {
        Some(e) => Users::new(&*ports.table).find_by_email(&e).await?,
        None => None,
    };
    let hash = user.as_ref().map(|u| u.password_hash.clone()).unwrap_or_else(|| password::dummy_hash().to_string());
    let ok = password::verify(password, hash).await && user.is_some();
    let Some(user) = user.filter(|_| ok) else {
        // The attempt stays counted.
        return Err(Error::unauthenticated("wrong email or password"));
    };
    attempt.succeeded(ports).await?;
    // A deactivated member is told so, but only once the password proved who they are.
    if !user.is_active() {
        return Err(Error::forbidden(
            "account_deactivated",
            "this account has been deactivated; ask your team's admin to reactivate it",
        ));
    }
    let expires_at = jwt.expiry(now);
    let session_id = sessions::start(ports, &user.id, expires_at).await?;
    let token = jwt.issue(&user, &session_id, now, expires_at)?;
    Ok(LoginResponse { token, expires_at, user: UserView::from(&user) })
}

/// `POST /auth/change-password`. The user's other sessions end (a stolen token, or the one
/// signed in with the emailed one-time password, stops working); `session_id`, the caller's, stays.
pub async fn change_password(
    ports: &Ports,
    user: &User,
    session_id: &str,
    current: SecretString,
    new: SecretString,
) -> Result<(), Error> {
    let mut errors = password::check_policy("new_password", new.expose_secret());
    if new.expose_secret() == current.expose_secret() {
        errors.push(FieldError::new("new_password", "unchanged", "must differ from the current password"));
    }
    if !password::verify(current, user.password_hash.clone()).await {
        // The caller is authenticated; a wrong current password is a validation failure of that
        // field, not a 401 (which clients treat as "log in again").
        return Err(Error::validation(vec![FieldError::new(
            "current_password",
            "incorrect",
            "is not your current password",
        )]));
    }
    if !errors.is_empty() {
        return Err(Error::validation(errors));
    }
    let hash = password::hash(new).await.map_err(Error::internal)?;
    Users::new(&*ports.table).set_password(&user.id, &hash, false, ports.clock.now()).await?;
    sessions::end_all_for_user(ports, &user.id, Some(session_id)).await?;
    Ok(())
}

/// Creates the configured super admin if no user has that email yet. Idempotent and safe to
/// run from several processes at once (the email item's condition decides the winner).
/// Returns true when it created the user.
pub async fn bootstrap_super_admin(ports: &Ports, admin: &SuperAdminBootstrap) -> Result<bool, Error> {
    let Some(email) = normalize_email(&admin.email) else {
        return Err(Error::internal("SUPER_ADMIN_EMAIL is not a valid email address"));
    };
    let users = Users::new(&*ports.table);
    if users.find_by_email(&email).await?.is_some() {
        return Ok(false);
    }
    let now = ports.clock.now();
    let user = User {
        id: ports.ids.new_id("usr"),
        email,
        name: "Super admin".into(),
        role: Role::SuperAdmin,
        tenant_id: None,
        password_hash: password::hash(admin.password.clone()).await.map_err(Error::internal)?,
        // A generated password was printed to a console: make the operator choose their own.
        must_change_password: admin.generated,
        status: Default::default(),
        created_at: now,
        updated_at: now,
    };
    Ok(users.create(&user).await?)
}
