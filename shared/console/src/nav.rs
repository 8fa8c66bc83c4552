//! The left navigation, by role (CONSOLE.md → Layout). One table, so a page and its link are
//! added together; the current item is the longest matching prefix of the page's path.

use miping::domain::user::Role;

#[derive(Clone, Debug)]
pub struct NavItem {
    pub label: &'static str,
    pub href: &'static str,
    /// An icon in assets/icons.svg.
    pub icon: &'static str,
    pub current: bool,
}

#[derive(Clone, Debug)]
pub struct NavSection {
    pub heading: Option<&'static str>,
    pub items: Vec<NavItem>,
}

type Table = &'static [(Option<&'static str>, &'static [(&'static str, &'static str, &'static str)])];

/// (heading, [(label, href, icon)])
const TENANT_ADMIN: Table = &[
    (
        None,
        &[
            ("Dashboard", "/", "dashboard"),
            ("Inbox", "/app/inbox", "inbox"),
            ("Contacts", "/app/contacts", "contacts"),
            ("Templates", "/app/templates", "template"),
            ("Campaigns", "/app/campaigns", "campaign"),
            ("Messages", "/app/messages", "message"),
            ("Analytics", "/app/analytics", "chart"),
        ],
    ),
    (
        Some("Account"),
        &[
            ("Members", "/app/members", "contacts"),
            ("Canned replies", "/app/canned", "message"),
            ("Settings", "/app/settings", "settings"),
            ("Billing", "/app/billing", "billing"),
            ("Audit log", "/app/audit", "shield"),
        ],
    ),
];

/// An agent's console: the inbox and contacts only (SPEC → Console).
const TENANT_AGENT: Table = &[(None, &[("Inbox", "/app/inbox", "inbox"), ("Contacts", "/app/contacts", "contacts")])];

const SUPER_ADMIN: Table = &[(
    None,
    &[
        ("Tenants", "/app/tenants", "building"),
        ("Platform analytics", "/app/platform", "chart"),
        ("Plans", "/app/plans", "billing"),
        ("Library templates", "/app/library", "template"),
        ("Webhook quarantine", "/app/quarantine", "shield"),
        ("Audit log", "/app/audit", "shield"),
    ],
)];

pub fn table(role: Role) -> Table {
    match role {
        Role::SuperAdmin => SUPER_ADMIN,
        Role::TenantAdmin => TENANT_ADMIN,
        Role::TenantAgent => TENANT_AGENT,
    }
}

/// The navigation for `role` with the item for `path` marked current.
pub fn for_role(role: Role, path: &str) -> Vec<NavSection> {
    let table = table(role);
    let matches =
        |href: &str| if href == "/" { path == "/" } else { path == href || path.starts_with(&format!("{href}/")) };
    let current = table
        .iter()
        .flat_map(|(_, items)| items.iter())
        .filter(|(_, href, _)| matches(href))
        .map(|(_, h, _)| h.len())
        .max();
    table
        .iter()
        .map(|(heading, items)| NavSection {
            heading: *heading,
            items: items
                .iter()
                .map(|(label, href, icon)| NavItem {
                    label,
                    href,
                    icon,
                    current: matches(href) && Some(href.len()) == current,
                })
                .collect(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn current(role: Role, path: &str) -> Vec<&'static str> {
        for_role(role, path).into_iter().flat_map(|s| s.items).filter(|i| i.current).map(|i| i.label).collect()
    }

    #[test]
    fn the_page_and_its_sub_pages_mark_their_item() {
        assert_eq!(current(Role::TenantAdmin, "/"), ["Dashboard"]);
        assert_eq!(current(Role::TenantAdmin, "/app/templates/01ABC/edit"), ["Templates"]);
        assert_eq!(current(Role::TenantAdmin, "/app/templatesx"), Vec::<&str>::new());
        assert_eq!(current(Role::SuperAdmin, "/app/plans"), ["Plans"]);
        assert_eq!(current(Role::SuperAdmin, "/app/tenants/ten_1"), ["Tenants"]);
    }
}
