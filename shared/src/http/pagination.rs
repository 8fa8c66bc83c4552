//! Cursor pagination, the SPEC way: `?limit=` (default 50, max 500) and `?cursor=`; answers
//! `{"items": [...], "next_cursor": "..." | null}`. The cursor is the table's opaque cursor.

use serde::{Deserialize, Serialize};

use super::error::{ApiError, FieldError};

pub const DEFAULT_LIMIT: usize = 50;
pub const MAX_LIMIT: usize = 500;

#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// Page size, 1 to 500 (default 50).
    #[param(minimum = 1, maximum = 500, example = 50)]
    pub limit: Option<usize>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl PageParams {
    /// The page size, or a 422 naming `limit` when it is out of range.
    pub fn limit(&self) -> Result<usize, ApiError> {
        match self.limit {
            None => Ok(DEFAULT_LIMIT),
            Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
            Some(_) => Err(ApiError::validation(vec![FieldError::new(
                "limit",
                "out_of_range",
                format!("must be between 1 and {MAX_LIMIT}"),
            )])),
        }
    }
    pub fn cursor(&self) -> Option<String> {
        self.cursor.clone().filter(|c| !c.is_empty())
    }
}

/// One page of a list; `next_cursor` is null on the last page.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ListResponse<T> {
    pub items: Vec<T>,
    /// Pass as `?cursor=` for the next page; null when there is none.
    pub next_cursor: Option<String>,
}
