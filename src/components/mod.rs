//! The page's view components.

mod notification_form;
mod outside_teams;
mod status_line;

pub use notification_form::NotificationForm;
pub use outside_teams::OutsideTeams;
pub use status_line::StatusLine;
