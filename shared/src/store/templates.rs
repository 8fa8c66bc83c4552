//! Templates repository: `T#<tenant>#TEMPLATE#<id>`, listed per tenant (GSI1, ULID order), found
//! by Meta's template id (GSI2 `METATEMPLATE#<meta id>` / `T#<tenant>`) and by name+language
//! (the `UNIQUE#…#TEMPLATE#<name>#<language>` item holds the id). The per-tenant count item is
//! changed in the same transaction as every insert and removal, so it is exact.

use serde_json::Value;

use crate::domain::templates::model::Template;
use crate::ports::table::{Cond, Item, Key, Page, Query, SkCond, Table, TableError, TxOp, Update};

use super::keys;

pub fn key(tenant_id: &str, template_id: &str) -> Key {
    keys::template(tenant_id, template_id)
}

fn lookup_sk(tenant_id: &str) -> String {
    format!("T#{tenant_id}")
}

/// The GSI2 attributes that make a template findable by Meta's id.
pub fn meta_lookup(tenant_id: &str, meta_template_id: &str) -> [(String, Value); 2] {
    [
        (keys::LOOKUPS.pk_attr().into(), Value::from(keys::meta_template_lookup(meta_template_id))),
        (keys::LOOKUPS.sk_attr().into(), Value::from(lookup_sk(tenant_id))),
    ]
}

pub fn item(tenant_id: &str, t: &Template) -> Result<Item, TableError> {
    let mut item = Item::from_entity(key(tenant_id, &t.id), t)?
        .with_index(keys::LISTS, keys::templates_list(tenant_id), &t.id)
        .with_index(keys::SECONDARY, keys::template_languages(tenant_id, &t.name), &t.language);
    if let Some(meta_id) = &t.meta_template_id {
        item = item.with_index(keys::LOOKUPS, keys::meta_template_lookup(meta_id), lookup_sk(tenant_id));
    }
    Ok(item)
}

/// Count + name reservation + row, all or nothing. With `limit`, the count must stay within
/// it (operation 0 fails otherwise); operation 1 fails when the name+language is taken.
pub fn insert_ops(tenant_id: &str, t: &Template, limit: Option<u64>) -> Result<Vec<TxOp>, TableError> {
    let cond = limit.map(|l| Cond::Or(vec![Cond::AttrNotExists("count".into()), Cond::lt("count", l as i64)]));
    Ok(vec![
        TxOp::Update { key: keys::template_count(tenant_id), update: Update::new().add("count", 1), cond },
        TxOp::Put {
            item: Item::new(keys::unique_template_name(tenant_id, &t.name, &t.language))
                .with("template_id", t.id.clone()),
            cond: Some(Cond::NotExists),
        },
        TxOp::Put { item: item(tenant_id, t)?, cond: Some(Cond::NotExists) },
    ])
}

/// Row, name reservation and one off the count.
pub fn remove_ops(tenant_id: &str, t: &Template) -> Vec<TxOp> {
    vec![
        TxOp::Delete { key: key(tenant_id, &t.id), cond: Some(Cond::Exists) },
        TxOp::Delete {
            key: keys::unique_template_name(tenant_id, &t.name, &t.language),
            cond: Some(Cond::eq("template_id", t.id.clone())),
        },
        TxOp::Update { key: keys::template_count(tenant_id), update: Update::new().add("count", -1), cond: None },
    ]
}

/// The repository over the table (as the other stores): `Templates::new(&*ports.table)`.
pub struct Templates<'a> {
    table: &'a dyn Table,
}

impl<'a> Templates<'a> {
    pub fn new(table: &'a dyn Table) -> Self {
        Self { table }
    }

    /// Removes the template; `false` when it was already gone.
    pub async fn remove(&self, tenant_id: &str, t: &Template) -> Result<bool, TableError> {
        match self.table.transact(remove_ops(tenant_id, t)).await {
            Ok(()) => Ok(true),
            Err(e) if e.is_condition_failure() => Ok(false),
            Err(e) => Err(e),
        }
    }

    pub async fn get(&self, tenant_id: &str, id: &str) -> Result<Option<Template>, TableError> {
        self.table.get(&key(tenant_id, id)).await?.map(|i| i.to_entity()).transpose()
    }

    pub async fn find_by_meta_id(&self, tenant_id: &str, meta_id: &str) -> Result<Option<Template>, TableError> {
        let q = Query::index(keys::LOOKUPS, keys::meta_template_lookup(meta_id))
            .sk(SkCond::Eq(lookup_sk(tenant_id)))
            .limit(1);
        self.table.query(q).await?.items.first().map(|i| i.to_entity()).transpose()
    }

    pub async fn find_by_name(
        &self,
        tenant_id: &str,
        name: &str,
        language: &str,
    ) -> Result<Option<Template>, TableError> {
        let Some(unique) = self.table.get(&keys::unique_template_name(tenant_id, name, language)).await? else {
            return Ok(None);
        };
        match unique.get_str("template_id") {
            Some(id) => self.get(tenant_id, id).await,
            None => Ok(None),
        }
    }

    /// Every language of the template `name` (at most `limit`), in language order.
    pub async fn find_languages(&self, tenant_id: &str, name: &str, limit: usize) -> Result<Vec<Template>, TableError> {
        let q = Query::index(keys::SECONDARY, keys::template_languages(tenant_id, name)).limit(limit);
        self.table.query(q).await?.items.iter().map(Item::to_entity).collect()
    }

    /// One page, newest first, optionally one status.
    pub async fn page(
        &self,
        tenant_id: &str,
        status: Option<&str>,
        limit: usize,
        cursor: Option<String>,
    ) -> Result<(Vec<Template>, Option<String>), TableError> {
        let mut q = Query::index(keys::LISTS, keys::templates_list(tenant_id)).backward().limit(limit).cursor(cursor);
        if let Some(s) = status {
            q = q.filter(Cond::eq("status", s));
        }
        let Page { items, next_cursor } = self.table.query(q).await?;
        Ok((items.iter().map(Item::to_entity).collect::<Result<_, _>>()?, next_cursor))
    }

    /// Every template of the tenant (sync, library install).
    pub async fn all(&self, tenant_id: &str) -> Result<Vec<Template>, TableError> {
        let mut out = Vec::new();
        let mut cursor = None;
        loop {
            let (mut items, next) = self.page(tenant_id, None, 500, cursor).await?;
            out.append(&mut items);
            match next {
                Some(c) => cursor = Some(c),
                None => return Ok(out),
            }
        }
    }

    pub async fn count(&self, tenant_id: &str) -> Result<i64, TableError> {
        Ok(self.table.get(&keys::template_count(tenant_id)).await?.and_then(|i| i.get_i64("count")).unwrap_or(0).max(0))
    }
}
