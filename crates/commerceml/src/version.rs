//! The CommerceML schema versions 1C speaks in the exchange with a site.

use std::fmt;
use std::str::FromStr;

/// `ВерсияСхемы` of a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SchemaVersion {
    /// 2.03: old Bitrix order samples.
    V2_03,
    /// 2.04: 1C's published samples.
    V2_04,
    /// 2.05: УТ 10 and the Bitrix sale exchange.
    V2_05,
    /// 2.06.
    V2_06,
    /// 2.07: the built-in exchange of УТ 11, УНФ, БП.
    V2_07,
    /// 2.08.
    V2_08,
    /// 2.09: УТ 11 / КА / ERP split packages.
    V2_09,
    /// 2.10: the last 2.x standard.
    V2_10,
    /// 3.1: the 1C-Bitrix exchange module.
    V3_1,
}

impl SchemaVersion {
    /// Every version, oldest first.
    pub const ALL: [SchemaVersion; 9] = [
        SchemaVersion::V2_03,
        SchemaVersion::V2_04,
        SchemaVersion::V2_05,
        SchemaVersion::V2_06,
        SchemaVersion::V2_07,
        SchemaVersion::V2_08,
        SchemaVersion::V2_09,
        SchemaVersion::V2_10,
        SchemaVersion::V3_1,
    ];

    /// The `ВерсияСхемы` text.
    pub fn as_str(self) -> &'static str {
        match self {
            SchemaVersion::V2_03 => "2.03",
            SchemaVersion::V2_04 => "2.04",
            SchemaVersion::V2_05 => "2.05",
            SchemaVersion::V2_06 => "2.06",
            SchemaVersion::V2_07 => "2.07",
            SchemaVersion::V2_08 => "2.08",
            SchemaVersion::V2_09 => "2.09",
            SchemaVersion::V2_10 => "2.10",
            SchemaVersion::V3_1 => "3.1",
        }
    }

    /// 3.x wraps each document in a `Контейнер`.
    pub fn uses_containers(self) -> bool {
        self >= SchemaVersion::V3_1
    }
}

impl fmt::Display for SchemaVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The text is not a schema version this crate knows.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown CommerceML schema version {0:?}")]
pub struct UnknownVersion(pub String);

impl FromStr for SchemaVersion {
    type Err = UnknownVersion;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        SchemaVersion::ALL
            .into_iter()
            // `3.01` and `3.1` are the same version written two ways.
            .find(|v| v.as_str() == s || (*v == SchemaVersion::V3_1 && s == "3.01"))
            .ok_or_else(|| UnknownVersion(s.to_owned()))
    }
}
