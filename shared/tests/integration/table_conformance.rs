//! The single-table conformance suite, run against both adapters (a fresh SQLite database, or a
//! fresh table on moto, per test).

macro_rules! suite {
    ($make:expr) => {
        miping::table_conformance!($make);
    };
}

crate::common::on_both_tables!(suite);
