//! The conformance suite of the single-table port: every adapter of [`Table`] must pass all of
//! it. Each case uses its own keys, so cases may share one table.
//!
//! Run it for an adapter with the [`table_conformance!`](crate::table_conformance) macro:
//!
//! ```ignore
//! mod embedded {
//!     miping::table_conformance!(async { make_table().await });
//! }
//! ```
//!
//! The expression is evaluated once per test and must yield an `Arc<dyn Table>`.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::ports::table::{
    Cond, Index, Item, Key, MAX_ITEM_BYTES, Page, Query, SkCond, Table, TableError, TxOp, Update,
};
use crate::testkit::unique;

/// Expands to one `#[tokio::test]` per conformance case; `$make` is an async expression
/// yielding a fresh `Arc<dyn Table>`.
#[macro_export]
macro_rules! table_conformance {
    ($make:expr) => {
        $crate::table_conformance!(@by_ref $make;
            round_trip, entity_round_trip, put_not_exists_conflict, update_upserts, add_counters,
            set_if_absent, append_lists, remove_attributes, failed_conditions_leave_item,
            delete_returns_old_item, comparisons, invalid_updates, query_sort_key_conditions,
            pagination, filter_with_limit, contains_filter, malformed_cursor, index_queries, ttl_hides_expired,
            transactions_all_or_nothing, transaction_limits, item_size_limit);
        $crate::table_conformance!(@by_arc $make;
            concurrent_puts_one_wins, concurrent_conditional_decrements, concurrent_transactions,
            concurrent_mixed_outcomes, concurrent_transactions_all_or_nothing,
            concurrent_reads_see_completed_writes);
    };
    (@by_ref $make:expr; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let table: ::std::sync::Arc<dyn $crate::ports::table::Table> = $make.await;
                $crate::testkit::table::$case(&*table).await;
            }
        )*
    };
    (@by_arc $make:expr; $($case:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let table: ::std::sync::Arc<dyn $crate::ports::table::Table> = $make.await;
                $crate::testkit::table::$case(table).await;
            }
        )*
    };
}

// ---- helpers -----------------------------------------------------------------------------

fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).expect("clock after 1970").as_secs() as i64
}

fn new_key(prefix: &str) -> Key {
    Key::new(unique(prefix), "item")
}

fn sks(items: &[Item]) -> Vec<String> {
    items.iter().map(|i| i.get_str("SK").unwrap_or_default().to_owned()).collect()
}

/// Whether `cond` holds on the item at `key`, observed through a conditional write that
/// changes nothing the caller looks at.
async fn holds(table: &dyn Table, key: &Key, cond: Cond) -> bool {
    match table.update(key, Update::new().add("probes", 1), Some(cond.clone())).await {
        Ok(_) => true,
        Err(TableError::ConditionFailed { .. }) => false,
        Err(e) => panic!("condition {cond:?}: unexpected error {e:?}"),
    }
}

/// Every page of `query`, checking the page invariants on the way.
async fn all_pages(table: &dyn Table, query: Query) -> Vec<Page> {
    let limit = query.limit;
    let mut pages = Vec::new();
    let mut cursor = None;
    loop {
        let page = table.query(query.clone().cursor(cursor)).await.expect("query");
        assert!(page.items.len() <= limit, "page larger than its limit {limit}");
        if page.next_cursor.is_some() {
            assert_eq!(page.items.len(), limit, "a page followed by another must be full");
        }
        cursor = page.next_cursor.clone();
        pages.push(page);
        if cursor.is_none() {
            return pages;
        }
        assert!(pages.len() < 1000, "pagination does not end");
    }
}

fn flatten(pages: &[Page]) -> Vec<Item> {
    pages.iter().flat_map(|p| p.items.clone()).collect()
}

// ---- items ---------------------------------------------------------------------------------

pub async fn round_trip(table: &dyn Table) {
    let key = new_key("rt");
    let item = Item::new(key.clone())
        .with(
            "doc",
            json!({
                "nested": {"deeper": {"list": [1, -2, 3.25, "x", true, null, [], {}]}},
                "int": i64::MAX, "neg": i64::MIN, "float": -0.125, "small": 0.1,
                "yes": true, "no": false, "nothing": null, "empty": "", "unicode": "héllo ✓",
                "empty_list": [], "empty_map": {}
            }),
        )
        .with("top_empty", "")
        .with("top_null", Value::Null)
        .with("count", 42);
    table.put(item.clone(), None).await.expect("put");
    assert_eq!(table.get(&key).await.expect("get"), Some(item.clone()));
    assert_eq!(
        table.get(&Key::new(key.pk.clone(), "other")).await.expect("get"),
        None,
        "another sort key is another item"
    );
    // A put replaces the whole item.
    let replaced = Item::new(key.clone()).with("only", 1);
    table.put(replaced.clone(), None).await.expect("put");
    assert_eq!(table.get(&key).await.expect("get"), Some(replaced));
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Entity {
    name: String,
    balance: i64,
    tags: Vec<String>,
    note: Option<String>,
}

pub async fn entity_round_trip(table: &dyn Table) {
    let key = new_key("ent");
    let entity = Entity { name: "Ada".into(), balance: -3, tags: vec!["a".into(), "b".into()], note: None };
    let item = Item::from_entity(key.clone(), &entity).expect("from_entity").with_index(Index::Gsi1, unique("g"), "s");
    table.put(item, None).await.expect("put");
    let back = table.get(&key).await.expect("get").expect("item present");
    assert_eq!(back.key(), Some(key));
    assert_eq!(back.to_entity::<Entity>().expect("to_entity"), entity);
    assert!(matches!(Item::from_entity(new_key("ent"), &5), Err(TableError::Invalid(_))));
    assert!(matches!(back.to_entity::<Vec<i64>>(), Err(TableError::Corrupt(_))));
}

pub async fn put_not_exists_conflict(table: &dyn Table) {
    let key = new_key("pne");
    let first = Item::new(key.clone()).with("v", 1);
    table.put(first.clone(), Some(Cond::NotExists)).await.expect("first put");
    match table.put(Item::new(key.clone()).with("v", 2), Some(Cond::NotExists)).await {
        Err(TableError::ConditionFailed { current }) => assert_eq!(current.map(|b| *b), Some(first.clone())),
        other => panic!("expected ConditionFailed, got {other:?}"),
    }
    assert_eq!(table.get(&key).await.expect("get"), Some(first));
    // Exists on a missing item fails with no current item.
    match table.put(Item::new(new_key("pne")), Some(Cond::Exists)).await {
        Err(TableError::ConditionFailed { current }) => assert!(current.is_none()),
        other => panic!("expected ConditionFailed, got {other:?}"),
    }
}

pub async fn update_upserts(table: &dyn Table) {
    let key = new_key("ups");
    let created = table.update(&key, Update::new().set("a", "x").set("n", 1), None).await.expect("upsert");
    let expected = Item::new(key.clone()).with("a", "x").with("n", 1);
    assert_eq!(created, expected);
    assert_eq!(table.get(&key).await.expect("get"), Some(expected));
    let after = table.update(&key, Update::new().set("a", json!({"m": [1]})), None).await.expect("update");
    assert_eq!(
        after,
        Item::new(key.clone()).with("a", json!({"m": [1]})).with("n", 1),
        "update keeps other attributes"
    );
    // An update conditioned on existence does not create.
    let missing = new_key("ups");
    assert!(matches!(
        table.update(&missing, Update::new().set("a", 1), Some(Cond::Exists)).await,
        Err(TableError::ConditionFailed { current: None })
    ));
    assert_eq!(table.get(&missing).await.expect("get"), None);
    // An empty update still creates the item with just its key.
    let bare = new_key("ups");
    assert_eq!(table.update(&bare, Update::new(), None).await.expect("empty update"), Item::new(bare.clone()));
    assert_eq!(table.get(&bare).await.expect("get"), Some(Item::new(bare)));
}

pub async fn add_counters(table: &dyn Table) {
    let key = new_key("add");
    let item = table.update(&key, Update::new().add("c", 5), None).await.expect("add on missing item");
    assert_eq!(item.get_i64("c"), Some(5));
    let item = table.update(&key, Update::new().add("c", -7).add("d", 3), None).await.expect("add");
    assert_eq!((item.get_i64("c"), item.get_i64("d")), (Some(-2), Some(3)));
    assert_eq!(table.get(&key).await.expect("get").and_then(|i| i.get_i64("c")), Some(-2));
}

pub async fn set_if_absent(table: &dyn Table) {
    let key = new_key("sia");
    let item =
        table.update(&key, Update::new().set_if_absent("created", 100).set("seen", 1), None).await.expect("update");
    assert_eq!(item.get_i64("created"), Some(100));
    let item =
        table.update(&key, Update::new().set_if_absent("created", 200).set("seen", 2), None).await.expect("update");
    assert_eq!(
        (item.get_i64("created"), item.get_i64("seen")),
        (Some(100), Some(2)),
        "set_if_absent keeps the existing value"
    );
}

pub async fn append_lists(table: &dyn Table) {
    let key = new_key("app");
    let item = table
        .update(&key, Update::new().append("log", vec![json!("a"), json!(1)]), None)
        .await
        .expect("append to missing");
    assert_eq!(item.get("log"), Some(&json!(["a", 1])));
    let item = table
        .update(&key, Update::new().append("log", vec![json!({"k": null})]), None)
        .await
        .expect("append to existing");
    assert_eq!(item.get("log"), Some(&json!(["a", 1, {"k": null}])));
    assert_eq!(
        table.get(&key).await.expect("get").and_then(|i| i.get("log").cloned()),
        Some(json!(["a", 1, {"k": null}]))
    );
}

pub async fn remove_attributes(table: &dyn Table) {
    let key = new_key("rem");
    table
        .put(Item::new(key.clone()).with("a", 1).with("b", 2).with_index(Index::Gsi2, unique("g"), "s"), None)
        .await
        .expect("put");
    let item = table
        .update(&key, Update::new().remove("a").remove("missing").remove("GSI2PK").remove("GSI2SK"), None)
        .await
        .expect("remove");
    assert_eq!(item, Item::new(key.clone()).with("b", 2));
    assert_eq!(table.get(&key).await.expect("get"), Some(item));
}

pub async fn failed_conditions_leave_item(table: &dyn Table) {
    let key = new_key("fcl");
    let item = Item::new(key.clone()).with("state", "open").with("n", 1);
    table.put(item.clone(), None).await.expect("put");
    match table.update(&key, Update::new().set("state", "closed").add("n", 1), Some(Cond::eq("state", "closed"))).await
    {
        Err(TableError::ConditionFailed { current }) => assert_eq!(current.map(|b| *b), Some(item.clone())),
        other => panic!("expected ConditionFailed, got {other:?}"),
    }
    match table.delete(&key, Some(Cond::eq("state", "closed"))).await {
        Err(TableError::ConditionFailed { current }) => assert_eq!(current.map(|b| *b), Some(item.clone())),
        other => panic!("expected ConditionFailed, got {other:?}"),
    }
    match table.put(Item::new(key.clone()), Some(Cond::AttrNotExists("state".into()))).await {
        Err(TableError::ConditionFailed { .. }) => {}
        other => panic!("expected ConditionFailed, got {other:?}"),
    }
    assert_eq!(table.get(&key).await.expect("get"), Some(item), "failed writes change nothing");
}

pub async fn delete_returns_old_item(table: &dyn Table) {
    let key = new_key("del");
    let item = Item::new(key.clone()).with("x", json!([1, 2]));
    table.put(item.clone(), None).await.expect("put");
    assert_eq!(table.delete(&key, Some(Cond::Exists)).await.expect("delete"), Some(item));
    assert_eq!(table.get(&key).await.expect("get"), None);
    assert_eq!(table.delete(&key, None).await.expect("delete missing"), None);
    assert!(matches!(table.delete(&key, Some(Cond::Exists)).await, Err(TableError::ConditionFailed { current: None })));
}

pub async fn comparisons(table: &dyn Table) {
    let key = new_key("cmp");
    let item = Item::new(key.clone())
        .with("n", 5)
        .with("f", 2.5)
        .with("s", "m")
        .with("b", true)
        .with("z", Value::Null)
        .with("l", json!([1, "x"]));
    table.put(item, None).await.expect("put");
    let ne = |n: &str, v: Value| Cond::Ne(n.into(), v);
    let le = |n: &str, v: Value| Cond::Le(n.into(), v);
    let gt = |n: &str, v: Value| Cond::Gt(n.into(), v);
    let not = |c: Cond| Cond::Not(Box::new(c));
    let cases: Vec<(Cond, bool)> = vec![
        (Cond::eq("n", 5), true),
        (Cond::eq("n", 5.0), true),
        (Cond::eq("n", 6), false),
        (Cond::eq("n", "5"), false),
        (ne("n", json!(6)), true),
        (ne("n", json!(5)), false),
        (ne("n", json!("x")), false),
        (ne("missing", json!(1)), false),
        (Cond::lt("n", 6), true),
        (Cond::lt("n", 5), false),
        (le("n", json!(5)), true),
        (le("n", json!(4)), false),
        (gt("n", json!(4)), true),
        (gt("n", json!(5)), false),
        (Cond::ge("n", 5), true),
        (Cond::ge("n", 6), false),
        (Cond::lt("f", 3), true),
        (gt("f", json!(2.4)), true),
        (Cond::ge("f", 2.5), true),
        (Cond::lt("s", "n"), true),
        (Cond::lt("s", "m"), false),
        (Cond::ge("s", "m"), true),
        (gt("s", json!("Z")), true), // bytes: lowercase sorts after uppercase
        (gt("s", json!("ma")), false),
        (Cond::lt("s", 10), false),
        (Cond::lt("n", "z"), false),
        (Cond::eq("b", true), true),
        (Cond::eq("b", false), false),
        (Cond::eq("z", Value::Null), true),
        (Cond::eq("l", json!([1, "x"])), true),
        (Cond::eq("missing", 1), false),
        (Cond::lt("missing", 1), false),
        (Cond::ge("missing", "a"), false),
        (Cond::AttrExists("s".into()), true),
        (Cond::AttrExists("missing".into()), false),
        (Cond::AttrNotExists("missing".into()), true),
        (Cond::AttrNotExists("z".into()), false),
        (Cond::Exists, true),
        (Cond::NotExists, false),
        (Cond::And(vec![Cond::eq("n", 5), Cond::eq("s", "m")]), true),
        (Cond::And(vec![Cond::eq("n", 5), Cond::eq("s", "x")]), false),
        (Cond::Or(vec![Cond::eq("n", 0), Cond::eq("s", "m")]), true),
        (Cond::Or(vec![Cond::eq("n", 0), Cond::eq("s", "x")]), false),
        (not(Cond::eq("n", 0)), true),
        (not(Cond::eq("missing", 1)), true),
        (not(Cond::Exists), false),
    ];
    for (cond, expected) in cases {
        assert_eq!(holds(table, &key, cond.clone()).await, expected, "{cond:?}");
    }
    // On a missing item, only absence conditions hold.
    let missing = new_key("cmp");
    assert!(!holds(table, &missing, Cond::And(vec![Cond::NotExists, ne("n", json!(1))])).await);
    assert!(matches!(table.delete(&missing, Some(Cond::AttrNotExists("n".into()))).await, Ok(None)));
    // The port rejects what DynamoDB cannot evaluate.
    assert!(matches!(table.delete(&key, Some(Cond::Or(vec![]))).await, Err(TableError::Invalid(_))));
    assert!(matches!(table.delete(&key, Some(Cond::lt("b", true))).await, Err(TableError::Invalid(_))));
}

pub async fn invalid_updates(table: &dyn Table) {
    let key = new_key("inv");
    table.put(Item::new(key.clone()).with("s", "x").with("n", 1), None).await.expect("put");
    for update in [
        Update::new().add("s", 1),
        Update::new().append("n", vec![json!(1)]),
        Update::new().set("PK", "other"),
        Update::new().set("a", 1).remove("a"),
    ] {
        assert!(matches!(table.update(&key, update.clone(), None).await, Err(TableError::Invalid(_))), "{update:?}");
    }
    assert!(matches!(table.put(Item::new(Key::new("", "x")), None).await, Err(TableError::Invalid(_))), "empty key");
    assert!(
        matches!(
            table.put(Item::new(new_key("inv")).with("GSI1PK", 5).with("GSI1SK", "s"), None).await,
            Err(TableError::Invalid(_))
        ),
        "non-string index key"
    );
    assert_eq!(table.get(&key).await.expect("get"), Some(Item::new(key).with("s", "x").with("n", 1)));
}

// ---- queries -------------------------------------------------------------------------------

pub async fn query_sort_key_conditions(table: &dyn Table) {
    let pk = unique("qsk");
    let all = ["a#1", "a#10", "a#2", "a#3", "b#1", "b#2", "c"];
    for sk in all.iter().rev() {
        table.put(Item::new(Key::new(pk.clone(), *sk)).with("v", *sk), None).await.expect("put");
    }
    // A neighbouring partition with the same sort keys must never leak in.
    table.put(Item::new(Key::new(format!("{pk}x"), "a#1")), None).await.expect("put");
    let run = |sk: SkCond, forward: bool| {
        let mut q = Query::table(pk.clone()).sk(sk);
        q.forward = forward;
        async move { sks(&table.query(q).await.expect("query").items) }
    };
    assert_eq!(run(SkCond::Any, true).await, all);
    assert_eq!(run(SkCond::Any, false).await, all.iter().rev().copied().collect::<Vec<_>>());
    assert_eq!(run(SkCond::BeginsWith("a#".into()), true).await, ["a#1", "a#10", "a#2", "a#3"]);
    assert_eq!(run(SkCond::BeginsWith("a#1".into()), false).await, ["a#10", "a#1"]);
    assert_eq!(run(SkCond::BeginsWith("d".into()), true).await, Vec::<String>::new());
    assert_eq!(run(SkCond::Between("a#2".into(), "b#1".into()), true).await, ["a#2", "a#3", "b#1"]);
    assert_eq!(run(SkCond::Between("a#2".into(), "b#1".into()), false).await, ["b#1", "a#3", "a#2"]);
    assert_eq!(run(SkCond::Gt("b#1".into()), true).await, ["b#2", "c"]);
    assert_eq!(run(SkCond::Ge("b#1".into()), false).await, ["c", "b#2", "b#1"]);
    assert_eq!(run(SkCond::Lt("a#2".into()), true).await, ["a#1", "a#10"]);
    assert_eq!(run(SkCond::Le("a#2".into()), false).await, ["a#2", "a#10", "a#1"]);
    assert_eq!(run(SkCond::Eq("b#2".into()), true).await, ["b#2"]);
}

pub async fn pagination(table: &dyn Table) {
    let pk = unique("page");
    let expected: Vec<String> = (0..20).map(|i| format!("item#{i:03}")).collect();
    for sk in &expected {
        table.put(Item::new(Key::new(pk.clone(), sk.clone())), None).await.expect("put");
    }
    for limit in [1, 3, 4, 5, 7, 19, 20, 21, 100] {
        for forward in [true, false] {
            let mut q = Query::table(pk.clone()).limit(limit);
            q.forward = forward;
            let pages = all_pages(table, q).await;
            let got = sks(&flatten(&pages));
            let mut want = expected.clone();
            if !forward {
                want.reverse();
            }
            assert_eq!(got, want, "limit {limit}, forward {forward}");
            assert_eq!(pages.len(), expected.len().div_ceil(limit), "limit {limit}: no empty trailing page");
            assert_eq!(got.iter().collect::<HashSet<_>>().len(), got.len(), "each item exactly once");
        }
    }
    // Paging within a sort key range stays in the range.
    let pages =
        all_pages(table, Query::table(pk.clone()).sk(SkCond::Between("item#005".into(), "item#014".into())).limit(5))
            .await;
    assert_eq!(pages.len(), 2);
    assert_eq!(sks(&flatten(&pages)), expected[5..15]);
}

pub async fn filter_with_limit(table: &dyn Table) {
    let pk = unique("filt");
    for i in 0..30 {
        let kind = if i % 3 == 0 { "a" } else { "b" };
        table
            .put(Item::new(Key::new(pk.clone(), format!("i#{i:02}"))).with("kind", kind).with("n", i), None)
            .await
            .expect("put");
    }
    let pages = all_pages(table, Query::table(pk.clone()).filter(Cond::eq("kind", "a")).limit(4)).await;
    assert_eq!(pages.iter().map(|p| p.items.len()).collect::<Vec<_>>(), [4, 4, 2]);
    let want: Vec<String> = (0..30).filter(|i| i % 3 == 0).map(|i| format!("i#{i:02}")).collect();
    assert_eq!(sks(&flatten(&pages)), want);
    // Exactly a multiple of the limit: the last full page has no cursor.
    let pages = all_pages(table, Query::table(pk.clone()).filter(Cond::eq("kind", "a")).limit(5)).await;
    assert_eq!(pages.iter().map(|p| p.items.len()).collect::<Vec<_>>(), [5, 5]);
    // The only match is the last item: one page, found past many non-matching ones.
    let page = table.query(Query::table(pk.clone()).filter(Cond::ge("n", 29)).limit(1)).await.expect("query");
    assert_eq!((sks(&page.items), page.next_cursor), (vec!["i#29".to_owned()], None));
    let page = table.query(Query::table(pk.clone()).filter(Cond::eq("kind", "none")).limit(3)).await.expect("query");
    assert_eq!((page.items.len(), page.next_cursor), (0, None));
    // A filter on the queried key is a caller bug (DynamoDB rejects it).
    assert!(matches!(table.query(Query::table(pk).filter(Cond::eq("SK", "x"))).await, Err(TableError::Invalid(_))));
}

/// `contains`: substring of a string, element of a list; false for anything else, in a write
/// condition and in a query filter alike.
pub async fn contains_filter(table: &dyn Table) {
    let key = new_key("cont");
    let item = Item::new(key.clone())
        .with("s", "ada lovelace\n+441234")
        .with("l", json!(["vip", "b2b", 7, true]))
        .with("n", 5);
    table.put(item, None).await.expect("put");
    for (cond, want) in [
        (Cond::contains("s", "lovelace"), true),
        (Cond::contains("s", "+4412"), true),
        (Cond::contains("s", "Lovelace"), false),
        (Cond::contains("l", "vip"), true),
        (Cond::contains("l", "vi"), false),
        (Cond::contains("l", 7), true),
        (Cond::contains("l", true), true),
        (Cond::contains("l", "7"), false),
        (Cond::contains("n", 5), false),
        (Cond::contains("missing", "x"), false),
        (Cond::Not(Box::new(Cond::contains("l", "gone"))), true),
    ] {
        assert_eq!(holds(table, &key, cond.clone()).await, want, "{cond:?}");
    }
    let pk = unique("contq");
    for (i, tags) in [json!(["a", "b"]), json!(["b"]), json!([]), json!(["ab"])].into_iter().enumerate() {
        let it = Item::new(Key::new(pk.clone(), format!("i#{i}")))
            .with("tags", tags)
            .with("search", format!("name {i} tail"));
        table.put(it, None).await.expect("put");
    }
    let page =
        table.query(Query::table(pk.clone()).filter(Cond::contains("tags", "b")).limit(10)).await.expect("query");
    assert_eq!(sks(&page.items), ["i#0", "i#1"]);
    let both = Cond::And(vec![Cond::contains("tags", "a"), Cond::contains("search", "0 ta")]);
    let page = table.query(Query::table(pk.clone()).filter(both).limit(10)).await.expect("query");
    assert_eq!(sks(&page.items), ["i#0"]);
    for bad in
        [Cond::contains("s", ""), Cond::Contains("s".into(), Value::Null), Cond::Contains("s".into(), json!(["x"]))]
    {
        assert!(
            matches!(table.query(Query::table(pk.clone()).filter(bad.clone())).await, Err(TableError::Invalid(_))),
            "{bad:?}"
        );
    }
}

pub async fn malformed_cursor(table: &dyn Table) {
    let pk = unique("cur");
    for i in 0..3 {
        table.put(Item::new(Key::new(pk.clone(), format!("{i}"))), None).await.expect("put");
    }
    for bad in ["not a cursor!", "", "eyJ4IjoxfQ"] {
        let res = table.query(Query::table(pk.clone()).cursor(Some(bad.into()))).await;
        assert!(matches!(res, Err(TableError::Invalid(_))), "cursor {bad:?}: {res:?}");
    }
    let page = table.query(Query::table(pk.clone()).limit(1)).await.expect("query");
    let cursor = page.next_cursor.expect("more pages");
    let res = table.query(Query::table(unique("cur")).cursor(Some(cursor.clone()))).await;
    assert!(matches!(res, Err(TableError::Invalid(_))), "cursor of another partition: {res:?}");
    let res = table.query(Query::index(Index::Gsi1, pk).cursor(Some(cursor))).await;
    assert!(matches!(res, Err(TableError::Invalid(_))), "table cursor on an index: {res:?}");
}

pub async fn index_queries(table: &dyn Table) {
    let g = unique("gsi");
    // Index sort keys deliberately ordered differently from the table keys.
    let placed = [("p3", "2024-01"), ("p1", "2024-03"), ("p2", "2024-02"), ("p5", "2023-12"), ("p4", "2024-05")];
    for (pk, isk) in placed {
        let item =
            Item::new(Key::new(format!("{g}-{pk}"), "meta")).with("isk", isk).with_index(Index::Gsi1, g.clone(), isk);
        table.put(item, None).await.expect("put");
    }
    // Sparse: no index attributes, only one of them, or another index.
    table.put(Item::new(Key::new(format!("{g}-none"), "meta")), None).await.expect("put");
    table.put(Item::new(Key::new(format!("{g}-half"), "meta")).with("GSI1PK", g.clone()), None).await.expect("put");
    table
        .put(Item::new(Key::new(format!("{g}-other"), "meta")).with_index(Index::Gsi2, g.clone(), "2024-04"), None)
        .await
        .expect("put");
    let isks =
        |items: &[Item]| items.iter().map(|i| i.get_str("isk").unwrap_or_default().to_owned()).collect::<Vec<_>>();
    let page = table.query(Query::index(Index::Gsi1, g.clone())).await.expect("query");
    assert_eq!(isks(&page.items), ["2023-12", "2024-01", "2024-02", "2024-03", "2024-05"]);
    assert!(page.items.iter().all(|i| i.key().is_some()), "index queries return whole items");
    let page = table.query(Query::index(Index::Gsi1, g.clone()).backward().begins_with("2024")).await.expect("query");
    assert_eq!(isks(&page.items), ["2024-05", "2024-03", "2024-02", "2024-01"]);
    let pages = all_pages(table, Query::index(Index::Gsi1, g.clone()).limit(2)).await;
    assert_eq!(isks(&flatten(&pages)), ["2023-12", "2024-01", "2024-02", "2024-03", "2024-05"]);
    assert_eq!(pages.len(), 3);
    let pages = all_pages(
        table,
        Query::index(Index::Gsi1, g.clone()).backward().limit(2).filter(Cond::Ne("isk".into(), json!("2024-02"))),
    )
    .await;
    assert_eq!(isks(&flatten(&pages)), ["2024-05", "2024-03", "2024-01", "2023-12"]);
    let page = table.query(Query::index(Index::Gsi2, g.clone())).await.expect("query");
    assert_eq!(page.items.len(), 1);
    assert!(table.query(Query::index(Index::Gsi3, g.clone())).await.expect("query").items.is_empty());
    // Moving an item in the index moves it in queries.
    table
        .update(&Key::new(format!("{g}-p5"), "meta"), Update::new().remove("GSI1PK").remove("GSI1SK"), None)
        .await
        .expect("update");
    table
        .update(&Key::new(format!("{g}-p1"), "meta"), Update::new().set("GSI1SK", "2025-01"), None)
        .await
        .expect("update");
    let page = table.query(Query::index(Index::Gsi1, g)).await.expect("query");
    assert_eq!(isks(&page.items), ["2024-01", "2024-02", "2024-05", "2024-03"]);
}

pub async fn ttl_hides_expired(table: &dyn Table) {
    let pk = unique("ttl");
    let now = now();
    let expired = Key::new(pk.clone(), "expired");
    let at_now = Key::new(pk.clone(), "at-now");
    let live = Key::new(pk.clone(), "live");
    let g = unique("ttlg");
    table
        .put(
            Item::new(expired.clone()).with_ttl(now - 60).with("v", "old").with_index(Index::Gsi3, g.clone(), "a"),
            None,
        )
        .await
        .expect("put");
    table.put(Item::new(at_now.clone()).with_ttl(now - 1), None).await.expect("put");
    table
        .put(Item::new(live.clone()).with_ttl(now + 3600).with_index(Index::Gsi3, g.clone(), "b"), None)
        .await
        .expect("put");
    assert_eq!(table.get(&expired).await.expect("get"), None);
    assert_eq!(table.get(&at_now).await.expect("get"), None);
    assert!(table.get(&live).await.expect("get").is_some());
    assert_eq!(sks(&table.query(Query::table(pk.clone())).await.expect("query").items), ["live"]);
    let pages = all_pages(table, Query::table(pk.clone()).limit(1)).await;
    assert_eq!(
        (pages.len(), sks(&flatten(&pages))),
        (1, vec!["live".to_owned()]),
        "expired items do not count toward pages"
    );
    assert_eq!(table.query(Query::index(Index::Gsi3, g)).await.expect("query").items.len(), 1);
    // The idiom for reusing a key whose previous holder expired.
    let fresh = Item::new(expired.clone()).with("v", "new").with_ttl(now + 3600);
    table.put(fresh.clone(), Some(Cond::expired_or_absent(now))).await.expect("replace expired");
    assert_eq!(table.get(&expired).await.expect("get"), Some(fresh));
    assert!(matches!(
        table.put(Item::new(live.clone()), Some(Cond::expired_or_absent(now))).await,
        Err(TableError::ConditionFailed { current: Some(_) })
    ));
    table.put(Item::new(Key::new(pk, "absent")), Some(Cond::expired_or_absent(now))).await.expect("put on absent");
}

// ---- transactions and limits ------------------------------------------------------------------

pub async fn transactions_all_or_nothing(table: &dyn Table) {
    let pk = unique("tx");
    let k = |s: &str| Key::new(pk.clone(), s);
    table.put(Item::new(k("a")).with("balance", 10), None).await.expect("put");
    table.put(Item::new(k("b")).with("balance", 0), None).await.expect("put");
    table.put(Item::new(k("d")).with("guard", true), None).await.expect("put");
    table.put(Item::new(k("e")).with("doomed", true), None).await.expect("put");
    let ops = |check_key: &str, need: i64| {
        vec![
            TxOp::Update {
                key: k("a"),
                update: Update::new().add("balance", -5),
                cond: Some(Cond::ge("balance", need)),
            },
            TxOp::Update { key: k("b"), update: Update::new().add("balance", 5), cond: None },
            TxOp::Put { item: Item::new(k("c")).with("made", true), cond: Some(Cond::NotExists) },
            TxOp::Delete { key: k("e"), cond: Some(Cond::Exists) },
            TxOp::Check { key: k(check_key), cond: Cond::Exists },
        ]
    };
    let snapshot = || async {
        let mut out = Vec::new();
        for s in ["a", "b", "c", "e"] {
            out.push(table.get(&k(s)).await.expect("get"));
        }
        out
    };
    let before = snapshot().await;
    match table.transact(ops("missing", 5)).await {
        Err(TableError::TransactionCanceled { failed_conditions }) => assert_eq!(failed_conditions, [4]),
        other => panic!("expected TransactionCanceled, got {other:?}"),
    }
    match table.transact(ops("missing", 50)).await {
        Err(e @ TableError::TransactionCanceled { .. }) => {
            assert!(e.is_condition_failure());
            assert!(matches!(e, TableError::TransactionCanceled { failed_conditions } if failed_conditions == [0, 4]));
        }
        other => panic!("expected TransactionCanceled, got {other:?}"),
    }
    assert_eq!(snapshot().await, before, "a canceled transaction writes nothing");
    table.transact(ops("d", 5)).await.expect("transaction");
    assert_eq!(table.get(&k("a")).await.expect("get").and_then(|i| i.get_i64("balance")), Some(5));
    assert_eq!(table.get(&k("b")).await.expect("get").and_then(|i| i.get_i64("balance")), Some(5));
    assert_eq!(table.get(&k("c")).await.expect("get"), Some(Item::new(k("c")).with("made", true)));
    assert_eq!(table.get(&k("e")).await.expect("get"), None);
    // Updates in a transaction upsert, like single updates.
    table
        .transact(vec![TxOp::Update { key: k("new"), update: Update::new().add("n", 1), cond: None }])
        .await
        .expect("transaction");
    assert_eq!(table.get(&k("new")).await.expect("get"), Some(Item::new(k("new")).with("n", 1)));
}

pub async fn transaction_limits(table: &dyn Table) {
    let pk = unique("txl");
    let put = |i: usize| TxOp::Put { item: Item::new(Key::new(pk.clone(), format!("{i:03}"))), cond: None };
    let check_same = TxOp::Check { key: Key::new(pk.clone(), "000"), cond: Cond::NotExists };
    let res = table.transact(vec![put(0), check_same]).await;
    assert!(matches!(res, Err(TableError::Invalid(_))), "two operations on one item: {res:?}");
    let res = table.transact((0..101).map(put).collect()).await;
    assert!(matches!(res, Err(TableError::Invalid(_))), "101 operations: {res:?}");
    let res = table.transact(vec![]).await;
    assert!(matches!(res, Err(TableError::Invalid(_))), "no operations: {res:?}");
    assert!(
        table.query(Query::table(pk.clone())).await.expect("query").items.is_empty(),
        "rejected transactions write nothing"
    );
    table.transact((0..100).map(put).collect()).await.expect("100 operations");
    let pages = all_pages(table, Query::table(pk).limit(100)).await;
    assert_eq!((pages.len(), flatten(&pages).len()), (1, 100));
}

pub async fn item_size_limit(table: &dyn Table) {
    let key = new_key("big");
    let too_big = Item::new(key.clone()).with("blob", "x".repeat(MAX_ITEM_BYTES));
    assert!(matches!(table.put(too_big.clone(), None).await, Err(TableError::ItemTooLarge)));
    assert_eq!(table.get(&key).await.expect("get"), None);
    let res = table.transact(vec![TxOp::Put { item: too_big, cond: None }]).await;
    assert!(matches!(res, Err(TableError::ItemTooLarge)), "{res:?}");
    // Well under the limit: moto measures sizes its own way and stops at 405,000 bytes.
    let fits = Item::new(key.clone()).with("blob", "x".repeat(MAX_ITEM_BYTES - 8 * 1024));
    table.put(fits.clone(), None).await.expect("an item just under the limit");
    assert_eq!(table.get(&key).await.expect("get"), Some(fits.clone()));
    // An update that would grow the item past the limit fails and changes nothing.
    let res = table.update(&key, Update::new().set("more", "y".repeat(16 * 1024)), None).await;
    assert!(matches!(res, Err(TableError::ItemTooLarge)), "{res:?}");
    assert_eq!(table.get(&key).await.expect("get"), Some(fits));
}

// ---- concurrency ------------------------------------------------------------------------------

pub async fn concurrent_puts_one_wins(table: Arc<dyn Table>) {
    let key = new_key("race");
    let tasks: Vec<_> = (0..50)
        .map(|i| {
            let (table, key) = (table.clone(), key.clone());
            tokio::spawn(async move { table.put(Item::new(key).with("writer", i), Some(Cond::NotExists)).await })
        })
        .collect();
    let mut winners = Vec::new();
    for (i, task) in tasks.into_iter().enumerate() {
        match task.await.expect("task") {
            Ok(()) => winners.push(i as i64),
            Err(TableError::ConditionFailed { current: Some(_) }) => {}
            Err(e) => panic!("unexpected error {e:?}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one conditional put wins");
    assert_eq!(table.get(&key).await.expect("get").and_then(|i| i.get_i64("writer")), Some(winners[0]));
}

pub async fn concurrent_conditional_decrements(table: Arc<dyn Table>) {
    let key = new_key("dec");
    table.put(Item::new(key.clone()).with("balance", 30), None).await.expect("put");
    let tasks: Vec<_> = (0..100)
        .map(|_| {
            let (table, key) = (table.clone(), key.clone());
            tokio::spawn(async move {
                table.update(&key, Update::new().add("balance", -1), Some(Cond::ge("balance", 1))).await
            })
        })
        .collect();
    let mut ok = 0;
    for task in tasks {
        match task.await.expect("task") {
            Ok(item) => {
                assert!(item.get_i64("balance").is_some_and(|b| (0..30).contains(&b)));
                ok += 1;
            }
            Err(TableError::ConditionFailed { current: Some(c) }) => assert_eq!(c.get_i64("balance"), Some(0)),
            Err(e) => panic!("unexpected error {e:?}"),
        }
    }
    assert_eq!(ok, 30);
    assert_eq!(table.get(&key).await.expect("get").and_then(|i| i.get_i64("balance")), Some(0));
}

/// Transfers between two counters in parallel transactions; the total never changes and the
/// source never goes negative. A cancellation without failed conditions (DynamoDB's
/// TransactionConflict) is retried.
pub async fn concurrent_transactions(table: Arc<dyn Table>) {
    let pk = unique("ctx");
    let (from, to) = (Key::new(pk.clone(), "from"), Key::new(pk.clone(), "to"));
    table.put(Item::new(from.clone()).with("balance", 100), None).await.expect("put");
    table.put(Item::new(to.clone()).with("balance", 0), None).await.expect("put");
    let tasks: Vec<_> = (0..40)
        .map(|i| {
            let (table, from, to) = (table.clone(), from.clone(), to.clone());
            tokio::spawn(async move {
                for attempt in 0..50u64 {
                    let ops = vec![
                        TxOp::Update {
                            key: from.clone(),
                            update: Update::new().add("balance", -3),
                            cond: Some(Cond::ge("balance", 3)),
                        },
                        TxOp::Update {
                            key: to.clone(),
                            update: Update::new().add("balance", 3).append("from", vec![json!(i)]),
                            cond: None,
                        },
                    ];
                    match table.transact(ops).await {
                        Ok(()) => return true,
                        Err(TableError::TransactionCanceled { failed_conditions }) if failed_conditions.is_empty() => {
                            tokio::time::sleep(Duration::from_millis(5 * (attempt + 1))).await;
                        }
                        Err(TableError::TransactionCanceled { failed_conditions }) => {
                            assert_eq!(failed_conditions, [0]);
                            return false;
                        }
                        Err(e) => panic!("unexpected error {e:?}"),
                    }
                }
                panic!("transaction kept conflicting")
            })
        })
        .collect();
    let mut ok = 0;
    for task in tasks {
        ok += usize::from(task.await.expect("task"));
    }
    assert_eq!(ok, 33);
    let from = table.get(&from).await.expect("get").expect("from");
    let to = table.get(&to).await.expect("get").expect("to");
    assert_eq!((from.get_i64("balance"), to.get_i64("balance")), (Some(1), Some(99)));
    assert_eq!(to.get("from").and_then(Value::as_array).map(Vec::len), Some(33));
}

/// Conditional puts that arrive together (on the embedded table: one group commit), half on keys
/// that exist: each gets its own answer, the failures change nothing, the successes all stick.
pub async fn concurrent_mixed_outcomes(table: Arc<dyn Table>) {
    let pk = unique("mixed");
    for i in (0..60).step_by(2) {
        table.put(Item::new(Key::new(pk.clone(), format!("k{i:02}"))).with("v", "old"), None).await.expect("seed");
    }
    let tasks: Vec<_> = (0..60)
        .map(|i| {
            let (table, key) = (table.clone(), Key::new(pk.clone(), format!("k{i:02}")));
            tokio::spawn(async move { table.put(Item::new(key).with("v", "new"), Some(Cond::NotExists)).await })
        })
        .collect();
    for (i, task) in tasks.into_iter().enumerate() {
        let res = task.await.expect("task");
        if i % 2 == 0 {
            match res {
                Err(TableError::ConditionFailed { current: Some(c) }) => assert_eq!(c.get_str("v"), Some("old")),
                other => panic!("put {i} on an existing key: {other:?}"),
            }
        } else {
            assert!(res.is_ok(), "put {i} on a new key: {res:?}");
        }
    }
    for i in 0..60 {
        let item = table.get(&Key::new(pk.clone(), format!("k{i:02}"))).await.expect("get").expect("item");
        assert_eq!(item.get_str("v"), Some(if i % 2 == 0 { "old" } else { "new" }), "k{i:02}");
    }
}

/// Transactions that arrive together, every third one with a failing condition on its second
/// item, beside plain puts: a canceled transaction leaves none of its items, the others all of
/// theirs, and the plain puts are unaffected by their neighbours' failures.
pub async fn concurrent_transactions_all_or_nothing(table: Arc<dyn Table>) {
    let pk = unique("txmix");
    let key = |kind: &str, i: usize| Key::new(pk.clone(), format!("{kind}{i:02}"));
    for i in (0..30).step_by(3) {
        table.put(Item::new(key("b", i)).with("v", "taken"), None).await.expect("seed");
    }
    let txs: Vec<_> = (0..30)
        .map(|i| {
            let (table, a, b) = (table.clone(), key("a", i), key("b", i));
            tokio::spawn(async move {
                table
                    .transact(vec![
                        TxOp::Put { item: Item::new(a).with("v", i as i64), cond: Some(Cond::NotExists) },
                        TxOp::Put { item: Item::new(b).with("v", i as i64), cond: Some(Cond::NotExists) },
                    ])
                    .await
            })
        })
        .collect();
    let puts: Vec<_> = (0..30)
        .map(|i| {
            let (table, c) = (table.clone(), key("c", i));
            tokio::spawn(async move { table.put(Item::new(c).with("v", i as i64), None).await })
        })
        .collect();
    for (i, t) in txs.into_iter().enumerate() {
        let res = t.await.expect("task");
        if i % 3 == 0 {
            match res {
                Err(TableError::TransactionCanceled { failed_conditions }) => assert_eq!(failed_conditions, [1]),
                other => panic!("transaction {i}: {other:?}"),
            }
        } else {
            assert!(res.is_ok(), "transaction {i}: {res:?}");
        }
    }
    for p in puts {
        p.await.expect("task").expect("plain put");
    }
    for i in 0..30 {
        let a = table.get(&key("a", i)).await.expect("get");
        let b = table.get(&key("b", i)).await.expect("get").expect("b");
        if i % 3 == 0 {
            assert_eq!(a, None, "canceled transaction {i} left its first item");
            assert_eq!(b.get_str("v"), Some("taken"));
        } else {
            assert_eq!(a.and_then(|a| a.get_i64("v")), Some(i as i64));
            assert_eq!(b.get_i64("v"), Some(i as i64));
        }
        let c = table.get(&key("c", i)).await.expect("get").expect("c");
        assert_eq!(c.get_i64("v"), Some(i as i64));
    }
}

/// Reads race a run of writes to the same item: every read sees a value that was written, and
/// once a write has answered, the next read sees it (or a later one) — a read that started
/// before the write and finished after it never brings the old value back (a cache in front of
/// the table must not keep it).
pub async fn concurrent_reads_see_completed_writes(table: Arc<dyn Table>) {
    let key = new_key("rw");
    table.put(Item::new(key.clone()).with("v", 0), None).await.expect("seed");
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let readers: Vec<_> = (0..4)
        .map(|_| {
            let (table, key, done) = (table.clone(), key.clone(), done.clone());
            tokio::spawn(async move {
                let mut reads = 0u32;
                while !done.load(std::sync::atomic::Ordering::Relaxed) {
                    let v = table.get(&key).await.expect("get").and_then(|i| i.get_i64("v"));
                    assert!(v.is_some_and(|v| (0..=40).contains(&v)), "read {v:?}, never written");
                    reads += 1;
                    tokio::task::yield_now().await;
                }
                reads
            })
        })
        .collect();
    for n in 1..=40 {
        table.update(&key, Update::new().set("v", n), Some(Cond::eq("v", n - 1))).await.expect("update");
        let seen = table.get(&key).await.expect("get").and_then(|i| i.get_i64("v"));
        assert_eq!(seen, Some(n), "a read after write {n} answered");
    }
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    for r in readers {
        r.await.expect("reader");
    }
}
