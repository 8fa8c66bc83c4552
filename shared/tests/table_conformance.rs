//! The single-table conformance suite, run against both adapters.

mod embedded {
    use std::sync::Arc;

    use miping::adapters::embedded::sqlite_table::SqliteTable;
    use miping::ports::table::Table;

    /// A fresh database per test; the directory lives as long as the test process.
    async fn make() -> Arc<dyn Table> {
        let dir = Box::leak(Box::new(tempfile::TempDir::new().expect("temp dir")));
        Arc::new(SqliteTable::open(&dir.path().join("table.db")).expect("open sqlite table"))
    }

    miping::table_conformance!(make());
}

mod dynamodb {
    use std::sync::Arc;

    use miping::adapters::aws::dynamodb::{DynamoTable, create_table};
    use miping::ports::table::Table;
    use miping::testkit::{moto, unique};

    /// A fresh table per test on the moto server `infra/test.sh` starts.
    async fn make() -> Arc<dyn Table> {
        let client = aws_sdk_dynamodb::Client::new(&moto::sdk_config().await);
        let name = unique("table");
        create_table(&client, &name).await.expect("create table");
        Arc::new(DynamoTable::new(client, name))
    }

    miping::table_conformance!(make());
}
