//! The configuration session, built from what Teams returns at start-up.

use crate::api::ChannelContext;
use crate::configuration_id::ConfigurationId;
use crate::teams::{Context, InstanceConfig};

/// One configuration session: the configuration being edited and the Teams
/// context it belongs to.
#[derive(Clone, Debug, PartialEq)]
pub struct Session {
    pub configuration_id: ConfigurationId,
    /// Whether Teams named a configuration saved earlier, so the page
    /// restores its choice.
    pub is_existing: bool,
    /// Whether Teams opened the page in the `remove` frame context, to
    /// remove the connector rather than change it.
    pub is_removal: bool,
    pub context: ChannelContext,
    /// The page's own address without query or fragment, given to Teams as
    /// `contentUrl` and `removeUrl`.
    pub page_url: String,
}

impl Session {
    /// Combines `app.getContext` and `pages.getConfig`.
    ///
    /// The configuration id comes from the `entityId` of `getConfig` when it
    /// is one of ours, because the new Teams client may load the manifest's
    /// configuration URL instead of the saved `contentUrl`. Otherwise the
    /// session uses `fresh_id`.
    pub fn new(
        context: &Context,
        config: &InstanceConfig,
        page_url: String,
        fresh_id: ConfigurationId,
    ) -> Self {
        let existing_id = config.entity_id.as_deref().and_then(ConfigurationId::parse);
        let is_existing = existing_id.is_some();
        let configuration_id = existing_id.unwrap_or(fresh_id);

        let user = context.user.as_ref();
        let team = context.team.as_ref();
        let channel_context = ChannelContext {
            tenant_id: user
                .and_then(|user| user.tenant.as_ref())
                .and_then(|tenant| tenant.id.clone()),
            group_id: team.and_then(|team| team.group_id.clone()),
            team_id: team.and_then(|team| team.internal_id.clone()),
            channel_id: context
                .channel
                .as_ref()
                .and_then(|channel| channel.id.clone()),
            user_object_id: config
                .user_object_id
                .clone()
                .or_else(|| user.and_then(|user| user.id.clone())),
            app_type: config.app_type.clone(),
        };

        Session {
            configuration_id,
            is_existing,
            is_removal: context.page.frame_context.as_deref() == Some("remove"),
            context: channel_context.without_empty_values(),
            page_url,
        }
    }
}

impl ChannelContext {
    /// TeamsJS fills absent ids with empty strings (for example a missing
    /// `userObjectId`); the backend stores those as absent.
    fn without_empty_values(self) -> Self {
        let keep = |value: Option<String>| value.filter(|value| !value.is_empty());
        ChannelContext {
            tenant_id: keep(self.tenant_id),
            group_id: keep(self.group_id),
            team_id: keep(self.team_id),
            channel_id: keep(self.channel_id),
            user_object_id: keep(self.user_object_id),
            app_type: keep(self.app_type),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::teams::{ChannelInfo, TeamInfo, TenantInfo, UserInfo};

    const SAVED_ID: &str = "0f8fad5b-d9cb-469f-a165-70867728950e";
    const FRESH_ID: &str = "7c9e6679-7425-40de-944b-e07fc1f90ae7";
    const PAGE_URL: &str = "https://connector.example/config/";

    fn fresh_id() -> ConfigurationId {
        ConfigurationId::parse(FRESH_ID).unwrap()
    }

    fn teams_context() -> Context {
        Context {
            user: Some(UserInfo {
                id: Some("user-from-context".to_owned()),
                tenant: Some(TenantInfo {
                    id: Some("tenant".to_owned()),
                }),
            }),
            team: Some(TeamInfo {
                internal_id: Some("19:team@thread.tacv2".to_owned()),
                group_id: Some("group".to_owned()),
            }),
            channel: Some(ChannelInfo {
                id: Some("19:channel@thread.tacv2".to_owned()),
            }),
            ..Context::default()
        }
    }

    #[test]
    fn first_configuration_gets_fresh_id() {
        let session = Session::new(
            &teams_context(),
            &InstanceConfig::default(),
            PAGE_URL.to_owned(),
            fresh_id(),
        );

        assert_eq!(session.configuration_id.as_str(), FRESH_ID);
        assert!(!session.is_existing);
    }

    #[test]
    fn reconfiguration_keeps_saved_entity_id() {
        let config = InstanceConfig {
            entity_id: Some(SAVED_ID.to_owned()),
            ..InstanceConfig::default()
        };

        let session = Session::new(&teams_context(), &config, PAGE_URL.to_owned(), fresh_id());

        assert_eq!(session.configuration_id.as_str(), SAVED_ID);
        assert!(session.is_existing);
    }

    #[test]
    fn foreign_entity_id_starts_new_configuration() {
        let config = InstanceConfig {
            entity_id: Some("created".to_owned()),
            ..InstanceConfig::default()
        };

        let session = Session::new(&teams_context(), &config, PAGE_URL.to_owned(), fresh_id());

        assert_eq!(session.configuration_id.as_str(), FRESH_ID);
        assert!(!session.is_existing);
    }

    #[test]
    fn remove_frame_context_marks_removal() {
        let mut context = teams_context();
        context.page.frame_context = Some("remove".to_owned());

        let removal = Session::new(
            &context,
            &InstanceConfig::default(),
            PAGE_URL.to_owned(),
            fresh_id(),
        );
        let settings = Session::new(
            &teams_context(),
            &InstanceConfig::default(),
            PAGE_URL.to_owned(),
            fresh_id(),
        );

        assert!(removal.is_removal);
        assert!(!settings.is_removal);
    }

    #[test]
    fn context_maps_teams_ids() {
        let config = InstanceConfig {
            app_type: Some("teams".to_owned()),
            user_object_id: Some("user-from-config".to_owned()),
            ..InstanceConfig::default()
        };

        let session = Session::new(&teams_context(), &config, PAGE_URL.to_owned(), fresh_id());

        let context = session.context;
        assert_eq!(context.tenant_id.as_deref(), Some("tenant"));
        assert_eq!(context.group_id.as_deref(), Some("group"));
        assert_eq!(context.team_id.as_deref(), Some("19:team@thread.tacv2"));
        assert_eq!(
            context.channel_id.as_deref(),
            Some("19:channel@thread.tacv2")
        );
        assert_eq!(context.user_object_id.as_deref(), Some("user-from-config"));
        assert_eq!(context.app_type.as_deref(), Some("teams"));
    }

    #[test]
    fn empty_ids_become_absent() {
        let mut context = teams_context();
        context.user = Some(UserInfo {
            id: Some(String::new()),
            tenant: None,
        });

        let session = Session::new(
            &context,
            &InstanceConfig::default(),
            PAGE_URL.to_owned(),
            fresh_id(),
        );

        assert_eq!(session.context.user_object_id, None);
        assert_eq!(session.context.tenant_id, None);
    }
}
