//! A tenant's own settings (`GET|PATCH /tenant/settings`): the default country national phone
//! numbers are read in, the time zone its days follow, its extra opt-out / opt-in keywords and
//! its brand. A PATCH merges into what is stored: a field left out is kept, `null` puts the
//! default back; everything wrong is reported at once, one detail per field.

use crate::domain::zone::Zone;
use serde::Deserialize;

use super::double_option;
use super::model::{Brand, DEFAULT_TIME_ZONE, TenantSettings};
use crate::domain::phone::Country;
use crate::domain::{Error, FieldError};
use crate::ports::Ports;
use crate::store::tenant_settings::TenantSettingsStore;

/// Opt-out words every tenant has (trimmed, case-insensitive); the tenant's own come on top.
pub const BUILTIN_OPT_OUT: &[&str] = &["STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"];
/// Opt-in words every tenant has.
pub const BUILTIN_OPT_IN: &[&str] = &["START", "UNSTOP"];
pub const MAX_KEYWORDS: usize = 20;
pub const MAX_KEYWORD_LEN: usize = 50;
pub const MAX_BRAND_NAME_LEN: usize = 100;
pub const MAX_MEDIA_ID_LEN: usize = 100;
/// Read-modify-write attempts before a PATCH reports a conflict.
const PATCH_ATTEMPTS: usize = 5;

/// `PATCH /tenant/settings`. Absent: unchanged; `null`: back to the default.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[schema(example = json!({"default_country": "IN", "time_zone": "Asia/Kolkata", "brand": {"name": "Sunrise College", "color": "#0b5fff"}}))]
#[serde(deny_unknown_fields)]
pub struct SettingsPatch {
    /// ISO 3166 alpha-2 (`IN`); `null`: numbers must carry their country code.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub default_country: Option<Option<String>>,
    /// IANA name (`Asia/Kolkata`); `null`: `UTC`.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub time_zone: Option<Option<String>>,
    /// Replaces the tenant's own opt-out words (at most 20, each up to 50 characters); `null`: none.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<Vec<String>>)]
    pub opt_out_keywords: Option<Option<Vec<String>>>,
    /// Replaces the tenant's own opt-in words; `null`: none.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<Vec<String>>)]
    pub opt_in_keywords: Option<Option<Vec<String>>>,
    /// Replaces the brand as a whole; `null`: no brand.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<BrandInput>)]
    pub brand: Option<Option<BrandInput>>,
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[schema(example = json!({"name": "Sunrise College", "color": "#0b5fff", "logo_media_id": null}))]
#[serde(deny_unknown_fields)]
pub struct BrandInput {
    #[schema(required = true, nullable = false)]
    pub name: Option<String>,
    /// `#rrggbb`.
    #[schema(required = true, nullable = false)]
    pub color: Option<String>,
    pub logo_media_id: Option<String>,
}

/// The settings (defaults when never saved).
pub async fn get(ports: &Ports, tenant_id: &str) -> Result<TenantSettings, Error> {
    Ok(TenantSettingsStore::new(&*ports.table).get(tenant_id).await?.settings)
}

/// The country national-format numbers of this tenant are read in, if it set one.
pub async fn default_country(ports: &Ports, tenant_id: &str) -> Result<Option<Country>, Error> {
    Ok(get(ports, tenant_id).await?.default_country.as_deref().and_then(Country::parse))
}

pub async fn patch(ports: &Ports, tenant_id: &str, patch: SettingsPatch) -> Result<TenantSettings, Error> {
    let store = TenantSettingsStore::new(&*ports.table);
    for _ in 0..PATCH_ATTEMPTS {
        let read = store.get(tenant_id).await?;
        let next = apply(&read.settings, &patch)?;
        // A new logo must be an uploaded image of this tenant (one already set stays).
        let logo = |s: &TenantSettings| s.brand.as_ref().and_then(|b| b.logo_media_id.clone());
        if let Some(id) = logo(&next).filter(|id| logo(&read.settings).as_ref() != Some(id)) {
            crate::domain::media::service::own_image(ports, tenant_id, &id, "brand.logo_media_id").await?;
        }
        if next == read.settings || store.put(tenant_id, &next, read.version).await? {
            crate::domain::analytics::counters::forget_time_zone(tenant_id);
            return Ok(next);
        }
    }
    Err(Error::conflict("conflict", "the settings were changed concurrently; retry"))
}

/// `current` with `patch` merged in, or every invalid field.
pub fn apply(current: &TenantSettings, patch: &SettingsPatch) -> Result<TenantSettings, Error> {
    let mut errors = Vec::new();
    let mut next = current.clone();
    match &patch.default_country {
        Some(Some(code)) => match Country::parse(code) {
            Some(c) => next.default_country = Some(c.as_str().to_owned()),
            None => errors.push(FieldError::new(
                "default_country",
                "invalid_country",
                "must be an ISO 3166 alpha-2 code of a country with a phone numbering plan, e.g. IN",
            )),
        },
        Some(None) => next.default_country = None,
        None => {}
    }
    match &patch.time_zone {
        Some(Some(name)) => match Zone::parse(name.trim()) {
            Ok(zone) => next.time_zone = zone.name().to_owned(),
            Err(_) => errors.push(FieldError::new(
                "time_zone",
                "invalid_time_zone",
                "must be an IANA time zone name, e.g. Asia/Kolkata",
            )),
        },
        Some(None) => next.time_zone = DEFAULT_TIME_ZONE.to_owned(),
        None => {}
    }
    if let Some(list) = &patch.opt_out_keywords {
        next.opt_out_keywords = keywords("opt_out_keywords", list.as_deref().unwrap_or_default(), &mut errors);
    }
    if let Some(list) = &patch.opt_in_keywords {
        next.opt_in_keywords = keywords("opt_in_keywords", list.as_deref().unwrap_or_default(), &mut errors);
    }
    if errors.is_empty() {
        conflicts(&next, patch, &mut errors);
    }
    match &patch.brand {
        Some(Some(b)) => next.brand = brand(b, &mut errors),
        Some(None) => next.brand = None,
        None => {}
    }
    if errors.is_empty() { Ok(next) } else { Err(Error::validation(errors)) }
}

/// Trimmed, distinct (case-insensitively, the first kept) keywords, or errors at `field[i]`.
fn keywords(field: &str, list: &[String], errors: &mut Vec<FieldError>) -> Vec<String> {
    if list.len() > MAX_KEYWORDS {
        errors.push(FieldError::new(field, "too_many", format!("at most {MAX_KEYWORDS} keywords")));
        return Vec::new();
    }
    let mut out: Vec<String> = Vec::with_capacity(list.len());
    for (i, raw) in list.iter().enumerate() {
        match crate::domain::text::name(&format!("{field}[{i}]"), Some(raw), MAX_KEYWORD_LEN) {
            Ok(k) if !out.iter().any(|o| o.eq_ignore_ascii_case(&k)) => out.push(k),
            Ok(_) => {}
            Err(e) => errors.push(e),
        }
    }
    out
}

fn is_in(word: &str, builtin: &[&str], own: &[String]) -> bool {
    builtin.iter().any(|b| b.eq_ignore_ascii_case(word)) || own.iter().any(|o| o.eq_ignore_ascii_case(word))
}

/// A word cannot both opt out and opt in; reported on the list the request changed.
fn conflicts(next: &TenantSettings, patch: &SettingsPatch, errors: &mut Vec<FieldError>) {
    let message = |other: &str| format!("is also an {other} keyword");
    if patch.opt_out_keywords.is_some() {
        for (i, k) in next.opt_out_keywords.iter().enumerate() {
            if is_in(k, BUILTIN_OPT_IN, &next.opt_in_keywords) {
                errors.push(FieldError::new(format!("opt_out_keywords[{i}]"), "keyword_conflict", message("opt-in")));
            }
        }
    }
    if patch.opt_in_keywords.is_some() {
        for (i, k) in next.opt_in_keywords.iter().enumerate() {
            if is_in(k, BUILTIN_OPT_OUT, &next.opt_out_keywords) {
                errors.push(FieldError::new(format!("opt_in_keywords[{i}]"), "keyword_conflict", message("opt-out")));
            }
        }
    }
}

fn brand(input: &BrandInput, errors: &mut Vec<FieldError>) -> Option<Brand> {
    let name = crate::domain::text::name("brand.name", input.name.as_deref(), MAX_BRAND_NAME_LEN)
        .map_err(|e| errors.push(e))
        .ok();
    let color = match input.color.as_deref().map(str::trim) {
        None | Some("") => {
            errors.push(FieldError::new("brand.color", "required", "is required"));
            None
        }
        Some(c) => match parse_color(c) {
            Some(_) => Some(c.to_ascii_lowercase()),
            None => {
                errors.push(FieldError::new("brand.color", "invalid_color", "must be a #rrggbb hex color"));
                None
            }
        },
    };
    let logo_media_id = match input.logo_media_id.as_deref().map(str::trim) {
        None => None,
        Some(id)
            if !id.is_empty()
                && id.len() <= MAX_MEDIA_ID_LEN
                && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') =>
        {
            Some(id.to_owned())
        }
        Some(_) => {
            errors.push(FieldError::new("brand.logo_media_id", "invalid_media_id", "is not a media id"));
            None
        }
    };
    Some(Brand { name: name?, color: color?, logo_media_id })
}

/// `#rrggbb` (either case) → its three channels.
pub fn parse_color(color: &str) -> Option<[u8; 3]> {
    let hex = color.strip_prefix('#').filter(|h| h.len() == 6 && h.bytes().all(|b| b.is_ascii_hexdigit()))?;
    let channel = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).ok();
    Some([channel(0)?, channel(2)?, channel(4)?])
}

pub const LIGHT_TEXT: &str = "#ffffff";
pub const DARK_TEXT: &str = "#111111";

/// The text color to put on a `color` background (a brand's buttons and header): white or near
/// black, whichever contrasts more. For every background at least one of them reaches WCAG's
/// 4.5:1 except a band of mid greys (around `#767676`–`#7a7a7a`), where the better one is still
/// above 4.2:1. An unreadable color is taken as white (dark text).
pub fn brand_contrast(color: &str) -> &'static str {
    let background = parse_color(color).map_or(1.0, luminance);
    if contrast(luminance([255; 3]), background) >= contrast(luminance([0x11; 3]), background) {
        LIGHT_TEXT
    } else {
        DARK_TEXT
    }
}

/// WCAG 2 relative luminance of an sRGB color.
fn luminance(rgb: [u8; 3]) -> f64 {
    let linear = |c: u8| {
        let c = f64::from(c) / 255.0;
        if c <= 0.04045 { c / 12.92 } else { ((c + 0.055) / 1.055).powf(2.4) }
    };
    0.2126 * linear(rgb[0]) + 0.7152 * linear(rgb[1]) + 0.0722 * linear(rgb[2])
}

/// WCAG 2 contrast ratio between two luminances (1 to 21).
pub fn contrast(a: f64, b: f64) -> f64 {
    (a.max(b) + 0.05) / (a.min(b) + 0.05)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn patch(v: serde_json::Value) -> SettingsPatch {
        serde_json::from_value(v).unwrap()
    }

    fn fields(e: Error) -> Vec<(String, String)> {
        e.details.into_iter().map(|d| (d.field, d.code)).collect()
    }

    #[test]
    fn contrast_picks_the_readable_text_color() {
        for (bg, text) in [
            ("#ffffff", DARK_TEXT),
            ("#000000", LIGHT_TEXT),
            ("#0B5FFF", LIGHT_TEXT),
            ("#ffd400", DARK_TEXT),
            ("#25d366", DARK_TEXT),
            ("#075e54", LIGHT_TEXT),
            ("#777777", LIGHT_TEXT),
            ("nonsense", DARK_TEXT),
        ] {
            assert_eq!(brand_contrast(bg), text, "{bg}");
        }
        // Outside the grey band the choice always reaches 4.5:1.
        for v in (0..=255u8).step_by(5).filter(|v| !(0x70..=0x80).contains(v)) {
            for rgb in [[v, 0, 0], [0, v, 0], [0, 0, v], [v, v, v], [v, 255 - v, 128]] {
                let bg = format!("#{:02x}{:02x}{:02x}", rgb[0], rgb[1], rgb[2]);
                let text = parse_color(brand_contrast(&bg)).unwrap();
                let ratio = contrast(luminance(text), luminance(rgb));
                assert!(ratio >= 4.5 || (4.2..4.5).contains(&ratio), "{bg}: {ratio}");
            }
        }
        assert!((contrast(luminance([255; 3]), luminance([0; 3])) - 21.0).abs() < 1e-9);
    }

    #[test]
    fn a_patch_merges_and_null_restores_the_default() {
        let start = TenantSettings::default();
        let a = apply(&start, &patch(json!({"default_country": "in", "time_zone": "Asia/Kolkata"}))).unwrap();
        assert_eq!((a.default_country.as_deref(), a.time_zone.as_str()), (Some("IN"), "Asia/Kolkata"));
        let b = apply(&a, &patch(json!({"opt_out_keywords": [" band karo ", "BAND KARO", "rukk"]}))).unwrap();
        assert_eq!(b.default_country.as_deref(), Some("IN"), "kept");
        assert_eq!(b.opt_out_keywords, ["band karo", "rukk"]);
        let c =
            apply(&b, &patch(json!({"default_country": null, "time_zone": null, "opt_out_keywords": null}))).unwrap();
        assert_eq!(c, TenantSettings::default());
    }

    #[test]
    fn every_bad_field_is_named() {
        let e = apply(
            &TenantSettings::default(),
            &patch(json!({
                "default_country": "XX", "time_zone": "Mars/Olympus",
                "opt_out_keywords": ["ok", "", "a\u{7}"], "opt_in_keywords": ["STOP"],
                "brand": {"name": " ", "color": "blue", "logo_media_id": "../x"}
            })),
        )
        .unwrap_err();
        assert_eq!(e.code, "validation_failed");
        assert_eq!(
            fields(e),
            [
                ("default_country", "invalid_country"),
                ("time_zone", "invalid_time_zone"),
                ("opt_out_keywords[1]", "required"),
                ("opt_out_keywords[2]", "invalid_characters"),
                ("brand.name", "required"),
                ("brand.color", "invalid_color"),
                ("brand.logo_media_id", "invalid_media_id"),
            ]
            .map(|(f, c)| (f.to_owned(), c.to_owned()))
        );
        let e = apply(&TenantSettings::default(), &patch(json!({"opt_in_keywords": ["haan", "stop"]}))).unwrap_err();
        assert_eq!(fields(e), [("opt_in_keywords[1]".to_owned(), "keyword_conflict".to_owned())]);
        let with_in = apply(&TenantSettings::default(), &patch(json!({"opt_in_keywords": ["haan"]}))).unwrap();
        let e = apply(&with_in, &patch(json!({"opt_out_keywords": ["HAAN"]}))).unwrap_err();
        assert_eq!(fields(e), [("opt_out_keywords[0]".to_owned(), "keyword_conflict".to_owned())]);
        let many: Vec<String> = (0..=MAX_KEYWORDS).map(|i| format!("w{i}")).collect();
        let e = apply(&TenantSettings::default(), &patch(json!({"opt_out_keywords": many}))).unwrap_err();
        assert_eq!(fields(e), [("opt_out_keywords".to_owned(), "too_many".to_owned())]);
    }

    #[test]
    fn brand_is_replaced_whole_with_a_lower_case_color() {
        let s = apply(
            &TenantSettings::default(),
            &patch(json!({"brand": {"name": "Sunrise", "color": "#0B5FFF", "logo_media_id": "med_01"}})),
        )
        .unwrap();
        let brand = s.brand.clone().unwrap();
        assert_eq!((brand.color.as_str(), brand.logo_media_id.as_deref()), ("#0b5fff", Some("med_01")));
        let e = apply(&s, &patch(json!({"brand": {"name": "Sunrise"}}))).unwrap_err();
        assert_eq!(fields(e), [("brand.color".to_owned(), "required".to_owned())]);
        assert_eq!(apply(&s, &patch(json!({"brand": null}))).unwrap().brand, None);
    }
}
