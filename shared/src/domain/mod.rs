//! Domain logic. It talks only to ports (`crate::ports`) and repositories (`crate::store`),
//! never to an SDK.

pub mod auth;
pub mod contacts;
pub mod limits;
pub mod password;
pub mod phone;
pub mod user;
pub mod webhooks;
