//! The TeamsJS objects the page reads and writes, as Rust types.

use serde::{Deserialize, Serialize};

/// The parts of `app.Context` the page uses.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Context {
    #[serde(default)]
    pub app: AppInfo,
    #[serde(default)]
    pub page: PageInfo,
    pub user: Option<UserInfo>,
    pub team: Option<TeamInfo>,
    pub channel: Option<ChannelInfo>,
}

/// `app.Context.app`: the host and its display settings.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppInfo {
    pub locale: Option<String>,
    pub theme: Option<String>,
}

/// `app.Context.page`: the frame the page is shown in.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PageInfo {
    pub id: Option<String>,
    pub frame_context: Option<String>,
}

/// `app.Context.user`: the signed-in user and their tenant.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserInfo {
    /// The user's Microsoft Entra object id (`userObjectId`).
    pub id: Option<String>,
    pub tenant: Option<TenantInfo>,
}

/// `app.Context.user.tenant`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TenantInfo {
    pub id: Option<String>,
}

/// `app.Context.team`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TeamInfo {
    /// The Teams id of the team (`teamId`), such as `19:…@thread.tacv2`.
    pub internal_id: Option<String>,
    /// The Microsoft 365 group behind the team.
    pub group_id: Option<String>,
}

/// `app.Context.channel`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChannelInfo {
    pub id: Option<String>,
}

/// The instance settings that `pages.getConfig` returns.
///
/// For a connector the host adds `webhookUrl`, `appType` and `userObjectId`
/// to the `pages.InstanceConfig` fields. A configurable tab gets no
/// `webhookUrl`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InstanceConfig {
    pub entity_id: Option<String>,
    pub config_name: Option<String>,
    pub content_url: Option<String>,
    pub webhook_url: Option<String>,
    /// `mail`, `groups` or `teams`: where the connector was added.
    pub app_type: Option<String>,
    pub user_object_id: Option<String>,
}

/// The settings that `pages.config.setConfig` stores for this instance.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NewInstanceConfig {
    pub entity_id: String,
    /// The readable summary that Teams shows in the connector list.
    pub config_name: String,
    pub content_url: String,
    pub remove_url: String,
}
