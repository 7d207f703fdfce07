//! The block a transaction runs in, and the EIP-4844 blob fee market.

use ember_evm::{Address, Revision, B256, U256};
use ruint::aliases::U512;

/// Blob gas consumed by one blob (EIP-4844 `GAS_PER_BLOB`).
pub const GAS_PER_BLOB: u64 = 1 << 17;

/// The per-block blob parameters of a revision (EIP-7840).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlobSchedule {
    /// Target blobs per block.
    pub target: u64,
    /// Maximum blobs per block.
    pub max: u64,
    /// `BLOB_BASE_FEE_UPDATE_FRACTION`.
    pub base_fee_update_fraction: u64,
}

impl BlobSchedule {
    /// The default schedule of `rev`: none before Cancun; Cancun 3/6/3338477; Prague and
    /// Osaka 6/9/5007716.
    pub fn for_revision(rev: Revision) -> Option<BlobSchedule> {
        if rev < Revision::Cancun {
            None
        } else if rev == Revision::Cancun {
            Some(BlobSchedule {
                target: 3,
                max: 6,
                base_fee_update_fraction: 3_338_477,
            })
        } else {
            Some(BlobSchedule {
                target: 6,
                max: 9,
                base_fee_update_fraction: 5_007_716,
            })
        }
    }

    /// The most blob gas one block may use.
    pub fn max_blob_gas(&self) -> u64 {
        self.max.saturating_mul(GAS_PER_BLOB)
    }
}

/// The block environment of a transaction.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BlockEnv {
    /// NUMBER.
    pub number: u64,
    /// TIMESTAMP, in seconds.
    pub timestamp: u64,
    /// GASLIMIT: no transaction may ask for more gas.
    pub gas_limit: u64,
    /// COINBASE: receives the priority fees.
    pub coinbase: Address,
    /// EIP-1559 base fee; zero before London.
    pub base_fee: U256,
    /// PREVRANDAO from Paris; before Paris the DIFFICULTY word.
    pub prev_randao: B256,
    /// EIP-4844 excess blob gas, which sets the blob base fee.
    pub excess_blob_gas: u64,
    /// The blob schedule when the fixture overrides the revision's default.
    pub blob_schedule: Option<BlobSchedule>,
    /// CHAINID (1 unless configured otherwise).
    pub chain_id: U256,
}

impl BlockEnv {
    /// The blob schedule in force: the configured one, else the revision's default.
    pub fn blob_schedule(&self, rev: Revision) -> Option<BlobSchedule> {
        if rev < Revision::Cancun {
            return None;
        }
        self.blob_schedule
            .or_else(|| BlobSchedule::for_revision(rev))
    }

    /// The blob base fee (EIP-4844 `get_base_fee_per_blob_gas`); zero before Cancun.
    pub fn blob_base_fee(&self, rev: Revision) -> U256 {
        match self.blob_schedule(rev) {
            None => U256::ZERO,
            Some(s) => fake_exponential(1, self.excess_blob_gas, s.base_fee_update_fraction),
        }
    }

    /// The BLOCKHASH of block `number`: zero outside the 256 blocks before this one, else
    /// the state-test convention keccak256 of the decimal block number (as geth and evmone).
    pub fn block_hash(&self, number: i64) -> B256 {
        let Ok(n) = u64::try_from(number) else {
            return B256::ZERO;
        };
        if n >= self.number || self.number - n > 256 {
            return B256::ZERO;
        }
        ember_evm::keccak256(n.to_string().as_bytes())
    }
}

/// `factor · e^(numerator / denominator)` approximated by its Taylor series in integers, as
/// EIP-4844 defines it. Saturates at `U256::MAX` (no realistic input gets near it). A zero
/// denominator yields zero.
pub fn fake_exponential(factor: u64, numerator: u64, denominator: u64) -> U256 {
    if denominator == 0 {
        return U256::ZERO;
    }
    let num = U512::from(numerator);
    let den = U512::from(denominator);
    let mut output = U512::ZERO;
    let mut accum = U512::from(factor) * den;
    let mut i = U512::from(1u64);
    while !accum.is_zero() {
        output = match output.checked_add(accum) {
            Some(o) => o,
            None => return U256::MAX,
        };
        accum = match accum.checked_mul(num) {
            Some(a) => a / (den * i),
            None => return U256::MAX,
        };
        i += U512::from(1u64);
    }
    let result = output / den;
    U256::checked_from_limbs_slice(&result.as_limbs()[..4])
        .filter(|_| result.as_limbs()[4..].iter().all(|l| *l == 0))
        .unwrap_or(U256::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fake_exponential_matches_eip4844_values() {
        // Values checked against the EIP's Python reference implementation.
        assert_eq!(fake_exponential(1, 0, 3_338_477), U256::from(1));
        assert_eq!(fake_exponential(38493, 0, 1000), U256::from(38493));
        assert_eq!(fake_exponential(0, 1234, 2345), U256::ZERO);
        assert_eq!(fake_exponential(1, 2, 1), U256::from(6)); // approximate 7.389
        assert_eq!(fake_exponential(1, 4, 2), U256::from(6));
        assert_eq!(fake_exponential(1, 3, 1), U256::from(16)); // approximate 20.09
        assert_eq!(fake_exponential(1, 6, 2), U256::from(18));
        assert_eq!(fake_exponential(1, 4, 1), U256::from(49)); // approximate 54.60
        assert_eq!(fake_exponential(1, 8, 2), U256::from(50));
        assert_eq!(fake_exponential(10, 8, 2), U256::from(542)); // approximate 540.598
        assert_eq!(fake_exponential(11, 8, 2), U256::from(596)); // approximate 600.58
        assert_eq!(fake_exponential(1, 5, 1), U256::from(136)); // approximate 148.4
        assert_eq!(fake_exponential(1, 5, 2), U256::from(11)); // approximate 12.18
        assert_eq!(fake_exponential(2, 5, 2), U256::from(23)); // approximate 24.36
        assert_eq!(
            fake_exponential(1, 50000000, 2225652),
            U256::from(5709098764u64)
        );
        assert_eq!(fake_exponential(1, 0, 0), U256::ZERO);
        assert_eq!(fake_exponential(u64::MAX, u64::MAX, 1), U256::MAX);
    }

    #[test]
    fn schedules_by_revision() {
        assert_eq!(BlobSchedule::for_revision(Revision::Shanghai), None);
        assert_eq!(BlobSchedule::for_revision(Revision::Cancun).unwrap().max, 6);
        let p = BlobSchedule::for_revision(Revision::Prague).unwrap();
        assert_eq!(
            (p.target, p.max, p.base_fee_update_fraction),
            (6, 9, 5_007_716)
        );
        assert_eq!(BlobSchedule::for_revision(Revision::Osaka), Some(p));
        assert_eq!(p.max_blob_gas(), 9 * 131072);
        let env = BlockEnv {
            excess_blob_gas: 0,
            ..BlockEnv::default()
        };
        assert_eq!(env.blob_base_fee(Revision::Cancun), U256::from(1));
        assert_eq!(env.blob_base_fee(Revision::London), U256::ZERO);
    }

    #[test]
    fn block_hash_window() {
        let env = BlockEnv {
            number: 300,
            ..BlockEnv::default()
        };
        assert_eq!(env.block_hash(300), B256::ZERO);
        assert_eq!(env.block_hash(43), B256::ZERO);
        assert_eq!(env.block_hash(-1), B256::ZERO);
        assert_eq!(env.block_hash(44), ember_evm::keccak256(b"44"));
        assert_eq!(env.block_hash(299), ember_evm::keccak256(b"299"));
    }
}
