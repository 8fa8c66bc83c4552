//! The onboarding steps `POST /whatsapp/connect` runs, in order. Each step is idempotent (running
//! it again after a crash or a retry does no harm) and records what it learned on the connection,
//! which the runner saves after every step, so a retry resumes at the first step not done.
//!
//! **Extension point.** [`STEPS`] is the whole list. Steps that need a usable token and WABA
//! (template sync, installing the platform template library) implement [`ConnectStep`] in their
//! own module and are appended to [`STEPS`] after [`FetchProfile`]; connections stored before a
//! step existed get it as `pending` ([`super::connect`] normalises the step list), so the next
//! retry runs it.

use async_trait::async_trait;
use rand::Rng;
use secrecy::{ExposeSecret, SecretString};

use crate::domain::Kind;
use crate::ports::Ports;
use crate::ports::meta::{Disposition, MetaError, PhoneNumber, TokenInfo};
use crate::store::whatsapp::{ClaimError, WhatsappStore};

use super::connection::{Connection, StepError, Throughput};

/// The ordered onboarding steps. Append new steps at the end (see the module docs).
pub static STEPS: &[&dyn ConnectStep] = &[
    &ExchangeCode,
    &ValidateToken,
    &FetchPhoneNumbers,
    &ClaimNumber,
    &SubscribeApp,
    &RegisterPhone,
    &FetchProfile,
    &crate::domain::templates::connect_steps::SyncTemplates,
    &crate::domain::templates::connect_steps::InstallLibrary,
];

/// Scopes Embedded Signup must grant on the WABA.
pub const MANAGEMENT_SCOPE: &str = "whatsapp_business_management";
pub const MESSAGING_SCOPE: &str = "whatsapp_business_messaging";

#[async_trait]
pub trait ConnectStep: Send + Sync {
    /// Stable snake_case name, shown in `steps[].name`.
    fn name(&self) -> &'static str;
    async fn run(&self, ctx: &mut StepCtx<'_>) -> Result<(), StepFailure>;
}

/// What a step works with: the ports, the connection being built, the code (when the request
/// brought one) and the business token (opened from the vault at most once per run).
pub struct StepCtx<'a> {
    pub ports: &'a Ports,
    pub conn: &'a mut Connection,
    pub code: Option<&'a SecretString>,
    token: Option<SecretString>,
}

impl<'a> StepCtx<'a> {
    pub fn new(ports: &'a Ports, conn: &'a mut Connection, code: Option<&'a SecretString>) -> Self {
        Self { ports, conn, code, token: None }
    }

    /// Hands a token opened by an earlier step of the same run.
    pub fn set_token(&mut self, token: SecretString) {
        self.token = Some(token);
    }

    pub fn take_token(&mut self) -> Option<SecretString> {
        self.token.take()
    }

    pub fn tenant_id(&self) -> String {
        self.conn.tenant_id.clone()
    }

    /// The business token: the one just exchanged, or the sealed one from an earlier run.
    pub async fn token(&mut self) -> Result<SecretString, StepFailure> {
        if let Some(t) = &self.token {
            return Ok(t.clone());
        }
        let Some(sealed) = self.conn.sealed_token.clone() else {
            return Err(StepFailure::new(
                Kind::Invalid,
                "code_required",
                "there is no WhatsApp token to resume with: run Embedded Signup again",
            ));
        };
        let token = self.ports.vault.open(&self.conn.tenant_id, &sealed).await.map_err(StepFailure::vault)?;
        self.token = Some(token.clone());
        Ok(token)
    }

    /// The WABA chosen by [`ValidateToken`].
    pub fn waba_id(&self) -> Result<String, StepFailure> {
        self.conn.waba_id.clone().ok_or_else(|| StepFailure::internal("step ran before the WABA was known"))
    }

    /// The number chosen by [`FetchPhoneNumbers`].
    pub fn phone_number_id(&self) -> Result<String, StepFailure> {
        self.conn.phone_number_id.clone().ok_or_else(|| StepFailure::internal("step ran before the number was known"))
    }
}

/// A failed step: the HTTP answer for the connect request and the error recorded on the step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepFailure {
    pub kind: Kind,
    pub code: &'static str,
    pub message: String,
    pub meta_code: Option<i64>,
    /// Meta refused the token (190): the connection becomes `needs_reauth`.
    pub reauth: bool,
    pub retry_after: Option<u64>,
}

impl StepFailure {
    pub fn new(kind: Kind, code: &'static str, message: impl Into<String>) -> Self {
        Self { kind, code, message: message.into(), meta_code: None, reauth: false, retry_after: None }
    }

    fn unprocessable(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(Kind::Invalid, code, message)
    }

    /// A failure on our side; the cause is logged, the step says only that it failed.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(error = %cause, "connect step failed internally");
        Self::new(Kind::Internal, "internal_error", "something went wrong on our side; retry")
    }

    pub fn vault(e: crate::ports::vault::VaultError) -> Self {
        match e {
            crate::ports::vault::VaultError::Unavailable(cause) => {
                tracing::error!(error = %cause, "vault unavailable during connect");
                let mut f =
                    Self::new(Kind::Unavailable, "service_unavailable", "the key service is unavailable; retry");
                f.retry_after = Some(5);
                f
            }
            other => Self::internal(other),
        }
    }

    pub fn table(e: crate::ports::table::TableError) -> Self {
        match e {
            crate::ports::table::TableError::Throttled | crate::ports::table::TableError::Unavailable(_) => {
                let mut f = Self::new(Kind::Unavailable, "service_unavailable", "the store is busy; retry");
                f.retry_after = Some(1);
                f
            }
            other => Self::internal(other),
        }
    }

    /// Meta's answer to `what` (e.g. "the code exchange"). Every Meta failure is a 502 (SPEC):
    /// `meta_rejected` (permanent, Meta's message), `meta_unavailable` (transient, retry later)
    /// or `whatsapp_needs_reauth` (the token expired or was revoked).
    pub fn meta(what: &str, e: &MetaError) -> Self {
        let meta_message = match e {
            MetaError::Api { message, details, .. } => match details {
                Some(d) if !d.is_empty() && !message.contains(d.as_str()) => format!("{message} ({d})"),
                _ => message.clone(),
            },
            other => other.to_string(),
        };
        let (code, message, retry_after, reauth) = match e.disposition() {
            Disposition::ReauthRequired => (
                "whatsapp_needs_reauth",
                format!("Meta refused the WhatsApp token during {what}: {meta_message}. Run Embedded Signup again."),
                None,
                true,
            ),
            Disposition::Retry => (
                "meta_unavailable",
                format!("Meta did not complete {what}: {meta_message}. Retry in a moment."),
                Some(5),
                false,
            ),
            Disposition::Permanent => ("meta_rejected", format!("Meta rejected {what}: {meta_message}"), None, false),
        };
        Self { kind: Kind::Upstream { meta_code: e.code() }, code, message, meta_code: e.code(), reauth, retry_after }
    }

    pub fn step_error(&self) -> StepError {
        StepError { code: self.code.to_string(), message: self.message.clone(), meta_code: self.meta_code }
    }
}

// --- the built-in steps ------------------------------------------------------------------------

/// `GET /oauth/access_token`: the browser's code for the business token, sealed at once.
pub struct ExchangeCode;

#[async_trait]
impl ConnectStep for ExchangeCode {
    fn name(&self) -> &'static str {
        "exchange_code"
    }
    async fn run(&self, ctx: &mut StepCtx<'_>) -> Result<(), StepFailure> {
        let Some(code) = ctx.code else {
            return Err(StepFailure::unprocessable(
                "code_required",
                "the signup code is needed to continue: run Embedded Signup again",
            ));
        };
        let token = ctx
            .ports
            .meta
            .exchange_code(code.expose_secret())
            .await
            .map_err(|e| StepFailure::meta("the code exchange", &e))?;
        let sealed = ctx.ports.vault.seal(&ctx.conn.tenant_id, &token).await.map_err(StepFailure::vault)?;
        ctx.conn.sealed_token = Some(sealed);
        ctx.token = Some(token);
        Ok(())
    }
}

/// `GET /debug_token`: the token is valid and grants both WhatsApp scopes on one WABA (the one
/// the browser reported, or the only one granted).
pub struct ValidateToken;

#[async_trait]
impl ConnectStep for ValidateToken {
    fn name(&self) -> &'static str {
        "validate_token"
    }
    async fn run(&self, ctx: &mut StepCtx<'_>) -> Result<(), StepFailure> {
        let token = ctx.token().await?;
        let info = ctx.ports.meta.debug_token(&token).await.map_err(|e| StepFailure::meta("the token check", &e))?;
        if !info.is_valid {
            let mut f = StepFailure::new(
                Kind::Upstream { meta_code: None },
                "whatsapp_needs_reauth",
                "Meta reports the WhatsApp token as invalid: run Embedded Signup again",
            );
            f.reauth = true;
            return Err(f);
        }
        let waba_id = choose_waba(&info, ctx.conn.requested_waba_id.as_deref())?;
        ctx.conn.token_expires_at = Some(info.expires_at);
        ctx.conn.waba_id = Some(waba_id);
        Ok(())
    }
}

/// The assets a granular scope covers: `None` when the scope was not granted, `Some(empty)` when
/// it covers every asset the user shared.
fn scope_targets<'i>(info: &'i TokenInfo, scope: &str) -> Option<Vec<&'i str>> {
    let mut found = None;
    for s in info.granular_scopes.iter().filter(|s| s.scope == scope) {
        found.get_or_insert_with(Vec::new).extend(s.target_ids.iter().map(String::as_str));
    }
    found.or_else(|| info.scopes.iter().any(|s| s == scope).then(Vec::new))
}

pub fn choose_waba(info: &TokenInfo, requested: Option<&str>) -> Result<String, StepFailure> {
    let missing = |scope: &str| {
        StepFailure::unprocessable(
            "missing_permission",
            format!("the signup did not grant {scope}: run Embedded Signup again and keep every permission"),
        )
    };
    let management = scope_targets(info, MANAGEMENT_SCOPE).ok_or_else(|| missing(MANAGEMENT_SCOPE))?;
    let messaging = scope_targets(info, MESSAGING_SCOPE).ok_or_else(|| missing(MESSAGING_SCOPE))?;
    let covers = |targets: &[&str], waba: &str| targets.is_empty() || targets.contains(&waba);
    if let Some(waba) = requested {
        if !covers(&management, waba) || !covers(&messaging, waba) {
            return Err(StepFailure::unprocessable(
                "waba_not_granted",
                format!("the token does not grant both WhatsApp permissions on WhatsApp Business Account {waba}"),
            ));
        }
        return Ok(waba.to_string());
    }
    let candidates: Vec<&str> = management.iter().copied().filter(|w| covers(&messaging, w)).collect();
    match candidates.as_slice() {
        [one] => Ok((*one).to_string()),
        [] => Err(StepFailure::unprocessable(
            "no_waba_granted",
            "the signup did not share a WhatsApp Business Account with both permissions",
        )),
        many => Err(StepFailure::unprocessable(
            "waba_ambiguous",
            format!("the signup shared {} WhatsApp Business Accounts: send waba_id to choose one", many.len()),
        )),
    }
}

/// `GET /{waba}/phone_numbers`: the number to connect (the browser's, or the only one).
pub struct FetchPhoneNumbers;

#[async_trait]
impl ConnectStep for FetchPhoneNumbers {
    fn name(&self) -> &'static str {
        "fetch_phone_numbers"
    }
    async fn run(&self, ctx: &mut StepCtx<'_>) -> Result<(), StepFailure> {
        let token = ctx.token().await?;
        let waba_id = ctx.waba_id()?;
        let numbers = ctx
            .ports
            .meta
            .list_phone_numbers(&token, &waba_id)
            .await
            .map_err(|e| StepFailure::meta("listing the phone numbers", &e))?;
        let phone = choose_phone(&numbers, ctx.conn.requested_phone_number_id.as_deref(), &waba_id)?;
        apply_phone(ctx.conn, phone);
        Ok(())
    }
}

pub fn choose_phone<'n>(
    numbers: &'n [PhoneNumber],
    requested: Option<&str>,
    waba_id: &str,
) -> Result<&'n PhoneNumber, StepFailure> {
    if numbers.is_empty() {
        // Embedded Signup's FINISH_ONLY_WABA: the business shared a WABA but no number.
        return Err(StepFailure::unprocessable(
            "no_phone_number",
            format!(
                "WhatsApp Business Account {waba_id} has no phone number yet: add and verify one in WhatsApp Manager \
                 (or run Embedded Signup again with a number), then retry"
            ),
        ));
    }
    if let Some(id) = requested {
        return numbers.iter().find(|p| p.id == id).ok_or_else(|| {
            StepFailure::unprocessable(
                "phone_number_not_found",
                format!("phone number {id} is not in WhatsApp Business Account {waba_id}"),
            )
        });
    }
    match numbers {
        [one] => Ok(one),
        many => Err(StepFailure::unprocessable(
            "phone_number_ambiguous",
            format!(
                "WhatsApp Business Account {waba_id} has {} phone numbers: send phone_number_id to choose one",
                many.len()
            ),
        )),
    }
}

fn apply_phone(conn: &mut Connection, phone: &PhoneNumber) {
    conn.phone_number_id = Some(phone.id.clone());
    if !phone.display_phone_number.is_empty() {
        conn.display_phone_number = Some(phone.display_phone_number.clone());
    }
    if !phone.verified_name.is_empty() {
        conn.business_name = Some(phone.verified_name.clone());
    }
    if phone.quality_rating.is_some() {
        conn.quality_rating = phone.quality_rating.clone();
    }
    if phone.messaging_limit_tier.is_some() {
        conn.messaging_limit = phone.messaging_limit_tier.clone();
    }
    if let Some(t) = &phone.throughput {
        conn.throughput = Some(Throughput::from_level(&t.level));
    }
}

/// The routing items: one tenant per number (409 when another tenant has it) and per WABA.
pub struct ClaimNumber;

#[async_trait]
impl ConnectStep for ClaimNumber {
    fn name(&self) -> &'static str {
        "claim_number"
    }
    async fn run(&self, ctx: &mut StepCtx<'_>) -> Result<(), StepFailure> {
        let (waba_id, phone_id, tenant_id) = (ctx.waba_id()?, ctx.phone_number_id()?, ctx.tenant_id());
        let store = WhatsappStore::new(&*ctx.ports.table);
        match store.claim_routes(&tenant_id, &waba_id, &phone_id).await {
            Ok(()) => {}
            Err(ClaimError::PhoneTaken) => {
                return Err(StepFailure::new(
                    Kind::Conflict,
                    "phone_number_in_use",
                    "this WhatsApp number is already connected to another account",
                ));
            }
            Err(ClaimError::WabaTaken) => {
                return Err(StepFailure::new(
                    Kind::Conflict,
                    "waba_in_use",
                    "this WhatsApp Business Account is already connected to another account",
                ));
            }
            Err(ClaimError::Table(e)) => return Err(StepFailure::table(e)),
        }
        // A reconnect to another number or WABA frees what this tenant held before — except
        // what the working connection kept in service holds: that is freed when the attempt
        // completes (its webhooks must keep routing until then).
        let serving = ctx.conn.serving.clone().unwrap_or_default();
        if let Some(old) = ctx.conn.claimed_phone_number_id.clone().filter(|old| *old != phone_id)
            && serving.claimed_phone_number_id.as_ref() != Some(&old)
        {
            store.release_phone(&old, &tenant_id).await.map_err(StepFailure::table)?;
        }
        if let Some(old) = ctx.conn.claimed_waba_id.clone().filter(|old| *old != waba_id)
            && serving.claimed_waba_id.as_ref() != Some(&old)
        {
            store.release_waba(&old, &tenant_id).await.map_err(StepFailure::table)?;
        }
        ctx.conn.claimed_phone_number_id = Some(phone_id);
        ctx.conn.claimed_waba_id = Some(waba_id);
        Ok(())
    }
}

/// `POST /{waba}/subscribed_apps`: Meta sends the WABA's webhooks to the platform.
pub struct SubscribeApp;

#[async_trait]
impl ConnectStep for SubscribeApp {
    fn name(&self) -> &'static str {
        "subscribe_app"
    }
    async fn run(&self, ctx: &mut StepCtx<'_>) -> Result<(), StepFailure> {
        let token = ctx.token().await?;
        let waba_id = ctx.waba_id()?;
        ctx.ports
            .meta
            .subscribe_app(&token, &waba_id)
            .await
            .map_err(|e| StepFailure::meta("the webhook subscription", &e))
    }
}

/// `POST /{phone}/register` with a 6-digit PIN, generated once per number and kept sealed, so a
/// retry registers with the same PIN (Meta refuses a different one once two-step verification is
/// set).
pub struct RegisterPhone;

#[async_trait]
impl ConnectStep for RegisterPhone {
    fn name(&self) -> &'static str {
        "register_phone"
    }
    async fn run(&self, ctx: &mut StepCtx<'_>) -> Result<(), StepFailure> {
        let token = ctx.token().await?;
        let phone_id = ctx.phone_number_id()?;
        let tenant_id = ctx.tenant_id();
        // The number's PIN if one was set for it: on this attempt, or by the working connection
        // kept in service (a re-connect to the same number).
        let serving = ctx.conn.serving.clone().unwrap_or_default();
        let known = [
            (&ctx.conn.sealed_pin, &ctx.conn.pin_phone_number_id),
            (&serving.sealed_pin, &serving.pin_phone_number_id),
        ]
        .into_iter()
        .find_map(|(sealed, for_phone)| match (sealed, for_phone) {
            (Some(sealed), Some(for_phone)) if *for_phone == phone_id => Some(sealed.clone()),
            _ => None,
        });
        let pin = match known {
            Some(sealed) => {
                let pin = ctx.ports.vault.open(&tenant_id, &sealed).await.map_err(StepFailure::vault)?;
                ctx.conn.sealed_pin = Some(sealed);
                ctx.conn.pin_phone_number_id = Some(phone_id.clone());
                pin
            }
            _ => {
                let pin = generate_pin();
                ctx.conn.sealed_pin = Some(ctx.ports.vault.seal(&tenant_id, &pin).await.map_err(StepFailure::vault)?);
                ctx.conn.pin_phone_number_id = Some(phone_id.clone());
                pin
            }
        };
        ctx.ports
            .meta
            .register_phone(&token, &phone_id, &pin)
            .await
            .map_err(|e| StepFailure::meta("the phone number registration", &e))
    }
}

/// Six random digits (OS randomness): the number's two-step verification PIN.
pub fn generate_pin() -> SecretString {
    let n: u32 = rand::rngs::OsRng.gen_range(0..1_000_000);
    SecretString::from(format!("{n:06}"))
}

/// `GET /{phone}`: business name, display number, quality rating, messaging limit, throughput,
/// as Meta reports them once the number is registered.
pub struct FetchProfile;

#[async_trait]
impl ConnectStep for FetchProfile {
    fn name(&self) -> &'static str {
        "fetch_profile"
    }
    async fn run(&self, ctx: &mut StepCtx<'_>) -> Result<(), StepFailure> {
        let token = ctx.token().await?;
        let phone_id = ctx.phone_number_id()?;
        let phone = ctx
            .ports
            .meta
            .get_phone_number(&token, &phone_id)
            .await
            .map_err(|e| StepFailure::meta("reading the phone number", &e))?;
        apply_phone(ctx.conn, &phone);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::meta::GranularScope;

    fn info(scopes: &[(&str, &[&str])]) -> TokenInfo {
        TokenInfo {
            app_id: "1".into(),
            token_type: None,
            application: None,
            is_valid: true,
            expires_at: 0,
            scopes: vec![],
            granular_scopes: scopes
                .iter()
                .map(|(s, t)| GranularScope {
                    scope: s.to_string(),
                    target_ids: t.iter().map(|x| x.to_string()).collect(),
                })
                .collect(),
            user_id: None,
        }
    }

    #[test]
    fn the_waba_needs_both_scopes() {
        let both = info(&[(MANAGEMENT_SCOPE, &["10"]), (MESSAGING_SCOPE, &["10"])]);
        assert_eq!(choose_waba(&both, None).unwrap(), "10");
        assert_eq!(choose_waba(&both, Some("10")).unwrap(), "10");
        assert_eq!(choose_waba(&both, Some("11")).unwrap_err().code, "waba_not_granted");

        let only_management = info(&[(MANAGEMENT_SCOPE, &["10"])]);
        let e = choose_waba(&only_management, None).unwrap_err();
        assert_eq!((e.code, e.kind), ("missing_permission", Kind::Invalid));
        assert!(e.message.contains(MESSAGING_SCOPE));

        let messaging_elsewhere = info(&[(MANAGEMENT_SCOPE, &["10"]), (MESSAGING_SCOPE, &["12"])]);
        assert_eq!(choose_waba(&messaging_elsewhere, None).unwrap_err().code, "no_waba_granted");
        assert_eq!(choose_waba(&messaging_elsewhere, Some("10")).unwrap_err().code, "waba_not_granted");

        let two = info(&[(MANAGEMENT_SCOPE, &["10", "11"]), (MESSAGING_SCOPE, &[])]);
        assert_eq!(choose_waba(&two, None).unwrap_err().code, "waba_ambiguous");
        assert_eq!(choose_waba(&two, Some("11")).unwrap(), "11", "an empty target list covers every asset");
    }

    fn phone(id: &str) -> PhoneNumber {
        PhoneNumber {
            id: id.into(),
            display_phone_number: "+1 555".into(),
            verified_name: "Acme".into(),
            quality_rating: Some("GREEN".into()),
            code_verification_status: None,
            platform_type: None,
            throughput: None,
            messaging_limit_tier: Some("TIER_1K".into()),
            name_status: None,
            status: None,
        }
    }

    #[test]
    fn choosing_the_number() {
        let e = choose_phone(&[], None, "10").unwrap_err();
        assert_eq!(e.code, "no_phone_number");
        assert!(e.message.contains("no phone number"));
        assert_eq!(choose_phone(&[phone("1")], None, "10").unwrap().id, "1");
        let two = [phone("1"), phone("2")];
        assert_eq!(choose_phone(&two, None, "10").unwrap_err().code, "phone_number_ambiguous");
        assert_eq!(choose_phone(&two, Some("2"), "10").unwrap().id, "2");
        assert_eq!(choose_phone(&two, Some("3"), "10").unwrap_err().code, "phone_number_not_found");
    }

    #[test]
    fn pins_are_six_digits() {
        for _ in 0..100 {
            let pin = generate_pin();
            assert_eq!(pin.expose_secret().len(), 6);
            assert!(pin.expose_secret().bytes().all(|b| b.is_ascii_digit()));
        }
    }

    #[test]
    fn meta_failures_are_502_with_metas_message() {
        let rejected = MetaError::Api {
            status: 400,
            code: 100,
            subcode: None,
            error_type: None,
            title: None,
            message: "Invalid verification code format.".into(),
            details: None,
            fbtrace_id: None,
        };
        let f = StepFailure::meta("the code exchange", &rejected);
        assert_eq!(
            (f.kind, f.code, f.meta_code, f.reauth),
            (Kind::Upstream { meta_code: Some(100) }, "meta_rejected", Some(100), false)
        );
        assert!(f.message.contains("Invalid verification code format."));
        let expired = MetaError::Api {
            status: 401,
            code: 190,
            subcode: Some(463),
            error_type: None,
            title: None,
            message: "Session has expired".into(),
            details: None,
            fbtrace_id: None,
        };
        assert!(StepFailure::meta("x", &expired).reauth);
        let f = StepFailure::meta("x", &MetaError::Timeout);
        assert_eq!((f.code, f.retry_after), ("meta_unavailable", Some(5)));
    }
}
