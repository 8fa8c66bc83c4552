//! Lambda `console-web`: the web console's pages (`/`, `/app/*`, sign-in and password pages,
//! assets), behind the same HTTP API as the JSON routes.

#[tokio::main]
async fn main() -> Result<(), miping::runtime::http_lambda::Error> {
    miping::runtime::http_lambda::serve(miping_console::router).await
}
