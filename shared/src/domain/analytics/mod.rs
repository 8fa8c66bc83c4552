//! Analytics (SPEC → Analytics): daily counters per tenant and per template, read per date range.
//! How they are moved: [`counters`]. Keys and shard arithmetic: `docs/data-model.md`.

use std::collections::BTreeMap;

use chrono::{Days, NaiveDate};
use futures_util::future::try_join_all;
use serde::{Deserialize, Serialize};

use crate::domain::money::Money;
use crate::domain::tenants::model::Tenant;
use crate::domain::{Error, FieldError};
use crate::ports::Ports;
use crate::ports::table::{Item, Query, SkCond, TableError};
use crate::store::keys;
use crate::store::tenants::Tenants;

pub mod counters;

/// The longest range one request may ask for, in days (both ends included).
pub const MAX_RANGE_DAYS: u64 = 366;
/// The range when none is given: the last 30 days, today included.
pub const DEFAULT_RANGE_DAYS: u64 = 30;

/// `?from=&to=` (local dates, `YYYY-MM-DD`, both included).
#[derive(Clone, Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RangeQuery {
    /// First day, `YYYY-MM-DD` (default: 29 days before `to`).
    pub from: Option<String>,
    /// Last day, `YYYY-MM-DD` (default: today in the tenant's time zone).
    pub to: Option<String>,
}

/// A validated range of days.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Range {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

impl Range {
    /// Every day of the range, in order.
    pub fn days(self) -> impl Iterator<Item = NaiveDate> {
        self.from.iter_days().take_while(move |d| *d <= self.to)
    }

    fn bounds(self) -> SkCond {
        // `~` sorts after `#`: the upper bound takes in `D#<to>` and `D#<to>#<template>...`.
        SkCond::Between(keys::daily_sk(&date(self.from)), format!("{}~", keys::daily_sk(&date(self.to))))
    }
}

fn date(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

/// Validates `?from=&to=` against `today` (the caller's local date): both parse, `from ≤ to`,
/// at most [`MAX_RANGE_DAYS`] days. Every bad field is named (422 `validation_failed`).
pub fn range(query: &RangeQuery, today: NaiveDate) -> Result<Range, Error> {
    let mut errors = Vec::new();
    let mut parse = |field: &str, value: &Option<String>| match value.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(v) => match NaiveDate::parse_from_str(v, "%Y-%m-%d") {
            Ok(d) => Some(d),
            Err(_) => {
                errors.push(FieldError::new(field, "invalid_date", "must be a date, YYYY-MM-DD"));
                None
            }
        },
    };
    let (from, to) = (parse("from", &query.from), parse("to", &query.to));
    if !errors.is_empty() {
        return Err(Error::validation(errors));
    }
    let to = to.unwrap_or(today);
    let from = from.unwrap_or_else(|| to.checked_sub_days(Days::new(DEFAULT_RANGE_DAYS - 1)).unwrap_or(to));
    if from > to {
        return Err(Error::validation(vec![FieldError::new("to", "before_from", "must not be before `from`")]));
    }
    if (to - from).num_days() as u64 >= MAX_RANGE_DAYS {
        return Err(Error::validation(vec![FieldError::new(
            "to",
            "range_too_long",
            format!("the range may cover at most {MAX_RANGE_DAYS} days"),
        )]));
    }
    Ok(Range { from, to })
}

/// Cost per pricing category, net of refunds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct CostByCategory {
    pub marketing: Money,
    pub utility: Money,
    pub authentication: Money,
    pub service: Money,
}

/// One day of a tenant (SPEC `GET /analytics/daily`). The funnel counts each outbound message of
/// the day in its current status (`read` is also delivered and sent; `failed` is only failed).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[schema(example = json!({"date": "2026-03-01", "sent": 120, "delivered": 110, "read": 80, "failed": 3, "inbound": 42,
    "cost": {"marketing": "80.00", "utility": "1.20", "authentication": "0.00", "service": "0.00"},
    "credits_debited": "83.60", "credits_refunded": "2.40"}))]
pub struct DayCounts {
    /// The local date (`YYYY-MM-DD`, the tenant's time zone).
    pub date: String,
    pub sent: i64,
    pub delivered: i64,
    pub read: i64,
    pub failed: i64,
    pub inbound: i64,
    pub cost: CostByCategory,
    pub credits_debited: Money,
    pub credits_refunded: Money,
}

impl DayCounts {
    fn zero(date: NaiveDate) -> Self {
        Self { date: self::date(date), ..Self::default() }
    }

    fn add_item(&mut self, item: &Item) {
        let n = |name: &str| item.get_i64(name).unwrap_or(0);
        let money = |name: &str| Money::from_units(n(name));
        self.add(&DayCounts {
            date: String::new(),
            sent: n("sent"),
            delivered: n("delivered"),
            read: n("read"),
            failed: n("failed"),
            inbound: n("inbound"),
            cost: CostByCategory {
                marketing: money("cost_marketing"),
                utility: money("cost_utility"),
                authentication: money("cost_authentication"),
                service: money("cost_service"),
            },
            credits_debited: money("credits_debited"),
            credits_refunded: money("credits_refunded"),
        });
    }

    /// Adds `other`'s counts (not its date).
    pub fn add(&mut self, other: &DayCounts) {
        let sum = |a: Money, b: Money| Money::from_units(a.units() + b.units());
        self.sent += other.sent;
        self.delivered += other.delivered;
        self.read += other.read;
        self.failed += other.failed;
        self.inbound += other.inbound;
        self.cost.marketing = sum(self.cost.marketing, other.cost.marketing);
        self.cost.utility = sum(self.cost.utility, other.cost.utility);
        self.cost.authentication = sum(self.cost.authentication, other.cost.authentication);
        self.cost.service = sum(self.cost.service, other.cost.service);
        self.credits_debited = sum(self.credits_debited, other.credits_debited);
        self.credits_refunded = sum(self.credits_refunded, other.credits_refunded);
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct DailyReport {
    /// One entry per day of the range, in order; a day without traffic is all zeros.
    pub items: Vec<DayCounts>,
}

/// One template's funnel over the range.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[schema(example = json!({"name": "fee_reminder", "language": "en", "sent": 120, "delivered": 110, "read": 80, "failed": 3}))]
pub struct TemplateCounts {
    pub name: String,
    pub language: String,
    pub sent: i64,
    pub delivered: i64,
    pub read: i64,
    pub failed: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct TemplateReport {
    /// Templates sent in the range, most sent first.
    pub items: Vec<TemplateCounts>,
}

/// Every item of a query (all pages).
async fn query_all(ports: &Ports, query: Query) -> Result<Vec<Item>, TableError> {
    let mut items = Vec::new();
    let mut cursor = None;
    loop {
        let page = ports.table.query(query.clone().limit(500).cursor(cursor)).await?;
        items.extend(page.items);
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => return Ok(items),
        }
    }
}

/// The items of every shard in the range (one query per shard, concurrently).
async fn shards(ports: &Ports, range: Range, pk: impl Fn(u64) -> String) -> Result<Vec<Item>, TableError> {
    let queries = (0..keys::DAILY_SHARDS).map(|s| query_all(ports, Query::table(pk(s)).sk(range.bounds())));
    Ok(try_join_all(queries).await?.into_iter().flatten().collect())
}

/// The tenant's days, every day of `range` present.
pub async fn daily(ports: &Ports, tenant_id: &str, range: Range) -> Result<DailyReport, Error> {
    let items = shards(ports, range, |s| keys::daily_shard(tenant_id, s)).await?;
    let mut days: BTreeMap<NaiveDate, DayCounts> = range.days().map(|d| (d, DayCounts::zero(d))).collect();
    for item in &items {
        let day = item.key().and_then(|k| NaiveDate::parse_from_str(k.sk.strip_prefix("D#")?, "%Y-%m-%d").ok());
        if let Some(counts) = day.and_then(|d| days.get_mut(&d)) {
            counts.add_item(item);
        }
    }
    Ok(DailyReport { items: days.into_values().collect() })
}

/// Today in the tenant's time zone.
pub async fn today(ports: &Ports, tenant_id: &str) -> Result<NaiveDate, Error> {
    let tz = counters::time_zone(ports, tenant_id).await?;
    Ok(tz.date(ports.clock.now()))
}

/// `GET /analytics/daily`.
pub async fn tenant_daily(ports: &Ports, tenant_id: &str, query: &RangeQuery) -> Result<DailyReport, Error> {
    let range = range(query, today(ports, tenant_id).await?)?;
    daily(ports, tenant_id, range).await
}

/// `GET /analytics/templates`: per template (name and language) the funnel over the range.
pub async fn tenant_templates(ports: &Ports, tenant_id: &str, query: &RangeQuery) -> Result<TemplateReport, Error> {
    let range = range(query, today(ports, tenant_id).await?)?;
    let items = shards(ports, range, |s| keys::template_daily_shard(tenant_id, s)).await?;
    let mut templates: BTreeMap<(String, String), TemplateCounts> = BTreeMap::new();
    for item in &items {
        let (Some(name), Some(language)) = (item.get_str("template_name"), item.get_str("language")) else { continue };
        let t = templates.entry((name.to_owned(), language.to_owned())).or_insert_with(|| TemplateCounts {
            name: name.to_owned(),
            language: language.to_owned(),
            ..TemplateCounts::default()
        });
        let n = |a: &str| item.get_i64(a).unwrap_or(0);
        t.sent += n("sent");
        t.delivered += n("delivered");
        t.read += n("read");
        t.failed += n("failed");
    }
    let mut items: Vec<TemplateCounts> = templates.into_values().collect();
    items.sort_by(|a, b| b.sent.cmp(&a.sent).then_with(|| (&a.name, &a.language).cmp(&(&b.name, &b.language))));
    Ok(TemplateReport { items })
}

/// `?tenant_id=&from=&to=` of the super admin's view.
#[derive(Clone, Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AdminQuery {
    /// Only this tenant (default: every tenant).
    pub tenant_id: Option<String>,
    /// First day, `YYYY-MM-DD` (default: 29 days before `to`).
    pub from: Option<String>,
    /// Last day, `YYYY-MM-DD` (default: today, UTC).
    pub to: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct TenantDaily {
    pub tenant_id: String,
    pub name: String,
    /// The tenant's days (its own time zone's dates), every day of the range present.
    pub items: Vec<DayCounts>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct PlatformDaily {
    /// Per date, the sum over `tenants` (each tenant's day is its own local day).
    pub items: Vec<DayCounts>,
    /// Each tenant (oldest first), or only the one asked for.
    pub tenants: Vec<TenantDaily>,
}

/// `GET /admin/analytics/daily`: per tenant and in total.
pub async fn platform_daily(ports: &Ports, query: &AdminQuery) -> Result<PlatformDaily, Error> {
    let today = ports.clock.now().date_naive();
    let range = range(&RangeQuery { from: query.from.clone(), to: query.to.clone() }, today)?;
    let repo = Tenants::new(&*ports.table);
    let tenants: Vec<Tenant> = match query.tenant_id.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        Some(id) => vec![repo.get(id).await?.ok_or_else(|| Error::not_found("tenant"))?],
        None => {
            let (mut all, mut cursor) = (Vec::new(), None);
            loop {
                let (page, next) = repo.list(500, cursor).await?;
                all.extend(page);
                match next {
                    Some(c) => cursor = Some(c),
                    None => break all,
                }
            }
        }
    };
    let reports = try_join_all(tenants.iter().map(|t| daily(ports, &t.id, range))).await?;
    let mut items: Vec<DayCounts> = range.days().map(DayCounts::zero).collect();
    let tenants = tenants
        .into_iter()
        .zip(reports)
        .map(|(t, report)| {
            for (total, day) in items.iter_mut().zip(&report.items) {
                total.add(day);
            }
            TenantDaily { tenant_id: t.id, name: t.name, items: report.items }
        })
        .collect();
    Ok(PlatformDaily { items, tenants })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(from: Option<&str>, to: Option<&str>) -> RangeQuery {
        RangeQuery { from: from.map(Into::into), to: to.map(Into::into) }
    }

    #[test]
    fn ranges_are_validated() {
        let today = NaiveDate::from_ymd_opt(2026, 3, 10).unwrap();
        let r = range(&q(None, None), today).unwrap();
        assert_eq!((r.from, r.to, r.days().count()), (NaiveDate::from_ymd_opt(2026, 2, 9).unwrap(), today, 30));
        let r = range(&q(Some("2025-03-10"), Some("2026-03-10")), today).unwrap();
        assert_eq!(r.days().count(), 366);
        let codes = |e: Error| e.details.into_iter().map(|d| (d.field, d.code)).collect::<Vec<_>>();
        let e = range(&q(Some("2025-03-09"), Some("2026-03-10")), today).unwrap_err();
        assert_eq!(codes(e), [("to".to_string(), "range_too_long".to_string())]);
        let e = range(&q(Some("2026-03-02"), Some("2026-03-01")), today).unwrap_err();
        assert_eq!(codes(e), [("to".to_string(), "before_from".to_string())]);
        let e = range(&q(Some("yesterday"), Some("2026-02-30")), today).unwrap_err();
        assert_eq!(
            codes(e),
            [("from".to_string(), "invalid_date".to_string()), ("to".to_string(), "invalid_date".to_string())]
        );
    }
}
