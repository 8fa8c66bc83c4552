//! Lambda `console-web`: the business's console (`/`, `/app/*` but the platform owner's pages,
//! which are `console-admin`'s), the sign-in and password pages and the assets, behind the same
//! HTTP API as the JSON routes.

#[tokio::main]
async fn main() -> Result<(), miping::runtime::http_lambda::Error> {
    miping::runtime::http_lambda::serve(miping_console::workspace_router).await
}
