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

/// One error of every kind.
fn every_kind() -> Vec<TxError> {
    use TxError::*;
    vec![
        TypeNotSupported { tx_type: 3 },
        CreateBlobTx,
        EmptyBlobHashes,
        BlobCountExceeded { count: 7, max: 6 },
        BlobGasLimitExceeded {
            blob_gas: 1,
            available: 0,
        },
        InsufficientMaxFeePerBlobGas,
        InvalidBlobHashVersion { index: 0 },
        CreateSetCodeTx,
        EmptyAuthorizationList,
        PriorityGreaterThanMaxFee,
        GasLimitExceedsMaximum {
            gas_limit: 1,
            max: 0,
        },
        GasAllowanceExceeded {
            gas_limit: 1,
            available: 0,
        },
        InsufficientMaxFeePerGas,
        SenderNotEoa,
        NonceIsMax,
        NonceTooHigh {
            expected: 0,
            got: 1,
        },
        NonceTooLow {
            expected: 1,
            got: 0,
        },
        InitcodeSizeExceeded { size: 1, max: 0 },
        InsufficientFunds,
        IntrinsicGasTooLow {
            gas_limit: 1,
            intrinsic: 2,
        },
        IntrinsicGasBelowFloor {
            gas_limit: 1,
            floor: 2,
        },
    ]
}

#[test]
fn the_name_table_covers_every_kind_once_per_name() {
    let errors = every_kind();
    let mut seen = std::collections::HashSet::new();
    for (name, kind) in EXCEPTION_NAMES {
        assert!(seen.insert(*name), "{name} is listed twice");
        assert!(
            !name.contains('|') && !name.starts_with(EEST_PREFIX),
            "{name}"
        );
        assert!(errors.iter().any(kind), "{name} names no error");
    }
    // Every error has an execution-spec-tests name (upper case, with or without the
    // prefix), and matching is by kind: no name matches every error.
    for e in &errors {
        let eest = EXCEPTION_NAMES
            .iter()
            .find(|(n, k)| {
                n.bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
                    && k(e)
            })
            .unwrap_or_else(|| panic!("{e:?} has no execution-spec-tests name"));
        assert!(e.matches_expected(eest.0));
        assert!(e.matches_expected(&format!("{EEST_PREFIX}{}", eest.0)));
    }
    for (name, kind) in EXCEPTION_NAMES {
        assert!(!errors.iter().all(kind), "{name} matches every error");
    }
}

#[test]
fn every_generation_spells_intrinsic_gas_its_way() {
    let e = TxError::IntrinsicGasTooLow {
        gas_limit: 1,
        intrinsic: 21000,
    };
    for spelling in [
        "TR_IntrinsicGas",
        "IntrinsicGas",
        "TransactionException.INTRINSIC_GAS_TOO_LOW",
        "INTRINSIC_GAS_TOO_LOW",
        "TR_NoFundsOrGas",
        " TransactionException.NONCE_MISMATCH_TOO_LOW | IntrinsicGas ",
    ] {
        assert!(e.matches_expected(spelling), "{spelling}");
    }
    for spelling in [
        "TR_NoFunds",
        "intrinsic gas too low",
        "TR_IntrinsicGasX",
        "TransactionException.",
    ] {
        assert!(!e.matches_expected(spelling), "{spelling}");
    }
    // Older names for other kinds.
    assert!(TxError::NonceIsMax.matches_expected("NonceMax"));
    assert!(TxError::InsufficientFunds.matches_expected("SenderNotEOAorNoCASH"));
    assert!(TxError::InsufficientFunds.matches_expected("TR_FeeCapLessThanBlocksORNoFunds"));
    assert!(!TxError::InsufficientFunds.matches_expected("TR_FeeCapLessThanBlocks"));
    let high = TxError::NonceTooHigh {
        expected: 0,
        got: 1,
    };
    assert!(high.matches_expected("TR_NonceTooHigh"));
    assert!(!high.matches_expected("TR_NonceTooLow"));
}

#[test]
fn display_gives_the_reason() {
    let e = TxError::NonceTooLow {
        expected: 5,
        got: 3,
    };
    assert_eq!(e.to_string(), "nonce 3 is too low, sender nonce is 5");
}
