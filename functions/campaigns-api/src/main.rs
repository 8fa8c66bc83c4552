//! Lambda `campaigns-api`: `/campaigns*`.

#[tokio::main]
async fn main() -> Result<(), miping::runtime::http_lambda::Error> {
    miping::runtime::http_lambda::serve(miping::http::routes::campaigns_group).await
}
