//! The platform template library (super admin): templates every tenant gets created in its own
//! WABA on connect and on `POST /templates/library/install`. Installing is idempotent: a
//! name+language the tenant already has (here, or in Meta when not yet synced) is skipped.

use crate::domain::Error;
use crate::ports::Ports;
use crate::ports::table::{Cond, Item, Query, TableError, TxOp};
use crate::store::{keys, templates as repo};

use super::model::{InstallFailure, InstallReport, LibraryTemplate, TemplateInput};
use super::submit;
use super::validate::{ValidTemplate, validate};

/// `POST /admin/templates`: same rules as a tenant's template; unique by name+language.
pub async fn create(ports: &Ports, input: TemplateInput) -> Result<LibraryTemplate, Error> {
    let v = validate(&input).map_err(Error::validation)?;
    let t = LibraryTemplate {
        id: ports.ids.new_id("lib"),
        name: v.name,
        language: v.language,
        category: v.category,
        components: v.components,
        parameter_format: v.parameter_format,
        parameters: v.parameters,
        created_at: ports.clock.now(),
    };
    let item = Item::from_entity(keys::library_template(&t.id), &t)?.with_index(keys::LISTS, keys::LIBRARY_LIST, &t.id);
    let unique = Item::new(keys::unique_library_template(&t.name, &t.language)).with("template_id", t.id.clone());
    match ports
        .table
        .transact(vec![
            TxOp::Put { item: unique, cond: Some(Cond::NotExists) },
            TxOp::Put { item, cond: Some(Cond::NotExists) },
        ])
        .await
    {
        Ok(()) => Ok(t),
        Err(e) if e.is_condition_failure() => {
            Err(Error::conflict("template_exists", format!("the library already has {} in {}", t.name, t.language)))
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn page(
    ports: &Ports,
    limit: usize,
    cursor: Option<String>,
) -> Result<(Vec<LibraryTemplate>, Option<String>), TableError> {
    let page = ports.table.query(Query::index(keys::LISTS, keys::LIBRARY_LIST).limit(limit).cursor(cursor)).await?;
    Ok((page.items.iter().map(Item::to_entity).collect::<Result<_, _>>()?, page.next_cursor))
}

async fn all(ports: &Ports) -> Result<Vec<LibraryTemplate>, TableError> {
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let (mut items, next) = page(ports, 500, cursor).await?;
        out.append(&mut items);
        match next {
            Some(c) => cursor = Some(c),
            None => return Ok(out),
        }
    }
}

/// Creates each library template the tenant lacks in its WABA. One failure never stops the
/// rest; the connection (409) is checked once up front since without it nothing can succeed.
pub async fn install_library(ports: &Ports, tenant_id: &str) -> Result<InstallReport, Error> {
    crate::domain::whatsapp::connection::waba_access(ports, tenant_id).await?;
    let mut report = InstallReport::default();
    for lib in all(ports).await? {
        if repo::Templates::new(&*ports.table).find_by_name(tenant_id, &lib.name, &lib.language).await?.is_some() {
            report.skipped += 1;
            continue;
        }
        let valid = ValidTemplate {
            name: lib.name.clone(),
            language: lib.language.clone(),
            category: lib.category.clone(),
            components: lib.components.clone(),
            parameter_format: lib.parameter_format,
            parameters: lib.parameters.clone(),
        };
        match submit(ports, tenant_id, valid).await {
            Ok(_) => report.installed += 1,
            // Meta already has it (made before this platform knew): not ours to recreate; a
            // sync brings it in.
            Err(e) if e.code == "template_exists" || is_meta_duplicate(&e) => report.skipped += 1,
            Err(e) => report
                .failed
                .push(InstallFailure { name: lib.name.clone(), error: format!("{}: {}", e.code, e.message) }),
        }
    }
    Ok(report)
}

fn is_meta_duplicate(e: &Error) -> bool {
    e.code == "meta_rejected" && e.details.iter().any(|d| d.code == "2388024")
}
