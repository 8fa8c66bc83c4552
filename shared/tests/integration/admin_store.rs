//! Plans, tenants and the credits ledger against both table adapters (SQLite, DynamoDB on moto):
//! the same cases, through the domain functions the HTTP routes and the send pipeline call.

use std::sync::Arc;

use miping::ports::Ports;
use miping::ports::table::{Cond, Item, Key, Page, Query, Table, TableError, TxOp, Update};

/// Embedded ports for everything but the table under test; their directory is kept for the
/// test process.
async fn ports_with(table: impl std::future::Future<Output = Arc<dyn Table>>) -> Ports {
    let (ports, dir) = crate::common::ports_with(table.await);
    std::mem::forget(dir);
    ports
}

/// The table with the time span of every transaction that writes a balance item (any tenant's:
/// each test has its own tenant), for the gate's bound.
struct BalanceWrites {
    inner: Arc<dyn Table>,
    spans: std::sync::Mutex<Vec<(String, tokio::time::Instant, tokio::time::Instant)>>,
}

impl BalanceWrites {
    fn new(inner: Arc<dyn Table>) -> Self {
        Self { inner, spans: std::sync::Mutex::new(Vec::new()) }
    }
}

#[async_trait::async_trait]
impl Table for BalanceWrites {
    async fn get(&self, key: &Key) -> Result<Option<Item>, TableError> {
        self.inner.get(key).await
    }
    async fn put(&self, item: Item, cond: Option<Cond>) -> Result<(), TableError> {
        self.inner.put(item, cond).await
    }
    async fn update(&self, key: &Key, update: Update, cond: Option<Cond>) -> Result<Item, TableError> {
        self.inner.update(key, update, cond).await
    }
    async fn delete(&self, key: &Key, cond: Option<Cond>) -> Result<Option<Item>, TableError> {
        self.inner.delete(key, cond).await
    }
    async fn query(&self, query: Query) -> Result<Page, TableError> {
        self.inner.query(query).await
    }
    async fn transact(&self, ops: Vec<TxOp>) -> Result<(), TableError> {
        let balance = ops.iter().filter_map(|op| op.key()).find(|k| k.sk == "BALANCE").map(|k| k.pk);
        let start = tokio::time::Instant::now();
        let result = self.inner.transact(ops).await;
        if let Some(pk) = balance {
            self.spans.lock().unwrap().push((pk, start, tokio::time::Instant::now()));
        }
        result
    }
}

macro_rules! admin_store_suite {
    ($make:expr) => {
        async fn ports() -> miping::ports::Ports {
            super::ports_with($make).await
        }
        #[tokio::test]
        async fn plan_delete_is_refused_while_a_tenant_has_it() {
            super::cases::plan_in_use(ports().await).await;
        }
        #[tokio::test]
        async fn provisioning_is_all_or_nothing() {
            super::cases::provisioning_conflicts(ports().await).await;
        }
        #[tokio::test]
        async fn plan_change_moves_the_counters() {
            super::cases::plan_change(ports().await).await;
        }
        #[tokio::test]
        async fn credits_debits_refunds_are_exact_and_idempotent() {
            super::cases::ledger_basics(ports().await).await;
        }
        #[tokio::test]
        async fn no_credit_takes_the_balance_past_its_maximum() {
            super::cases::balance_limit(ports().await).await;
        }
        #[tokio::test]
        async fn insufficient_credits_debit_the_prefix_that_fits() {
            super::cases::insufficient_prefix(ports().await).await;
        }
        #[tokio::test]
        async fn ledger_pages_merge_the_shards_newest_first() {
            super::cases::ledger_pagination(ports().await).await;
        }
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn parallel_debits_never_overdraw() {
            super::cases::parallel_debits(ports().await).await;
        }
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn concurrent_send_debits_share_balance_writes() {
            super::cases::grouped_debits(ports().await).await;
        }
        #[tokio::test]
        async fn refund_batches_give_back_each_debit_once() {
            super::cases::refund_batches(ports().await).await;
        }
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn concurrent_refunds_share_balance_writes() {
            super::cases::grouped_refunds(ports().await).await;
        }
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn balance_transactions_of_one_process_are_an_interval_apart() {
            let table = std::sync::Arc::new(super::BalanceWrites::new($make.await));
            super::cases::gated_balance_writes(
                super::ports_with(async { table.clone() as std::sync::Arc<dyn miping::ports::table::Table> }).await,
                table,
            )
            .await;
        }
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn adjustments_never_take_the_balance_below_zero() {
            super::cases::parallel_adjustments(ports().await).await;
        }
        #[tokio::test]
        async fn welcome_resends_only_while_the_password_is_one_time() {
            super::cases::resend_welcome(ports().await).await;
        }
        #[tokio::test]
        async fn tenant_settings_merge_and_refuse_stale_writes() {
            super::cases::tenant_settings(ports().await).await;
        }
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        async fn members_hold_the_seat_limit_and_keep_an_active_admin() {
            super::cases::members(ports().await).await;
        }
        #[tokio::test]
        async fn tenants_list_oldest_first_or_newest_first_page_by_page() {
            super::cases::tenant_lists(ports().await).await;
        }
        #[tokio::test]
        async fn quarantine_lists_newest_first_and_opens_by_id() {
            super::cases::quarantine(ports().await).await;
        }
    };
}

mod cases {
    use std::collections::HashSet;

    use miping::domain::billing::{self, DebitOutcome, DebitRequest, EntryKind, LedgerEntry, Reference, RefundOutcome};
    use miping::domain::money::Money;
    use miping::domain::plans::{self, PlanInput};
    use miping::domain::tenants::{self, ProvisionInput, TenantPatch};
    use miping::http::ApiError;
    use miping::ports::Ports;
    use miping::store::ledger::Ledger;
    use miping::store::plans::{DeletePlan, Plans};
    use miping::store::users::Users;
    use miping::testkit::unique;
    use serde_json::json;

    fn m(s: &str) -> Money {
        Money::parse(s).unwrap()
    }

    async fn plan(ports: &Ports) -> String {
        let input: PlanInput = serde_json::from_value(json!({"name": "Pro", "price": "499.99", "currency": "INR",
            "monthly_message_limit": 10000, "contact_limit": 5000, "template_limit": 50, "api_key_limit": 5,
            "messages_per_second": 80}))
        .unwrap();
        plans::create(ports, input).await.unwrap().id
    }

    fn provision_input(plan_id: &str, slug: &str, email: &str) -> ProvisionInput {
        serde_json::from_value(json!({"name": "Acme", "slug": slug, "admin_email": email, "admin_name": "Ana",
            "plan_id": plan_id}))
        .unwrap()
    }

    async fn tenant_count(ports: &Ports, plan_id: &str) -> i64 {
        ports.table.get(&miping::store::keys::plan(plan_id)).await.unwrap().unwrap().get_i64("tenant_count").unwrap()
    }

    async fn new_tenant(ports: &Ports) -> String {
        let plan_id = plan(ports).await;
        let slug = unique("t").replace('_', "-");
        let email = format!("{}@acme.test", unique("a"));
        tenants::provision(ports, "http://x", provision_input(&plan_id, &slug, &email)).await.unwrap().tenant.id
    }

    /// Members on this table: the seat counter written at provisioning bounds concurrent
    /// invitations exactly, a deactivation frees a seat, the last active admin stays.
    pub async fn members(ports: Ports) {
        use miping::domain::members::{self, InviteInput, MemberPatch};
        let plan_id = plan(&ports).await;
        let slug = unique("team").replace('_', "-");
        let t = tenants::provision(&ports, "http://x", provision_input(&plan_id, &slug, &format!("{slug}@acme.test")))
            .await
            .unwrap();
        let tenant_id = t.tenant.id.clone();
        let seats: PlanInput = serde_json::from_value(json!({"seat_limit": 3})).unwrap();
        plans::update(&ports, &plan_id, seats).await.unwrap();
        let mut invites = tokio::task::JoinSet::new();
        for i in 0..6 {
            let (ports, tenant_id) = (ports.clone(), tenant_id.clone());
            let input = InviteInput {
                email: Some(format!("{}-{i}@acme.test", unique("m"))),
                name: Some(format!("Member {i}")),
                role: Some("TENANT_AGENT".into()),
            };
            invites.spawn(async move { members::invite(&ports, "http://x", &tenant_id, input).await });
        }
        let results = invites.join_all().await;
        let invited: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
        assert_eq!(invited.len(), 2, "the admin holds one of 3 seats");
        assert!(results.iter().filter_map(|r| r.as_ref().err()).all(|e| e.code == "seat_limit_reached"));
        // A deactivation frees a seat; reactivating past the limit is refused.
        let deactivate = MemberPatch { status: Some("deactivated".into()), ..Default::default() };
        members::patch(&ports, &tenant_id, &invited[0].id, deactivate).await.unwrap();
        let input = InviteInput {
            email: Some(format!("{}@acme.test", unique("late"))),
            name: Some("Late".into()),
            role: Some("TENANT_AGENT".into()),
        };
        members::invite(&ports, "http://x", &tenant_id, input).await.unwrap();
        let reactivate = MemberPatch { status: Some("active".into()), ..Default::default() };
        let e = members::patch(&ports, &tenant_id, &invited[0].id, reactivate).await.unwrap_err();
        assert_eq!(e.code, "seat_limit_reached");
        // The last active admin.
        let admin = t.admin_user.id.clone();
        assert_eq!(members::remove(&ports, &tenant_id, &admin).await.unwrap_err().code, "last_admin");
        let demote = MemberPatch { role: Some("TENANT_AGENT".into()), ..Default::default() };
        assert_eq!(members::patch(&ports, &tenant_id, &admin, demote).await.unwrap_err().code, "last_admin");
        // A removed member frees the seat and the email.
        members::remove(&ports, &tenant_id, &invited[1].id).await.unwrap();
        assert!(Users::new(&*ports.table).find_by_email(&invited[1].email).await.unwrap().is_none());
        let (page, _) = members::page(&ports, &tenant_id, 50, None).await.unwrap();
        assert_eq!(page.len(), 3);
    }

    pub async fn plan_in_use(ports: Ports) {
        let plan_id = plan(&ports).await;
        let other = plan(&ports).await;
        let slug = unique("acme").replace('_', "-");
        let t = tenants::provision(&ports, "http://x", provision_input(&plan_id, &slug, &format!("{slug}@acme.test")))
            .await
            .unwrap();
        assert_eq!(tenant_count(&ports, &plan_id).await, 1);
        let repo = Plans::new(&*ports.table);
        assert!(matches!(repo.delete(&plan_id).await.unwrap(), DeletePlan::InUse));
        assert_eq!(plans::delete(&ports, &plan_id).await.unwrap_err().code, "plan_in_use");
        // Moving the tenant away frees it.
        tenants::patch(&ports, &t.tenant.id, TenantPatch { plan_id: Some(other.clone()), ..Default::default() })
            .await
            .unwrap();
        assert!(matches!(repo.delete(&plan_id).await.unwrap(), DeletePlan::Deleted));
        assert!(matches!(repo.delete(&plan_id).await.unwrap(), DeletePlan::NotFound));
        assert_eq!(tenant_count(&ports, &other).await, 1);
    }

    pub async fn provisioning_conflicts(ports: Ports) {
        let plan_id = plan(&ports).await;
        let slug = unique("acme").replace('_', "-");
        let email = format!("{slug}@acme.test");
        let first = tenants::provision(&ports, "http://x", provision_input(&plan_id, &slug, &email)).await.unwrap();
        let admin = Users::new(&*ports.table).get(&first.admin_user.id).await.unwrap().unwrap();
        assert!(admin.must_change_password);
        assert!(admin.password_hash.starts_with("$argon2id$"));

        let taken = |e: miping::domain::Error| (ApiError::from(e.clone()).status.as_u16(), e.code);
        let other_slug = unique("other").replace('_', "-");
        let e = tenants::provision(&ports, "http://x", provision_input(&plan_id, &slug, "new@acme.test"))
            .await
            .unwrap_err();
        assert_eq!(taken(e), (409, "slug_taken"));
        let e = tenants::provision(&ports, "http://x", provision_input(&plan_id, &other_slug, &email.to_uppercase()))
            .await
            .unwrap_err();
        assert_eq!(taken(e), (409, "email_taken"));
        // Nothing of the refused attempts exists: the other slug is free, "new@" has no user,
        // and the plan counts one tenant.
        assert!(ports.table.get(&miping::store::keys::unique_slug(&other_slug)).await.unwrap().is_none());
        assert!(Users::new(&*ports.table).find_by_email("new@acme.test").await.unwrap().is_none());
        assert_eq!(tenant_count(&ports, &plan_id).await, 1);
        let e = tenants::provision(&ports, "http://x", provision_input("plan_nope", &other_slug, "x@acme.test"))
            .await
            .unwrap_err();
        assert_eq!((ApiError::from(e.clone()).status.as_u16(), e.details[0].code.as_str()), (422, "unknown_plan"));
    }

    pub async fn plan_change(ports: Ports) {
        let a = plan(&ports).await;
        let b = plan(&ports).await;
        let slug = unique("acme").replace('_', "-");
        let t = tenants::provision(&ports, "http://x", provision_input(&a, &slug, &format!("{slug}@acme.test")))
            .await
            .unwrap();
        let changed =
            tenants::patch(&ports, &t.tenant.id, TenantPatch { plan_id: Some(b.clone()), ..Default::default() })
                .await
                .unwrap();
        assert_eq!(changed.plan_id, b);
        assert_eq!((tenant_count(&ports, &a).await, tenant_count(&ports, &b).await), (0, 1));
        let e = tenants::patch(
            &ports,
            &t.tenant.id,
            TenantPatch { plan_id: Some("plan_nope".into()), ..Default::default() },
        )
        .await
        .unwrap_err();
        assert_eq!(ApiError::from(e).status.as_u16(), 422);
        assert_eq!((tenant_count(&ports, &a).await, tenant_count(&ports, &b).await), (0, 1));
    }

    fn req(id: &str, amount: &str) -> DebitRequest {
        DebitRequest {
            message_id: id.into(),
            amount: m(amount),
            reference: Reference::message(id),
            category: "marketing".into(),
        }
    }

    /// Every entry, oldest first, read back through the paginated listing.
    async fn all_entries(ports: &Ports, tenant: &str) -> Vec<LedgerEntry> {
        let mut out = Vec::new();
        let mut cursor = None;
        loop {
            let (page, next) = billing::list(ports, tenant, 7, cursor).await.unwrap();
            out.extend(page);
            match next {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        out.reverse();
        out
    }

    /// Sequential, gapless, each `balance_after` = previous + signed amount, the last = the balance.
    async fn assert_ledger_consistent(ports: &Ports, tenant: &str) -> Vec<LedgerEntry> {
        let entries = all_entries(ports, tenant).await;
        let mut running = Money::ZERO;
        for (n, e) in entries.iter().enumerate() {
            assert_eq!(e.seq, n as u64 + 1, "gapless seq");
            running = running.checked_add(e.signed_amount()).unwrap();
            assert_eq!(e.balance_after, running, "balance_after of entry {}", e.seq);
            assert!(!e.balance_after.is_negative());
        }
        assert_eq!(billing::balance(ports, tenant).await.unwrap(), running, "ledger sums to the balance");
        entries
    }

    /// Item 9: two credits of 99999999999.9999 used to be stored, and every read of the ledger
    /// then failed ("corrupt item: is too large"). The balance has a maximum; a credit past it is
    /// refused and nothing is written; the ledger stays readable.
    pub async fn balance_limit(ports: Ports) {
        use miping::domain::money::MAX_BALANCE;
        let t = new_tenant(&ports).await;
        let half = Money::from_units(MAX_BALANCE.units() / 2);
        billing::credit(&ports, &t, half, None).await.unwrap();
        billing::credit(&ports, &t, half, None).await.unwrap();
        assert_eq!(billing::balance(&ports, &t).await.unwrap(), MAX_BALANCE, "up to the maximum is fine");
        let e = billing::credit(&ports, &t, m("0.0001"), None).await.unwrap_err();
        assert!(matches!(e, billing::BillingError::BalanceLimit { .. }), "{e:?}");
        let api: ApiError = e.into();
        assert_eq!((api.status.as_u16(), api.code), (422, "balance_limit_exceeded"));
        let e = billing::credit(&ports, &t, m("99999999999.9999"), None).await.unwrap_err();
        assert!(matches!(e, billing::BillingError::BalanceLimit { .. }), "{e:?}");
        // A debit and its refund bring it back to the maximum, readable.
        billing::debit(&ports, &t, &[req("msg_max", "0.80")]).await.unwrap();
        billing::refund(&ports, &t, "msg_max", None).await.unwrap();
        let entries = assert_ledger_consistent(&ports, &t).await;
        assert_eq!(entries.len(), 4, "nothing written for the refused credits");
        assert_eq!(billing::balance(&ports, &t).await.unwrap(), MAX_BALANCE);
    }

    pub async fn ledger_basics(ports: Ports) {
        let t = new_tenant(&ports).await;
        assert_eq!(billing::balance(&ports, &t).await.unwrap(), Money::ZERO);
        let c = billing::credit(&ports, &t, m("10.00"), Some("top-up".into())).await.unwrap();
        assert_eq!((c.kind, c.balance_after, c.seq), (EntryKind::Credit, m("10"), 1));

        let out = billing::debit(&ports, &t, &[req("msg_a", "0.7846"), req("msg_b", "1.2154"), req("msg_a", "0.7846")])
            .await
            .unwrap();
        assert!(matches!(&out[0], DebitOutcome::Debited { balance_after, .. } if *balance_after == m("9.2154")));
        assert!(matches!(&out[1], DebitOutcome::Debited { balance_after, .. } if *balance_after == m("8")));
        assert_eq!(out[2], DebitOutcome::AlreadyDebited);
        // A redelivered batch changes nothing.
        let again = billing::debit(&ports, &t, &[req("msg_a", "0.7846"), req("msg_b", "1.2154")]).await.unwrap();
        assert_eq!(again, vec![DebitOutcome::AlreadyDebited, DebitOutcome::AlreadyDebited]);
        assert_eq!(billing::balance(&ports, &t).await.unwrap(), m("8"));

        let r = billing::refund(&ports, &t, "msg_a", Some("failed: 131026".into())).await.unwrap();
        assert!(matches!(r, RefundOutcome::Refunded { balance_after, .. } if balance_after == m("8.7846")));
        assert_eq!(billing::refund(&ports, &t, "msg_a", None).await.unwrap(), RefundOutcome::AlreadyRefunded);
        assert_eq!(billing::refund(&ports, &t, "msg_never", None).await.unwrap(), RefundOutcome::NotDebited);
        // A refunded message is still "debited" for a redelivery: it is not charged again.
        assert_eq!(
            billing::debit(&ports, &t, &[req("msg_a", "0.7846")]).await.unwrap(),
            vec![DebitOutcome::AlreadyDebited]
        );

        let entries = assert_ledger_consistent(&ports, &t).await;
        let kinds: Vec<EntryKind> = entries.iter().map(|e| e.kind).collect();
        assert_eq!(kinds, [EntryKind::Credit, EntryKind::Debit, EntryKind::Debit, EntryKind::Refund]);
        assert_eq!(entries[1].reference, Some(Reference::message("msg_a")));
        assert!(billing::debit(&ports, &t, &[req("msg_z", "0")]).await.is_err(), "zero amounts are a caller bug");
    }

    pub async fn insufficient_prefix(ports: Ports) {
        let t = new_tenant(&ports).await;
        billing::credit(&ports, &t, m("2.50"), None).await.unwrap();
        let out = billing::debit(&ports, &t, &[req("m1", "1"), req("m2", "1"), req("m3", "1"), req("m4", "0.25")])
            .await
            .unwrap();
        assert!(matches!(out[0], DebitOutcome::Debited { .. }));
        assert!(matches!(out[1], DebitOutcome::Debited { .. }));
        // In order: m4 would fit, but it does not overtake m3.
        assert_eq!(out[2..], [DebitOutcome::InsufficientCredits, DebitOutcome::InsufficientCredits]);
        assert_eq!(billing::balance(&ports, &t).await.unwrap(), m("0.50"));
        // A batch that mixes an already-debited message with unaffordable ones says which is which.
        let out = billing::debit(&ports, &t, &[req("m1", "1"), req("m3", "1")]).await.unwrap();
        assert_eq!(out, [DebitOutcome::AlreadyDebited, DebitOutcome::InsufficientCredits]);
        // More than one transaction's worth (MAX_DEBIT_BATCH) in one call.
        billing::credit(&ports, &t, m("100"), None).await.unwrap();
        let many: Vec<DebitRequest> = (0..100).map(|i| req(&format!("bulk{i}"), "0.01")).collect();
        let out = billing::debit(&ports, &t, &many).await.unwrap();
        assert!(out.iter().all(|o| matches!(o, DebitOutcome::Debited { .. })));
        assert_eq!(billing::balance(&ports, &t).await.unwrap(), m("99.50"));
        assert_ledger_consistent(&ports, &t).await;
    }

    pub async fn ledger_pagination(ports: Ports) {
        let t = new_tenant(&ports).await;
        for i in 1..=23 {
            billing::credit(&ports, &t, Money::from_units(i), None).await.unwrap();
        }
        let (first, next) = billing::list(&ports, &t, 10, None).await.unwrap();
        let seqs: Vec<u64> = first.iter().map(|e| e.seq).collect();
        assert_eq!(seqs, (14..=23).rev().collect::<Vec<_>>());
        let (second, next) = billing::list(&ports, &t, 10, next).await.unwrap();
        assert_eq!(second.first().map(|e| e.seq), Some(13));
        let (third, next) = billing::list(&ports, &t, 10, next).await.unwrap();
        assert_eq!(third.iter().map(|e| e.seq).collect::<Vec<_>>(), (1..=3).rev().collect::<Vec<_>>());
        assert_eq!(next, None);
        // Exactly a page: no phantom next page.
        let (all, next) = billing::list(&ports, &t, 23, None).await.unwrap();
        assert_eq!((all.len(), next), (23, None));
        assert_ledger_consistent(&ports, &t).await;
    }

    /// 16 workers debit overlapping batches of 1.00 messages against 20.00 of credits (with a
    /// refund racing in): at most 20 are debited, each message once, and the ledger chains.
    pub async fn parallel_debits(ports: Ports) {
        let t = new_tenant(&ports).await;
        billing::credit(&ports, &t, m("20"), None).await.unwrap();
        let mut workers = Vec::new();
        for w in 0..16 {
            let (ports, t) = (ports.clone(), t.clone());
            workers.push(tokio::spawn(async move {
                // Worker w asks for messages w*3 .. w*3+6: neighbours overlap (redeliveries).
                let batch: Vec<DebitRequest> = (w * 3..w * 3 + 6).map(|i| req(&format!("p{i}"), "1")).collect();
                let out = billing::debit(&ports, &t, &batch).await.unwrap();
                if w == 5 {
                    // Refund one of ours if we got it, while the others are still debiting.
                    let _ = billing::refund(&ports, &t, "p15", None).await.unwrap();
                }
                batch.into_iter().zip(out).collect::<Vec<_>>()
            }));
        }
        let mut debited = HashSet::new();
        for w in workers {
            for (r, o) in w.await.unwrap() {
                if let DebitOutcome::Debited { .. } = o {
                    assert!(debited.insert(r.message_id.clone()), "{} debited twice", r.message_id);
                }
            }
        }
        let entries = assert_ledger_consistent(&ports, &t).await;
        let debits = entries.iter().filter(|e| e.kind == EntryKind::Debit).count();
        assert_eq!(debits, debited.len());
        let refunds = entries.iter().filter(|e| e.kind == EntryKind::Refund).count();
        assert!(debits <= 20 + refunds, "{debits} debits of 1.00 against 20.00 (+{refunds} refunded)");
        assert!(debits >= 20, "credits were left while messages were refused: {debits}");
        let balance = billing::balance(&ports, &t).await.unwrap();
        assert_eq!(balance, Money::from_units((20 + refunds as i64 - debits as i64) * 10_000));
        assert!(!balance.is_negative());
        let state = Ledger::new(&*ports.table).balance(&t).await.unwrap();
        assert_eq!(state.seq as usize, entries.len());
    }

    /// The send worker's debits (one message each, many at once, some redelivered twice) are
    /// committed in groups: far fewer balance writes than messages, the same outcomes as one by
    /// one — every message charged once, no more than the credits, the ledger chaining.
    pub async fn grouped_debits(ports: Ports) {
        use miping::domain::sending::debits;
        let t = new_tenant(&ports).await;
        billing::credit(&ports, &t, m("60"), None).await.unwrap();
        let before = debits::commits();
        let mut sends = Vec::new();
        for i in 0..80 {
            // Messages 0..70, the first ten twice (a redelivered job racing its first delivery).
            let id = format!("g{}", i % 70);
            let (ports, t) = (ports.clone(), t.clone());
            sends.push(tokio::spawn(async move {
                let outcome = debits::debit(&ports, &t, req(&id, "1")).await.unwrap();
                (id, outcome)
            }));
        }
        let mut debited = HashSet::new();
        let mut refused = 0;
        for send in sends {
            match send.await.unwrap() {
                (id, DebitOutcome::Debited { .. }) => assert!(debited.insert(id.clone()), "{id} debited twice"),
                (_, DebitOutcome::InsufficientCredits) => refused += 1,
                (_, DebitOutcome::AlreadyDebited) => {}
            }
        }
        assert_eq!(debited.len(), 60, "60.00 of credits buy exactly 60 of the 70 messages");
        assert!(refused >= 10, "{refused}");
        assert_eq!(billing::balance(&ports, &t).await.unwrap(), Money::from_units(0));
        let entries = assert_ledger_consistent(&ports, &t).await;
        assert_eq!(entries.iter().filter(|e| e.kind == EntryKind::Debit).count(), 60);
        let commits = debits::commits() - before;
        assert!(commits <= 20, "80 concurrent debits took {commits} balance commits");
    }

    /// A batch of refunds: each debited message gets exactly its debit back, once, in one
    /// balance write; a message never debited gets nothing, a repeat nothing more.
    pub async fn refund_batches(ports: Ports) {
        use billing::RefundRequest;
        let t = new_tenant(&ports).await;
        billing::credit(&ports, &t, m("10.00"), None).await.unwrap();
        billing::debit(&ports, &t, &[req("ra", "1.00"), req("rb", "0.80"), req("rc", "0.12")]).await.unwrap();
        let seq_before = Ledger::new(&*ports.table).balance(&t).await.unwrap().seq;
        let ask = |ids: &[&str]| -> Vec<RefundRequest> {
            ids.iter()
                .map(|id| RefundRequest { message_id: id.to_string(), description: Some("failed".into()) })
                .collect()
        };
        let out = billing::refund_batch(&ports, &t, &ask(&["ra", "rx", "rb", "ra", "rx"])).await.unwrap();
        assert!(
            matches!(out[0], RefundOutcome::Refunded { balance_after, .. } if balance_after == m("9.08")),
            "{out:?}"
        );
        assert!(
            matches!(out[2], RefundOutcome::Refunded { balance_after, .. } if balance_after == m("9.88")),
            "{out:?}"
        );
        assert_eq!(
            (&out[1], &out[3], &out[4]),
            (&RefundOutcome::NotDebited, &RefundOutcome::AlreadyRefunded, &RefundOutcome::NotDebited)
        );
        let state = Ledger::new(&*ports.table).balance(&t).await.unwrap();
        assert_eq!((state.balance, state.seq), (m("9.88"), seq_before + 2), "two entries, one balance write");
        // A redelivery of the same batch, with one more: only the new one is given back.
        let out = billing::refund_batch(&ports, &t, &ask(&["rb", "rc", "ra"])).await.unwrap();
        assert_eq!(out[0], RefundOutcome::AlreadyRefunded);
        assert!(matches!(out[1], RefundOutcome::Refunded { balance_after, .. } if balance_after == m("10.00")));
        assert_eq!(out[2], RefundOutcome::AlreadyRefunded);
        assert_eq!(billing::refund(&ports, &t, "rc", None).await.unwrap(), RefundOutcome::AlreadyRefunded);
        let entries = assert_ledger_consistent(&ports, &t).await;
        let refunds: Vec<(&str, Money)> = entries
            .iter()
            .filter(|e| e.kind == EntryKind::Refund)
            .map(|e| (e.reference.as_ref().map(|r| r.id.as_str()).unwrap_or_default(), e.amount))
            .collect();
        assert_eq!(refunds, [("ra", m("1.00")), ("rb", m("0.80")), ("rc", m("0.12"))]);
        // A refunded message is still debited: a redelivered send is not charged again.
        assert_eq!(billing::debit(&ports, &t, &[req("ra", "1.00")]).await.unwrap(), [DebitOutcome::AlreadyDebited]);
    }

    /// Failures reported at once (a webhook batch; some reported twice, some for messages never
    /// debited) are refunded in groups: each debited message gets its credits back exactly once,
    /// in far fewer balance writes than refunds, and the ledger chains.
    pub async fn grouped_refunds(ports: Ports) {
        use billing::group;
        let t = new_tenant(&ports).await;
        billing::credit(&ports, &t, m("50"), None).await.unwrap();
        let batch: Vec<DebitRequest> = (0..40).map(|i| req(&format!("f{i}"), "1")).collect();
        billing::debit(&ports, &t, &batch).await.unwrap();
        assert_eq!(billing::balance(&ports, &t).await.unwrap(), m("10"));
        let before = group::refund_commits();
        let mut refunds = Vec::new();
        for i in 0..70 {
            // f0..f39, the first twenty twice; f40..f49 were never debited.
            let id = format!("f{}", if i < 60 { i % 40 } else { i - 20 });
            let (ports, t) = (ports.clone(), t.clone());
            refunds.push(tokio::spawn(async move {
                let out = group::refund(&ports, &t, &id, Some("Meta reported failure 131026".into())).await.unwrap();
                (id, out)
            }));
        }
        let mut refunded = HashSet::new();
        let mut not_debited = 0;
        for r in refunds {
            match r.await.unwrap() {
                (id, RefundOutcome::Refunded { .. }) => assert!(refunded.insert(id.clone()), "{id} refunded twice"),
                (_, RefundOutcome::NotDebited) => not_debited += 1,
                (_, RefundOutcome::AlreadyRefunded) => {}
            }
        }
        assert_eq!((refunded.len(), not_debited), (40, 10));
        assert_eq!(billing::balance(&ports, &t).await.unwrap(), m("50"), "every debit given back, once");
        let entries = assert_ledger_consistent(&ports, &t).await;
        assert_eq!(entries.iter().filter(|e| e.kind == EntryKind::Refund).count(), 40);
        let commits = group::refund_commits() - before;
        assert!(commits <= 20, "70 concurrent refunds took {commits} group commits");
    }

    /// The gate (billing::gate): however many debits, refunds and credits race, this process
    /// never has two transactions on one balance item in flight, and each starts at least an
    /// interval after the previous one ended — the bound on the item's writes per second holds
    /// whatever the message rate, and the money stays exact.
    pub async fn gated_balance_writes(ports: Ports, table: std::sync::Arc<super::BalanceWrites>) {
        use billing::{gate, group};
        use miping::domain::sending::debits;
        let t = new_tenant(&ports).await;
        billing::credit(&ports, &t, m("30"), None).await.unwrap();
        let mut tasks = Vec::new();
        for i in 0..60 {
            let (ports, t) = (ports.clone(), t.clone());
            tasks.push(tokio::spawn(async move {
                let id = format!("w{}", i % 45);
                if i % 10 == 9 {
                    billing::credit(&ports, &t, m("1"), None).await.unwrap();
                } else {
                    debits::debit(&ports, &t, req(&id, "1")).await.unwrap();
                }
                if i % 4 == 0 {
                    group::refund(&ports, &t, &id, None).await.unwrap();
                }
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
        let pk = miping::store::keys::balance(&t).pk;
        let mut spans: Vec<_> =
            table.spans.lock().unwrap().iter().filter(|s| s.0 == pk).map(|s| (s.1, s.2)).collect::<Vec<_>>();
        spans.sort();
        assert!(spans.len() >= 2, "{spans:?}");
        for pair in spans.windows(2) {
            let gap = pair[1].0.saturating_duration_since(pair[0].1);
            assert!(pair[1].0 >= pair[0].1 + gate::interval(), "two balance transactions {gap:?} apart");
        }
        let entries = assert_ledger_consistent(&ports, &t).await;
        assert!(spans.len() < entries.len(), "{} balance transactions for {} entries", spans.len(), entries.len());
    }

    pub async fn parallel_adjustments(ports: Ports) {
        let t = new_tenant(&ports).await;
        billing::credit(&ports, &t, m("10.00"), None).await.unwrap();
        let mut fixes = Vec::new();
        for i in 0..6 {
            let (ports, t) = (ports.clone(), t.clone());
            fixes.push(tokio::spawn(async move {
                billing::adjust_down(&ports, &t, m("2.50"), format!("correction {i}")).await
            }));
        }
        let (mut done, mut refused) = (0, 0);
        for fix in fixes {
            match fix.await.unwrap() {
                Ok(e) => {
                    assert_eq!((e.kind, e.amount), (EntryKind::Adjustment, m("2.50")));
                    done += 1;
                }
                Err(billing::BillingError::InsufficientBalance { .. }) => refused += 1,
                Err(e) => panic!("{e:?}"),
            }
        }
        assert_eq!((done, refused), (4, 2), "10.00 covers exactly four corrections of 2.50");
        assert_eq!(billing::balance(&ports, &t).await.unwrap(), Money::ZERO);
        let entries = assert_ledger_consistent(&ports, &t).await;
        assert_eq!(entries.len(), 5, "nothing written for the refused ones");
        let api: ApiError = billing::adjust_down(&ports, &t, m("0.0001"), "x".into()).await.unwrap_err().into();
        assert_eq!((api.status.as_u16(), api.code), (422, "insufficient_balance"));
    }

    pub async fn resend_welcome(ports: Ports) {
        let t = new_tenant(&ports).await;
        let admin_id = tenants::get(&ports, &t).await.unwrap().admin_user_id;
        let users = Users::new(&*ports.table);
        let first = users.get(&admin_id).await.unwrap().unwrap().password_hash;
        tenants::resend_welcome(&ports, "http://x", &t).await.unwrap();
        let second = users.get(&admin_id).await.unwrap().unwrap();
        assert!(second.must_change_password && second.password_hash != first, "a new one-time password");
        // The admin chooses a password: from then on no welcome replaces it.
        users.set_password(&admin_id, "chosen-hash", false, chrono::Utc::now()).await.unwrap();
        assert_eq!(tenants::resend_welcome(&ports, "http://x", &t).await.unwrap_err().code, "welcome_already_used");
        assert!(!users.set_one_time_password(&admin_id, "another", chrono::Utc::now()).await.unwrap());
        assert_eq!(users.get(&admin_id).await.unwrap().unwrap().password_hash, "chosen-hash");
    }

    pub async fn tenant_settings(ports: Ports) {
        use miping::domain::tenants::settings;
        use miping::store::tenant_settings::TenantSettingsStore;
        let t = new_tenant(&ports).await;
        let defaults = settings::get(&ports, &t).await.unwrap();
        assert_eq!((defaults.time_zone.as_str(), defaults.default_country), ("UTC", None));
        let patch = |v| serde_json::from_value::<settings::SettingsPatch>(v).unwrap();
        settings::patch(&ports, &t, patch(json!({"default_country": "IN", "opt_in_keywords": ["haan"]})))
            .await
            .unwrap();
        let s = settings::patch(&ports, &t, patch(json!({"time_zone": "Asia/Kolkata"}))).await.unwrap();
        assert_eq!((s.default_country.as_deref(), s.opt_in_keywords.len()), (Some("IN"), 1), "merged");
        assert_eq!(settings::get(&ports, &t).await.unwrap(), s);
        assert_eq!(
            settings::default_country(&ports, &t).await.unwrap().map(|c| c.as_str().to_owned()).as_deref(),
            Some("IN")
        );
        // Two writers from one read: the second is refused (and retried by the use case).
        let store = TenantSettingsStore::new(&*ports.table);
        let read = store.get(&t).await.unwrap();
        let mut a = read.settings.clone();
        a.time_zone = "Europe/Paris".into();
        assert!(store.put(&t, &a, read.version).await.unwrap());
        assert!(!store.put(&t, &read.settings, read.version).await.unwrap(), "a stale write is refused");
        assert_eq!(settings::get(&ports, &t).await.unwrap().time_zone, "Europe/Paris");
        let other = new_tenant(&ports).await;
        assert_eq!(settings::get(&ports, &other).await.unwrap().default_country, None, "per tenant");
    }

    /// Every tenant's id in the order one of the two listings gives, read two at a time.
    async fn all_tenant_ids(ports: &Ports, newest_first: bool) -> Vec<String> {
        let store = miping::store::tenants::Tenants::new(&*ports.table);
        let (mut ids, mut cursor) = (Vec::new(), None);
        loop {
            let (page, next) = if newest_first {
                store.list_newest_first(2, cursor).await.unwrap()
            } else {
                store.list(2, cursor).await.unwrap()
            };
            assert!(page.len() <= 2);
            ids.extend(page.into_iter().map(|t| t.id));
            match next {
                Some(c) => cursor = Some(c),
                None => return ids,
            }
        }
    }

    pub async fn tenant_lists(ports: Ports) {
        let mut made = Vec::new();
        for _ in 0..3 {
            made.push(new_tenant(&ports).await);
        }
        // The table may hold other tests' tenants: keep ours, in the order listed.
        let ours = |ids: Vec<String>| ids.into_iter().filter(|id| made.contains(id)).collect::<Vec<_>>();
        assert_eq!(ours(all_tenant_ids(&ports, false).await), made, "oldest first (GET /admin/tenants)");
        let newest: Vec<String> = made.iter().rev().cloned().collect();
        assert_eq!(ours(all_tenant_ids(&ports, true).await), newest, "newest first (the console)");
    }

    pub async fn quarantine(ports: Ports) {
        use miping::domain::webhooks::quarantine::{self, Reason};
        // The list is platform-wide: this test's items are told apart by a unique tag.
        let tag = unique("q");
        let detail = |i: usize| format!("{tag}/{i}");
        for (i, reason) in [Reason::Malformed, Reason::Unrouted, Reason::Unhandled].into_iter().enumerate() {
            quarantine::keep(&ports, &format!("{tag}:{i}"), reason, &detail(i), json!({"n": i})).await.unwrap();
        }
        // Page by page, two at a time.
        let mut ours = Vec::new();
        let mut cursor = None;
        loop {
            let (items, next) = quarantine::list(&ports, 2, cursor).await.unwrap();
            assert!(items.len() <= 2);
            ours.extend(items.into_iter().filter(|e| e.detail.starts_with(&tag)));
            match next {
                Some(c) => cursor = Some(c),
                None => break,
            }
        }
        let details: Vec<&str> = ours.iter().map(|e| e.detail.as_str()).collect();
        assert_eq!(details, [detail(2), detail(1), detail(0)], "newest first");
        assert_eq!(ours[1].reason, Reason::Unrouted);
        let opened = quarantine::get(&ports, &ours[1].id).await.unwrap();
        assert_eq!((&opened.entry, &opened.payload), (&ours[1], &json!({"n": 1})));

        // A redelivery of the same thing replaces its item and moves it to the front.
        quarantine::keep(&ports, &format!("{tag}:0"), Reason::Malformed, &detail(0), json!({"n": 0})).await.unwrap();
        let (items, _) = quarantine::list(&ports, 500, None).await.unwrap();
        let details: Vec<String> = items.into_iter().filter(|e| e.detail.starts_with(&tag)).map(|e| e.detail).collect();
        assert_eq!(details, [detail(0), detail(2), detail(1)], "one item per key");
        assert_eq!(quarantine::get(&ports, "wq_bm9wZQ").await.unwrap_err().code, "not_found");
        assert_eq!(quarantine::get(&ports, "not-an-id").await.unwrap_err().code, "not_found");
    }
}

crate::common::on_both_tables!(admin_store_suite);
