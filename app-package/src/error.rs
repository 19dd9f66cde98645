//! Errors of building and validating the app package.

use std::fmt;
use std::path::PathBuf;

/// One reason why the package is invalid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Location of the problem: a JSON pointer into the manifest such as
    /// `/connectors/0/scopes`, empty for the manifest itself, or an icon's file name.
    pub path: String,
    pub message: String,
}

impl Problem {
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = if self.path.is_empty() {
            "manifest root"
        } else {
            &self.path
        };
        write!(formatter, "{path}: {}", self.message)
    }
}

/// Error that stopped the app package from being written.
#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    #[error(
        "the Teams manifest schemas were not found in {}; run `npm ci` in the workspace \
         root to install @microsoft/app-manifest, or set --schema-dir",
        .dir.display()
    )]
    SchemasNotFound { dir: PathBuf },

    #[error("could not read the manifest schema {}: {source}", .path.display())]
    SchemaUnreadable {
        path: PathBuf,
        source: std::io::Error,
    },

    #[error("the manifest schema {} is not valid JSON: {source}", .path.display())]
    SchemaNotJson {
        path: PathBuf,
        source: serde_json::Error,
    },

    #[error("the manifest schema {} could not be compiled: {message}", .path.display())]
    SchemaNotCompiled { path: PathBuf, message: String },

    #[error("could not render the icon {file}: {message}")]
    IconNotRendered { file: &'static str, message: String },

    #[error("{}", invalid_message(.0))]
    Invalid(Vec<Problem>),

    #[error("could not write the app package {}: {source}", .path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },

    #[error("could not write the app package {}: {source}", .path.display())]
    Zip {
        path: PathBuf,
        source: zip::result::ZipError,
    },
}

impl PackageError {
    /// Returns the problems of an invalid package, and nothing for other errors.
    pub fn problems(&self) -> &[Problem] {
        match self {
            Self::Invalid(problems) => problems,
            _ => &[],
        }
    }
}

fn invalid_message(problems: &[Problem]) -> String {
    let count = problems.len();
    let noun = if count == 1 { "problem" } else { "problems" };
    let mut message =
        format!("the app package is invalid ({count} {noun}), so no zip was written:");
    for problem in problems {
        message.push_str("\n  ");
        message.push_str(&problem.to_string());
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_message_lists_each_problem() {
        let error = PackageError::Invalid(vec![
            Problem::new("/connectors/0", "\"scopes\" is a required property"),
            Problem::new("", "Additional properties are not allowed"),
        ]);

        let message = error.to_string();

        assert!(message.contains("(2 problems)"), "{message}");
        assert!(
            message.contains("\n  /connectors/0: \"scopes\" is a required property"),
            "{message}"
        );
        assert!(
            message.contains("\n  manifest root: Additional properties"),
            "{message}"
        );
    }
}
