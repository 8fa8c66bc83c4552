//! Lambda `webhook-receiver` (function URL): `GET|POST /webhook/meta`.

#[tokio::main]
async fn main() -> Result<(), miping::runtime::http_lambda::Error> {
    miping::runtime::http_lambda::serve(miping::http::routes::webhook_group).await
}
