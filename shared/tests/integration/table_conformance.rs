//! The single-table conformance suite, run against both adapters (a fresh SQLite database, or a
//! fresh table on moto, per test), and against the local process's read cache in front of the
//! SQLite one (caching every key, so each case goes through its hits and invalidations).

macro_rules! suite {
    ($make:expr) => {
        miping::table_conformance!($make);
    };
}

crate::common::on_both_tables!(suite);

mod cached {
    miping::table_conformance!(async { miping::testkit::cached_sqlite_table() });
}
