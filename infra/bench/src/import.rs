//! `miping-bench import [--rows N]`: times a contact import of a generated N-row CSV (default
//! 100,000) through HTTP against the local platform started in-process on a temp directory,
//! then the same file again (every row an update of an existing contact).

use std::time::Instant;

use miping::domain::user::{Role, User};
use miping::ports::table::Item;
use miping::store::keys;
use secrecy::SecretString;
use serde_json::{Value, json};

const PASSWORD: &str = "bench tenant admin password";

pub async fn run(mut args: impl Iterator<Item = String>) -> Result<(), String> {
    let mut rows = 100_000usize;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--rows" => rows = args.next().and_then(|n| n.parse().ok()).ok_or("--rows N")?,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    // An import needs neither Meta nor the queue consumers.
    let platform = crate::bare_platform(dir.path()).await?;
    let base = platform.base_url();
    let email = provision_tenant(&platform.state.ports).await?;

    let http = reqwest::Client::new();
    let login: Value = http
        .post(format!("{base}/auth/login"))
        .json(&json!({"email": email, "password": PASSWORD}))
        .send()
        .await
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())?;
    let token = login["token"].as_str().ok_or("login failed")?.to_string();

    let csv = miping::testkit::contacts::generated_csv(rows, 0);
    println!(
        "contact import on the local platform (embedded SQLite store, release build): {rows} rows, {:.1} MB CSV",
        csv.len() as f64 / 1e6
    );
    for label in ["new contacts", "same file again (updates)"] {
        let started = Instant::now();
        let r = http
            .post(format!("{base}/contacts/import"))
            .bearer_auth(&token)
            .header("content-type", "text/csv")
            .body(csv.clone())
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let status = r.status();
        let report: Value = r.json().await.map_err(|e| e.to_string())?;
        let secs = started.elapsed().as_secs_f64();
        if !status.is_success() {
            return Err(format!("import answered {status}: {report}"));
        }
        println!(
            "  {label:<27} {secs:>7.2} s  {:>9.0} rows/s  imported {} updated {} skipped_duplicates {} invalid {}",
            rows as f64 / secs,
            report["imported"],
            report["updated"],
            report["skipped_duplicates"],
            report["invalid_count"]
        );
    }
    platform.stop().await.map_err(|e| e.to_string())?;
    Ok(())
}

/// An active tenant and its admin, written straight to the store.
async fn provision_tenant(ports: &miping::ports::Ports) -> Result<String, String> {
    let tenant_id = ports.ids.new_id("ten");
    let tenant = Item::new(keys::tenant(&tenant_id))
        .with("id", tenant_id.clone())
        .with("name", "Bench")
        .with("status", "active");
    ports.table.put(tenant, None).await.map_err(|e| e.to_string())?;
    let now = chrono::Utc::now();
    let email = format!("bench-{tenant_id}@bench.test");
    let user = User {
        id: ports.ids.new_id("usr"),
        email: email.clone(),
        name: "Bench".into(),
        role: Role::TenantAdmin,
        tenant_id: Some(tenant_id),
        password_hash: miping::domain::password::hash(SecretString::from(PASSWORD)).await.map_err(|e| e.to_string())?,
        must_change_password: false,
        status: Default::default(),
        created_at: now,
        updated_at: now,
    };
    miping::store::users::Users::new(&*ports.table).create(&user).await.map_err(|e| e.to_string())?;
    Ok(email)
}
