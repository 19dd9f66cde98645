//! Configuration page of the task notifications connector for Microsoft 365
//! Groups, shown by Microsoft Teams in an iframe.
//!
//! The page lets a channel choose which task events it is notified about,
//! and on Save sends the channel's incoming webhook URL to the backend.
//! [`teams`] binds the TeamsJS library. The rules in [`choice`],
//! [`configuration_id`], [`i18n`], [`session`], [`status`] and [`theme`] are
//! plain Rust, tested natively. The page's messages live in `locales/`.

pub mod api;
mod app;
pub mod choice;
pub mod components;
pub mod configuration_id;
pub mod i18n;
pub mod save;
pub mod session;
mod startup;
pub mod state;
pub mod status;
pub mod teams;
pub mod theme;
pub mod timeout;

pub use app::App;
