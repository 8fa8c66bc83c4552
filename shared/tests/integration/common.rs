//! What several modules need: the embedded ports around a table under test, and running a
//! module's `suite!` once per table adapter.

use std::sync::Arc;

use miping::ports::Ports;
use miping::ports::clock::ManualClock;
use miping::ports::table::Table;

/// Embedded ports (Meta unreachable) with `table` as the table; the other adapters' files live
/// in the returned directory.
pub fn ports_with(table: Arc<dyn Table>) -> (Ports, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut ports = miping::testkit::embedded_ports(dir.path());
    ports.table = table;
    (ports, dir)
}

/// [`ports_with`] on a manual clock.
pub fn ports_with_clock(table: Arc<dyn Table>, clock: Arc<ManualClock>) -> (Ports, tempfile::TempDir) {
    let (mut ports, dir) = ports_with(table);
    ports.clock = clock;
    (ports, dir)
}

/// Expands the calling module's `suite!` (which takes a future of `Arc<dyn Table>`) in two
/// modules: `embedded` (SQLite) and `dynamodb` (the moto server `infra/test.sh` starts).
macro_rules! on_both_tables {
    ($suite:ident) => {
        mod embedded {
            #[allow(unused_imports)]
            use super::*;
            $suite!(async { miping::testkit::sqlite_table() });
        }
        mod dynamodb {
            #[allow(unused_imports)]
            use super::*;
            $suite!(miping::testkit::dynamodb_table());
        }
    };
}
pub(crate) use on_both_tables;

/// An inbound text from +1 555 000 1111 whose text is its wamid, sent at `at`.
pub fn inbound_text(
    wamid: &str,
    at: chrono::DateTime<chrono::Utc>,
) -> miping::domain::webhooks::payload::InboundMessage {
    miping::domain::webhooks::payload::InboundMessage {
        wamid: wamid.into(),
        from: Some("15550001111".into()),
        from_user_id: None,
        timestamp: at.timestamp(),
        kind: "text".into(),
        text: Some(wamid.into()),
        media_id: None,
        reply_id: None,
        context_id: None,
        referral: None,
        raw: serde_json::json!({}),
    }
}
