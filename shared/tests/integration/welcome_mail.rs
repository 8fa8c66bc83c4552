//! The mail consumer: a mailer outage is a retry (the job is kept), a superseded password is
//! never emailed, and the queued job never carries the password in clear.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use miping::domain::plans::{self, PlanInput};
use miping::domain::tenants::{self, ProvisionInput};
use miping::ports::Ports;
use miping::ports::mailer::{Email, MailError, Mailer};
use miping::queues::MAIL;
use miping::runtime::consumer::{ConsumeError, Consumer};
use miping::runtime::consumers::mail::MailConsumer;
use serde_json::json;

/// Fails while `down` is set; records what it sends.
#[derive(Default)]
struct FlakyMailer {
    down: AtomicBool,
    sent: std::sync::Mutex<Vec<Email>>,
}

#[async_trait]
impl Mailer for FlakyMailer {
    async fn send(&self, email: &Email) -> Result<String, MailError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(MailError::Unavailable("smtp down".into()));
        }
        self.sent.lock().unwrap().push(email.clone());
        Ok("id".into())
    }
}

async fn setup() -> (Ports, Arc<FlakyMailer>, String) {
    let dir = Box::leak(Box::new(tempfile::TempDir::new().unwrap()));
    let mut ports = miping::testkit::embedded_ports(dir.path());
    let mailer = Arc::new(FlakyMailer::default());
    ports.mailer = mailer.clone();
    let plan: PlanInput =
        serde_json::from_value(json!({"name": "P", "price": "1", "currency": "USD", "monthly_message_limit": 1,
        "contact_limit": 1, "template_limit": 1, "api_key_limit": 1, "messages_per_second": 1}))
        .unwrap();
    let plan_id = plans::create(&ports, plan).await.unwrap().id;
    let input: ProvisionInput =
        serde_json::from_value(json!({"name": "Acme", "slug": "acme", "admin_email": "a@acme.test",
        "admin_name": "Ana", "plan_id": plan_id}))
        .unwrap();
    let tenant_id = tenants::provision(&ports, "https://app.example", input).await.unwrap().tenant.id;
    (ports, mailer, tenant_id)
}

#[tokio::test]
async fn outage_is_a_retry_then_the_email_goes_out_once() {
    let (ports, mailer, _) = setup().await;
    let consumer = MailConsumer { ports: ports.clone() };
    let job = ports.queue.receive(MAIL, 10, std::time::Duration::from_millis(100)).await.unwrap();
    assert_eq!(job.len(), 1);
    assert!(job[0].body.contains("sealed_password"));
    assert!(!job[0].body.to_lowercase().contains("\"password\""));
    mailer.down.store(true, Ordering::SeqCst);
    assert!(matches!(consumer.handle(&job[0]).await, Err(ConsumeError::Retry { .. })));
    mailer.down.store(false, Ordering::SeqCst);
    consumer.handle(&job[0]).await.unwrap();
    consumer.handle(&job[0]).await.unwrap(); // a redelivery
    let sent = mailer.sent.lock().unwrap().clone();
    assert_eq!(sent.len(), 1);
    assert!(sent[0].text.contains("Log in at: https://app.example/"));
    assert!(sent[0].text.contains("One-time password: "));
}

#[tokio::test]
async fn a_superseded_password_is_not_emailed() {
    let (ports, mailer, tenant_id) = setup().await;
    let consumer = MailConsumer { ports: ports.clone() };
    let first = ports.queue.receive(MAIL, 10, std::time::Duration::from_millis(100)).await.unwrap().remove(0);
    tenants::resend_welcome(&ports, "https://app.example", &tenant_id).await.unwrap();
    let second = ports.queue.receive(MAIL, 10, std::time::Duration::from_millis(100)).await.unwrap().remove(0);
    consumer.handle(&first).await.unwrap();
    assert!(mailer.sent.lock().unwrap().is_empty(), "the first password no longer works: not sent");
    consumer.handle(&second).await.unwrap();
    assert_eq!(mailer.sent.lock().unwrap().len(), 1);
}
