//! Every real webhook body in `shared/fixtures/meta-webhooks` parses into the events the
//! processor needs, with the routing keys and the fields it stores.

use miping::domain::webhooks::payload::{DeliveryStatus, Event, parse};

fn fixture(name: &str) -> String {
    let path = miping::testkit::fixtures_dir("meta-webhooks").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn one(name: &str) -> Event {
    let mut events = parse(&fixture(name)).unwrap();
    assert_eq!(events.len(), 1, "{name}: {events:?}");
    events.remove(0)
}

#[test]
fn every_fixture_parses_without_unhandled_events() {
    let mut count = 0;
    for (name, body) in miping::testkit::fixtures("meta-webhooks") {
        let events = parse(std::str::from_utf8(&body).unwrap()).unwrap();
        assert!(!events.is_empty(), "{name}");
        for e in &events {
            assert!(!matches!(e, Event::Unhandled { .. }), "{name}: {e:?}");
            assert!(!e.key().is_empty());
        }
        count += 1;
    }
    assert!(count >= 27);
}

#[test]
fn statuses() {
    let Event::Status { metadata, status, contact, .. } = one("status_sent_biz_opaque_callback_data.json") else {
        panic!()
    };
    assert_eq!(metadata.phone_number_id, "1122334455667");
    assert_eq!(status.wamid, "wamid.xyzxyz");
    assert_eq!(status.status, DeliveryStatus::Sent);
    assert_eq!(status.timestamp, 1698266945);
    assert_eq!(status.biz_opaque_callback_data.as_deref(), Some("some data"));
    assert_eq!(status.pricing.as_ref().unwrap()["category"], "service");
    assert!(status.conversation.is_some());
    assert_eq!(contact.unwrap().wa_id.as_deref(), Some("972987654321"));

    let Event::Status { status, .. } = one("status_failed_131047_reengagement.json") else { panic!() };
    assert_eq!(status.status, DeliveryStatus::Failed);
    assert_eq!(status.errors[0].code, 131047);
    assert_eq!(status.errors[0].title.as_deref(), Some("Re-engagement message"));
    assert!(status.errors[0].details().unwrap().contains("24 hours"));

    let Event::Status { status, .. } = one("status_failed_130472.json") else { panic!() };
    assert_eq!(status.errors[0].code, 130472);

    for (name, expected) in
        [("status_delivered.json", DeliveryStatus::Delivered), ("status_read.json", DeliveryStatus::Read)]
    {
        let Event::Status { status, .. } = one(name) else { panic!() };
        assert_eq!(status.status, expected, "{name}");
    }
}

#[test]
fn username_only_users_have_no_phone_but_a_user_id() {
    let Event::Status { status, contact, .. } = one("status_delivered_PMP_marketing_username.json") else { panic!() };
    assert_eq!(status.recipient_id, None);
    assert!(status.recipient_user_id.as_deref().unwrap().starts_with("user."));
    let contact = contact.unwrap();
    assert_eq!(contact.wa_id, None);
    assert_eq!(contact.profile.username.as_deref(), Some("@pablomorales"));

    let Event::Inbound { message, contact, .. } = one("inbound_text_bsuid_no_phone.json") else { panic!() };
    assert_eq!(message.from, None);
    assert_eq!(message.from_user_id.as_deref(), Some("user.93737..."));
    assert_eq!(message.text.as_deref(), Some("Does it come in another color?"));
    assert_eq!(contact.unwrap().user_id.as_deref(), Some("user.93737..."));
}

#[test]
fn inbound_message_types() {
    let Event::Inbound { message, contact, metadata, .. } = one("inbound_text.json") else { panic!() };
    assert_eq!(message.kind, "text");
    assert!(message.text.is_some());
    assert!(message.from.is_some());
    assert!(contact.unwrap().profile.name.is_some());
    assert!(!metadata.phone_number_id.is_empty());

    let Event::Inbound { message, .. } = one("inbound_image.json") else { panic!() };
    assert_eq!((message.kind.as_str(), message.media_id.as_deref()), ("image", Some("65463453")));

    let Event::Inbound { message, .. } = one("inbound_document.json") else { panic!() };
    assert_eq!(message.kind, "document");
    assert!(message.media_id.is_some());

    let Event::Inbound { message, .. } = one("inbound_interactive_list_reply.json") else { panic!() };
    assert_eq!(message.reply_id.as_deref(), Some("callback_data"));
    assert_eq!(message.text.as_deref(), Some("title"));
    assert_eq!(message.context_id.as_deref(), Some("wamid.xyzxyz"));

    let Event::Inbound { message, .. } = one("inbound_interactive_button_reply.json") else { panic!() };
    assert_eq!(message.kind, "interactive");
    assert!(message.reply_id.is_some());

    let Event::Inbound { message, .. } = one("inbound_template_quick_reply_button.json") else { panic!() };
    assert_eq!(
        (message.kind.as_str(), message.reply_id.as_deref(), message.text.as_deref()),
        ("button", Some("callback_data"), Some("title"))
    );

    let Event::Inbound { message, .. } = one("inbound_flow_nfm_reply.json") else { panic!() };
    assert_eq!(message.text.as_deref(), Some("Sent"));
    assert!(message.raw["interactive"]["nfm_reply"]["response_json"].as_str().unwrap().contains("flow_token"));

    let Event::Inbound { message, .. } = one("inbound_referral_ctwa.json") else { panic!() };
    assert_eq!(message.referral.unwrap()["ctwa_clid"], "CTWA_CLID");

    let Event::Inbound { message, .. } = one("inbound_text_reply_context.json") else { panic!() };
    assert!(message.context_id.is_some());
}

#[test]
fn templates_accounts_and_preferences() {
    let Event::TemplateStatus { template_id, event, reason, name, .. } = one("template_status_APPROVED.json") else {
        panic!()
    };
    assert_eq!(
        (template_id.as_str(), event.as_str(), reason, name.as_str()),
        ("1689556908129832", "APPROVED", None, "order_confirmation")
    );
    let Event::TemplateStatus { event, reason, .. } = one("template_status_REJECTED_SCAM.json") else { panic!() };
    assert_eq!((event.as_str(), reason.as_deref()), ("REJECTED", Some("SCAM")));
    let Event::TemplateStatus { event, .. } = one("template_status_REJECTED.json") else { panic!() };
    assert_eq!(event, "REJECTED");
    let Event::TemplateCategory { new_category, template_id, .. } = one("template_category_update.json") else {
        panic!()
    };
    assert_eq!((new_category.as_str(), template_id.as_str()), ("MARKETING", "12345678"));
    let Event::TemplateQuality { new_quality, .. } = one("template_quality_update_yellow.json") else { panic!() };
    assert_eq!(new_quality, "YELLOW");

    let Event::AccountUpdate { event, value, .. } = one("account_update_DISABLED_UPDATE_ban.json") else { panic!() };
    assert_eq!(event, "DISABLED_UPDATE");
    assert_eq!(value["ban_info"]["waba_ban_state"], "SCHEDULE_FOR_DISABLE");
    let Event::AccountUpdate { event, .. } = one("account_update_PARTNER_ADDED.json") else { panic!() };
    assert_eq!(event, "PARTNER_ADDED");
    let Event::AccountUpdate { event, .. } = one("account_update_ACCOUNT_OFFBOARDED.json") else { panic!() };
    assert_eq!(event, "ACCOUNT_OFFBOARDED");
    let Event::PhoneQuality { event, current_limit, .. } = one("phone_number_quality_update.json") else { panic!() };
    assert_eq!((event.as_str(), current_limit.as_deref()), ("FLAGGED", Some("TIER_10K")));

    let events = parse(&fixture("user_marketing_preferences_stop_resume.json")).unwrap();
    let Event::UserPreference { preference, .. } = &events[0] else { panic!() };
    assert_eq!((preference.category.as_str(), preference.value.as_str()), ("marketing_messages", "resume"));
    assert_eq!(preference.wa_id.as_deref(), Some("16505551234"));
}

#[test]
fn keys_are_stable_across_redeliveries_and_distinct_across_facts() {
    let a = one("status_delivered.json").key();
    assert_eq!(a, one("status_delivered.json").key());
    assert_ne!(a, one("status_read.json").key());
    assert_ne!(one("template_status_APPROVED.json").key(), one("template_status_REJECTED.json").key());
}

#[test]
fn bad_bodies_are_errors_or_unhandled() {
    assert!(parse("not json").is_err());
    assert!(parse(r#"{"object":"page","entry":[]}"#).is_err());
    let events = parse(r#"{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"security","value":{}},{"field":"messages","value":{"no":"metadata"}}]}]}"#).unwrap();
    assert_eq!(events.len(), 2);
    assert!(events.iter().all(|e| matches!(e, Event::Unhandled { .. })));
}

/// An account event that happens again (same content, later `entry.time`) is a new fact; the
/// same delivery again is not.
#[test]
fn account_events_that_happen_again_have_new_keys() {
    for name in ["phone_number_quality_update.json", "account_update_PARTNER_ADDED.json"] {
        let body: serde_json::Value = serde_json::from_str(&fixture(name)).unwrap();
        let at = |time: i64| {
            let mut b = body.clone();
            b["entry"][0]["time"] = time.into();
            parse(&b.to_string()).unwrap().remove(0).key()
        };
        assert_eq!(at(1_700_000_000), at(1_700_000_000), "{name}: a redelivery");
        assert_ne!(at(1_700_000_000), at(1_700_000_200), "{name}: a repeat");
    }
}
