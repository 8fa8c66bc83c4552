//! Lists spread over several partitions (a hash suffix on the partition key, so a busy tenant's
//! list has no hot partition on the table or an index), read newest first by merging one
//! backward query per partition.
//!
//! The position of a page (its cursor) is the sort key of the last item returned, and every
//! partition is read again from just below it: paging is exact (no item twice, none skipped)
//! however the items spread over the partitions, as long as sort keys are unique across them.

use futures_util::future::try_join_all;

use crate::ports::table::{Item, Query, SK, Table, TableError};

/// The sort key an item has in the list `query` reads (the index's, or the table's).
fn sort_key<'i>(query: &Query, item: &'i Item) -> Option<&'i str> {
    item.get_str(query.index.map_or(SK, |i| i.sk_attr()))
}

/// At most `limit` items of the `queries` (one per partition, each with its sort key range and
/// filter), newest first by sort key; `skip` is an item the ranges may include (an inclusive
/// bound at the previous page's position) and that is not returned. The second value is the
/// last returned item's sort key when more items exist.
pub async fn newest_first(
    table: &dyn Table,
    queries: Vec<Query>,
    skip: Option<&str>,
    limit: usize,
) -> Result<(Vec<Item>, Option<String>), TableError> {
    // One more than asked from each: `skip` may be among them.
    let pages = try_join_all(queries.iter().map(|q| table.query(q.clone().backward().limit(limit + 1)))).await?;
    let mut more = false;
    let mut merged: Vec<(String, Item)> = Vec::new();
    for (query, page) in queries.iter().zip(pages) {
        more |= page.next_cursor.is_some();
        for item in page.items {
            let sk =
                sort_key(query, &item).ok_or_else(|| TableError::Corrupt("list item without a sort key".into()))?;
            if skip != Some(sk) {
                merged.push((sk.to_owned(), item));
            }
        }
    }
    merged.sort_by(|a, b| b.0.cmp(&a.0));
    more |= merged.len() > limit;
    merged.truncate(limit);
    let next = if more { merged.last().map(|(sk, _)| sk.clone()) } else { None };
    Ok((merged.into_iter().map(|(_, item)| item).collect(), next))
}
