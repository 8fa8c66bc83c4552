//! Lambda `whatsapp-api`: `/whatsapp/*` (signup config, connect, status, disconnect) and the
//! `GET /connect` page with its script.

#[tokio::main]
async fn main() -> Result<(), miping::runtime::http_lambda::Error> {
    miping::runtime::http_lambda::serve(miping::http::routes::whatsapp_group).await
}
