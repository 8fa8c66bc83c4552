//! Messages, outbound and inbound, and how Meta's delivery statuses move them.

pub mod accept;
pub mod dispatch;
pub mod header;
pub mod interactive;
pub mod model;
pub mod rich;
pub mod settle;
pub mod status;

pub use model::{Author, Direction, Message, MessageError, MessageStatus, MessageView, StatusEntry};
