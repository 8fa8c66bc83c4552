//! Lambda `console-admin`: the platform owner's console pages (`/app/tenants`, `/app/plans`,
//! `/app/library`, `/app/quarantine`, `/app/platform`). Sign-in, assets and the business's pages
//! are `console-web`'s; both render the same shell from `miping_console`.

#[tokio::main]
async fn main() -> Result<(), miping::runtime::http_lambda::Error> {
    miping::runtime::http_lambda::serve(miping_console::platform_router).await
}
