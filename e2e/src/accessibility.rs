//! Accessibility audits with axe-core, loaded from the project's npm
//! packages into the page under test.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde_json::Value;

use crate::Browser;

/// Path of axe-core's browser build in `node_modules`.
fn axe_script_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../node_modules/axe-core/axe.min.js")
}

/// One rule that failed, with the elements that failed it.
#[derive(Debug)]
pub struct Violation {
    pub rule: String,
    pub impact: String,
    pub help: String,
    /// CSS selectors of the failing elements.
    pub targets: Vec<String>,
}

impl Browser {
    /// Runs axe-core on the document of the current frame and returns every
    /// violation of the WCAG 2.1 A and AA rules and axe's best practices.
    pub async fn audit_accessibility(&self) -> anyhow::Result<Vec<Violation>> {
        let path = axe_script_path();
        let script = std::fs::read_to_string(&path).with_context(|| {
            format!(
                "reading {} failed; run `npm ci` (or `cargo xtask setup`) first",
                path.display()
            )
        })?;
        self.client.execute(&script, vec![]).await?;

        let results = self
            .client
            .execute_async(
                "const done = arguments[0];
                 axe.run(document, {
                   runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] },
                   resultTypes: ['violations'],
                 })
                   .then((results) => done({ violations: results.violations }))
                   .catch((error) => done({ error: String(error) }));",
                vec![],
            )
            .await?;
        if let Some(error) = results["error"].as_str() {
            bail!("axe-core failed: {error}");
        }
        let violations = results["violations"]
            .as_array()
            .context("axe-core returned no violations array")?;
        Ok(violations.iter().map(Violation::from_json).collect())
    }
}

impl Violation {
    fn from_json(value: &Value) -> Violation {
        let text = |key: &str| value[key].as_str().unwrap_or_default().to_owned();
        let targets = value["nodes"]
            .as_array()
            .map(|nodes| {
                nodes
                    .iter()
                    .map(|node| node["target"].to_string())
                    .collect()
            })
            .unwrap_or_default();
        Violation {
            rule: text("id"),
            impact: text("impact"),
            help: text("help"),
            targets,
        }
    }
}
