//! Lambda `external-api`: `/api/v1/*` (x-api-key; checked by middleware in this function).

#[tokio::main]
async fn main() -> Result<(), miping::runtime::http_lambda::Error> {
    miping::runtime::http_lambda::serve(miping::http::routes::external_group).await
}
