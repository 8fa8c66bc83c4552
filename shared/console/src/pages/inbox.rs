//! The inbox (`/app/inbox`, tenant admins and agents): the conversation list (Mine / Unassigned /
//! All, unread, tag, search; filters in the URL), a conversation's thread with status ticks,
//! notes and system entries, the 24 h window, the reply box (text and canned replies inside the
//! window, an approved template outside it), internal notes, assignment, resolve / reopen.
//!
//! Who sees which conversation is the API's rule ([`miping::http::routes::inbox::scope`]: an
//! agent sees the ones assigned to them or to nobody; another agent's is 404 here too). The list
//! polls `/app/inbox/live` every 2 s: the list, the tab title's unread count and, with a
//! conversation open, its thread and window arrive as one fragment (console.js, `every 2s`).

use std::collections::HashMap;

use askama::Template;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use miping::app::AppState;
use miping::domain::inbox::canned::{self, CannedReply};
use miping::domain::inbox::{self, ConversationStatus, ConversationView, ListFilter, Scope};
use miping::domain::media::retention;
use miping::domain::media::service::{self as media_service, Upload};
use miping::domain::media::{MediaItem, MediaKind, MediaStatus, MessageMedia};
use miping::domain::messages::accept::{MediaSend, TemplateSend};
use miping::domain::messages::header::{self, HeaderInput};
use miping::domain::messages::{Author, Direction, MessageStatus, MessageView};
use miping::domain::templates::model::Template as WaTemplate;
use miping::domain::templates::schema::Slot;
use miping::domain::user::{MemberStatus, Role};
use miping::domain::zone::Zone;
use miping::domain::{Error, Kind, members};
use miping::http::routes::media::UPLOAD_BODY_LIMIT;
use miping::store::contacts::Contacts;
use miping::store::media::MediaStore;
use miping::store::messages::Messages;
use miping::store::templates::Templates;
use serde::Deserialize;
use serde_json::Value;

use crate::forms::{CsrfForm, CsrfUpload, Errors, sentence, status_of};
use crate::page::{self, Hx, Shell};
use crate::paging;
use crate::session::{TenantMember, Viewer};
use crate::view::{When, file_size, when};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(index))
        .route("/live", get(live))
        .route("/{id}", get(show))
        // The reply form is multipart (its file input): a file up to WhatsApp's largest.
        .route("/{id}/reply", post(reply).layer(DefaultBodyLimit::max(UPLOAD_BODY_LIMIT)))
        .route("/{id}/canned", post(insert_canned).layer(DefaultBodyLimit::max(UPLOAD_BODY_LIMIT)))
        .route("/{id}/suggest", post(suggest).layer(DefaultBodyLimit::max(UPLOAD_BODY_LIMIT)))
        .route("/{id}/note", post(note))
        .route("/{id}/assign", post(assign))
        .route("/{id}/resolve", post(resolve))
        .route("/{id}/reopen", post(reopen))
}

/// Conversations per list page.
const PAGE: usize = 50;
/// Thread entries shown (the newest).
const THREAD: usize = 50;
/// Canned replies offered at once.
const SUGGESTIONS: usize = 8;

/// The list's filters, as the URL carries them (`view`, `status`, `unread`, `tag`, `q`).
#[derive(Clone, Debug, Default, Deserialize)]
pub struct Filters {
    #[serde(default)]
    pub view: String,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub unread: String,
    #[serde(default)]
    pub tag: String,
    #[serde(default)]
    pub q: String,
    #[serde(default)]
    pub cursor: String,
    /// The open conversation (the live fragment's).
    #[serde(default)]
    pub c: String,
    /// The template picked in the reply box (`name|language`).
    #[serde(default)]
    pub template: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum View {
    Mine,
    Unassigned,
    All,
}

impl View {
    fn key(self) -> &'static str {
        match self {
            View::Mine => "mine",
            View::Unassigned => "unassigned",
            View::All => "all",
        }
    }
    fn label(self) -> &'static str {
        match self {
            View::Mine => "Mine",
            View::Unassigned => "Unassigned",
            View::All => "All",
        }
    }
    /// Every role has the three views (SPEC → Console); an agent's All is everything their scope
    /// lets them see (theirs and the unassigned), the list applying [`scope`].
    fn offered() -> &'static [View] {
        &[View::Mine, View::Unassigned, View::All]
    }
}

impl Filters {
    fn view(&self, role: Role) -> View {
        let offered = View::offered();
        offered.iter().copied().find(|v| v.key() == self.view).unwrap_or(match role {
            Role::TenantAgent => View::Mine,
            _ => View::All,
        })
    }
    fn unread(&self) -> bool {
        self.unread == "true"
    }
    /// `open` (the default), `resolved` or `any`.
    fn status(&self) -> &'static str {
        match self.status.as_str() {
            "resolved" => "resolved",
            "any" => "any",
            _ => "open",
        }
    }
    fn domain(&self, viewer: &Viewer) -> ListFilter {
        let me = viewer.user().id.clone();
        ListFilter {
            assignee: match self.view(viewer.role()) {
                View::Mine => Some(Some(me)),
                View::Unassigned => Some(None),
                View::All => None,
            },
            status: ConversationStatus::parse(self.status()),
            unread: self.unread(),
            tag: Some(self.tag.trim().to_owned()).filter(|t| !t.is_empty()),
            q: Some(self.q.trim().to_owned()).filter(|q| !q.is_empty()),
        }
    }
    /// The filters' query pairs (defaults left out), for links that keep them.
    fn pairs(&self, role: Role) -> Vec<(&'static str, String)> {
        let view = self.view(role);
        let default_view = Filters::default().view(role);
        vec![
            ("view", if view == default_view { String::new() } else { view.key().to_owned() }),
            ("status", if self.status() == "open" { String::new() } else { self.status().to_owned() }),
            ("unread", if self.unread() { "true".into() } else { String::new() }),
            ("tag", self.tag.trim().to_owned()),
            ("q", self.q.trim().to_owned()),
        ]
    }
    fn href(&self, role: Role, path: &str) -> String {
        let pairs = self.pairs(role);
        let refs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
        paging::href(path, &refs)
    }
    fn with(&self, change: impl FnOnce(&mut Filters)) -> Filters {
        let mut f = Filters { cursor: String::new(), c: String::new(), template: String::new(), ..self.clone() };
        change(&mut f);
        f
    }
}

/// The conversations the viewer may see: the API's own rule.
fn scope(viewer: &Viewer) -> Scope {
    miping::http::routes::inbox::scope(&viewer.principal)
}

pub struct Segment {
    pub label: &'static str,
    pub href: String,
    pub current: bool,
}

pub struct Chip {
    pub label: String,
    pub href: String,
    pub current: bool,
}

/// One row of the list.
pub struct Row {
    pub href: String,
    pub name: String,
    /// The contact's phone / username when the name is something else.
    pub sub: String,
    pub initials: String,
    pub preview: String,
    pub at: Option<When>,
    pub time: String,
    pub unread: i64,
    pub assignee: Option<String>,
    pub resolved: bool,
    pub current: bool,
    /// `j` on the conversation after the open one, `k` on the one before.
    pub hotkey: &'static str,
}

/// What a list shows for a contact: its name, else its phone, username or WhatsApp id.
fn contact_name(v: &ConversationView) -> String {
    let c = &v.contact;
    c.name
        .clone()
        .filter(|n| !n.trim().is_empty())
        .or_else(|| c.phone.clone())
        .or_else(|| c.username.clone().map(|u| format!("@{u}")))
        .or_else(|| c.user_id.clone())
        .unwrap_or_else(|| "Unknown contact".into())
}

/// The contact's other handles ("+91 98765 43210 · @asha").
fn contact_sub(v: &ConversationView) -> String {
    let c = &v.contact;
    let name = contact_name(v);
    [c.phone.clone(), c.username.clone().map(|u| format!("@{u}")), c.user_id.clone()]
        .into_iter()
        .flatten()
        .filter(|h| *h != name)
        .take(2)
        .collect::<Vec<_>>()
        .join(" · ")
}

/// "14:35" today, "6 Dec" before.
fn short_time(at: DateTime<Utc>, now: DateTime<Utc>, tz: &Zone) -> String {
    let (local, today) = (tz.local(at), tz.local(now));
    if local.date_naive() == today.date_naive() {
        local.format("%H:%M").to_string()
    } else {
        local.format("%-d %b").to_string()
    }
}

fn row(v: &ConversationView, href: String, current: bool, now: DateTime<Utc>, tz: &Zone) -> Row {
    let name = contact_name(v);
    let last = v.last_message.as_ref();
    let preview = last
        .and_then(|l| {
            let p = l.preview.clone()?;
            Some(match l.direction {
                Some(Direction::Outbound) => format!("You: {p}"),
                _ => p,
            })
        })
        .unwrap_or_default();
    Row {
        href,
        sub: contact_sub(v),
        initials: page::initials(&name, 2),
        name,
        preview,
        at: last.map(|l| when(l.at, tz)),
        time: last.map(|l| short_time(l.at, now, tz)).unwrap_or_default(),
        unread: v.unread,
        assignee: v.assignee.as_ref().map(|a| a.name.clone()),
        resolved: v.conversation.status == ConversationStatus::Resolved,
        current,
        hotkey: "",
    }
}

/// A thread entry as the page shows it.
pub struct Entry {
    /// `in` | `out` | `note` | `system`
    pub kind: &'static str,
    pub body: String,
    pub author: String,
    pub at: When,
    pub time: String,
    /// A day separator before this entry ("Today", "5 Dec 2026").
    pub day: Option<String>,
    /// Outbound: (ticks modifier, word).
    pub ticks: Option<(&'static str, &'static str)>,
    /// A failed message: Meta's code and reason.
    pub reason: Option<String>,
    /// A media message's file.
    pub media: Option<Attachment>,
}

/// A media message's file as the thread shows it: a preview, a download link, or what became
/// of it (never silent: on its way, failed with the reason, deleted).
pub struct Attachment {
    /// The media id.
    pub id: String,
    /// `image` | `video` | `audio` | `document` | `sticker`
    pub kind: &'static str,
    /// Shown as a preview or link: only a ready file.
    pub ready: bool,
    /// The console's own URL of the file (`/app/media/{id}`).
    pub url: String,
    /// An image's text alternative (its caption, else whose photo it is); the players' label.
    pub alt: String,
    pub filename: String,
    /// "48 KB"; empty when unknown.
    pub size: String,
    /// What became of a file that is not ready ("Downloading the photo from WhatsApp…").
    pub note: String,
    /// `pending` | `failed` | `expired` | … (a modifier for the note).
    pub state: &'static str,
}

/// What a person calls a file of `kind`.
fn kind_word(kind: MediaKind) -> &'static str {
    match kind {
        MediaKind::Image => "photo",
        MediaKind::Video => "video",
        MediaKind::Audio => "audio message",
        MediaKind::Document => "document",
        MediaKind::Sticker => "sticker",
    }
}

/// `media` of a message (its stored item when there is one: the current status and the size).
fn attachment(
    media: &MessageMedia,
    item: Option<&MediaItem>,
    caption: Option<&str>,
    inbound: bool,
    contact: &str,
) -> Attachment {
    // Past its retention a message's file reads `expired` while its item may still say `ready`
    // (S3's lifecycle deletes without telling: retention::messages_as_seen).
    let status =
        if media.status == MediaStatus::Expired { media.status } else { item.map_or(media.status, |i| i.status) };
    let word = kind_word(media.kind);
    let reason =
        item.and_then(|i| i.error.clone()).or_else(|| media.error.clone()).unwrap_or_else(|| "no reason given".into());
    let note = match status {
        MediaStatus::Ready => String::new(),
        MediaStatus::Pending => format!("Downloading the {word} from WhatsApp…"),
        MediaStatus::Uploading => format!("The {word} is being uploaded…"),
        MediaStatus::Failed => format!("The {word} could not be downloaded from WhatsApp: {reason}"),
        MediaStatus::Rejected => format!("The {word} was refused: {reason}"),
        MediaStatus::Expired => format!("The {word} was deleted after the plan's retention period"),
    };
    let filename = item.and_then(|i| i.filename.clone()).or_else(|| media.filename.clone()).unwrap_or_else(|| {
        format!("{word}.{}", media.mime_type.as_deref().and_then(|m| m.rsplit('/').next()).unwrap_or("bin"))
    });
    let mut label = word.to_owned();
    if let Some(first) = label.get_mut(..1) {
        first.make_ascii_uppercase();
    }
    Attachment {
        id: media.id.clone(),
        kind: media.kind.as_str(),
        ready: status == MediaStatus::Ready,
        url: format!("/app/media/{}", media.id),
        alt: match caption {
            Some(c) => c.to_owned(),
            None if inbound => format!("{label} from {contact}"),
            None => format!("{label} sent to {contact}"),
        },
        size: item.map(|i| i.size).filter(|s| *s > 0).map(file_size).unwrap_or_default(),
        filename,
        note,
        state: status.as_str(),
    }
}

fn ticks(status: MessageStatus) -> (&'static str, &'static str) {
    use MessageStatus::*;
    match status {
        Scheduled | Queued | Sending => ("ticks--queued", "queued"),
        Sent => ("", "sent"),
        Delivered => ("ticks--delivered", "delivered"),
        Read => ("ticks--read", "read"),
        Failed => ("ticks--failed", "failed"),
        Cancelled => ("ticks--failed", "cancelled"),
        Received => ("", "received"),
    }
}

fn entries(
    mut newest_first: Vec<MessageView>,
    files: &HashMap<String, MediaItem>,
    contact: &str,
    now: DateTime<Utc>,
    tz: &Zone,
) -> Vec<Entry> {
    newest_first.reverse();
    let today = when(now, tz).date;
    let yesterday = when(now - chrono::Duration::days(1), tz).date;
    let mut last_day = String::new();
    newest_first
        .into_iter()
        .map(|m| {
            let at = when(m.created_at, tz);
            let day = (at.date != last_day).then(|| {
                last_day = at.date.clone();
                if at.date == today {
                    "Today".to_owned()
                } else if at.date == yesterday {
                    "Yesterday".to_owned()
                } else {
                    at.date.clone()
                }
            });
            let time = tz.local(m.created_at).format("%H:%M").to_string();
            let media = m.media.as_ref().map(|media| {
                // An inbound document without a caption carries its file name as its text.
                let caption = m.text.as_deref().filter(|t| Some(*t) != media.filename.as_deref());
                attachment(media, files.get(&media.id), caption, m.direction == Direction::Inbound, contact)
            });
            let body = match (&m.text, &m.template) {
                // The caption shows under the file; an inbound document's name is not repeated.
                (Some(t), _) if m.media.as_ref().and_then(|f| f.filename.as_deref()) == Some(t.as_str()) => {
                    String::new()
                }
                (Some(t), _) => t.clone(),
                (None, _) if media.is_some() => String::new(),
                (None, Some(t)) if !t.is_null() => {
                    format!("Template “{}”", t.get("name").and_then(Value::as_str).unwrap_or("?"))
                }
                _ => format!("[{}]", m.kind),
            };
            let (kind, author, ticks, reason) = match (m.direction, m.kind.as_str()) {
                (Direction::Inbound, _) => ("in", String::new(), None, None),
                (Direction::Outbound, _) => {
                    // Only a failed message is shown failed: a status report writes its error a
                    // moment before it moves the status (messages::status::apply_with).
                    let error = m.error.as_ref().filter(|_| m.status == MessageStatus::Failed);
                    let reason = error.map(|e| {
                        let why = e.detail.clone().or_else(|| e.title.clone()).unwrap_or_default();
                        format!("{} · {why}", e.code)
                    });
                    ("out", String::new(), Some(ticks(m.status)), reason)
                }
                (Direction::Internal, "note") => {
                    let author = m.author.as_ref().map(|a: &Author| a.name.clone()).unwrap_or_default();
                    ("note", author, None, None)
                }
                (Direction::Internal, _) => ("system", String::new(), None, None),
            };
            Entry { kind, body, author, at, time, day, ticks, reason, media }
        })
        .collect()
}

/// The 24 h customer service window, as the note above the reply box says it.
pub struct Window {
    pub open: bool,
    pub text: String,
    pub expires: Option<When>,
}

fn window(v: &ConversationView, now: DateTime<Utc>, tz: &Zone) -> Window {
    match v.window_expires_at {
        Some(at) if v.window_open => {
            let left = (at - now).num_minutes().max(0);
            Window {
                open: true,
                text: format!("Reply window closes in {} h {} min", left / 60, left % 60),
                expires: Some(when(at, tz)),
            }
        }
        Some(at) => Window {
            open: false,
            text: "The 24-hour reply window is closed: send an approved template".into(),
            expires: Some(when(at, tz)),
        },
        None => Window {
            open: false,
            text: "The customer has not written yet: start with an approved template".into(),
            expires: None,
        },
    }
}

pub struct MemberOption {
    pub id: String,
    pub name: String,
    pub selected: bool,
}

pub struct TemplateOption {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

pub struct VarInput {
    pub n: usize,
    pub label: String,
    pub value: String,
}

/// The reply box's state.
#[derive(Default)]
pub struct Composer {
    pub text: String,
    pub errors: Errors,
    /// Focus the reply box (a canned reply was just inserted).
    pub focus: bool,
    pub canned: Vec<CannedReply>,
    pub templates: Vec<TemplateOption>,
    /// The chosen template's `name|language` and its variables.
    pub template: String,
    pub vars: Vec<VarInput>,
    /// The chosen template's media header: its file goes with the template (the file input).
    pub header: Option<MediaKind>,
    pub note: String,
    pub note_errors: Errors,
    /// The template variables as posted (`var_1`, …), kept after a refusal.
    pub values: Vec<String>,
}

impl Composer {
    /// The reply box's error: the text's, or the caption's when a file went with it.
    pub fn text_error(&self) -> Option<&str> {
        self.errors.get("text").or_else(|| self.errors.get("media.caption"))
    }

    /// The file input's `accept`: the types WhatsApp takes (the upload use case's list).
    pub fn accept(&self) -> String {
        super::media::accept(None)
    }

    /// The template's header file input: its kind's types, and what the label calls it.
    pub fn header_accept(&self) -> String {
        super::media::accept(self.header)
    }
    pub fn header_label(&self) -> &'static str {
        self.header.map_or("", crate::view::media_label)
    }
}

/// The open conversation.
pub struct Convo {
    pub id: String,
    pub base: String,
    pub name: String,
    pub sub: String,
    pub initials: String,
    pub assignee: Option<String>,
    pub mine: bool,
    pub resolved: bool,
    pub entries: Vec<Entry>,
    pub window: Window,
    pub members: Vec<MemberOption>,
    pub tags: Vec<String>,
    pub opted_out: bool,
    pub contact_href: String,
    pub composer: Composer,
}

#[derive(Template)]
#[template(path = "inbox.html", blocks = ["items", "pane"])]
pub struct InboxPage {
    pub shell: Shell,
    pub segments: Vec<Segment>,
    pub chips: Vec<Chip>,
    pub f: Filters,
    /// The hidden fields that keep the filters in the search form.
    pub keep: Vec<(&'static str, String)>,
    /// All the filters in use, for a form that goes back to this page (the template picker).
    pub filter_pairs: Vec<(&'static str, String)>,
    /// `mine` | `unassigned` | `all`
    pub view: &'static str,
    /// The list with these filters; without any; the unassigned view.
    pub list_href: String,
    pub list_href_plain: String,
    pub unassigned_href: String,
    pub rows: Vec<Row>,
    pub more: Option<String>,
    pub filtered: bool,
    pub agent: bool,
    pub live: String,
    pub convo: Option<Convo>,
    /// Rendering the live fragment: the thread's pieces carry `data-hx-oob`.
    pub oob: bool,
}

fn fail(e: &Error) -> Response {
    match e.kind {
        Kind::NotFound => page::not_found_page(),
        _ => paging::list_failed(e),
    }
}

/// The unread count for the tab title: conversations with unread messages the viewer may see.
async fn unread_total(state: &AppState, tenant_id: &str, viewer: &Viewer) -> usize {
    let filter = ListFilter { unread: true, ..ListFilter::default() };
    match inbox::list(&state.ports, tenant_id, &filter, &scope(viewer), 100, None).await {
        Ok((items, _)) => items.len(),
        Err(e) => {
            tracing::warn!(error = %e, "unread count failed");
            0
        }
    }
}

fn title(unread: usize) -> String {
    match unread {
        0 => "Inbox".into(),
        n if n >= 100 => "(99+) Inbox".into(),
        n => format!("({n}) Inbox"),
    }
}

/// The list (and its chrome pieces) for `f`, with `current` marked.
async fn load(
    state: &AppState,
    viewer: &Viewer,
    tenant_id: &str,
    headers: &HeaderMap,
    f: &Filters,
    current: Option<&str>,
) -> Result<InboxPage, Response> {
    let role = viewer.role();
    let cursor = paging::open(Some(&f.cursor))?;
    let path = match current {
        Some(id) => format!("/app/inbox/{id}"),
        None => "/app/inbox".to_owned(),
    };
    let (filter, scope) = (f.domain(viewer), scope(viewer));
    let (shell, listed, unread) = tokio::join!(
        Shell::load(state, viewer, headers, "Inbox", &path),
        inbox::list(&state.ports, tenant_id, &filter, &scope, PAGE, cursor),
        unread_total(state, tenant_id, viewer),
    );
    let mut shell = shell;
    shell.title = title(unread);
    let (items, next) = listed.map_err(|e| fail(&e))?;
    let now = state.ports.clock.now();
    let mut rows: Vec<Row> = items
        .iter()
        .map(|v| {
            let href = f.href(role, &format!("/app/inbox/{}", v.conversation.id));
            row(v, href, current == Some(v.conversation.id.as_str()), now, &shell.tz)
        })
        .collect();
    match rows.iter().position(|r| r.current) {
        Some(i) => {
            if let Some(r) = rows.get_mut(i + 1) {
                r.hotkey = "j";
            }
            if let Some(r) = i.checked_sub(1).and_then(|k| rows.get_mut(k)) {
                r.hotkey = "k";
            }
        }
        None => {
            if let Some(r) = rows.first_mut() {
                r.hotkey = "j";
            }
        }
    }
    let view = f.view(role);
    let segments = View::offered()
        .iter()
        .map(|v| Segment {
            label: v.label(),
            href: f.with(|x| x.view = v.key().to_owned()).href(role, "/app/inbox"),
            current: *v == view,
        })
        .collect();
    let mut chips = vec![
        Chip {
            label: "Unread".into(),
            href: f
                .with(|x| x.unread = if f.unread() { String::new() } else { "true".into() })
                .href(role, "/app/inbox"),
            current: f.unread(),
        },
        Chip {
            label: "Resolved".into(),
            href: f
                .with(|x| x.status = if f.status() == "resolved" { String::new() } else { "resolved".into() })
                .href(role, "/app/inbox"),
            current: f.status() == "resolved",
        },
    ];
    if !f.tag.trim().is_empty() {
        chips.push(Chip {
            label: format!("Tag: {} ×", f.tag.trim()),
            href: f.with(|x| x.tag.clear()).href(role, "/app/inbox"),
            current: true,
        });
    }
    let more = next.map(|c| {
        let mut pairs = f.pairs(role);
        pairs.push(("cursor", paging::seal(&c)));
        let refs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
        paging::href("/app/inbox", &refs)
    });
    let mut live_pairs = f.pairs(role);
    live_pairs.push(("c", current.unwrap_or_default().to_owned()));
    let refs: Vec<(&str, &str)> = live_pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let live = paging::href("/app/inbox/live", &refs);
    let keep = f.pairs(role).into_iter().filter(|(k, v)| !v.is_empty() && *k != "q" && *k != "tag").collect();
    Ok(InboxPage {
        filter_pairs: f.pairs(role).into_iter().filter(|(_, v)| !v.is_empty()).collect(),
        view: view.key(),
        list_href: f.href(role, "/app/inbox"),
        list_href_plain: Filters { view: view.key().into(), ..Filters::default() }.href(role, "/app/inbox"),
        unassigned_href: Filters { view: "unassigned".into(), ..Filters::default() }.href(role, "/app/inbox"),
        shell,
        segments,
        chips,
        keep,
        rows,
        more,
        filtered: f.unread() || f.status() != "open" || !f.tag.trim().is_empty() || !f.q.trim().is_empty(),
        agent: role == Role::TenantAgent,
        live,
        convo: None,
        oob: false,
        f: f.clone(),
    })
}

/// The approved templates, and the chosen one's variables (labelled as the person sees them).
async fn templates(state: &AppState, tenant_id: &str, composer: &mut Composer, chosen: &str) {
    let approved: Vec<WaTemplate> =
        match Templates::new(&*state.ports.table).page(tenant_id, Some("APPROVED"), 100, None).await {
            Ok((t, _)) => t,
            Err(e) => {
                tracing::warn!(error = %e, "approved templates failed to load");
                Vec::new()
            }
        };
    let chosen = if chosen.is_empty() && approved.len() == 1 {
        format!("{}|{}", approved[0].name, approved[0].language)
    } else {
        chosen.to_owned()
    };
    composer.templates = approved
        .iter()
        .map(|t| {
            let value = format!("{}|{}", t.name, t.language);
            TemplateOption { selected: value == chosen, label: format!("{} ({})", t.name, t.language), value }
        })
        .collect();
    if let Some(t) = approved.iter().find(|t| format!("{}|{}", t.name, t.language) == chosen) {
        composer.template = chosen.clone();
        composer.header = header::media_header(&t.parameters);
        composer.vars = variable_labels(t)
            .into_iter()
            .enumerate()
            .map(|(i, label)| VarInput { n: i + 1, label, value: composer.values.get(i).cloned().unwrap_or_default() })
            .collect();
    }
}

/// Each variable of a template as the person sees it: `{{1}}`, `{{name}}`, "Header variable"
/// (a media header is not one: its file is the form's file input).
fn variable_labels(t: &WaTemplate) -> Vec<String> {
    let mut body_n = 0;
    let schema = header::without_header(&t.parameters);
    schema
        .variables
        .iter()
        .take(schema.count)
        .map(|v| match (v.component, &v.name) {
            (_, Some(name)) => format!("Variable {{{{{name}}}}}"),
            (Slot::Body, None) => {
                body_n += 1;
                format!("Variable {{{{{body_n}}}}}")
            }
            (Slot::Header, None) => "Header variable".to_owned(),
            (Slot::Button, None) => format!("Button {} variable", v.index.unwrap_or(0) + 1),
        })
        .collect()
}

/// The open conversation `id` (404 when the viewer may not see it), marked read.
async fn convo(
    state: &AppState,
    viewer: &Viewer,
    tenant_id: &str,
    id: &str,
    f: &Filters,
    tz: &Zone,
    composer: Composer,
) -> Result<Convo, Response> {
    let scope = scope(viewer);
    let v = inbox::view(&state.ports, tenant_id, id, &scope).await.map_err(|e| fail(&e))?;
    if v.unread > 0
        && let Err(e) = inbox::mark_read(&state.ports, tenant_id, id, &scope).await
    {
        tracing::warn!(error = %e, "conversation not marked read");
    }
    let (messages, contacts) = (Messages::new(&*state.ports.table), Contacts::new(&*state.ports.table));
    let (thread, contact, team) = tokio::join!(
        messages.conversation_page(tenant_id, id, THREAD, None),
        contacts.get(tenant_id, &v.conversation.contact_id),
        members::page(&state.ports, tenant_id, 100, None),
    );
    let mut thread = thread.map_err(|e| page::failed("a conversation's thread", e))?.0;
    if let Err(e) = retention::messages_as_seen(&state.ports, tenant_id, &mut thread).await {
        tracing::warn!(error = %e, "a thread's files' retention failed to load");
    }
    let files = files(state, tenant_id, &thread).await;
    let contact = contact.map_err(|e| page::failed("a conversation's contact", e))?;
    let team = team.map_err(|e| page::failed("the members", e))?.0;
    let now = state.ports.clock.now();
    let me = viewer.user().id.clone();
    let assignee_id = v.conversation.assignee_id.clone();
    let name = contact_name(&v);
    let entries = entries(thread, &files, &name, now, tz);
    Ok(Convo {
        id: id.to_owned(),
        base: f.href(viewer.role(), &format!("/app/inbox/{id}")),
        sub: contact_sub(&v),
        initials: page::initials(&name, 2),
        name,
        assignee: v.assignee.as_ref().map(|a| if a.id == me { "you".to_owned() } else { a.name.clone() }),
        mine: assignee_id.as_deref() == Some(me.as_str()),
        resolved: v.conversation.status == ConversationStatus::Resolved,
        entries,
        window: window(&v, now, tz),
        members: team
            .into_iter()
            .filter(|m| m.status == MemberStatus::Active)
            .map(|m| MemberOption { selected: assignee_id.as_deref() == Some(m.id.as_str()), id: m.id, name: m.name })
            .collect(),
        tags: contact.as_ref().map(|c| c.tags.clone()).unwrap_or_default(),
        opted_out: contact.as_ref().is_some_and(|c| c.opted_out),
        contact_href: format!("/app/contacts/{}", v.conversation.contact_id),
        composer,
    })
}

/// The stored items of the thread's files (their current status and size), by id.
async fn files(state: &AppState, tenant_id: &str, thread: &[MessageView]) -> HashMap<String, MediaItem> {
    let store = MediaStore::new(&*state.ports.table);
    let ids: Vec<&str> = thread.iter().filter_map(|m| m.media.as_ref().map(|f| f.id.as_str())).collect();
    let found = futures_util::future::join_all(ids.iter().map(|id| store.get(tenant_id, id))).await;
    found
        .into_iter()
        .filter_map(|r| r.inspect_err(|e| tracing::warn!(error = %e, "a thread's file failed to load")).ok().flatten())
        .map(|i| (i.id.clone(), i))
        .collect()
}

/// The whole page with conversation `id` open and its reply box in `composer`'s state.
async fn conversation_page(
    state: &AppState,
    viewer: &Viewer,
    tenant_id: &str,
    headers: &HeaderMap,
    f: &Filters,
    id: &str,
    mut composer: Composer,
) -> Result<InboxPage, Response> {
    let mut page = load(state, viewer, tenant_id, headers, f, Some(id)).await?;
    let tz = &page.shell.tz;
    let canned = canned::list(&state.ports, tenant_id, None, 100, None).await;
    composer.canned = canned.map(|(c, _)| c).unwrap_or_else(|e| {
        tracing::warn!(error = %e, "canned replies failed to load");
        Vec::new()
    });
    let chosen = if composer.template.is_empty() { f.template.clone() } else { composer.template.clone() };
    templates(state, tenant_id, &mut composer, &chosen).await;
    let c = convo(state, viewer, tenant_id, id, f, tz, composer).await?;
    page.shell.title = format!("{} · {}", page.shell.title, c.name);
    page.convo = Some(c);
    Ok(page)
}

/// `GET /app/inbox`
async fn index(
    State(state): State<AppState>,
    member: TenantMember,
    headers: HeaderMap,
    hx: Hx,
    Query(f): Query<Filters>,
) -> Response {
    let TenantMember(viewer, tenant_id) = member;
    match load(&state, &viewer, &tenant_id, &headers, &f, None).await {
        // "Load more": the next rows only.
        Ok(p) if hx.0 && !f.cursor.is_empty() => page::html(StatusCode::OK, &p.as_items()),
        Ok(p) => page::html(StatusCode::OK, &p),
        Err(r) => r,
    }
}

/// `GET /app/inbox/{id}`
async fn show(
    State(state): State<AppState>,
    member: TenantMember,
    headers: HeaderMap,
    hx: Hx,
    Path(id): Path<String>,
    Query(f): Query<Filters>,
) -> Response {
    let TenantMember(viewer, tenant_id) = member;
    match conversation_page(&state, &viewer, &tenant_id, &headers, &f, &id, Composer::default()).await {
        Ok(p) => page::page_or_fragment(hx, StatusCode::OK, &p, p.as_pane()),
        Err(r) => r,
    }
}

/// `GET /app/inbox/live?…&c=<id>`: what the open page polls every 2 s — the tab title, the list,
/// and the open conversation's thread and window (swapped by id).
async fn live(
    State(state): State<AppState>,
    member: TenantMember,
    headers: HeaderMap,
    Query(f): Query<Filters>,
) -> Response {
    let TenantMember(viewer, tenant_id) = member;
    let current = Some(f.c.clone()).filter(|c| !c.is_empty());
    let first = Filters { cursor: String::new(), ..f.clone() };
    let mut p = match load(&state, &viewer, &tenant_id, &headers, &first, current.as_deref()).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    if let Some(id) = &current {
        // Gone (assigned to another agent): only the list updates.
        if let Ok(c) = convo(&state, &viewer, &tenant_id, id, &f, &p.shell.tz, Composer::default()).await {
            p.shell.title = format!("{} · {}", p.shell.title, c.name);
            p.convo = Some(c);
            p.oob = true;
        }
    }
    let items = match p.as_items().render() {
        Ok(items) => items,
        Err(e) => return page::failed("the inbox fragment", e),
    };
    let title = format!("{} · {}", p.shell.title, p.shell.site());
    page::html(StatusCode::OK, &LiveFragment { title, items, convo: &p.convo, oob: p.oob, shell: &p.shell })
}

/// The live fragment (`inbox_live.html`): the title, the list's rows (rendered), and with a
/// conversation open its thread and window, swapped by id (`data-hx-oob`).
#[derive(Template)]
#[template(path = "inbox_live.html")]
struct LiveFragment<'a> {
    title: String,
    items: String,
    convo: &'a Option<Convo>,
    oob: bool,
    shell: &'a Shell,
}

/// Where a form goes back to: the conversation with the list's filters (`next`, checked to be an
/// inbox page so it can never send anyone elsewhere).
fn back(next: &str, id: &str) -> String {
    let inbox = format!("/app/inbox/{id}");
    if next == inbox || next.starts_with(&format!("{inbox}?")) { next.to_owned() } else { inbox }
}

/// The filters of a `next` URL.
fn filters_of(next: &str) -> Filters {
    next.split_once('?').and_then(|(_, q)| serde_urlencoded::from_str(q).ok()).unwrap_or_default()
}

#[derive(Deserialize, Default)]
pub struct ReplyForm {
    #[serde(default)]
    next: String,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    template: Option<String>,
    /// A canned reply to insert (the select) …
    #[serde(default)]
    canned_id: String,
    /// … or the suggestion clicked.
    #[serde(default)]
    pick: String,
    #[serde(flatten)]
    rest: std::collections::HashMap<String, String>,
}

impl ReplyForm {
    /// `var_1`, `var_2`, … in order.
    fn values(&self) -> Vec<String> {
        (1..).map_while(|n| self.rest.get(&format!("var_{n}")).cloned()).collect()
    }
}

/// Who posted a conversation's form, and how (for [`again`]).
struct Posted<'a> {
    state: &'a AppState,
    viewer: &'a Viewer,
    tenant_id: &'a str,
    headers: &'a HeaderMap,
    hx: Hx,
}

/// The page (or with JavaScript the conversation pane) again, with `composer`'s state.
async fn again(r: &Posted<'_>, id: &str, next: &str, status: StatusCode, composer: Composer) -> Response {
    let f = filters_of(next);
    match conversation_page(r.state, r.viewer, r.tenant_id, r.headers, &f, id, composer).await {
        Ok(p) => page::page_or_fragment(r.hx, status, &p, p.as_pane()),
        Err(r) => r,
    }
}

/// `POST /app/inbox/{id}/reply`: free text (`text`) or a file inside the window, or a template
/// (`template` = `name|language`, `var_1`…, and for a media header its file) any time — the
/// API's own use cases.
async fn reply(
    State(state): State<AppState>,
    member: TenantMember,
    headers: HeaderMap,
    hx: Hx,
    Path(id): Path<String>,
    CsrfUpload { form, file }: CsrfUpload<ReplyForm>,
) -> Response {
    let TenantMember(viewer, tenant_id) = member;
    let posted = Posted { state: &state, viewer: &viewer, tenant_id: &tenant_id, headers: &headers, hx };
    let scope = scope(&viewer);
    let values = form.values();
    let with_file = file.is_some();
    let template = form.template.as_deref().filter(|t| !t.is_empty());
    let with_file = with_file && template.is_none();
    let result = match (file, template) {
        (file, Some(t)) => {
            let (name, language) = t.split_once('|').unwrap_or((t, ""));
            let send = TemplateSend {
                name: Some(name.to_owned()),
                language: Some(language.to_owned()),
                variables: Some(values.iter().cloned().map(Value::String).collect()),
                components: None,
                header: None,
            };
            send_template(&state, &viewer, &tenant_id, &id, send, file, &scope).await
        }
        (Some(file), None) => {
            let caption = form.text.as_deref().map(str::trim).filter(|t| !t.is_empty());
            send_file(&state, &viewer, &tenant_id, &id, file, caption, &scope).await
        }
        (None, None) => {
            inbox::reply::text(&state.ports, &tenant_id, &id, form.text.as_deref().unwrap_or_default(), &scope).await
        }
    };
    let next = back(&form.next, &id);
    match result {
        Ok(_) => {
            let fresh = again(&posted, &id, &next, StatusCode::OK, Composer::default()).await;
            hx.updated(fresh, &next, "Message sent")
        }
        Err(e) => {
            let status = match status_of(&e) {
                Ok(s) => s,
                Err(r) => return r,
            };
            if status == StatusCode::NOT_FOUND {
                return page::not_found_page();
            }
            // A refused file, or its send refused without a field (the window closed): next
            // to the file input.
            let errors = if with_file && e.details.is_empty() {
                Errors::none().field("file", sentence(&e.message))
            } else {
                Errors::from_error(
                    &header_on_its_field(e),
                    &["text", "template", "variables", "header", "file", "media.caption"],
                )
            };
            let composer = Composer {
                text: form.text.clone().unwrap_or_default(),
                errors,
                template: form.template.clone().unwrap_or_default(),
                values,
                ..Composer::default()
            };
            again(&posted, &id, &next, status, composer).await
        }
    }
}

/// A file from the reply box to the conversation's contact: `POST /media`'s use case (type,
/// content and size checked before anything is stored), then the conversation's media reply
/// (`POST /messages`'s rules: inside the window, a ready file) with the reply text as caption.
async fn send_file(
    state: &AppState,
    viewer: &Viewer,
    tenant_id: &str,
    id: &str,
    file: Result<Upload, Error>,
    caption: Option<&str>,
    scope: &Scope,
) -> Result<MessageView, Error> {
    // The conversation first: a file is not stored for one the viewer may not see.
    inbox::require(&state.ports, tenant_id, id, scope).await?;
    let item = media_service::upload(&state.ports, tenant_id, &viewer.user().id, file?).await?;
    let send = MediaSend {
        kind: Some(item.kind.as_str().to_owned()),
        media_id: Some(item.id),
        caption: caption.map(str::to_owned),
        ..MediaSend::default()
    };
    inbox::reply::media(&state.ports, tenant_id, id, send, scope).await
}

/// A template reply, with the file chosen for its media header (stored as `POST /media` stores
/// it, given as `header` by its id: `POST /messages`'s rules then check it against the template).
async fn send_template(
    state: &AppState,
    viewer: &Viewer,
    tenant_id: &str,
    id: &str,
    mut send: TemplateSend,
    file: Option<Result<Upload, Error>>,
    scope: &Scope,
) -> Result<MessageView, Error> {
    if let Some(file) = file {
        // The conversation first: a file is not stored for one the viewer may not see.
        inbox::require(&state.ports, tenant_id, id, scope).await?;
        let item = super::media::store(state, tenant_id, &viewer.user().id, file, "header").await?;
        send.header = Some(HeaderInput {
            kind: Some(item.kind.as_str().to_owned()),
            media_id: Some(item.id),
            ..HeaderInput::default()
        });
    }
    inbox::reply::template(&state.ports, tenant_id, id, send, scope).await
}

/// `template.header…` details on the reply box's header file input, in its words when missing.
fn header_on_its_field(mut e: Error) -> Error {
    for d in e.details.iter_mut().filter(|d| d.field.starts_with("template.header") || d.field == "header") {
        d.field = "header".into();
        if d.code == "required" {
            d.message = "choose the file this template's header sends".into();
        }
    }
    e
}

/// The text with the canned reply in it: in place of a trailing `/shortcut` being typed, else
/// after what is there.
fn with_inserted(text: &str, reply: &str) -> String {
    let trimmed = text.trim_end();
    match trimmed.rfind(|c: char| c.is_whitespace()).map(|i| i + 1).unwrap_or(0) {
        start if trimmed[start..].starts_with('/') => format!("{}{reply}", &trimmed[..start]),
        _ if trimmed.is_empty() => reply.to_owned(),
        _ => format!("{trimmed}\n{reply}"),
    }
}

/// `POST /app/inbox/{id}/canned`: the reply box with a canned reply rendered for this contact
/// (the select and "Insert" without JavaScript; a `/shortcut` suggestion with it).
async fn insert_canned(
    State(state): State<AppState>,
    member: TenantMember,
    headers: HeaderMap,
    hx: Hx,
    Path(id): Path<String>,
    CsrfUpload { form, .. }: CsrfUpload<ReplyForm>,
) -> Response {
    let TenantMember(viewer, tenant_id) = member;
    let posted = Posted { state: &state, viewer: &viewer, tenant_id: &tenant_id, headers: &headers, hx };
    let conversation = match inbox::require(&state.ports, &tenant_id, &id, &scope(&viewer)).await {
        Ok(c) => c,
        Err(e) => return fail(&e),
    };
    let chosen = if form.pick.is_empty() { &form.canned_id } else { &form.pick };
    let text = form.text.clone().unwrap_or_default();
    let next = back(&form.next, &id);
    let (status, composer) = match canned::render_for(&state.ports, &tenant_id, chosen, &conversation.contact_id).await
    {
        Ok(rendered) => {
            (StatusCode::OK, Composer { text: with_inserted(&text, &rendered), focus: true, ..Composer::default() })
        }
        Err(e) if e.kind == Kind::NotFound => (
            StatusCode::UNPROCESSABLE_ENTITY,
            Composer {
                text,
                errors: Errors::none().field("canned_id", "Choose a canned reply."),
                ..Composer::default()
            },
        ),
        Err(e) => return page::failed("a canned reply", e),
    };
    again(&posted, &id, &next, status, composer).await
}

/// `POST /app/inbox/{id}/suggest` (console.js, as the reply is typed): the canned replies whose
/// shortcut starts with the `/word` at the end of the text, as buttons that insert them.
async fn suggest(
    State(state): State<AppState>,
    member: TenantMember,
    Path(id): Path<String>,
    CsrfUpload { form, .. }: CsrfUpload<ReplyForm>,
) -> Response {
    let TenantMember(viewer, tenant_id) = member;
    let conversation = match inbox::require(&state.ports, &tenant_id, &id, &scope(&viewer)).await {
        Ok(c) => c,
        Err(e) => return fail(&e),
    };
    let text = form.text.unwrap_or_default();
    let word = text.rsplit(char::is_whitespace).next().unwrap_or_default();
    let mut suggested = Vec::new();
    if let Some(prefix) = word.strip_prefix('/') {
        let prefix = prefix.to_lowercase();
        let all = match canned::list(&state.ports, &tenant_id, None, 100, None).await {
            Ok((all, _)) => all,
            Err(e) => return page::failed("canned replies", e),
        };
        let contact = Contacts::new(&*state.ports.table).get(&tenant_id, &conversation.contact_id).await;
        let contact = match contact {
            Ok(Some(c)) => c,
            Ok(None) => return page::not_found_page(),
            Err(e) => return page::failed("a contact", e),
        };
        suggested = all
            .into_iter()
            .filter(|c| c.shortcut.starts_with(&prefix))
            .take(SUGGESTIONS)
            .map(|c| {
                let rendered = canned::render(&c.text, &contact);
                (c, rendered)
            })
            .collect();
    }
    let p = SuggestionsFragment { suggested, id };
    page::html(StatusCode::OK, &p)
}

#[derive(Template)]
#[template(
    source = r#"{% for (c, text) in suggested %}<button class="btn btn--sm" type="submit" name="pick" value="{{ c.id }}" formaction="/app/inbox/{{ id }}/canned"><strong>/{{ c.shortcut }}</strong>&nbsp;<span class="truncate muted">{{ text }}</span></button>{% endfor %}"#,
    ext = "html"
)]
struct SuggestionsFragment {
    suggested: Vec<(CannedReply, String)>,
    id: String,
}

#[derive(Deserialize)]
pub struct NoteForm {
    #[serde(default)]
    next: String,
    #[serde(default)]
    text: String,
}

/// `POST /app/inbox/{id}/note`: an internal note (never sent to WhatsApp).
async fn note(
    State(state): State<AppState>,
    member: TenantMember,
    headers: HeaderMap,
    hx: Hx,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<NoteForm>,
) -> Response {
    let TenantMember(viewer, tenant_id) = member;
    let posted = Posted { state: &state, viewer: &viewer, tenant_id: &tenant_id, headers: &headers, hx };
    let author = Author { id: viewer.user().id.clone(), name: viewer.user().name.clone() };
    let next = back(&form.next, &id);
    match inbox::add_note(&state.ports, &tenant_id, &id, author, &form.text, &scope(&viewer)).await {
        Ok(_) => {
            let fresh = again(&posted, &id, &next, StatusCode::OK, Composer::default()).await;
            hx.updated(fresh, &next, "Note added")
        }
        Err(e) if e.kind == Kind::NotFound => page::not_found_page(),
        Err(e) => {
            let status = match status_of(&e) {
                Ok(s) => s,
                Err(r) => return r,
            };
            let composer = Composer {
                note: form.text.clone(),
                note_errors: Errors::from_error(&e, &["text"]),
                ..Composer::default()
            };
            again(&posted, &id, &next, status, composer).await
        }
    }
}

#[derive(Deserialize)]
pub struct AssignForm {
    #[serde(default)]
    next: String,
    /// A member's id, `me`, or empty for nobody.
    #[serde(default)]
    member_id: String,
}

/// `POST /app/inbox/{id}/assign`
async fn assign(
    State(state): State<AppState>,
    member: TenantMember,
    hx: Hx,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<AssignForm>,
) -> Response {
    let TenantMember(viewer, tenant_id) = member;
    let me = viewer.user().id.clone();
    let to = match form.member_id.trim() {
        "" => None,
        "me" => Some(me.clone()),
        other => Some(other.to_owned()),
    };
    let next = back(&form.next, &id);
    match inbox::assign(&state.ports, &tenant_id, &id, to.as_deref(), &scope(&viewer)).await {
        Ok(v) => {
            let toast = match &v.assignee {
                Some(a) if a.id == me => "Assigned to you".to_owned(),
                Some(a) => format!("Assigned to {}", a.name),
                None => "Unassigned".to_owned(),
            };
            // An agent who gave it to someone else can no longer open it: back to the list.
            // Taken from Unassigned: it is in Mine now, so the list goes there with it.
            let (f, role) = (filters_of(&next), viewer.role());
            let location = if !scope(&viewer).sees(&v.conversation) {
                f.href(role, "/app/inbox")
            } else if to.as_deref() == Some(me.as_str()) && f.view(role) == View::Unassigned {
                f.with(|x| x.view = View::Mine.key().into()).href(role, &format!("/app/inbox/{id}"))
            } else {
                next
            };
            hx.done(&location, &toast)
        }
        Err(e) if e.kind == Kind::NotFound => page::not_found_page(),
        Err(e) => match status_of(&e) {
            Ok(_) => hx.done(&next, &format!("!{}", crate::forms::sentence(&e.message))),
            Err(r) => r,
        },
    }
}

#[derive(Deserialize)]
pub struct NextForm {
    #[serde(default)]
    next: String,
}

async fn set_status(
    state: &AppState,
    member: TenantMember,
    hx: Hx,
    id: &str,
    next: &str,
    to: ConversationStatus,
) -> Response {
    let TenantMember(viewer, tenant_id) = member;
    let next = back(next, id);
    match inbox::set_status(&state.ports, &tenant_id, id, to, &scope(&viewer)).await {
        Ok(_) => hx.done(
            &next,
            if to == ConversationStatus::Resolved { "Conversation resolved" } else { "Conversation reopened" },
        ),
        Err(e) => fail(&e),
    }
}

/// `POST /app/inbox/{id}/resolve`
async fn resolve(
    State(state): State<AppState>,
    member: TenantMember,
    hx: Hx,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<NextForm>,
) -> Response {
    set_status(&state, member, hx, &id, &form.next, ConversationStatus::Resolved).await
}

/// `POST /app/inbox/{id}/reopen`
async fn reopen(
    State(state): State<AppState>,
    member: TenantMember,
    hx: Hx,
    Path(id): Path<String>,
    CsrfForm(form): CsrfForm<NextForm>,
) -> Response {
    set_status(&state, member, hx, &id, &form.next, ConversationStatus::Open).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(status: MessageStatus) -> MessageView {
        use miping::domain::messages::{Message, MessageError};
        use miping::ports::table::{Item, Key};
        let at = DateTime::parse_from_rfc3339("2026-12-07T10:00:00Z").unwrap().with_timezone(&Utc);
        let error = MessageError {
            code: 131026,
            title: Some("Message undeliverable".into()),
            detail: Some("Unable to deliver".into()),
        };
        let message = Message {
            to: Some("+14155550202".into()),
            contact_id: Some("con_1".into()),
            conversation_id: Some("cnv_1".into()),
            text: Some("Sunday, 10 to 1".into()),
            error: Some(error),
            ..Message::new("msg_1", "ten_1", Direction::Outbound, "text", status, at)
        };
        let item = Item::from_entity(Key::new("TENANT#ten_1", "MSG#msg_1"), &message).unwrap();
        MessageView::from_item(&item).unwrap()
    }

    #[test]
    fn a_reply_reads_failed_only_once_its_status_is_failed() {
        let now = DateTime::parse_from_rfc3339("2026-12-07T10:01:00Z").unwrap().with_timezone(&Utc);
        let shown = |status| entries(vec![reply(status)], &HashMap::new(), "Ravi", now, &Zone::UTC).remove(0);
        // A status report writes the error a moment before it moves the status.
        let queued = shown(MessageStatus::Queued);
        assert_eq!((queued.ticks, queued.reason), (Some(("ticks--queued", "queued")), None));
        let failed = shown(MessageStatus::Failed);
        assert_eq!(failed.ticks, Some(("ticks--failed", "failed")));
        assert_eq!(failed.reason.as_deref(), Some("131026 · Unable to deliver"));
    }

    #[test]
    fn a_canned_reply_replaces_the_shortcut_being_typed() {
        assert_eq!(with_inserted("", "Hi Asha"), "Hi Asha");
        assert_eq!(with_inserted("/fe", "Hi Asha"), "Hi Asha");
        assert_eq!(with_inserted("Hello /fe", "Hi Asha"), "Hello Hi Asha");
        assert_eq!(with_inserted("Hello", "Hi Asha"), "Hello\nHi Asha");
    }

    #[test]
    fn forms_only_go_back_to_their_conversation() {
        assert_eq!(back("/app/inbox/cnv_1?view=all", "cnv_1"), "/app/inbox/cnv_1?view=all");
        assert_eq!(back("https://evil.example/", "cnv_1"), "/app/inbox/cnv_1");
        assert_eq!(back("/app/inbox/cnv_2", "cnv_1"), "/app/inbox/cnv_1");
    }
}
