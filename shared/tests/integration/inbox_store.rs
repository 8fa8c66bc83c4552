//! The inbox's keys on both table adapters (SQLite, DynamoDB on moto): conversations listed per
//! status (GSI2) and per assignee (GSI3) by latest activity, moving between lists with resolve,
//! reopen, assignment and a new inbound message; system entries and campaign messages joining a
//! thread once; canned replies with their per-tenant unique shortcut.

use std::sync::Arc;

use chrono::{Duration, Utc};
use miping::domain::inbox::canned::CannedReply;
use miping::domain::inbox::{self, ConversationStatus, ListFilter, Scope};
use miping::domain::media::MediaStatus;
use miping::domain::messages::{Direction, Message, MessageStatus};
use miping::domain::user::{MemberStatus, Role, User};
use miping::ports::Ports;
use miping::ports::table::Table;
use miping::store::inbox::{CannedReplies, CannedWriteError};
use miping::store::messages;
use miping::store::users::Users;
use miping::testkit::unique;
use serde_json::json;

async fn ids(ports: &Ports, tenant: &str, filter: ListFilter, scope: &Scope) -> Vec<String> {
    let (items, _) = inbox::list(ports, tenant, &filter, scope, 50, None).await.unwrap();
    items.into_iter().map(|c| c.conversation.id).collect()
}

async fn member(ports: &Ports, tenant: &str) -> String {
    let now = Utc::now();
    let user = User {
        id: unique("usr"),
        email: format!("{}@example.com", unique("agent")),
        name: "Agent".into(),
        role: Role::TenantAdmin,
        tenant_id: Some(tenant.to_owned()),
        password_hash: "x".into(),
        must_change_password: false,
        status: MemberStatus::Active,
        created_at: now,
        updated_at: now,
    };
    assert!(Users::new(&*ports.table).create(&user).await.unwrap());
    user.id
}

async fn conversation_lists(table: Arc<dyn Table>) {
    let (ports, _dir) = crate::common::ports_with(table);
    let ports = &ports;
    let t = unique("ten");
    let contacts: Vec<String> = (0..3).map(|_| unique("con")).collect();
    let conv: Vec<String> = contacts.iter().map(|c| inbox::conversation_id(c)).collect();
    let base = chrono::DateTime::from_timestamp(Utc::now().timestamp(), 0).unwrap() - Duration::minutes(10);
    for (i, c) in contacts.iter().enumerate() {
        let at = base + Duration::minutes(i as i64);
        inbox::record_inbound(ports, &t, c, &crate::common::inbound_text(&unique("wamid"), at)).await.unwrap();
    }
    let all = || ListFilter::default();
    assert_eq!(ids(ports, &t, all(), &Scope::All).await, [conv[2].as_str(), conv[1].as_str(), conv[0].as_str()]);

    let agent = member(ports, &t).await;
    inbox::assign(ports, &t, conv[0].as_str(), Some(&agent), &Scope::All).await.unwrap();
    inbox::set_status(ports, &t, conv[1].as_str(), ConversationStatus::Resolved, &Scope::All).await.unwrap();
    let by = |assignee: Option<Option<String>>, status: Option<ConversationStatus>| ListFilter {
        assignee,
        status,
        ..ListFilter::default()
    };
    assert_eq!(ids(ports, &t, by(Some(Some(agent.clone())), None), &Scope::All).await, [conv[0].as_str()]);
    assert_eq!(ids(ports, &t, by(Some(None), None), &Scope::All).await, [conv[2].as_str(), conv[1].as_str()]);
    assert_eq!(ids(ports, &t, by(None, Some(ConversationStatus::Resolved)), &Scope::All).await, [conv[1].as_str()]);
    assert_eq!(
        ids(ports, &t, by(None, Some(ConversationStatus::Open)), &Scope::All).await,
        [conv[2].as_str(), conv[0].as_str()]
    );
    assert_eq!(ids(ports, &t, by(Some(None), Some(ConversationStatus::Open)), &Scope::All).await, [conv[2].as_str()]);
    inbox::mark_read(ports, &t, conv[2].as_str(), &Scope::All).await.unwrap();
    let unread = ListFilter { unread: true, ..ListFilter::default() };
    assert_eq!(ids(ports, &t, unread, &Scope::All).await, [conv[1].as_str(), conv[0].as_str()]);
    // An agent's scope: assigned to them or to nobody.
    let other = Scope::AssignedToOrUnassigned(unique("usr"));
    assert_eq!(ids(ports, &t, all(), &other).await, [conv[2].as_str(), conv[1].as_str()]);
    assert_eq!(ids(ports, &t, all(), &Scope::AssignedToOrUnassigned(agent.clone())).await.len(), 3);
    assert!(inbox::get(ports, &t, conv[0].as_str(), &other).await.unwrap().is_none());

    // A new inbound message reopens the resolved one and moves it to the top of every list.
    let later = base + Duration::minutes(5);
    inbox::record_inbound(ports, &t, &contacts[1], &crate::common::inbound_text(&unique("wamid"), later))
        .await
        .unwrap();
    assert!(ids(ports, &t, by(None, Some(ConversationStatus::Resolved)), &Scope::All).await.is_empty());
    assert_eq!(
        ids(ports, &t, by(None, Some(ConversationStatus::Open)), &Scope::All).await,
        [conv[1].as_str(), conv[2].as_str(), conv[0].as_str()]
    );
    assert_eq!(ids(ports, &t, by(Some(None), None), &Scope::All).await, [conv[1].as_str(), conv[2].as_str()]);
    // Unassigning moves it back to the unassigned list.
    inbox::assign(ports, &t, conv[0].as_str(), None, &Scope::All).await.unwrap();
    assert_eq!(
        ids(ports, &t, by(Some(None), None), &Scope::All).await,
        [conv[1].as_str(), conv[2].as_str(), conv[0].as_str()]
    );
    // Another tenant's lists are empty.
    assert!(ids(ports, &unique("ten"), all(), &Scope::All).await.is_empty());
}

async fn thread_entries_join_once(table: Arc<dyn Table>) {
    let (ports, _dir) = crate::common::ports_with(table);
    let ports = &ports;
    let t = unique("ten");
    let contact = unique("con");
    let conversation = inbox::conversation_id(&contact);
    let now = Utc::now();

    // A system entry for a contact without a conversation creates it; a second time, nothing.
    for _ in 0..2 {
        inbox::record_system(ports, &t, &contact, "msg_sys_1", "opted out", now).await.unwrap();
    }
    let created = inbox::get(ports, &t, &conversation, &Scope::All).await.unwrap().expect("created");
    assert_eq!(created.status, ConversationStatus::Open);
    let thread = || async {
        messages::Messages::new(&*ports.table).conversation_page(&t, &conversation, 50, None).await.unwrap().0
    };
    assert_eq!(thread().await.len(), 1);

    // A campaign message (not in a conversation) joins once sent, however often it is asked to.
    let m = Message {
        contact_id: Some(contact.clone()),
        to: Some("+15550001111".into()),
        template: Some(json!({"name": "city_news", "language": {"code": "en_US"}, "components": []})),
        campaign_id: Some(unique("cmp")),
        ..Message::new(unique("msg"), &t, Direction::Outbound, "template", MessageStatus::Queued, now)
    };
    ports.table.put(messages::item(&m).unwrap(), None).await.unwrap();
    let stored = messages::Messages::new(&*ports.table).get(&t, &m.id).await.unwrap().unwrap();
    for _ in 0..2 {
        inbox::join_sent(ports, &stored).await.unwrap();
    }
    let entries = thread().await;
    assert_eq!(entries.len(), 2);
    let joined = entries.iter().find(|e| e.id == m.id).expect("in the thread");
    assert_eq!(joined.conversation_id.as_deref(), Some(conversation.as_str()));
    let c = inbox::get(ports, &t, &conversation, &Scope::All).await.unwrap().unwrap();
    assert_eq!(
        (c.last_kind.as_deref(), c.last_message_preview.as_deref()),
        (Some("template"), Some("[template city_news]"))
    );
    // The stale item (read before the join) asks again: nothing changes.
    inbox::join_sent(ports, &stored).await.unwrap();
    assert_eq!(thread().await.len(), 2);
}

async fn canned_shortcuts_are_unique_per_tenant(table: Arc<dyn Table>) {
    let repo = CannedReplies::new(&*table);
    let t = unique("ten");
    let now = Utc::now();
    let reply = |shortcut: &str| CannedReply {
        id: unique("cnr"),
        tenant_id: t.clone(),
        shortcut: shortcut.into(),
        text: "Hello {{contact.name}}".into(),
        created_at: now,
        updated_at: now,
    };
    let fees = reply("fees");
    repo.create(&fees).await.unwrap();
    assert!(matches!(repo.create(&reply("fees")).await, Err(CannedWriteError::ShortcutTaken)));
    let hours = reply("hours");
    repo.create(&hours).await.unwrap();
    // Renaming onto a taken shortcut is refused; onto a free one moves the uniqueness item.
    let clash = CannedReply { shortcut: "fees".into(), updated_at: now + Duration::seconds(1), ..hours.clone() };
    assert!(matches!(repo.replace(&hours, &clash).await, Err(CannedWriteError::ShortcutTaken)));
    let renamed = CannedReply { shortcut: "fee".into(), updated_at: now + Duration::seconds(1), ..fees.clone() };
    repo.replace(&fees, &renamed).await.unwrap();
    // A stale replace (from the old version) is refused.
    assert!(matches!(repo.replace(&fees, &renamed).await, Err(CannedWriteError::Stale)));
    repo.create(&reply("fees")).await.unwrap();
    assert_eq!(repo.get(&t, &fees.id).await.unwrap().unwrap().shortcut, "fee");
    let (listed, _) = repo.list(&t, Some("HELLO"), 50, None).await.unwrap();
    assert_eq!(listed.len(), 3);
    repo.delete(&renamed).await.unwrap();
    assert!(repo.get(&t, &fees.id).await.unwrap().is_none());
    repo.create(&reply("fee")).await.unwrap();
    // Another tenant may use the same shortcut.
    repo.create(&CannedReply { tenant_id: unique("ten"), ..reply("fees") }).await.unwrap();
}

/// A customer's photo is written with its file `pending` in the message's own transaction: no
/// reader (the thread, `GET /messages/{id}`) sees the media message without its file's state
/// before the webhook processor records the media item.
async fn an_inbound_media_message_is_written_with_its_file_pending(table: Arc<dyn Table>) {
    let (ports, _dir) = crate::common::ports_with(table);
    let (t, c) = (unique("ten"), unique("con"));
    let mut photo = crate::common::inbound_text(&unique("wamid"), Utc::now());
    photo.kind = "image".into();
    photo.text = None;
    photo.media_id = Some("1013859600285441".into());
    photo.raw = json!({"type": "image", "image": {"id": "1013859600285441", "mime_type": "image/jpeg"}});
    let id = inbox::record_inbound(&ports, &t, &c, &photo).await.unwrap().expect("recorded");
    let view = messages::Messages::new(&*ports.table).view(&t, &id).await.unwrap().expect("the message");
    let media = view.media.expect("the file's state, with the message");
    assert_eq!(media.id, miping::domain::media::inbound::media_id_of(&id));
    assert_eq!((media.status, media.mime_type.as_deref()), (MediaStatus::Pending, Some("image/jpeg")));
    // A text message has none.
    let text = crate::common::inbound_text(&unique("wamid"), Utc::now());
    let id = inbox::record_inbound(&ports, &t, &c, &text).await.unwrap().unwrap();
    assert!(messages::Messages::new(&*ports.table).view(&t, &id).await.unwrap().unwrap().media.is_none());
}

macro_rules! inbox_store_suite {
    ($make:expr) => {
        #[tokio::test]
        async fn conversations_move_between_their_lists() {
            super::conversation_lists($make.await).await;
        }
        #[tokio::test]
        async fn system_entries_and_sent_campaign_messages_join_the_thread_once() {
            super::thread_entries_join_once($make.await).await;
        }
        #[tokio::test]
        async fn an_inbound_media_message_is_written_with_its_file_pending() {
            super::an_inbound_media_message_is_written_with_its_file_pending($make.await).await;
        }
        #[tokio::test]
        async fn canned_reply_shortcuts_are_unique_per_tenant() {
            super::canned_shortcuts_are_unique_per_tenant($make.await).await;
        }
    };
}

crate::common::on_both_tables!(inbox_store_suite);
