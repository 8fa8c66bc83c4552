//! Lambda `contacts-api`: `/contacts` and `/contacts/*` (CRUD, list, import).

#[tokio::main]
async fn main() -> Result<(), miping::runtime::http_lambda::Error> {
    miping::runtime::http_lambda::serve(miping::http::routes::contacts_group).await
}
