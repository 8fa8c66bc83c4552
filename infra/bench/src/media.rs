//! `miping-bench media [--images N] [--document-mb N]`
//!
//! Media on the local process (release build, in-process simulator, files in the data directory):
//!
//! - **Inbound**: N customers' photos (default 100) one after another: the simulator sends each
//!   (`POST /_sim/inbound` with `type: image`: Meta's signed webhook), and the clock runs until
//!   the file is stored and its item `ready` (webhook stored → processed → media queue → Graph
//!   `GET /{media-id}` → download URL → bytes checked and stored). The bench reads the item's
//!   status from the store every 2 ms. Then the same N at once (a burst): all ready after how long.
//! - **Upload**: one document of N MB (default 100): `POST /media/uploads` then the PUT of its bytes
//!   to the granted URL, the first use that checks it (`GET /media/{id}`: size, magic bytes,
//!   SHA-256) and, for comparison, the same file through `POST /media` (multipart).

use std::time::{Duration, Instant};

use miping::domain::media::MediaStatus;
use miping::store::media::MediaStore;
use serde_json::{Value, json};

use crate::api::{Api, R, err};
use crate::console::{Seeded, platform, seed_tenant};

/// How often the bench looks at the item's status.
const LOOK: Duration = Duration::from_millis(2);
/// A photo not ready after this is a failure.
const GIVE_UP: Duration = Duration::from_secs(60);

pub async fn run(mut args: impl Iterator<Item = String>) -> R<()> {
    let mut images = 100usize;
    let mut document_mb = 100usize;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--images" => images = args.next().and_then(|n| n.parse().ok()).ok_or("--images N")?,
            "--document-mb" => document_mb = args.next().and_then(|n| n.parse().ok()).ok_or("--document-mb N")?,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    let dir = tempfile::tempdir().map_err(err)?;
    let platform = platform(dir.path()).await?;
    let sim = platform.simulator.as_ref().ok_or("no simulator")?.base_url();
    let base = platform.base_url();
    let api = Api::signed_in(base.clone(), dir.path().to_path_buf()).await?;
    let http = api.http.clone();
    let Seeded { tenant_id, owner, connection } = seed_tenant(&api).await?;
    let ports = platform.state.ports.clone();
    let phone_number_id = connection["phone_number_id"].clone();

    // The media item of the photo the simulator sent as `wamid`, once the webhook made it.
    let item_of = |wamid: String| {
        let (ports, tenant_id) = (ports.clone(), tenant_id.clone());
        async move {
            let message = miping::domain::inbox::inbound_message_id(&ports, &tenant_id, &wamid).await.map_err(err)?;
            let media_id = message.map(|m| format!("med_{}", m.trim_start_matches("msg_")));
            let status = match &media_id {
                Some(id) => MediaStore::new(&*ports.table).get(&tenant_id, id).await.map_err(err)?.map(|i| i.status),
                None => None,
            };
            R::Ok(status)
        }
    };
    let send = |i: usize| {
        let (http, sim, phone_number_id) = (http.clone(), sim.clone(), phone_number_id.clone());
        async move {
            let from = format!("1415556{i:04}");
            let r = http
                .post(format!("{sim}/_sim/inbound"))
                .json(&json!({"phone_number_id": phone_number_id, "from": from, "type": "image"}))
                .send()
                .await
                .map_err(err)?;
            if !r.status().is_success() {
                return Err(format!("/_sim/inbound: {}", r.status()));
            }
            let v: Value = r.json().await.map_err(err)?;
            v["wamid"].as_str().map(str::to_owned).ok_or_else(|| "no wamid".to_owned())
        }
    };
    let ready = |wamid: String, start: Instant| {
        let item_of = &item_of;
        async move {
            loop {
                match item_of(wamid.clone()).await? {
                    Some(MediaStatus::Ready) => return R::Ok(start.elapsed()),
                    Some(MediaStatus::Failed) => return Err(format!("{wamid}: failed")),
                    _ if start.elapsed() > GIVE_UP => return Err(format!("{wamid}: not ready after 60 s")),
                    _ => tokio::time::sleep(LOOK).await,
                }
            }
        }
    };

    println!("media: {images} inbound photos, one at a time (webhook → stored and ready)");
    let mut latencies = Vec::with_capacity(images);
    for i in 0..images {
        let start = Instant::now();
        let wamid = send(i).await?;
        latencies.push(ready(wamid, start).await?);
    }
    report("inbound photo → ready", &mut latencies);

    let start = Instant::now();
    let mut wamids = Vec::with_capacity(images);
    for i in 0..images {
        wamids.push(send(images + i).await?);
    }
    let sent = start.elapsed();
    let mut burst = Vec::with_capacity(images);
    for wamid in wamids {
        burst.push(ready(wamid, start).await?);
    }
    let all = burst.iter().max().copied().unwrap_or_default();
    println!(
        "  burst of {images}: sent in {:.0} ms, all ready after {:.0} ms ({:.0} photos/s)",
        sent.as_secs_f64() * 1000.0,
        all.as_secs_f64() * 1000.0,
        images as f64 / all.as_secs_f64()
    );

    upload(&http, &base, &owner, document_mb).await?;
    platform.stop().await.map_err(err)?;
    Ok(())
}

/// A PDF of `mb` MB: its signature, then comment lines.
fn document(mb: usize) -> Vec<u8> {
    let size = mb * 1024 * 1024;
    let mut bytes = b"%PDF-1.7\n".to_vec();
    let line = [b"%".as_slice(), &[b'x'; 78], b"\n"].concat();
    while bytes.len() + line.len() + 6 < size {
        bytes.extend_from_slice(&line);
    }
    bytes.resize(size - 6, b'\n');
    bytes.extend_from_slice(b"%%EOF\n");
    bytes
}

async fn upload(http: &reqwest::Client, base: &str, token: &str, mb: usize) -> R<()> {
    let bytes = document(mb);
    let size = bytes.len();
    let mbs = |d: Duration| size as f64 / 1024.0 / 1024.0 / d.as_secs_f64();
    println!("media: one {mb} MB document");

    let start = Instant::now();
    let grant: Value = http
        .post(format!("{base}/media/uploads"))
        .bearer_auth(token)
        .json(&json!({"filename": "catalogue.pdf", "mime_type": "application/pdf", "size": size}))
        .send()
        .await
        .map_err(err)?
        .json()
        .await
        .map_err(err)?;
    let granted = start.elapsed();
    let url = grant["upload_url"].as_str().ok_or_else(|| format!("no upload_url: {grant}"))?;
    let mut put = http.put(url).body(bytes.clone());
    for (k, v) in grant["headers"].as_object().into_iter().flatten() {
        put = put.header(k.as_str(), v.as_str().unwrap_or_default());
    }
    let start = Instant::now();
    let r = put.send().await.map_err(err)?;
    if !r.status().is_success() {
        return Err(format!("PUT: {} {}", r.status(), r.text().await.unwrap_or_default()));
    }
    let put_took = start.elapsed();
    let id = grant["id"].as_str().ok_or("no id")?;
    let start = Instant::now();
    let r = http.get(format!("{base}/media/{id}")).bearer_auth(token).send().await.map_err(err)?;
    let status = r.status();
    let back = r.bytes().await.map_err(err)?.len();
    let first_use = start.elapsed();
    if !status.is_success() || back != size {
        return Err(format!("GET /media/{id}: {status}, {back} bytes"));
    }
    println!("  POST /media/uploads (grant)           {:>8.1} ms", granted.as_secs_f64() * 1000.0);
    println!(
        "  PUT to the upload URL                 {:>8.0} ms  {:>6.0} MB/s",
        put_took.as_secs_f64() * 1000.0,
        mbs(put_took)
    );
    println!(
        "  first use (check + download)          {:>8.0} ms  {:>6.0} MB/s",
        first_use.as_secs_f64() * 1000.0,
        mbs(first_use)
    );

    let boundary = "bench-boundary-4f8a";
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"catalogue.pdf\"\r\nContent-Type: application/pdf\r\n\r\n"
    )
    .into_bytes();
    body.extend_from_slice(&bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let start = Instant::now();
    let r = http
        .post(format!("{base}/media"))
        .bearer_auth(token)
        .header("content-type", format!("multipart/form-data; boundary={boundary}"))
        .body(body)
        .send()
        .await
        .map_err(err)?;
    let took = start.elapsed();
    if r.status() != reqwest::StatusCode::CREATED {
        return Err(format!("POST /media: {} {}", r.status(), r.text().await.unwrap_or_default()));
    }
    println!(
        "  POST /media (multipart, one request)  {:>8.0} ms  {:>6.0} MB/s",
        took.as_secs_f64() * 1000.0,
        mbs(took)
    );
    Ok(())
}

fn report(what: &str, all: &mut [Duration]) {
    all.sort();
    let pct = |p: f64| all[((all.len() as f64 * p) as usize).min(all.len() - 1)].as_secs_f64() * 1000.0;
    println!(
        "  {what:<28} p50 {:>7.1} ms  p99 {:>7.1} ms  max {:>7.1} ms  ({} photos)",
        pct(0.50),
        pct(0.99),
        pct(1.0),
        all.len()
    );
}
