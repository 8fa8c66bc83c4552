//! `miping-bench console [--seconds N] [--users N]`
//!
//! The web console's pages on the local process (release build, in-process simulator): a tenant
//! with a connected number and 500 contacts, and the platform's super admin; N signed-in users
//! (default 8) request one page at a time in a loop for N seconds (default 5) per page. Prints each
//! page's p50/p99 latency measured by the client on loopback (an upper bound of the server's time)
//! and what a first visit to the dashboard transfers: the HTML and every asset it links
//! (uncompressed: an upper bound of what a compressing proxy would send).

use std::time::{Duration, Instant};

use miping::config::SuperAdminBootstrap;
use secrecy::SecretString;
use serde_json::{Value, json};

use crate::api::{ADMIN_EMAIL, ADMIN_PASSWORD, Api, R, err};

const TENANT_PAGES: &[&str] = &[
    "/",
    "/app/contacts",
    "/app/templates",
    "/app/campaigns",
    "/app/messages",
    "/app/connect",
    "/app/settings",
    "/app/billing",
];
const PLATFORM_PAGES: &[&str] = &["/app/tenants", "/app/plans", "/app/library", "/app/quarantine"];

pub async fn run(mut args: impl Iterator<Item = String>) -> R<()> {
    let mut seconds = 5u64;
    let mut users = 8usize;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--seconds" => seconds = args.next().and_then(|n| n.parse().ok()).ok_or("--seconds N")?,
            "--users" => users = args.next().and_then(|n| n.parse().ok()).ok_or("--users N")?,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    let dir = tempfile::tempdir().map_err(err)?;
    let platform = platform(dir.path()).await?;
    let base = platform.base_url();
    let api = Api::signed_in(base.clone(), dir.path().to_path_buf()).await?;
    let (http, admin) = (api.http.clone(), api.admin.clone());
    let owner = seed_tenant(&api).await?.owner;

    println!("console pages, {users} signed-in users, {seconds} s per page (client-side latency on loopback)");
    for (token, pages) in [(&owner, TENANT_PAGES), (&admin, PLATFORM_PAGES)] {
        for page in pages {
            let status =
                http.get(format!("{base}{page}")).header("cookie", cookie(token)).send().await.map_err(err)?.status();
            if status != reqwest::StatusCode::OK {
                println!("  {page:<18} skipped (HTTP {status})");
                continue;
            }
            let latencies = load(&http, &base, page, token, users, Duration::from_secs(seconds)).await?;
            report(page, &latencies, seconds);
        }
    }
    first_load(&http, &base, &owner).await?;
    platform.stop().await.map_err(err)?;
    Ok(())
}

/// The local process (release build) on a fresh store in `dir`, with the in-process simulator
/// and the queue consumers, the super admin bootstrapped.
pub(crate) async fn platform(dir: &std::path::Path) -> R<miping_local::Platform> {
    let options = miping_local::Options {
        addr: "127.0.0.1:0".parse().map_err(err)?,
        data_dir: dir.to_path_buf(),
        configure: Some(Box::new(|c| {
            c.super_admin = Some(SuperAdminBootstrap {
                email: ADMIN_EMAIL.into(),
                password: SecretString::from(ADMIN_PASSWORD),
                generated: false,
            });
            // Every bench user signs in from the loopback address.
            c.login_throttle.address_limit = u32::MAX;
        })),
        simulator: Some("127.0.0.1:0".parse().map_err(err)?),
        consumers: true,
        background_nice: miping_local::background_nice_from_env()?,
        timeouts: Default::default(),
        wrap_queue: None,
        wrap_table: None,
    };
    miping_local::start(options).await.map_err(err)
}

pub(crate) fn cookie(token: &str) -> String {
    format!("miping_session={token}")
}

/// The tenant every console benchmark uses: provisioned, its owner past the one-time password,
/// WhatsApp connected (`Api::tenant`), and 500 contacts.
pub(crate) struct Seeded {
    pub tenant_id: String,
    /// The owner's session token (a console cookie is the same token).
    pub owner: String,
    /// `GET /whatsapp/status`: the connected number.
    pub connection: Value,
}

pub(crate) async fn seed_tenant(api: &Api) -> R<Seeded> {
    let (tenant_id, owner) = api.tenant("bench").await?;
    let (_, connection) = api.call(reqwest::Method::GET, "/whatsapp/status", &owner, None).await?;
    let contacts: Vec<Value> = (0..500)
        .map(|i| json!({"phone": format!("+9198765{i:05}"), "name": format!("Contact {i}"), "tags": ["bench"]}))
        .collect();
    api.post("/contacts/import", &owner, json!({"contacts": contacts})).await?;
    Ok(Seeded { tenant_id, owner, connection })
}

/// `users` clients, each requesting `page` in a loop until `span` has passed.
async fn load(
    http: &reqwest::Client,
    base: &str,
    page: &str,
    token: &str,
    users: usize,
    span: Duration,
) -> R<Vec<Duration>> {
    let deadline = Instant::now() + span;
    let clients: Vec<_> = (0..users)
        .map(|_| {
            let (http, url, cookie) = (http.clone(), format!("{base}{page}"), cookie(token));
            tokio::spawn(async move {
                let mut out = Vec::new();
                while Instant::now() < deadline {
                    let t = Instant::now();
                    let r = http.get(&url).header("cookie", &cookie).send().await;
                    let ok = match r {
                        Ok(r) if r.status().is_success() => r.bytes().await.is_ok(),
                        _ => false,
                    };
                    if !ok {
                        return Err(format!("GET {url} failed"));
                    }
                    out.push(t.elapsed());
                }
                Ok(out)
            })
        })
        .collect();
    let mut all = Vec::new();
    for c in clients {
        all.extend(c.await.map_err(err)??);
    }
    Ok(all)
}

fn report(page: &str, latencies: &[Duration], seconds: u64) {
    let mut all = latencies.to_vec();
    all.sort();
    let pct = |p: f64| all[((all.len() as f64 * p) as usize).min(all.len() - 1)].as_secs_f64() * 1000.0;
    println!(
        "  {page:<18} p50 {:>6.2} ms  p99 {:>6.2} ms  ({} requests, {:.0}/s)",
        pct(0.50),
        pct(0.99),
        all.len(),
        all.len() as f64 / seconds as f64
    );
}

/// The dashboard's HTML plus every stylesheet, script and icon sprite it links.
async fn first_load(http: &reqwest::Client, base: &str, token: &str) -> R<()> {
    let html = http
        .get(format!("{base}/"))
        .header("cookie", cookie(token))
        .send()
        .await
        .map_err(err)?
        .text()
        .await
        .map_err(err)?;
    let mut total = html.len();
    let mut parts = vec![format!("HTML {} B", html.len())];
    let mut links: Vec<String> = Vec::new();
    for marker in ["href=\"/assets/", "src=\"/assets/", "href=\"/brand/"] {
        for piece in html.split(marker).skip(1) {
            let path = piece.split(['"', '#']).next().unwrap_or_default();
            let prefix = if marker.contains("brand") { "/brand/" } else { "/assets/" };
            let url = format!("{prefix}{path}");
            if !links.contains(&url) {
                links.push(url);
            }
        }
    }
    for url in &links {
        let body = http.get(format!("{base}{url}")).send().await.map_err(err)?.bytes().await.map_err(err)?;
        total += body.len();
        parts.push(format!("{url} {} B", body.len()));
    }
    println!("first load of the dashboard: {:.1} KB uncompressed ({})", total as f64 / 1024.0, parts.join(", "));
    Ok(())
}
