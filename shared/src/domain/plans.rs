//! Subscription plans: what a tenant pays and the limits it gets. Managed by the super admin.

use serde::Deserialize;
use serde_json::Value;

use crate::domain::money::Money;
use crate::domain::{Error, FieldError};
use crate::ports::Ports;
use crate::store::plans::{DeletePlan, Plans};

pub mod model;
pub use model::{Plan, PlanChanges};

pub const MAX_NAME_LEN: usize = 100;
pub const MAX_MESSAGES_PER_SECOND: i64 = 1000;
/// The longest media retention a plan may have: the bucket's longest tagged lifecycle rule.
pub const MAX_MEDIA_RETENTION_DAYS: i64 = 365;

/// `POST /plans` body (every field required; `PATCH /plans/{id}` takes [`PlanPatch`]). Money
/// arrives as a string or a number and is validated here (422 per field); wrong JSON types are
/// 400s from the extractor. The fields are options so that a missing one is a 422 naming it.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[schema(example = json!({"name": "Growth", "price": "1499.00", "currency": "INR", "monthly_message_limit": 10000, "contact_limit": 5000, "template_limit": 50, "api_key_limit": 5, "messages_per_second": 80, "seat_limit": 5, "media_retention_days": 90}))]
#[serde(deny_unknown_fields)]
pub struct PlanInput {
    #[schema(required = true, nullable = false)]
    pub name: Option<String>,
    /// Exact decimal, as a string (`"1499.00"`) or a number.
    #[schema(required = true)]
    pub price: Option<Value>,
    #[schema(required = true, nullable = false)]
    pub currency: Option<String>,
    #[schema(required = true, nullable = false)]
    pub monthly_message_limit: Option<i64>,
    #[schema(required = true, nullable = false)]
    pub contact_limit: Option<i64>,
    #[schema(required = true, nullable = false)]
    pub template_limit: Option<i64>,
    #[schema(required = true, nullable = false)]
    pub api_key_limit: Option<i64>,
    #[schema(required = true, nullable = false)]
    pub messages_per_second: Option<i64>,
    /// Active members (admins and agents) a tenant may have; absent: no limit.
    #[schema(nullable = false)]
    pub seat_limit: Option<i64>,
    /// Days stored media files are kept, 1 to 365 (then deleted, their messages showing
    /// `media.status: "expired"`); absent: kept (on AWS at most 400 days).
    #[schema(nullable = false, minimum = 1, maximum = 365)]
    pub media_retention_days: Option<i64>,
}

/// `PATCH /plans/{id}` body: any of [`PlanInput`]'s fields.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[schema(example = json!({"price": "1599.00", "messages_per_second": 80}))]
#[serde(deny_unknown_fields)]
pub struct PlanPatch {
    pub name: Option<String>,
    /// Exact decimal, as a string (`"1499.00"`) or a number.
    pub price: Option<Value>,
    pub currency: Option<String>,
    pub monthly_message_limit: Option<i64>,
    pub contact_limit: Option<i64>,
    pub template_limit: Option<i64>,
    pub api_key_limit: Option<i64>,
    pub messages_per_second: Option<i64>,
    pub seat_limit: Option<i64>,
    pub media_retention_days: Option<i64>,
}

impl From<PlanPatch> for PlanInput {
    fn from(p: PlanPatch) -> Self {
        PlanInput {
            name: p.name,
            price: p.price,
            currency: p.currency,
            monthly_message_limit: p.monthly_message_limit,
            contact_limit: p.contact_limit,
            template_limit: p.template_limit,
            api_key_limit: p.api_key_limit,
            messages_per_second: p.messages_per_second,
            seat_limit: p.seat_limit,
            media_retention_days: p.media_retention_days,
        }
    }
}

pub fn is_currency_code(s: &str) -> bool {
    s.len() == 3 && s.bytes().all(|b| b.is_ascii_uppercase())
}

/// Validates `input`; with `require_all` (create) every field must be present.
pub fn validate(input: PlanInput, require_all: bool) -> Result<PlanChanges, Error> {
    let mut errors = Vec::new();
    let mut out = PlanChanges::default();
    let required = |field: &str, present: bool, errors: &mut Vec<FieldError>| {
        if require_all && !present {
            errors.push(FieldError::new(field, "required", "is required"));
        }
    };

    required("name", input.name.is_some(), &mut errors);
    if let Some(name) = input.name {
        let name = name.trim().to_string();
        if name.is_empty() {
            errors.push(FieldError::new("name", "required", "must not be blank"));
        } else if name.chars().count() > MAX_NAME_LEN {
            errors.push(FieldError::new("name", "too_long", format!("must be at most {MAX_NAME_LEN} characters")));
        } else if crate::domain::text::has_control(&name) {
            errors.push(crate::domain::text::control_error("name"));
        } else {
            out.name = Some(name);
        }
    }
    required("price", input.price.is_some(), &mut errors);
    if let Some(price) = input.price {
        match Money::from_json(&price) {
            Ok(p) if p.is_negative() => errors.push(FieldError::new("price", "negative", "must not be negative")),
            Ok(p) => out.price = Some(p),
            Err(e) => errors.push(FieldError::new("price", e.code(), e.to_string())),
        }
    }
    required("currency", input.currency.is_some(), &mut errors);
    if let Some(currency) = input.currency {
        if is_currency_code(&currency) {
            out.currency = Some(currency);
        } else {
            errors.push(FieldError::new(
                "currency",
                "invalid_currency",
                "must be an ISO 4217 code in upper case, e.g. INR",
            ));
        }
    }
    let limits = [
        ("monthly_message_limit", input.monthly_message_limit, &mut out.monthly_message_limit),
        ("contact_limit", input.contact_limit, &mut out.contact_limit),
        ("template_limit", input.template_limit, &mut out.template_limit),
        ("api_key_limit", input.api_key_limit, &mut out.api_key_limit),
    ];
    for (field, value, slot) in limits {
        required(field, value.is_some(), &mut errors);
        match value {
            Some(n) if n < 0 => errors.push(FieldError::new(field, "negative", "must not be negative")),
            Some(n) => *slot = Some(n as u64),
            None => {}
        }
    }
    required("messages_per_second", input.messages_per_second.is_some(), &mut errors);
    match input.messages_per_second {
        Some(n) if !(1..=MAX_MESSAGES_PER_SECOND).contains(&n) => errors.push(FieldError::new(
            "messages_per_second",
            "out_of_range",
            format!("must be between 1 and {MAX_MESSAGES_PER_SECOND}"),
        )),
        Some(n) => out.messages_per_second = Some(n as u32),
        None => {}
    }
    // Optional (a plan without it has no seat limit); a tenant always keeps its first admin.
    match input.seat_limit {
        Some(n) if n < 1 => errors.push(FieldError::new("seat_limit", "out_of_range", "must be at least 1")),
        Some(n) => out.seat_limit = Some(n as u64),
        None => {}
    }
    match input.media_retention_days {
        Some(n) if !(1..=MAX_MEDIA_RETENTION_DAYS).contains(&n) => errors.push(FieldError::new(
            "media_retention_days",
            "out_of_range",
            format!("must be between 1 and {MAX_MEDIA_RETENTION_DAYS}"),
        )),
        Some(n) => out.media_retention_days = Some(n as u64),
        None => {}
    }
    if errors.is_empty() { Ok(out) } else { Err(Error::validation(errors)) }
}

pub async fn create(ports: &Ports, input: PlanInput) -> Result<Plan, Error> {
    let c = validate(input, true)?;
    let now = ports.clock.now();
    let missing = || Error::internal("validated plan field missing");
    let plan = Plan {
        id: ports.ids.new_id("plan"),
        name: c.name.ok_or_else(missing)?,
        price: c.price.ok_or_else(missing)?,
        currency: c.currency.ok_or_else(missing)?,
        monthly_message_limit: c.monthly_message_limit.ok_or_else(missing)?,
        contact_limit: c.contact_limit.ok_or_else(missing)?,
        template_limit: c.template_limit.ok_or_else(missing)?,
        api_key_limit: c.api_key_limit.ok_or_else(missing)?,
        messages_per_second: c.messages_per_second.ok_or_else(missing)?,
        seat_limit: c.seat_limit,
        media_retention_days: c.media_retention_days,
        created_at: now,
        updated_at: now,
    };
    Plans::new(&*ports.table).create(&plan).await?;
    Ok(plan)
}

pub async fn get(ports: &Ports, plan_id: &str) -> Result<Plan, Error> {
    Plans::new(&*ports.table).get(plan_id).await?.ok_or_else(|| Error::not_found("plan"))
}

pub async fn update(ports: &Ports, plan_id: &str, input: PlanInput) -> Result<Plan, Error> {
    let changes = validate(input, false)?;
    let plans = Plans::new(&*ports.table);
    if changes.is_empty() {
        return get(ports, plan_id).await;
    }
    plans.update(plan_id, &changes, ports.clock.now()).await?.ok_or_else(|| Error::not_found("plan"))
}

pub async fn delete(ports: &Ports, plan_id: &str) -> Result<(), Error> {
    match Plans::new(&*ports.table).delete(plan_id).await? {
        DeletePlan::Deleted => Ok(()),
        DeletePlan::NotFound => Err(Error::not_found("plan")),
        DeletePlan::InUse => {
            Err(Error::conflict("plan_in_use", "tenants are on this plan; move them to another plan first"))
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn input(v: Value) -> PlanInput {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn create_requires_every_field_and_names_each_bad_one() {
        let err = validate(input(json!({})), true).unwrap_err();
        assert_eq!(err.details.len(), 8);
        let err = validate(
            input(json!({"name": " ", "price": "1.00001", "currency": "usd", "monthly_message_limit": -1,
                "contact_limit": 0, "template_limit": 0, "api_key_limit": 0, "messages_per_second": 1001})),
            true,
        )
        .unwrap_err();
        let fields: Vec<(&str, &str)> = err.details.iter().map(|d| (d.field.as_str(), d.code.as_str())).collect();
        assert_eq!(
            fields,
            [
                ("name", "required"),
                ("price", "too_many_decimals"),
                ("currency", "invalid_currency"),
                ("monthly_message_limit", "negative"),
                ("messages_per_second", "out_of_range")
            ]
        );
    }

    #[test]
    fn patch_takes_any_subset() {
        let e = validate(input(json!({"media_retention_days": 0})), false).unwrap_err();
        assert_eq!((e.details[0].field.as_str(), e.details[0].code.as_str()), ("media_retention_days", "out_of_range"));
        assert_eq!(validate(input(json!({"media_retention_days": 366})), false).unwrap_err().details.len(), 1);
        assert_eq!(validate(input(json!({"media_retention_days": 30})), false).unwrap().media_retention_days, Some(30));
        let c = validate(input(json!({"price": 0.7846})), false).unwrap();
        assert_eq!(c.price, Some(Money::from_units(7846)));
        assert!(c.name.is_none());
        assert!(validate(input(json!({})), false).unwrap().is_empty());
        assert_eq!(validate(input(json!({"price": "-1"})), false).unwrap_err().details[0].code, "negative");
    }
}
