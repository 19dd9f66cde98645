//! Task events reach, as cards in the local Teams host, exactly the channels
//! whose configuration asked for them.

use e2e::{Session, eventually};

/// A title with both kinds of quotes, which a payload built by string
/// concatenation would break.
const QUOTED_TITLE: &str = r#"Review "Q3" plan for O'Brien"#;

#[tokio::test(flavor = "multi_thread")]
async fn created_only_channel_gets_created_cards() -> anyhow::Result<()> {
    let session = Session::start().await?;
    let created_only = session.add_connector(&["event-created"]).await?;
    let updated_only = session.add_connector(&["event-updated"]).await?;

    let result = session.send_sample_event("created", QUOTED_TITLE).await?;
    assert_eq!(result, "Event accepted: 1 delivery queued.");
    eventually("the created card in the created-only channel", || async {
        let titles = session.card_titles(&created_only.id).await?;
        Ok(titles
            .iter()
            .any(|title| title == QUOTED_TITLE)
            .then_some(()))
    })
    .await?;

    let result = session
        .send_sample_event("updated", "Plan moved to Friday")
        .await?;
    assert_eq!(result, "Event accepted: 1 delivery queued.");
    eventually("the updated card in the updated-only channel", || async {
        let titles = session.card_titles(&updated_only.id).await?;
        Ok(titles
            .iter()
            .any(|title| title == "Plan moved to Friday")
            .then_some(()))
    })
    .await?;

    // By now the updated event's only delivery has arrived, so a card for it
    // in the created-only channel would already show.
    let created_titles = session.card_titles(&created_only.id).await?;
    assert!(
        !created_titles
            .iter()
            .any(|title| title == "Plan moved to Friday"),
        "{created_titles:?}"
    );
    let updated_titles = session.card_titles(&updated_only.id).await?;
    assert!(
        !updated_titles.iter().any(|title| title == QUOTED_TITLE),
        "{updated_titles:?}"
    );
    session.close().await
}

#[tokio::test(flavor = "multi_thread")]
async fn quoted_title_arrives_intact() -> anyhow::Result<()> {
    let session = Session::start().await?;
    let stored = session.add_connector_for_created().await?;

    session.send_sample_event("created", QUOTED_TITLE).await?;

    let card = eventually("the card in the channel", || async {
        let channel = session.channel().await?;
        let connectors = channel["connectors"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let posts = connectors
            .iter()
            .filter(|connector| connector["settings"]["entityId"] == stored.id.as_str())
            .flat_map(|connector| connector["posts"].as_array().cloned().unwrap_or_default())
            .find(|post| {
                post["body"]["summary"]
                    .as_str()
                    .is_some_and(|s| s.contains("Q3"))
            });
        Ok(posts)
    })
    .await?;

    let body = &card["body"];
    assert_eq!(body["@type"], "MessageCard");
    assert_eq!(body["sections"][0]["activityTitle"], QUOTED_TITLE);
    let summary = body["summary"].as_str().unwrap_or_default();
    assert!(summary.ends_with(QUOTED_TITLE), "{summary}");
    // The host's channel view shows the card at its next refresh, which may come after
    // the channel API already returns it.
    eventually("the quoted title in the channel view", || async {
        let titles = session.card_titles(&stored.id).await?;
        Ok(titles
            .iter()
            .any(|title| title == QUOTED_TITLE)
            .then_some(()))
    })
    .await?;
    session.close().await
}

#[tokio::test(flavor = "multi_thread")]
async fn new_connector_gets_welcome_card() -> anyhow::Result<()> {
    let session = Session::start().await?;
    let stored = session.add_connector_for_created().await?;

    let titles = eventually("the welcome card", || async {
        let titles = session.card_titles(&stored.id).await?;
        Ok((!titles.is_empty()).then_some(titles))
    })
    .await?;

    assert_eq!(titles.len(), 1, "{titles:?}");
    session.close().await
}
