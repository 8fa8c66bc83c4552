//! Lambda `inbox-api`: `/conversations*`.

#[tokio::main]
async fn main() -> Result<(), miping::runtime::http_lambda::Error> {
    miping::runtime::http_lambda::serve(miping::http::routes::inbox_group).await
}
