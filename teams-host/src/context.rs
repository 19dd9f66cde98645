//! The one team, channel and user that the local Teams host plays.
//!
//! The values are made up but have the shapes Microsoft Teams uses: GUIDs for
//! the tenant, the Microsoft 365 group and the user, and `19:…@thread.tacv2`
//! thread ids for the team and the channel.

/// Azure AD tenant id (`tid` in the TeamsJS context).
pub const TENANT_ID: &str = "8b1f3c2e-5d4a-4f6b-9c7e-2a1d0e9f8b34";

/// Thread id of the team, which Teams also uses for the team's General channel.
pub const TEAM_ID: &str = "19:5c1e8a7f2b3d4c6e9a0f1b2c3d4e5f60@thread.tacv2";

/// Display name of the team.
pub const TEAM_NAME: &str = "Contoso Product Team";

/// Id of the Microsoft 365 group behind the team.
pub const GROUP_ID: &str = "3f6e1a9c-7b2d-4e8f-a5c1-9d0b2e4f6a81";

/// Thread id of the channel that connectors are added to.
pub const CHANNEL_ID: &str = "19:a4d2f6b8c0e14f3a9b7d5c3e1f2a4b6c@thread.tacv2";

/// Display name of the channel.
pub const CHANNEL_NAME: &str = "Task notifications";

/// Channel type as TeamsJS reports it: `Regular`, `Private` or `Shared`.
pub const CHANNEL_TYPE: &str = "Regular";

/// Azure AD object id of the signed-in user.
pub const USER_OBJECT_ID: &str = "d5e9a3c1-6b8f-4a2d-8e7c-1f3b5a9d2c46";

/// User principal name of the signed-in user, also sent as `loginHint`.
pub const USER_PRINCIPAL_NAME: &str = "alex.taylor@contoso.onmicrosoft.com";

/// Locale of the Teams client until the host page's Language setting changes it.
pub const LOCALE: &str = "en-US";

/// Theme of the Teams client (`default`, `dark` or `contrast`) until the host
/// page's Theme setting changes it.
pub const THEME: &str = "default";
