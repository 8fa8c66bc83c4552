//! Lambda `tenant-api`: `/tenant`, `/tenant/settings`, `/billing/*` and `/analytics/*` (tenant users).

#[tokio::main]
async fn main() -> Result<(), miping::runtime::http_lambda::Error> {
    miping::runtime::http_lambda::serve(miping::http::routes::tenant_group).await
}
