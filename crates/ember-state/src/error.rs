//! Why a transaction is invalid.

use std::fmt;

/// An invalid transaction: it cannot be included, and the state is left untouched.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TxError {
    /// The transaction type is unknown or not enabled in this revision.
    TypeNotSupported {
        /// The transaction's type byte.
        tx_type: u8,
    },
    /// A blob transaction without a recipient.
    CreateBlobTx,
    /// A blob transaction without blob hashes.
    EmptyBlobHashes,
    /// More blobs than one transaction may carry (Osaka: 6).
    BlobCountExceeded {
        /// Blobs in the transaction.
        count: usize,
        /// The most allowed.
        max: usize,
    },
    /// More blob gas than the block can hold.
    BlobGasLimitExceeded {
        /// The transaction's blob gas.
        blob_gas: u64,
        /// Blob gas left in the block.
        available: u64,
    },
    /// `max_fee_per_blob_gas` is below the block's blob base fee.
    InsufficientMaxFeePerBlobGas,
    /// A blob hash whose version byte is not 0x01.
    InvalidBlobHashVersion {
        /// Which blob hash.
        index: usize,
    },
    /// A set-code transaction without a recipient.
    CreateSetCodeTx,
    /// A set-code transaction with an empty authorization list.
    EmptyAuthorizationList,
    /// `max_priority_fee_per_gas` exceeds `max_fee_per_gas`.
    PriorityGreaterThanMaxFee,
    /// The gas limit exceeds the per-transaction cap (EIP-7825, Osaka: 2^24).
    GasLimitExceedsMaximum {
        /// The transaction's gas limit.
        gas_limit: u64,
        /// The cap.
        max: u64,
    },
    /// The gas limit exceeds what is left in the block.
    GasAllowanceExceeded {
        /// The transaction's gas limit.
        gas_limit: u64,
        /// Gas left in the block.
        available: u64,
    },
    /// The fee cap is below the block's base fee.
    InsufficientMaxFeePerGas,
    /// The sender has code that is not an EIP-7702 delegation (EIP-3607).
    SenderNotEoa,
    /// The sender's nonce is 2^64 − 1 (EIP-2681).
    NonceIsMax,
    /// The transaction's nonce is above the sender's.
    NonceTooHigh {
        /// The sender's nonce.
        expected: u64,
        /// The transaction's nonce.
        got: u64,
    },
    /// The transaction's nonce is below the sender's.
    NonceTooLow {
        /// The sender's nonce.
        expected: u64,
        /// The transaction's nonce.
        got: u64,
    },
    /// Create init code longer than [`ember_evm::MAX_INITCODE_SIZE`] bytes (EIP-3860).
    InitcodeSizeExceeded {
        /// The init code's size.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// The sender cannot pay `gas_limit · max_fee + value (+ blob fees)`.
    InsufficientFunds,
    /// The gas limit does not cover the intrinsic gas.
    IntrinsicGasTooLow {
        /// The transaction's gas limit.
        gas_limit: u64,
        /// The intrinsic gas.
        intrinsic: u64,
    },
    /// The gas limit does not cover the EIP-7623 calldata floor.
    IntrinsicGasBelowFloor {
        /// The transaction's gas limit.
        gas_limit: u64,
        /// The floor.
        floor: u64,
    },
}

/// The namespace execution-spec-tests writes before its exception names
/// (`TransactionException.INTRINSIC_GAS_TOO_LOW`); ethereum/tests and legacytests write none.
const EEST_PREFIX: &str = "TransactionException.";

/// Which errors an expected-exception name stands for.
type Kind = fn(&TxError) -> bool;

/// Every spelling of an expected transaction exception that state tests use, with the errors
/// it names: execution-spec-tests' `TransactionException` members (listed without their
/// prefix), ethereum/tests' and legacytests' `TR_*` names, and the older names retesteth's
/// client configurations map (`IntrinsicGas`, `SenderNotEOA`, ...). A name covering two kinds
/// (`TR_NoFundsOrGas`, `TR_FeeCapLessThanBlocksORNoFunds`) accepts either. Matching is by
/// kind, so a fixture expecting "intrinsic gas too low" fails a transaction rejected for its
/// nonce. Names of RLP and field-width errors are absent: such a transaction cannot be built
/// and matches any expected exception.
pub const EXCEPTION_NAMES: &[(&str, Kind)] = {
    use TxError::*;
    &[
        // Transaction types.
        ("TYPE_NOT_SUPPORTED", |e| {
            matches!(e, TypeNotSupported { .. })
        }),
        ("TYPE_1_TX_PRE_FORK", |e| {
            matches!(e, TypeNotSupported { .. })
        }),
        ("TYPE_2_TX_PRE_FORK", |e| {
            matches!(e, TypeNotSupported { .. })
        }),
        ("TYPE_3_TX_PRE_FORK", |e| {
            matches!(e, TypeNotSupported { .. })
        }),
        ("TYPE_4_TX_PRE_FORK", |e| {
            matches!(e, TypeNotSupported { .. })
        }),
        ("TR_TypeNotSupported", |e| {
            matches!(e, TypeNotSupported { .. })
        }),
        // Blob transactions (EIP-4844, EIP-7594).
        ("TYPE_3_TX_CONTRACT_CREATION", |e| matches!(e, CreateBlobTx)),
        ("TR_BLOBCREATE", |e| matches!(e, CreateBlobTx)),
        ("TYPE_3_TX_ZERO_BLOBS", |e| matches!(e, EmptyBlobHashes)),
        ("TR_EMPTYBLOB", |e| matches!(e, EmptyBlobHashes)),
        ("TYPE_3_TX_BLOB_COUNT_EXCEEDED", |e| {
            matches!(e, BlobCountExceeded { .. } | BlobGasLimitExceeded { .. })
        }),
        ("TYPE_3_TX_MAX_BLOB_GAS_ALLOWANCE_EXCEEDED", |e| {
            matches!(e, BlobCountExceeded { .. } | BlobGasLimitExceeded { .. })
        }),
        ("TR_BLOBLIST_OVERSIZE", |e| {
            matches!(e, BlobCountExceeded { .. } | BlobGasLimitExceeded { .. })
        }),
        ("INSUFFICIENT_MAX_FEE_PER_BLOB_GAS", |e| {
            matches!(e, InsufficientMaxFeePerBlobGas)
        }),
        ("TYPE_3_TX_INVALID_BLOB_VERSIONED_HASH", |e| {
            matches!(e, InvalidBlobHashVersion { .. })
        }),
        ("TR_BLOBVERSION_INVALID", |e| {
            matches!(e, InvalidBlobHashVersion { .. })
        }),
        // Set-code transactions (EIP-7702).
        ("TYPE_4_TX_CONTRACT_CREATION", |e| {
            matches!(e, CreateSetCodeTx)
        }),
        ("TYPE_4_EMPTY_AUTHORIZATION_LIST", |e| {
            matches!(e, EmptyAuthorizationList)
        }),
        // Fees and gas.
        ("PRIORITY_GREATER_THAN_MAX_FEE_PER_GAS", |e| {
            matches!(e, PriorityGreaterThanMaxFee)
        }),
        ("TR_TipGtFeeCap", |e| matches!(e, PriorityGreaterThanMaxFee)),
        ("1559PriorityFeeGreaterThanBaseFee", |e| {
            matches!(e, PriorityGreaterThanMaxFee)
        }),
        ("GAS_LIMIT_EXCEEDS_MAXIMUM", |e| {
            matches!(e, GasLimitExceedsMaximum { .. })
        }),
        ("GAS_ALLOWANCE_EXCEEDED", |e| {
            matches!(e, GasAllowanceExceeded { .. })
        }),
        ("TR_GasLimitReached", |e| {
            matches!(e, GasAllowanceExceeded { .. })
        }),
        ("INSUFFICIENT_MAX_FEE_PER_GAS", |e| {
            matches!(e, InsufficientMaxFeePerGas)
        }),
        ("TR_FeeCapLessThanBlocks", |e| {
            matches!(e, InsufficientMaxFeePerGas)
        }),
        ("TR_FeeCapLessThanBlocksORGasLimitReached", |e| {
            matches!(e, InsufficientMaxFeePerGas | GasAllowanceExceeded { .. })
        }),
        ("TR_FeeCapLessThanBlocksORNoFunds", |e| {
            matches!(e, InsufficientMaxFeePerGas | InsufficientFunds)
        }),
        // The sender and its nonce.
        ("SENDER_NOT_EOA", |e| matches!(e, SenderNotEoa)),
        ("SenderNotEOA", |e| matches!(e, SenderNotEoa)),
        ("SenderNotEOAorNoCASH", |e| {
            matches!(e, SenderNotEoa | InsufficientFunds)
        }),
        ("NONCE_IS_MAX", |e| matches!(e, NonceIsMax)),
        ("TR_NonceHasMaxValue", |e| matches!(e, NonceIsMax)),
        ("NonceMax", |e| matches!(e, NonceIsMax)),
        ("NONCE_MISMATCH_TOO_HIGH", |e| {
            matches!(e, NonceTooHigh { .. })
        }),
        ("TR_NonceTooHigh", |e| matches!(e, NonceTooHigh { .. })),
        ("NONCE_MISMATCH_TOO_LOW", |e| {
            matches!(e, NonceTooLow { .. })
        }),
        ("TR_NonceTooLow", |e| matches!(e, NonceTooLow { .. })),
        ("NONCE_MISMATCH", |e| {
            matches!(e, NonceTooHigh { .. } | NonceTooLow { .. })
        }),
        // Init code (EIP-3860).
        ("INITCODE_SIZE_EXCEEDED", |e| {
            matches!(e, InitcodeSizeExceeded { .. })
        }),
        ("TR_InitCodeLimitExceeded", |e| {
            matches!(e, InitcodeSizeExceeded { .. })
        }),
        // The sender's balance (an overflowing gas · price exceeds every balance).
        ("INSUFFICIENT_ACCOUNT_FUNDS", |e| {
            matches!(e, InsufficientFunds)
        }),
        ("GASLIMIT_PRICE_PRODUCT_OVERFLOW", |e| {
            matches!(e, InsufficientFunds)
        }),
        ("GasLimitPriceProductOverflow", |e| {
            matches!(e, InsufficientFunds)
        }),
        ("TR_NoFunds", |e| matches!(e, InsufficientFunds)),
        ("TR_NoFundsX", |e| matches!(e, InsufficientFunds)),
        ("TR_NoFundsValue", |e| matches!(e, InsufficientFunds)),
        ("Transaction without funds", |e| {
            matches!(e, InsufficientFunds)
        }),
        ("TR_NoFundsOrGas", |e| {
            matches!(e, InsufficientFunds | IntrinsicGasTooLow { .. })
        }),
        // Intrinsic gas and the EIP-7623 floor.
        ("INTRINSIC_GAS_TOO_LOW", |e| {
            matches!(e, IntrinsicGasTooLow { .. } | IntrinsicGasBelowFloor { .. })
        }),
        ("TR_IntrinsicGas", |e| {
            matches!(e, IntrinsicGasTooLow { .. } | IntrinsicGasBelowFloor { .. })
        }),
        ("IntrinsicGas", |e| {
            matches!(e, IntrinsicGasTooLow { .. } | IntrinsicGasBelowFloor { .. })
        }),
        ("INTRINSIC_GAS_BELOW_FLOOR_GAS_COST", |e| {
            matches!(e, IntrinsicGasBelowFloor { .. })
        }),
    ]
};

impl TxError {
    /// Whether this error is one of the alternatives in a fixture's `expectException`
    /// (`|`-separated names from [`EXCEPTION_NAMES`], with or without the
    /// `TransactionException.` prefix). An unknown name matches nothing.
    pub fn matches_expected(&self, expect_exception: &str) -> bool {
        expect_exception.split('|').map(str::trim).any(|alt| {
            let alt = alt.strip_prefix(EEST_PREFIX).unwrap_or(alt);
            EXCEPTION_NAMES
                .iter()
                .any(|(name, kind)| *name == alt && kind(self))
        })
    }
}

impl fmt::Display for TxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use TxError::*;
        match self {
            TypeNotSupported { tx_type } => {
                write!(
                    f,
                    "transaction type {tx_type} is not supported in this revision"
                )
            }
            CreateBlobTx => write!(f, "blob transaction cannot create a contract"),
            EmptyBlobHashes => write!(f, "blob transaction has no blob hashes"),
            BlobCountExceeded { count, max } => {
                write!(
                    f,
                    "blob transaction has {count} blobs, at most {max} allowed"
                )
            }
            BlobGasLimitExceeded {
                blob_gas,
                available,
            } => {
                write!(f, "blob gas {blob_gas} exceeds the block's {available}")
            }
            InsufficientMaxFeePerBlobGas => {
                write!(f, "max fee per blob gas is below the blob base fee")
            }
            InvalidBlobHashVersion { index } => {
                write!(f, "blob hash {index} does not have version 0x01")
            }
            CreateSetCodeTx => write!(f, "set-code transaction cannot create a contract"),
            EmptyAuthorizationList => write!(f, "set-code transaction has no authorizations"),
            PriorityGreaterThanMaxFee => {
                write!(
                    f,
                    "max priority fee per gas is greater than max fee per gas"
                )
            }
            GasLimitExceedsMaximum { gas_limit, max } => {
                write!(
                    f,
                    "gas limit {gas_limit} exceeds the transaction maximum {max}"
                )
            }
            GasAllowanceExceeded {
                gas_limit,
                available,
            } => {
                write!(
                    f,
                    "gas limit {gas_limit} exceeds the block's available {available}"
                )
            }
            InsufficientMaxFeePerGas => write!(f, "max fee per gas is below the block base fee"),
            SenderNotEoa => write!(f, "sender has code (EIP-3607)"),
            NonceIsMax => write!(f, "sender nonce is 2^64-1 (EIP-2681)"),
            NonceTooHigh { expected, got } => {
                write!(f, "nonce {got} is too high, sender nonce is {expected}")
            }
            NonceTooLow { expected, got } => {
                write!(f, "nonce {got} is too low, sender nonce is {expected}")
            }
            InitcodeSizeExceeded { size, max } => {
                write!(f, "init code of {size} bytes exceeds {max} (EIP-3860)")
            }
            InsufficientFunds => write!(f, "sender cannot pay for gas and value"),
            IntrinsicGasTooLow {
                gas_limit,
                intrinsic,
            } => {
                write!(
                    f,
                    "gas limit {gas_limit} is below the intrinsic gas {intrinsic}"
                )
            }
            IntrinsicGasBelowFloor { gas_limit, floor } => {
                write!(
                    f,
                    "gas limit {gas_limit} is below the calldata floor {floor} (EIP-7623)"
                )
            }
        }
    }
}

impl std::error::Error for TxError {}

#[cfg(test)]
mod tests;
