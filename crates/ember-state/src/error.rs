//! Why a transaction is invalid.

use std::fmt;

/// An invalid transaction: it cannot be included, and the state is left untouched.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TxError {
    /// The transaction type is unknown or not enabled in this revision.
    TypeNotSupported { tx_type: u8 },
    /// A blob transaction without a recipient.
    CreateBlobTx,
    /// A blob transaction without blob hashes.
    EmptyBlobHashes,
    /// More blobs than one transaction may carry (Osaka: 6).
    BlobCountExceeded { count: usize, max: usize },
    /// More blob gas than the block can hold.
    BlobGasLimitExceeded { blob_gas: u64, available: u64 },
    /// `max_fee_per_blob_gas` is below the block's blob base fee.
    InsufficientMaxFeePerBlobGas,
    /// A blob hash whose version byte is not 0x01.
    InvalidBlobHashVersion { index: usize },
    /// A set-code transaction without a recipient.
    CreateSetCodeTx,
    /// A set-code transaction with an empty authorization list.
    EmptyAuthorizationList,
    /// `max_priority_fee_per_gas` exceeds `max_fee_per_gas`.
    PriorityGreaterThanMaxFee,
    /// The gas limit exceeds the per-transaction cap (EIP-7825, Osaka: 2^24).
    GasLimitExceedsMaximum { gas_limit: u64, max: u64 },
    /// The gas limit exceeds what is left in the block.
    GasAllowanceExceeded { gas_limit: u64, available: u64 },
    /// The fee cap is below the block's base fee.
    InsufficientMaxFeePerGas,
    /// The sender has code that is not an EIP-7702 delegation (EIP-3607).
    SenderNotEoa,
    /// The sender's nonce is 2^64 − 1 (EIP-2681).
    NonceIsMax,
    /// The transaction's nonce is above the sender's.
    NonceTooHigh { expected: u64, got: u64 },
    /// The transaction's nonce is below the sender's.
    NonceTooLow { expected: u64, got: u64 },
    /// Create init code longer than 49152 bytes (EIP-3860).
    InitcodeSizeExceeded { size: usize, max: usize },
    /// The sender cannot pay `gas_limit · max_fee + value (+ blob fees)`.
    InsufficientFunds,
    /// The gas limit does not cover the intrinsic gas.
    IntrinsicGasTooLow { gas_limit: u64, intrinsic: u64 },
    /// The gas limit does not cover the EIP-7623 calldata floor.
    IntrinsicGasBelowFloor { gas_limit: u64, floor: u64 },
}

impl TxError {
    /// The exception names fixtures use for this error: execution-spec-tests'
    /// `TransactionException` members and ethereum/tests' older `TR_*` names.
    fn names(&self) -> &'static [&'static str] {
        use TxError::*;
        match self {
            TypeNotSupported { .. } => &[
                "TYPE_NOT_SUPPORTED",
                "TYPE_1_TX_PRE_FORK",
                "TYPE_2_TX_PRE_FORK",
                "TYPE_3_TX_PRE_FORK",
                "TYPE_4_TX_PRE_FORK",
                "TR_TypeNotSupported",
            ],
            CreateBlobTx => &["TYPE_3_TX_CONTRACT_CREATION", "TR_BLOBCREATE"],
            EmptyBlobHashes => &["TYPE_3_TX_ZERO_BLOBS", "TR_EMPTYBLOB"],
            BlobCountExceeded { .. } => &[
                "TYPE_3_TX_BLOB_COUNT_EXCEEDED",
                "TYPE_3_TX_MAX_BLOB_GAS_ALLOWANCE_EXCEEDED",
                "TR_BLOBLIST_OVERSIZE",
            ],
            BlobGasLimitExceeded { .. } => &[
                "TYPE_3_TX_MAX_BLOB_GAS_ALLOWANCE_EXCEEDED",
                "TYPE_3_TX_BLOB_COUNT_EXCEEDED",
                "TR_BLOBLIST_OVERSIZE",
            ],
            InsufficientMaxFeePerBlobGas => &["INSUFFICIENT_MAX_FEE_PER_BLOB_GAS"],
            InvalidBlobHashVersion { .. } => &[
                "TYPE_3_TX_INVALID_BLOB_VERSIONED_HASH",
                "TR_BLOBVERSION_INVALID",
            ],
            CreateSetCodeTx => &["TYPE_4_TX_CONTRACT_CREATION"],
            EmptyAuthorizationList => &["TYPE_4_EMPTY_AUTHORIZATION_LIST"],
            PriorityGreaterThanMaxFee => {
                &["PRIORITY_GREATER_THAN_MAX_FEE_PER_GAS", "TR_TipGtFeeCap"]
            }
            GasLimitExceedsMaximum { .. } => &["GAS_LIMIT_EXCEEDS_MAXIMUM"],
            GasAllowanceExceeded { .. } => &["GAS_ALLOWANCE_EXCEEDED", "TR_GasLimitReached"],
            InsufficientMaxFeePerGas => {
                &["INSUFFICIENT_MAX_FEE_PER_GAS", "TR_FeeCapLessThanBlocks"]
            }
            SenderNotEoa => &["SENDER_NOT_EOA", "SenderNotEOA"],
            NonceIsMax => &["NONCE_IS_MAX", "TR_NonceHasMaxValue"],
            NonceTooHigh { .. } => &["NONCE_MISMATCH_TOO_HIGH", "NONCE_MISMATCH"],
            NonceTooLow { .. } => &["NONCE_MISMATCH_TOO_LOW", "NONCE_MISMATCH"],
            InitcodeSizeExceeded { .. } => &["INITCODE_SIZE_EXCEEDED", "TR_InitCodeLimitExceeded"],
            InsufficientFunds => &[
                "INSUFFICIENT_ACCOUNT_FUNDS",
                "GASLIMIT_PRICE_PRODUCT_OVERFLOW",
                "TR_NoFunds",
                "TR_NoFundsOrGas",
                "TR_NoFundsX",
            ],
            IntrinsicGasTooLow { .. } => &["INTRINSIC_GAS_TOO_LOW", "TR_IntrinsicGas"],
            IntrinsicGasBelowFloor { .. } => &[
                "INTRINSIC_GAS_BELOW_FLOOR_GAS_COST",
                "INTRINSIC_GAS_TOO_LOW",
                "TR_IntrinsicGas",
            ],
        }
    }

    /// Whether this error is one of the alternatives in a fixture's `expectException`
    /// (`|`-separated, each optionally prefixed by `TransactionException.`).
    pub fn matches_expected(&self, expect_exception: &str) -> bool {
        let names = self.names();
        expect_exception.split('|').map(str::trim).any(|alt| {
            let alt = alt.strip_prefix("TransactionException.").unwrap_or(alt);
            names.contains(&alt)
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
mod tests {
    use super::*;

    #[test]
    fn matches_any_listed_alternative() {
        let e = TxError::IntrinsicGasTooLow {
            gas_limit: 1,
            intrinsic: 21000,
        };
        assert!(e.matches_expected("TransactionException.INTRINSIC_GAS_TOO_LOW"));
        assert!(e.matches_expected(
            "TransactionException.INSUFFICIENT_ACCOUNT_FUNDS|TransactionException.INTRINSIC_GAS_TOO_LOW"
        ));
        assert!(e.matches_expected("TR_IntrinsicGas"));
        assert!(!e.matches_expected("TransactionException.INSUFFICIENT_ACCOUNT_FUNDS"));
        assert!(!e.matches_expected(""));
        assert!(TxError::InsufficientFunds.matches_expected(
            "TransactionException.INSUFFICIENT_ACCOUNT_FUNDS|TransactionException.GASLIMIT_PRICE_PRODUCT_OVERFLOW"
        ));
        assert!(TxError::SenderNotEoa.matches_expected("SenderNotEOA"));
        assert!(TxError::TypeNotSupported { tx_type: 3 }.matches_expected(
            "TransactionException.TYPE_3_TX_PRE_FORK|TransactionException.TYPE_3_TX_ZERO_BLOBS"
        ));
    }

    #[test]
    fn display_gives_the_reason() {
        let e = TxError::NonceTooLow {
            expected: 5,
            got: 3,
        };
        assert_eq!(e.to_string(), "nonce 3 is too low, sender nonce is 5");
    }
}
