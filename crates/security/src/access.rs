//! Access rights on one record: what sharing grants and what
//! `RetrievePrincipalAccess` reports, with Dataverse's bit values.

use crate::privileges::Right;

/// A set of access rights (`AccessRights` in Dataverse: a flags enum).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct AccessRights(pub u32);

const NAMES: [(u32, &str, Right); 8] = [
    (1, "ReadAccess", Right::Read),
    (2, "WriteAccess", Right::Write),
    (4, "AppendAccess", Right::Append),
    (16, "AppendToAccess", Right::AppendTo),
    (32, "CreateAccess", Right::Create),
    (65536, "DeleteAccess", Right::Delete),
    (262144, "ShareAccess", Right::Share),
    (524288, "AssignAccess", Right::Assign),
];

impl AccessRights {
    pub const NONE: AccessRights = AccessRights(0);
    pub const READ: AccessRights = AccessRights(1);
    /// Every right a share can carry.
    pub const ALL: AccessRights = AccessRights(1 | 2 | 4 | 16 | 32 | 65536 | 262144 | 524288);

    /// The bit of one privilege right.
    pub fn of(right: Right) -> AccessRights {
        AccessRights(NAMES.iter().find(|(_, _, r)| *r == right).map(|(b, _, _)| *b).unwrap_or(0))
    }
    pub fn contains(self, right: Right) -> bool {
        self.0 & Self::of(right).0 != 0
    }
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
    pub fn union(self, other: AccessRights) -> AccessRights {
        AccessRights(self.0 | other.0)
    }
    pub fn with(self, right: Right) -> AccessRights {
        self.union(Self::of(right))
    }
    pub fn rights(self) -> impl Iterator<Item = Right> {
        NAMES.iter().filter(move |(b, _, _)| self.0 & b != 0).map(|(_, _, r)| *r)
    }

    /// `"ReadAccess, WriteAccess"` — how the Web API writes a flags value;
    /// `"None"` when empty.
    pub fn names(self) -> String {
        let v: Vec<&str> = NAMES.iter().filter(|(b, _, _)| self.0 & b != 0).map(|(_, n, _)| *n).collect();
        if v.is_empty() {
            "None".into()
        } else {
            v.join(", ")
        }
    }

    /// Parses `"ReadAccess, WriteAccess"` (or a number). Names are
    /// case-sensitive as in Dataverse; `None` is the empty set.
    pub fn parse(s: &str) -> Result<AccessRights, String> {
        if let Ok(n) = s.trim().parse::<u32>() {
            if n & !Self::ALL.0 != 0 {
                return Err(format!("{n} is not a valid AccessRights value"));
            }
            return Ok(AccessRights(n));
        }
        let mut out = 0;
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            if part == "None" {
                continue;
            }
            let bit = NAMES.iter().find(|(_, n, _)| *n == part).map(|(b, _, _)| *b).ok_or_else(|| {
                format!(
                    "'{part}' is not an access right; use {}",
                    NAMES.iter().map(|(_, n, _)| *n).collect::<Vec<_>>().join(", ")
                )
            })?;
            out |= bit;
        }
        Ok(AccessRights(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        let r = AccessRights::parse("ReadAccess, WriteAccess,ShareAccess").unwrap();
        assert_eq!(r.0, 1 | 2 | 262144);
        assert_eq!(r.names(), "ReadAccess, WriteAccess, ShareAccess");
        assert_eq!(AccessRights::parse(&r.names()).unwrap(), r);
        assert_eq!(AccessRights::NONE.names(), "None");
        assert!(AccessRights::parse("ReadAcces").unwrap_err().contains("ReadAcces"));
        assert!(AccessRights::parse("8").is_err());
        assert!(r.contains(Right::Share) && !r.contains(Right::Delete));
    }
}
