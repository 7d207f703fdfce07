//! EVM revisions (forks), numbered as EVMC numbers them.

use std::fmt;

/// An EVM revision. The discriminants are EVMC's `evmc_revision` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u8)]
pub enum Revision {
    /// Frontier (the launch, 2015).
    Frontier = 0,
    /// Homestead (EIP-2, EIP-7).
    Homestead = 1,
    /// TangerineWhistle (EIP-150: gas repricing).
    TangerineWhistle = 2,
    /// SpuriousDragon (EIP-155, EIP-161, EIP-170).
    SpuriousDragon = 3,
    /// Byzantium (REVERT, RETURNDATA, STATICCALL).
    Byzantium = 4,
    /// Constantinople (shifts, CREATE2, EXTCODEHASH).
    Constantinople = 5,
    /// Petersburg (Constantinople without EIP-1283).
    Petersburg = 6,
    /// Istanbul (EIP-1884, EIP-2200, CHAINID, SELFBALANCE).
    Istanbul = 7,
    /// Berlin (EIP-2929 access lists).
    Berlin = 8,
    /// London (EIP-1559, BASEFEE, EIP-3529, EIP-3541).
    London = 9,
    /// Paris (the merge: PREVRANDAO).
    Paris = 10,
    /// Shanghai (PUSH0, EIP-3860).
    Shanghai = 11,
    /// Cancun (transient storage, MCOPY, blobs, EIP-6780).
    Cancun = 12,
    /// Prague (EIP-7702, EIP-7623).
    Prague = 13,
    /// Osaka (CLZ, EIP-7825).
    Osaka = 14,
}

/// Every revision in order.
pub const ALL_REVISIONS: [Revision; 15] = [
    Revision::Frontier,
    Revision::Homestead,
    Revision::TangerineWhistle,
    Revision::SpuriousDragon,
    Revision::Byzantium,
    Revision::Constantinople,
    Revision::Petersburg,
    Revision::Istanbul,
    Revision::Berlin,
    Revision::London,
    Revision::Paris,
    Revision::Shanghai,
    Revision::Cancun,
    Revision::Prague,
    Revision::Osaka,
];

impl Revision {
    /// The newest revision ember implements.
    pub const LATEST: Revision = Revision::Osaka;

    /// The revision with this EVMC number, if ember implements it.
    pub fn from_evmc(n: i32) -> Option<Revision> {
        usize::try_from(n)
            .ok()
            .and_then(|i| ALL_REVISIONS.get(i).copied())
    }

    /// The lowercase name used on ember's command lines (`frontier` … `osaka`).
    pub fn name(self) -> &'static str {
        match self {
            Revision::Frontier => "frontier",
            Revision::Homestead => "homestead",
            Revision::TangerineWhistle => "tangerinewhistle",
            Revision::SpuriousDragon => "spuriousdragon",
            Revision::Byzantium => "byzantium",
            Revision::Constantinople => "constantinople",
            Revision::Petersburg => "petersburg",
            Revision::Istanbul => "istanbul",
            Revision::Berlin => "berlin",
            Revision::London => "london",
            Revision::Paris => "paris",
            Revision::Shanghai => "shanghai",
            Revision::Cancun => "cancun",
            Revision::Prague => "prague",
            Revision::Osaka => "osaka",
        }
    }

    /// The fork name state-test fixtures use (`EIP150`, `ConstantinopleFix`, …).
    pub fn fixture_name(self) -> &'static str {
        match self {
            Revision::Frontier => "Frontier",
            Revision::Homestead => "Homestead",
            Revision::TangerineWhistle => "EIP150",
            Revision::SpuriousDragon => "EIP158",
            Revision::Byzantium => "Byzantium",
            Revision::Constantinople => "Constantinople",
            Revision::Petersburg => "ConstantinopleFix",
            Revision::Istanbul => "Istanbul",
            Revision::Berlin => "Berlin",
            Revision::London => "London",
            Revision::Paris => "Paris",
            Revision::Shanghai => "Shanghai",
            Revision::Cancun => "Cancun",
            Revision::Prague => "Prague",
            Revision::Osaka => "Osaka",
        }
    }

    /// Parses a revision name, case-insensitively, ignoring `-`, `_` and spaces. Accepts
    /// ember's names, the fixture names (`EIP150`, `EIP158`, `ConstantinopleFix`, `Merge`) and
    /// the EVMC number.
    pub fn from_name(name: &str) -> Option<Revision> {
        let key: String = name
            .chars()
            .filter(|c| !matches!(c, '-' | '_' | ' '))
            .flat_map(char::to_lowercase)
            .collect();
        if let Ok(n) = key.parse::<i32>() {
            return Revision::from_evmc(n);
        }
        let r = match key.as_str() {
            "tangerine" | "eip150" => Revision::TangerineWhistle,
            "spurious" | "eip158" | "eip161" => Revision::SpuriousDragon,
            "constantinoplefix" | "petersburg" => Revision::Petersburg,
            "merge" | "paris" => Revision::Paris,
            other => return ALL_REVISIONS.iter().copied().find(|r| r.name() == other),
        };
        Some(r)
    }
}

impl fmt::Display for Revision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbering_matches_evmc() {
        assert_eq!(Revision::Frontier as u8, 0);
        assert_eq!(Revision::Paris as u8, 10);
        assert_eq!(Revision::Cancun as u8, 12);
        assert_eq!(Revision::Osaka as u8, 14);
        for (i, r) in ALL_REVISIONS.iter().enumerate() {
            assert_eq!(*r as usize, i);
            assert_eq!(Revision::from_evmc(i as i32), Some(*r));
        }
        assert_eq!(Revision::from_evmc(15), None);
        assert_eq!(Revision::from_evmc(-1), None);
    }

    #[test]
    fn names_parse_back() {
        for r in ALL_REVISIONS {
            assert_eq!(Revision::from_name(r.name()), Some(r));
            assert_eq!(Revision::from_name(r.fixture_name()), Some(r));
        }
        assert_eq!(Revision::from_name("Merge"), Some(Revision::Paris));
        assert_eq!(
            Revision::from_name("tangerine-whistle"),
            Some(Revision::TangerineWhistle)
        );
        assert_eq!(Revision::from_name("12"), Some(Revision::Cancun));
        assert_eq!(Revision::from_name("amsterdam"), None);
    }
}
