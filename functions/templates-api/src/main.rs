//! Lambda `templates-api`: `/templates*`.

#[tokio::main]
async fn main() -> Result<(), miping::runtime::http_lambda::Error> {
    miping::runtime::http_lambda::serve(miping::http::routes::templates_group).await
}
