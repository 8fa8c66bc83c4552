//! Opt-out and opt-in from the customer's side (SPEC → Contacts: opt-out): an inbound text that
//! is, trimmed and case-insensitive, one of the opt-out words (STOP, STOPALL, UNSUBSCRIBE,
//! CANCEL, END, QUIT and the tenant's `opt_out_keywords`) or opt-in words (START, UNSTOP and the
//! tenant's `opt_in_keywords`), and Meta's `user_preferences` marketing stop / resume.
//!
//! The contact changes (`opted_out`, `opted_out_at`, `opt_out_source`: `keyword` or `meta`) and a
//! system entry goes into its thread. Both are idempotent: a contact already in the asked state
//! is left alone (the first opt-out time is kept), and the entry's id is derived from the event
//! (the inbound wamid, or Meta's preference change), so a redelivered webhook records nothing new.

use chrono::{DateTime, Utc};

use crate::domain::Error;
use crate::domain::contacts::service::{self, PatchInput};
use crate::domain::tenants::model::TenantSettings;
use crate::domain::tenants::settings::{BUILTIN_OPT_IN, BUILTIN_OPT_OUT};
use crate::ports::Ports;

pub const SOURCE_KEYWORD: &str = "keyword";
pub const SOURCE_META: &str = "meta";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Preference {
    OptOut,
    OptIn,
}

/// What an inbound text asks for, if it is one of the keywords.
pub fn keyword(text: &str, settings: &TenantSettings) -> Option<Preference> {
    let word = text.trim();
    if word.is_empty() {
        return None;
    }
    let is = |builtin: &[&str], own: &[String]| {
        builtin.iter().any(|k| k.eq_ignore_ascii_case(word))
            || own.iter().any(|k| k.trim().to_lowercase() == word.to_lowercase())
    };
    if is(BUILTIN_OPT_OUT, &settings.opt_out_keywords) {
        Some(Preference::OptOut)
    } else if is(BUILTIN_OPT_IN, &settings.opt_in_keywords) {
        Some(Preference::OptIn)
    } else {
        None
    }
}

/// The id of the thread entry for one event (`msg_sys_<hex of the event's identity>`).
pub fn entry_id(event_identity: &str) -> String {
    use sha2::{Digest, Sha256};
    format!("msg_sys_{}", crate::util::hex(&Sha256::digest(event_identity.as_bytes())[..12]))
}

/// Applies `preference` to the contact (from `source`) and records it in the thread.
pub async fn apply(
    ports: &Ports,
    tenant_id: &str,
    contact_id: &str,
    preference: Preference,
    source: &str,
    event_identity: &str,
    at: DateTime<Utc>,
) -> Result<(), Error> {
    let opted_out = preference == Preference::OptOut;
    let patch =
        PatchInput { opted_out: Some(opted_out), opt_out_source: Some(source.to_owned()), ..PatchInput::default() };
    service::patch(ports, tenant_id, contact_id, patch).await?;
    let how = match source {
        SOURCE_META => "through WhatsApp's marketing preferences",
        _ => "by keyword",
    };
    let text = if opted_out {
        format!("The contact opted out {how}: no campaigns or business-initiated templates.")
    } else {
        format!("The contact opted back in {how}.")
    };
    super::record_system(ports, tenant_id, contact_id, &entry_id(event_identity), &text, at).await?;
    Ok(())
}

/// An inbound text: a keyword changes the contact's preference. Returns what it asked for.
pub async fn on_inbound_text(
    ports: &Ports,
    tenant_id: &str,
    contact_id: &str,
    wamid: &str,
    text: &str,
    at: DateTime<Utc>,
) -> Result<Option<Preference>, Error> {
    // Cheap test first: a keyword is one short word (the tenant's own may be two or three).
    if text.trim().chars().count() > crate::domain::tenants::settings::MAX_KEYWORD_LEN {
        return Ok(None);
    }
    let settings = crate::domain::tenants::settings::get(ports, tenant_id).await?;
    let Some(preference) = keyword(text, &settings) else { return Ok(None) };
    apply(ports, tenant_id, contact_id, preference, SOURCE_KEYWORD, &format!("inbound:{wamid}"), at).await?;
    Ok(Some(preference))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keywords_trimmed_case_insensitive_plus_the_tenants_own() {
        let mut s = TenantSettings::default();
        assert_eq!(keyword("  stop ", &s), Some(Preference::OptOut));
        assert_eq!(keyword("Unsubscribe", &s), Some(Preference::OptOut));
        assert_eq!(keyword("start", &s), Some(Preference::OptIn));
        assert_eq!(keyword("UNSTOP", &s), Some(Preference::OptIn));
        assert_eq!(keyword("please stop", &s), None);
        assert_eq!(keyword("band karo", &s), None);
        s.opt_out_keywords = vec!["BAND KARO".into()];
        s.opt_in_keywords = vec!["Shuru".into()];
        assert_eq!(keyword("Band Karo", &s), Some(Preference::OptOut));
        assert_eq!(keyword("SHURU", &s), Some(Preference::OptIn));
    }
}
