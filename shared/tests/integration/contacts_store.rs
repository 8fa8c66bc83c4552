//! The contacts repository (and inbound find-or-create) on both table adapters: uniqueness
//! items, the exact counter under a limit, deletion freeing identities, batches with conflicts.

use std::sync::Arc;

use chrono::Utc;
use miping::domain::contacts::Contact;
use miping::domain::contacts::service::{InboundSender, find_or_create_inbound};
use miping::domain::phone::E164;
use miping::ports::clock::UlidGen;
use miping::ports::{IdGen, Table};
use miping::store::contacts::{BatchResult, Contacts, CreateError, Identity, ListFilter, ReplaceOutcome};
use miping::testkit::unique;

fn contact(tenant: &str, phone: Option<&str>) -> Contact {
    let mut c = Contact::new(UlidGen::default().new_id("con"), tenant, Utc::now());
    c.phone = phone.map(|p| E164::parse(p).expect("valid test phone").into_string());
    c
}

/// `+1 415 2xx xxxx`, distinct per `i`.
fn phone(i: usize) -> String {
    format!("+1415{}", 2_000_000 + i)
}

async fn create_is_unique_by_phone(table: &dyn Table) {
    let tenant = unique("ten");
    let repo = Contacts::new(table);
    let first = contact(&tenant, Some("+91 98765-43210"));
    repo.create(&first, None).await.unwrap();
    match repo.create(&contact(&tenant, Some("919876543210")), None).await {
        Err(CreateError::Exists { identity: Identity::Phone, contact_id }) => assert_eq!(contact_id, first.id),
        other => panic!("expected Exists, got {other:?}"),
    }
    // Another tenant may hold the same number.
    repo.create(&contact(&unique("ten"), Some("919876543210")), None).await.unwrap();
    assert_eq!(repo.count(&tenant).await.unwrap(), 1);
    assert_eq!(repo.find(&tenant, Identity::Phone, "+919876543210").await.unwrap(), Some(first));
}

async fn delete_frees_phone_and_user_id(table: &dyn Table) {
    let tenant = unique("ten");
    let repo = Contacts::new(table);
    let mut c = contact(&tenant, Some("+447911123456"));
    c.wa_user_id = Some("US.13491208655302741918".into());
    repo.create(&c, None).await.unwrap();
    assert_eq!(repo.count(&tenant).await.unwrap(), 1);
    assert_eq!(repo.delete(&tenant, &c.id).await.unwrap().map(|d| d.id), Some(c.id.clone()));
    assert_eq!(repo.delete(&tenant, &c.id).await.unwrap(), None, "already gone");
    assert_eq!(repo.find_id(&tenant, Identity::Phone, "+447911123456").await.unwrap(), None);
    assert_eq!(repo.find_id(&tenant, Identity::WaUser, "US.13491208655302741918").await.unwrap(), None);
    assert_eq!(repo.count(&tenant).await.unwrap(), 0);
    let mut again = contact(&tenant, Some("+447911123456"));
    again.wa_user_id = c.wa_user_id.clone();
    repo.create(&again, None).await.unwrap();
}

async fn the_limit_is_a_condition_on_the_counter(table: &dyn Table) {
    let tenant = unique("ten");
    let repo = Contacts::new(table);
    repo.create(&contact(&tenant, Some(&phone(1))), Some(2)).await.unwrap();
    repo.create(&contact(&tenant, Some(&phone(2))), Some(2)).await.unwrap();
    assert!(matches!(repo.create(&contact(&tenant, Some(&phone(3))), Some(2)).await, Err(CreateError::LimitReached)));
    // A duplicate at the limit is still a duplicate.
    assert!(matches!(repo.create(&contact(&tenant, Some(&phone(1))), Some(2)).await, Err(CreateError::Exists { .. })));
    assert!(matches!(repo.create(&contact(&tenant, Some(&phone(4))), Some(0)).await, Err(CreateError::LimitReached)));
    assert_eq!(repo.count(&tenant).await.unwrap(), 2);
}

async fn batch_resolves_conflicts_across_transactions(table: &dyn Table) {
    let tenant = unique("ten");
    let repo = Contacts::new(table);
    let old_a = contact(&tenant, Some(&phone(5)));
    let old_b = contact(&tenant, Some(&phone(70)));
    repo.create(&old_a, None).await.unwrap();
    repo.create(&old_b, None).await.unwrap();
    // 120 contacts need three transactions; two of them hit existing phones.
    let batch: Vec<Contact> = (0..120).map(|i| contact(&tenant, Some(&phone(i)))).collect();
    let results = repo.create_batch(&tenant, &batch, None).await.unwrap();
    for (i, r) in results.iter().enumerate() {
        let want = match i {
            5 => BatchResult::Exists(old_a.id.clone()),
            70 => BatchResult::Exists(old_b.id.clone()),
            _ => BatchResult::Created,
        };
        assert_eq!(r, &want, "contact {i}");
    }
    assert_eq!(repo.count(&tenant).await.unwrap(), 120);
    assert_eq!(repo.find_id(&tenant, Identity::Phone, &phone(119)).await.unwrap(), Some(batch[119].id.clone()));
}

async fn batch_stops_exactly_at_the_limit(table: &dyn Table) {
    let tenant = unique("ten");
    let repo = Contacts::new(table);
    let existing = contact(&tenant, Some(&phone(0)));
    repo.create(&existing, None).await.unwrap();
    for i in 1..3 {
        repo.create(&contact(&tenant, Some(&phone(i))), None).await.unwrap();
    }
    let batch: Vec<Contact> =
        (0..12).map(|i| contact(&tenant, Some(&phone(100 + i)))).chain([contact(&tenant, Some(&phone(0)))]).collect();
    let results = repo.create_batch(&tenant, &batch, Some(10)).await.unwrap();
    let created = results.iter().filter(|r| **r == BatchResult::Created).count();
    assert_eq!(created, 7);
    assert!(results[..7].iter().all(|r| *r == BatchResult::Created), "the first rows win");
    assert!(results[7..12].iter().all(|r| *r == BatchResult::OverLimit));
    assert_eq!(results[12], BatchResult::Exists(existing.id));
    assert_eq!(repo.count(&tenant).await.unwrap(), 10);
}

async fn list_filters_by_tag_and_search(table: &dyn Table) {
    let tenant = unique("ten");
    let repo = Contacts::new(table);
    for (i, (name, tags)) in
        [("Ada", vec!["vip"]), ("Alan", vec!["b2b"]), ("Grace", vec!["vip", "b2b"])].into_iter().enumerate()
    {
        let mut c = contact(&tenant, Some(&phone(i)));
        c.name = Some(name.into());
        c.tags = tags.into_iter().map(String::from).collect();
        repo.create(&c, None).await.unwrap();
    }
    let names = |cs: Vec<Contact>| cs.into_iter().map(|c| c.name.unwrap_or_default()).collect::<Vec<_>>();
    let vip = ListFilter { tag: Some("vip".into()), search: None };
    let (page, next) = repo.list(&tenant, &vip, 1, None).await.unwrap();
    assert_eq!(names(page), ["Grace"]);
    let (page, next) = repo.list(&tenant, &vip, 1, next).await.unwrap();
    assert_eq!((names(page), next), (vec!["Ada".to_string()], None));
    let search = ListFilter { tag: Some("b2b".into()), search: Some("al".into()) };
    assert_eq!(names(repo.list(&tenant, &search, 10, None).await.unwrap().0), ["Alan"]);
}

async fn the_tag_list_follows_every_contact_write(table: &dyn Table) {
    let tenant = unique("ten");
    let repo = Contacts::new(table);
    assert!(repo.tags(&tenant, 10).await.unwrap().is_empty());
    let mut one = contact(&tenant, Some(&phone(0)));
    one.tags = vec!["vip".into()];
    repo.create(&one, None).await.unwrap();
    let batch: Vec<Contact> = (1..4)
        .map(|i| {
            let mut c = contact(&tenant, Some(&phone(i)));
            c.tags = vec!["b2b".into(), format!("city-{}", i % 2)];
            c
        })
        .collect();
    repo.create_batch(&tenant, &batch, None).await.unwrap();
    let mut edited = one.clone();
    edited.tags = vec!["vip".into(), "late payer".into()];
    assert_eq!(repo.replace(&one, &edited).await.unwrap(), ReplaceOutcome::Done);
    assert_eq!(repo.tags(&tenant, 10).await.unwrap(), ["b2b", "city-0", "city-1", "late payer", "vip"]);
    assert_eq!(repo.tags(&tenant, 2).await.unwrap(), ["b2b", "city-0"], "alphabetical, limited");
    assert!(repo.tags(&unique("ten"), 10).await.unwrap().is_empty(), "per tenant");
}

async fn contacts_older_than_the_tag_list_fill_it_once(table: &dyn Table) {
    let tenant = unique("ten");
    let repo = Contacts::new(table);
    let mut old = contact(&tenant, Some(&phone(0)));
    old.tags = vec!["vip".into(), "b2b".into()];
    repo.create(&old, None).await.unwrap();
    // As written before the tag list existed: the contact without its tag items.
    for tag in &old.tags {
        table.delete(&miping::store::keys::contact_tag(&tenant, tag), None).await.unwrap();
    }
    assert_eq!(repo.tags(&tenant, 10).await.unwrap(), ["b2b", "vip"], "filled from the contacts");
    repo.delete(&tenant, &old.id).await.unwrap();
    assert_eq!(repo.tags(&tenant, 10).await.unwrap(), ["b2b", "vip"], "and kept as items");

    // Contacts without any tag: the list stays empty, filled once (marked, no rescan per read).
    let untagged = unique("ten");
    repo.create(&contact(&untagged, Some(&phone(1))), None).await.unwrap();
    let filled = miping::store::keys::contact_tags_filled(&untagged);
    assert!(table.get(&filled).await.unwrap().is_none());
    assert!(repo.tags(&untagged, 10).await.unwrap().is_empty());
    assert!(table.get(&filled).await.unwrap().is_some(), "marked filled");
    assert!(repo.tags(&untagged, 10).await.unwrap().is_empty());
}

async fn inbound_finds_or_creates_by_phone_or_user_id(table: &dyn Table) {
    let tenant = unique("ten");
    let repo = Contacts::new(table);
    let now = Utc::now();
    // A username-only user: no phone, known by its WhatsApp user id.
    let sender = InboundSender {
        wa_user_id: Some("US.1"),
        username: Some("@ada"),
        profile_name: Some("Ada"),
        ..Default::default()
    };
    let c = find_or_create_inbound(table, &UlidGen::default(), now, &tenant, &sender).await.unwrap();
    assert_eq!(
        (c.phone.as_deref(), c.wa_user_id.as_deref(), c.name.as_deref(), c.username.as_deref()),
        (None, Some("US.1"), Some("Ada"), Some("@ada"))
    );
    assert_eq!(repo.list(&tenant, &ListFilter::default(), 10, None).await.unwrap().0, vec![c.clone()]);
    let again = find_or_create_inbound(table, &UlidGen::default(), now, &tenant, &sender).await.unwrap();
    assert_eq!(again.id, c.id);
    // Later the same user shows a phone: the contact learns it (and its uniqueness item).
    let p = E164::parse("+14155552671").unwrap();
    let with_phone = InboundSender {
        phone: Some(&p),
        wa_user_id: Some("US.1"),
        profile_name: Some("Someone else"),
        ..Default::default()
    };
    let learned = find_or_create_inbound(table, &UlidGen::default(), now, &tenant, &with_phone).await.unwrap();
    assert_eq!(
        (learned.id.as_str(), learned.phone.as_deref(), learned.name.as_deref()),
        (c.id.as_str(), Some("+14155552671"), Some("Ada"))
    );
    assert_eq!(repo.find_id(&tenant, Identity::Phone, "+14155552671").await.unwrap(), Some(c.id.clone()));
    assert_eq!(repo.count(&tenant).await.unwrap(), 1);
    // A stale replace is refused.
    let mut stale = learned.clone();
    stale.version -= 1;
    assert_eq!(repo.replace(&stale, &learned).await.unwrap(), ReplaceOutcome::Stale);
}

macro_rules! cases {
    ($make:expr; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let table: Arc<dyn Table> = $make.await;
                super::$case(&*table).await;
            }
        )*
    };
}

macro_rules! all_cases {
    ($make:expr) => {
        cases!($make; create_is_unique_by_phone, delete_frees_phone_and_user_id, the_limit_is_a_condition_on_the_counter,
            batch_resolves_conflicts_across_transactions, batch_stops_exactly_at_the_limit, list_filters_by_tag_and_search,
            the_tag_list_follows_every_contact_write, contacts_older_than_the_tag_list_fill_it_once,
            inbound_finds_or_creates_by_phone_or_user_id);
    };
}

crate::common::on_both_tables!(all_cases);
