//! Cursor pages on console tables ("Load more"): the same sealed cursors as the API's lists
//! (`miping::http::pagination`), carried in the page's URL with its filters.

use axum::http::StatusCode;
use axum::response::Response;
use miping::domain::Error;
use serde::Deserialize;

use crate::page::{failed, message_page};

/// `?cursor=`: the sealed cursor of a "Load more" link (lists without filters).
#[derive(Deserialize, Default)]
pub struct CursorQuery {
    #[serde(default)]
    pub cursor: Option<String>,
}

/// The list's own cursor inside `?cursor=`, or the page saying the link is broken.
pub fn open(sealed: Option<&str>) -> Result<Option<String>, Response> {
    match sealed.filter(|c| !c.is_empty()) {
        None => Ok(None),
        Some(c) => miping::http::pagination::open_cursor(c).map(Some).map_err(|_| broken_link()),
    }
}

/// The cursor for the next page's URL.
pub fn seal(cursor: &str) -> String {
    miping::http::pagination::seal_cursor(cursor)
}

/// `path?k=v&…` with the empty values left out.
pub fn href(path: &str, params: &[(&str, &str)]) -> String {
    let kept: Vec<(&str, &str)> = params.iter().copied().filter(|(_, v)| !v.is_empty()).collect();
    if kept.is_empty() {
        return path.to_owned();
    }
    format!("{path}?{}", serde_urlencoded::to_string(kept).unwrap_or_default())
}

fn broken_link() -> Response {
    message_page(
        StatusCode::BAD_REQUEST,
        "This link no longer works",
        "The page it pointed to cannot be found. Go back to the list and load it again.",
    )
}

/// A list query's failure: a cursor the table refuses is a broken link; the rest is logged.
pub fn list_failed(e: &Error) -> Response {
    if e.code == "invalid_cursor" {
        return broken_link();
    }
    failed("a list", e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_keep_only_the_filters_in_use() {
        assert_eq!(href("/app/contacts", &[("q", ""), ("tag", "")]), "/app/contacts");
        assert_eq!(href("/app/contacts", &[("q", "asha rao"), ("tag", "")]), "/app/contacts?q=asha+rao");
        let sealed = seal("c1");
        assert_eq!(open(Some(&sealed)).unwrap().as_deref(), Some("c1"));
        assert!(open(Some("not-a-cursor")).is_err());
        assert_eq!(open(Some("")).unwrap(), None);
    }
}
