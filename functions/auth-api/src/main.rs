//! Lambda `auth-api`: `/auth/*` and `/health`.

#[tokio::main]
async fn main() -> Result<(), miping::runtime::http_lambda::Error> {
    miping::runtime::http_lambda::serve(miping::http::routes::auth_group).await
}
