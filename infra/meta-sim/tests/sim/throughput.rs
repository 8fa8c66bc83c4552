//! The per-number limit over HTTP: a rolling one-second window (never more than the rate
//! accepted in any second, whatever the burst), and the accept log a benchmark reads.

use std::time::Duration;

use meta_sim::business_for_code;
use serde_json::Value;

use crate::common::*;
use crate::graph_api::text_to;

async fn stats(g: &Graph, phone: &str, timestamps: bool) -> Value {
    let base = g.base.rsplit_once('/').unwrap().0;
    let q = if timestamps { "?timestamps=1" } else { "" };
    g.http.get(format!("{base}/_sim/throughput/{phone}{q}")).send().await.unwrap().json().await.unwrap()
}

#[tokio::test]
async fn the_limit_is_a_rolling_second_and_every_accept_is_timestamped() {
    let sim = sim(fast_config()).await;
    sim.set_throughput(5);
    let g = Graph::new(&sim);
    let c = code("tp");
    let t = g.token(&c).await;
    let phone = business_for_code(&c).phone_numbers[0].id.clone();
    let path = format!("{phone}/messages");
    for i in 0..5 {
        let (status, body) = g.post(&path, &t, text_to(&format!("1555000{i:04}9"))).await;
        assert_eq!(status, 200, "{body}");
    }
    let (status, body) = g.post(&path, &t, text_to("15550009999")).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], 130429);
    assert_eq!(body["error"]["message"], "(#130429) Rate limit hit");
    assert_eq!(body["error"]["error_data"]["messaging_product"], "whatsapp");

    let s = stats(&g, &phone, true).await;
    assert_eq!((s["accepted"].as_u64(), s["throughput_refused"].as_u64()), (Some(5), Some(1)));
    assert_eq!(s["busiest_window"], 5);
    assert_eq!(s["limit_per_second"], 5);
    let times: Vec<u64> = s["timestamps_us"].as_array().unwrap().iter().map(|t| t.as_u64().unwrap()).collect();
    assert_eq!(times.len(), 5);
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");
    assert_eq!(sim.accept_times(&phone).len(), 5);
    assert_eq!(sim.throughput(&phone).busiest_window, 5);

    // Once the second has passed, the number sends again.
    let mut i = 0;
    wait_until("the window to move on", Duration::from_secs(5), || {
        i += 1;
        let body = text_to(&format!("1666000{i:04}9"));
        let g = &g;
        let (path, t) = (&path, &t);
        async move { g.post(path, t, body).await.0 == 200 }
    })
    .await;
    assert_eq!(sim.throughput(&phone).busiest_window, 5);

    let base = g.base.rsplit_once('/').unwrap().0;
    let r = g.http.delete(format!("{base}/_sim/throughput/{phone}")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(stats(&g, &phone, false).await["accepted"], 0);
}

#[tokio::test]
async fn a_concurrent_burst_never_exceeds_the_rate_in_any_second() {
    let sim = sim(fast_config()).await;
    sim.set_throughput(10);
    let g = Graph::new(&sim);
    let c = code("burst");
    let t = g.token(&c).await;
    let phone = business_for_code(&c).phone_numbers[0].id.clone();
    let sends = (0..60).map(|i| {
        let (g, t, path) = (&g, &t, format!("{phone}/messages"));
        async move { g.post(&path, t, text_to(&format!("1777000{i:04}9"))).await.0 }
    });
    let statuses = futures_util::future::join_all(sends).await;
    let accepted = statuses.iter().filter(|s| **s == 200).count() as u64;
    let refused = statuses.iter().filter(|s| **s == 400).count() as u64;
    assert_eq!(accepted + refused, 60);
    let s = sim.throughput(&phone);
    assert_eq!((s.accepted, s.throughput_refused), (accepted, refused));
    assert!(accepted >= 10, "the first ten always go through");
    // A token bucket with a 10-message burst lets up to 20 through in the first second.
    assert!(s.busiest_window <= 10, "{s:?}");
    assert_eq!(sim.send_counts().accepted, accepted);
}
