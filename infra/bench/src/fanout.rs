//! `miping-bench fanout [--recipients N]`: times a campaign's fan-out (default 100,000
//! recipients) on the local platform's embedded store: from the first fan-out job to every
//! recipient's message row written and its send job on the bulk queue. Only the fan-out consumer
//! runs (nothing is sent), so the figure is the fan-out's own.
//!
//! The contacts and the campaign item are written straight to the store (the setup is not
//! timed); the campaign is the one `POST /campaigns` would store for `audience: {all: true}` and
//! two mapped variables.

use std::sync::Arc;
use std::time::{Duration, Instant};

use miping::domain::campaigns::fanout::{self, FanoutWorker};
use miping::domain::campaigns::{Audience, Campaign, CampaignStatus, TemplateRef};
use miping::domain::contacts::Contact;
use miping::domain::templates::model::ParameterFormat;
use miping::domain::templates::schema;
use miping::ports::table::Item;
use miping::runtime::consumer::{PollerOptions, run_poller};
use miping::store::contacts::Contacts;
use miping::store::{campaigns, keys};
use serde_json::json;

pub async fn run(mut args: impl Iterator<Item = String>) -> Result<(), String> {
    let mut recipients = 100_000usize;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--recipients" => recipients = args.next().and_then(|n| n.parse().ok()).ok_or("--recipients N")?,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let platform = crate::bare_platform(dir.path()).await?;
    let ports = platform.state.ports.clone();
    let tenant_id = ports.ids.new_id("ten");
    ports
        .table
        .put(Item::new(keys::tenant(&tenant_id)).with("id", tenant_id.clone()).with("status", "active"), None)
        .await
        .map_err(|e| e.to_string())?;

    let now = chrono::Utc::now();
    let contacts: Vec<Contact> = (0..recipients)
        .map(|n| {
            let mut c = Contact::new(ports.ids.new_id("con"), &tenant_id, now);
            c.phone = Some(format!("+1415{n:07}"));
            c.name = Some(format!("Name {n}"));
            c.attributes.insert("city".into(), json!("Pune"));
            c
        })
        .collect();
    let store = Contacts::new(&*ports.table);
    for chunk in contacts.chunks(1000) {
        store.create_batch(&tenant_id, chunk, None).await.map_err(|e| e.to_string())?;
    }
    let components = json!([{"type": "BODY", "text": "Hi {{1}}, news from {{2}}."}]);
    let campaign = Campaign {
        id: ports.ids.new_id("cmp"),
        tenant_id: tenant_id.clone(),
        name: "Bench".into(),
        header: None,
        template: TemplateRef {
            id: "tpl_bench".into(),
            name: "city_news".into(),
            language: "en_US".into(),
            category: "utility".into(),
        },
        schema: schema::derive(&components, ParameterFormat::default(), "UTILITY"),
        audience: Audience { all: true, ..Audience::default() },
        variables: vec![json!("{{contact.name}}"), json!("{{contact.attributes.city}}")],
        status: CampaignStatus::Running,
        schedule_at: None,
        created_at: now,
        started_at: Some(now),
        completed_at: None,
        cancelled_at: None,
        reserved: recipients as i64,
        usage_period: now.format("%Y-%m-%d").to_string(),
        total: recipients as i64,
        created: 0,
        skipped_opted_out: 0,
        skipped_missing_data: 0,
        fanout_page: 0,
        fanout_cursor: None,
        settled: false,
    };
    ports.table.put(campaigns::item(&campaign).map_err(|e| e.to_string())?, None).await.map_err(|e| e.to_string())?;
    println!("campaign fan-out on the local platform (embedded SQLite store, release build): {recipients} recipients");

    let (stop, rx) = tokio::sync::watch::channel(false);
    let worker = Arc::new(FanoutWorker { ports: ports.clone() });
    let options = PollerOptions { wait: Duration::from_millis(20), ..PollerOptions::default() };
    let started = Instant::now();
    fanout::enqueue_page(&ports, &tenant_id, &campaign.id, 0).await.map_err(|e| e.to_string())?;
    let poller = tokio::spawn(run_poller(ports.queue.clone(), miping::queues::FANOUT, worker, options, rx));
    loop {
        let c = campaigns::Campaigns::new(&*ports.table)
            .get(&tenant_id, &campaign.id)
            .await
            .map_err(|e| e.to_string())?
            .ok_or("gone")?;
        if c.status == CampaignStatus::Completed {
            let elapsed = started.elapsed();
            println!(
                "  {} messages queued in {:.2} s ({:.0} recipients/s)",
                c.created,
                elapsed.as_secs_f64(),
                c.created as f64 / elapsed.as_secs_f64()
            );
            break;
        }
        if started.elapsed() > Duration::from_secs(600) {
            return Err(format!("not done after 10 minutes: {} messages", c.created));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let _ = stop.send(true);
    let _ = poller.await;
    platform.stop().await.map_err(|e| e.to_string())?;
    Ok(())
}
