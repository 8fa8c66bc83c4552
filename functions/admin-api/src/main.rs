//! Lambda `admin-api`: `/plans*` and `/admin/*` (super admin).

#[tokio::main]
async fn main() -> Result<(), miping::runtime::http_lambda::Error> {
    miping::runtime::http_lambda::serve(miping::http::routes::admin_group).await
}
