//! Lambda `messaging-api`: `/messages*` and `/media*`.

#[tokio::main]
async fn main() -> Result<(), miping::runtime::http_lambda::Error> {
    miping::runtime::http_lambda::serve(miping::http::routes::messages_group).await
}
