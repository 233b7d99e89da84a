//! Ethereum forks as a runtime value.
//!
//! Forks are ordered: each one keeps every rule of the forks before it unless an EIP changes
//! it, so "is this rule in force" is a comparison. Rules are checked with
//! [`Fork::is_enabled_in`]: `fork.is_enabled_in(Fork::Berlin)` is true from Berlin on.

use core::fmt;
use core::str::FromStr;

/// An Ethereum mainnet fork, from Frontier to Osaka, in activation order.
#[repr(u8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Fork {
    /// Launch rules (July 2015).
    Frontier = 0,
    /// EIP-2, EIP-7, EIP-8.
    Homestead,
    /// EIP-150: gas repricing of IO-heavy operations, the 63/64 call rule.
    TangerineWhistle,
    /// EIP-155, EIP-160, EIP-161 (empty account clearing), EIP-170 (code size limit).
    SpuriousDragon,
    /// REVERT, RETURNDATA*, STATICCALL, precompiles 0x05-0x08, receipts status.
    Byzantium,
    /// Shifts, CREATE2, EXTCODEHASH, EIP-1283 net gas metering.
    Constantinople,
    /// Constantinople without EIP-1283.
    Petersburg,
    /// CHAINID, SELFBALANCE, EIP-2200, EIP-1884, EIP-2028, blake2f.
    Istanbul,
    /// EIP-2929 warm/cold access, EIP-2930 access lists, EIP-2565 modexp pricing.
    Berlin,
    /// EIP-1559 fees, BASEFEE, EIP-3529 refunds, EIP-3541.
    London,
    /// The merge: PREVRANDAO (EIP-4399).
    Paris,
    /// PUSH0, EIP-3860 initcode limits, EIP-3651 warm coinbase, withdrawals.
    Shanghai,
    /// EIP-1153, EIP-4844, EIP-5656, EIP-6780, EIP-7516, EIP-4788.
    Cancun,
    /// EIP-7702, EIP-7623, EIP-2537, EIP-2935, EIP-7691.
    Prague,
    /// EIP-7939 CLZ, EIP-7951 P256VERIFY, EIP-7823/7883 modexp, EIP-7825 gas cap, EIP-7594.
    #[default]
    Osaka,
}

impl Fork {
    /// Every fork, oldest first.
    pub const ALL: [Fork; 15] = [
        Fork::Frontier,
        Fork::Homestead,
        Fork::TangerineWhistle,
        Fork::SpuriousDragon,
        Fork::Byzantium,
        Fork::Constantinople,
        Fork::Petersburg,
        Fork::Istanbul,
        Fork::Berlin,
        Fork::London,
        Fork::Paris,
        Fork::Shanghai,
        Fork::Cancun,
        Fork::Prague,
        Fork::Osaka,
    ];

    /// Whether `self` is `since` or a later fork: the rules introduced in `since` apply.
    #[inline]
    pub const fn is_enabled_in(self, since: Fork) -> bool {
        self as u8 >= since as u8
    }

    /// The fork's name as the Ethereum test fixtures spell it.
    pub const fn name(self) -> &'static str {
        match self {
            Fork::Frontier => "Frontier",
            Fork::Homestead => "Homestead",
            Fork::TangerineWhistle => "EIP150",
            Fork::SpuriousDragon => "EIP158",
            Fork::Byzantium => "Byzantium",
            Fork::Constantinople => "Constantinople",
            Fork::Petersburg => "ConstantinopleFix",
            Fork::Istanbul => "Istanbul",
            Fork::Berlin => "Berlin",
            Fork::London => "London",
            Fork::Paris => "Paris",
            Fork::Shanghai => "Shanghai",
            Fork::Cancun => "Cancun",
            Fork::Prague => "Prague",
            Fork::Osaka => "Osaka",
        }
    }

    /// The fork in force on Ethereum mainnet at a block, given its number and timestamp.
    pub const fn mainnet_at(number: u64, timestamp: u64) -> Fork {
        if timestamp >= 1_764_798_551 {
            Fork::Osaka
        } else if timestamp >= 1_746_612_311 {
            Fork::Prague
        } else if timestamp >= 1_710_338_135 {
            Fork::Cancun
        } else if timestamp >= 1_681_338_455 {
            Fork::Shanghai
        } else if number >= 15_537_394 {
            Fork::Paris
        } else if number >= 12_965_000 {
            Fork::London
        } else if number >= 12_244_000 {
            Fork::Berlin
        } else if number >= 9_069_000 {
            Fork::Istanbul
        } else if number >= 7_280_000 {
            Fork::Petersburg
        } else if number >= 4_370_000 {
            Fork::Byzantium
        } else if number >= 2_675_000 {
            Fork::SpuriousDragon
        } else if number >= 2_463_000 {
            Fork::TangerineWhistle
        } else if number >= 1_150_000 {
            Fork::Homestead
        } else {
            Fork::Frontier
        }
    }
}

impl fmt::Display for Fork {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A fork name that no known fork carries.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown fork name {0:?}")]
pub struct UnknownFork(pub String);

impl FromStr for Fork {
    type Err = UnknownFork;

    /// Accepts the fixture spellings and the common aliases, case-insensitively.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let fork = match s.to_ascii_lowercase().as_str() {
            "frontier" => Fork::Frontier,
            "homestead" => Fork::Homestead,
            "eip150" | "tangerinewhistle" | "tangerine" => Fork::TangerineWhistle,
            "eip158" | "spuriousdragon" | "spurious" => Fork::SpuriousDragon,
            "byzantium" => Fork::Byzantium,
            "constantinople" => Fork::Constantinople,
            "constantinoplefix" | "petersburg" => Fork::Petersburg,
            "istanbul" => Fork::Istanbul,
            "berlin" => Fork::Berlin,
            "london" => Fork::London,
            "paris" | "merge" => Fork::Paris,
            "shanghai" => Fork::Shanghai,
            "cancun" => Fork::Cancun,
            "prague" => Fork::Prague,
            "osaka" => Fork::Osaka,
            _ => return Err(UnknownFork(s.to_string())),
        };
        Ok(fork)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordering_and_names_round_trip() {
        for pair in Fork::ALL.windows(2) {
            assert!(pair[1].is_enabled_in(pair[0]));
            assert!(!pair[0].is_enabled_in(pair[1]));
        }
        for fork in Fork::ALL {
            assert_eq!(fork.name().parse::<Fork>().unwrap(), fork);
        }
        assert!("Atlantis".parse::<Fork>().is_err());
    }

    #[test]
    fn mainnet_schedule() {
        assert_eq!(Fork::mainnet_at(46_147, 0), Fork::Frontier);
        assert_eq!(Fork::mainnet_at(4_370_000, 0), Fork::Byzantium);
        assert_eq!(Fork::mainnet_at(19_934_116, 1_716_000_000), Fork::Cancun);
    }
}
