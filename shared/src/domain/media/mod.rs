//! Media and rich messages (SPEC → Media and rich messages): the types and limits WhatsApp takes
//! ([`types`]), media items ([`model`]) and their use cases ([`service`]).

pub mod inbound;
pub mod incoming;
pub mod model;
pub mod outbound;
pub mod retention;
pub mod service;
pub mod types;

pub use model::{MediaDirection, MediaItem, MediaStatus, MediaView, MessageMedia};
pub use types::MediaKind;
