//! License types: caps on what a user may do whatever their roles grant,
//! after the Dynamics CRM license tiers.

use relata_metadata::LicenseGroup;

use crate::privileges::Right;

/// A user's license type. Stored on `systemuser` as Dataverse does:
/// `accessmode` (Read-Write / Administrative / Read) and `caltype`
/// (Professional / Basic / Essential / Team Member).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum License {
    /// Everything the roles grant.
    #[default]
    Professional,
    /// Customers, leads, service, activities, notes — no sales pipeline or marketing.
    Basic,
    /// Activities, notes and custom entities.
    Essential,
    /// Reads everything; writes accounts, contacts, activities and notes.
    TeamMember,
    /// Reads only.
    ReadOnly,
    /// Settings and administration, no business records.
    Administrative,
}

/// `caltype` values.
pub const CALTYPE_PROFESSIONAL: i64 = 0;
pub const CALTYPE_ADMINISTRATIVE: i64 = 1;
pub const CALTYPE_BASIC: i64 = 2;
pub const CALTYPE_ESSENTIAL: i64 = 5;
/// Not among Dataverse's CALType values; Relata's addition for the Team
/// Member license.
pub const CALTYPE_TEAM_MEMBER: i64 = 100;
/// `accessmode` values.
pub const ACCESSMODE_READ_WRITE: i64 = 0;
pub const ACCESSMODE_ADMINISTRATIVE: i64 = 1;
pub const ACCESSMODE_READ: i64 = 2;

pub const LICENSES: [License; 6] = [
    License::Professional,
    License::Basic,
    License::Essential,
    License::TeamMember,
    License::ReadOnly,
    License::Administrative,
];

impl License {
    /// The license of a user from its stored columns.
    pub fn from_user(caltype: i64, accessmode: i64) -> License {
        match (accessmode, caltype) {
            (ACCESSMODE_READ, _) => License::ReadOnly,
            (ACCESSMODE_ADMINISTRATIVE, _) | (_, CALTYPE_ADMINISTRATIVE) => License::Administrative,
            (_, CALTYPE_BASIC) => License::Basic,
            (_, CALTYPE_ESSENTIAL) => License::Essential,
            (_, CALTYPE_TEAM_MEMBER) => License::TeamMember,
            _ => License::Professional,
        }
    }

    /// `(caltype, accessmode)` to store for this license.
    pub fn user_columns(self) -> (i64, i64) {
        match self {
            License::Professional => (CALTYPE_PROFESSIONAL, ACCESSMODE_READ_WRITE),
            License::Basic => (CALTYPE_BASIC, ACCESSMODE_READ_WRITE),
            License::Essential => (CALTYPE_ESSENTIAL, ACCESSMODE_READ_WRITE),
            License::TeamMember => (CALTYPE_TEAM_MEMBER, ACCESSMODE_READ_WRITE),
            License::ReadOnly => (CALTYPE_PROFESSIONAL, ACCESSMODE_READ),
            License::Administrative => (CALTYPE_ADMINISTRATIVE, ACCESSMODE_ADMINISTRATIVE),
        }
    }

    /// The CLI's name: `professional`, `basic`, `essential`, `team-member`,
    /// `read-only`, `administrative`.
    pub fn name(self) -> &'static str {
        match self {
            License::Professional => "professional",
            License::Basic => "basic",
            License::Essential => "essential",
            License::TeamMember => "team-member",
            License::ReadOnly => "read-only",
            License::Administrative => "administrative",
        }
    }

    pub fn parse(s: &str) -> Option<License> {
        LICENSES.into_iter().find(|l| l.name().eq_ignore_ascii_case(s.trim()))
    }

    /// May a holder of this license exercise `right` on an entity of `group`?
    pub fn allows(self, group: LicenseGroup, right: Right) -> bool {
        use LicenseGroup::*;
        match self {
            License::Professional => true,
            License::Basic => !matches!(group, Sales | Marketing),
            License::Essential => matches!(group, Activities | Notes | Custom | Settings),
            License::TeamMember => match right {
                Right::Read => true,
                // Linking records to users, currencies and the like.
                Right::Append | Right::AppendTo => matches!(group, Customers | Activities | Notes | Settings),
                _ => matches!(group, Customers | Activities | Notes),
            },
            License::ReadOnly => right == Right::Read,
            License::Administrative => group == Settings,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_round_trip() {
        for l in LICENSES {
            let (c, a) = l.user_columns();
            assert_eq!(License::from_user(c, a), l, "{l:?}");
            assert_eq!(License::parse(l.name()), Some(l));
        }
    }

    #[test]
    fn caps() {
        use LicenseGroup::*;
        assert!(License::Basic.allows(Customers, Right::Write));
        assert!(!License::Basic.allows(Sales, Right::Read));
        assert!(!License::Essential.allows(Customers, Right::Read));
        assert!(License::Essential.allows(Custom, Right::Write));
        assert!(License::TeamMember.allows(Sales, Right::Read));
        assert!(!License::TeamMember.allows(Sales, Right::Write));
        assert!(!License::TeamMember.allows(Leads, Right::Write));
        assert!(License::ReadOnly.allows(Sales, Right::Read));
        assert!(!License::ReadOnly.allows(Activities, Right::Create));
        assert!(!License::Administrative.allows(Customers, Right::Read));
        assert!(License::Administrative.allows(Settings, Right::Write));
    }
}
