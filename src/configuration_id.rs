//! The stable identifier of one connector configuration.

use std::fmt;

/// The identifier the page gives a configuration when it is first saved.
///
/// Teams stores it as the `entityId` of the connector instance and returns it
/// from `pages.getConfig` on reconfiguration, so it is the key of the stored
/// record. It is a UUID in lower-case hyphenated form, which keeps two
/// configurations in one channel apart.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigurationId(String);

impl ConfigurationId {
    /// Parses an `entityId` from Teams, returning `None` when it is not a
    /// UUID (for example an empty string, or an id another app wrote).
    pub fn parse(entity_id: &str) -> Option<Self> {
        let entity_id = entity_id.trim();
        let groups: Vec<&str> = entity_id.split('-').collect();
        let expected_lengths = [8, 4, 4, 4, 12];

        let well_formed = groups.len() == expected_lengths.len()
            && groups.iter().zip(expected_lengths).all(|(group, length)| {
                group.len() == length && group.chars().all(|c| c.is_ascii_hexdigit())
            });

        well_formed.then(|| ConfigurationId(entity_id.to_ascii_lowercase()))
    }

    /// Makes a new random (version 4) UUID with the browser's
    /// `crypto.getRandomValues`, which unlike `crypto.randomUUID` also works
    /// outside secure contexts.
    pub fn generate() -> Result<Self, String> {
        let crypto = web_sys::window()
            .ok_or("the page has no window")?
            .crypto()
            .map_err(|_| "the browser offers no crypto API")?;
        let mut bytes = [0_u8; 16];
        crypto
            .get_random_values_with_u8_array(&mut bytes)
            .map_err(|_| "crypto.getRandomValues failed")?;
        Ok(Self::from_random_bytes(bytes))
    }

    /// Formats 16 random bytes as a version 4, variant 1 UUID.
    fn from_random_bytes(mut bytes: [u8; 16]) -> Self {
        bytes[6] = (bytes[6] & 0x0f) | 0x40;
        bytes[8] = (bytes[8] & 0x3f) | 0x80;

        let hex: String = bytes.iter().map(|byte| format!("{byte:02x}")).collect();
        ConfigurationId(format!(
            "{}-{}-{}-{}-{}",
            &hex[0..8],
            &hex[8..12],
            &hex[12..16],
            &hex[16..20],
            &hex[20..32]
        ))
    }

    /// Returns the identifier as it is stored and sent.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ConfigurationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_accepts_uuid_and_lowercases() {
        let id = ConfigurationId::parse("0F8FAD5B-D9CB-469F-A165-70867728950E");

        assert_eq!(
            id.map(|id| id.to_string()),
            Some("0f8fad5b-d9cb-469f-a165-70867728950e".to_owned())
        );
    }

    #[test]
    fn random_bytes_make_version_4_uuid() {
        let id = ConfigurationId::from_random_bytes([0xff; 16]);

        assert_eq!(id.as_str(), "ffffffff-ffff-4fff-bfff-ffffffffffff");
        assert_eq!(ConfigurationId::parse(id.as_str()), Some(id));
    }

    #[test]
    fn parse_rejects_other_entity_ids() {
        let rejected = [
            "",
            "created",
            "0f8fad5b-d9cb-469f-a165",
            "0f8fad5bd9cb469fa16570867728950e",
            "0f8fad5b-d9cb-469f-a165-70867728950g",
            "0f8fad5b-d9cb-469f-a165-70867728950e-1",
        ];

        for entity_id in rejected {
            assert_eq!(
                ConfigurationId::parse(entity_id),
                None,
                "{entity_id:?} should be rejected"
            );
        }
    }
}
