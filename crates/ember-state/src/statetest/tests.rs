//! Fixture parsing on small inline fixtures written for these tests, in both formats.

use super::*;
use ember_evm::{Address, Revision, B256, U256};
use serde_json::{json, Value};

fn addr(last: u8) -> Address {
    let mut a = [0u8; 20];
    a[19] = last;
    Address(a)
}

fn word(n: u64) -> B256 {
    B256::from_word(U256::from(n))
}

/// A hash-sized hex string whose last byte is `n`.
fn hash_hex(n: u8) -> String {
    format!("0x{}{n:02x}", "00".repeat(31))
}

/// An ethereum/tests-style fixture (one legacy transaction, a Cancun and a Berlin group),
/// written with the number spellings the real files use: leading zeros, `0x` alone,
/// decimal, JSON integers and mixed-case addresses.
fn legacy_fixture() -> Value {
    json!({
        "legacy": {
            "_info": { "comment": "ignored" },
            "env": {
                "currentCoinbase": "0x2ADC25665018AA1FE0E6BC666DAC8FC2697FF9BA",
                "currentDifficulty": "0x020000",
                "currentGasLimit": "0x05f5e100",
                "currentNumber": "1",
                "currentTimestamp": 1000,
                "currentBaseFee": "0x0a",
                "currentRandom": "0x0000000000000000000000000000000000000000000000000000000000020000",
                "currentExcessBlobGas": "0x"
            },
            "pre": {
                "0xA94F5374FCE5EDBC8E2A8697C15331677E6EBF0B": {
                    "balance": "0x0de0b6b3a7640000",
                    "code": "0x",
                    "nonce": "0x",
                    "storage": {}
                },
                "0x00000000000000000000000000000000000000cc": {
                    "balance": "100",
                    "code": "0x600160005500",
                    "nonce": "0x01",
                    "storage": { "0x00": "0x01", "0x0001": "0x00", "0x02": "0x0200" }
                },
                "0x00000000000000000000000000000000000000dd": {
                    "balance": "0x00",
                    "code": "",
                    "nonce": "0x00",
                    "storage": {}
                }
            },
            "transaction": {
                "data": ["0x", "0x0102"],
                "gasLimit": ["0x061a80", "21000"],
                "gasPrice": "0x0a",
                "nonce": "0x00",
                "secretKey": "0x45a915e4d060149eb4365960e6a7a45f334393093061116b197e3240065ff2d8",
                "sender": "0xa94f5374fce5edbc8e2a8697c15331677e6ebf0b",
                "to": "0x00000000000000000000000000000000000000Cc",
                "value": ["0x00", "0x0186a0"]
            },
            "post": {
                "Cancun": [
                    {
                        "hash": hash_hex(1),
                        "indexes": { "data": 0, "gas": 0, "value": 0 },
                        "logs": hash_hex(2),
                        "txbytes": "0x00"
                    },
                    {
                        "expectException": "TransactionException.INTRINSIC_GAS_TOO_LOW",
                        "hash": hash_hex(3),
                        "indexes": { "data": 1, "gas": 1, "value": 1 },
                        "logs": hash_hex(4),
                        "txbytes": "0x00"
                    }
                ],
                "Berlin": [
                    {
                        "hash": hash_hex(5),
                        "indexes": { "data": 0, "gas": 1, "value": 0 },
                        "logs": hash_hex(6),
                        "txbytes": "0x00"
                    }
                ]
            }
        }
    })
}

fn parse(v: &Value) -> Result<Vec<StateTest>, FixtureError> {
    parse_fixture(&v.to_string())
}

fn parse_one(v: &Value) -> StateTest {
    let mut tests = parse(v).unwrap_or_else(|e| panic!("fixture should parse: {e}"));
    assert_eq!(tests.len(), 1);
    tests.remove(0)
}

fn fork<'a>(t: &'a StateTest, name: &str) -> &'a ForkPost {
    t.forks
        .iter()
        .find(|f| f.fork == name)
        .unwrap_or_else(|| panic!("no fork {name}"))
}

fn run_target(f: &ForkPost) -> (Revision, &crate::BlockEnv) {
    match &f.target {
        ForkTarget::Run { revision, block } => (*revision, block),
        ForkTarget::Skip(why) => panic!("{} should run, skipped: {why}", f.fork),
    }
}

#[test]
fn data_labels_come_from_info_and_malformed_ones_are_left_out() {
    assert!(parse_one(&legacy_fixture()).data_labels.is_empty());
    let mut v = legacy_fixture();
    v["legacy"]["_info"]["labels"] = json!({ "0": "empty", "1": 7, "x": "not an index" });
    let t = parse_one(&v);
    assert_eq!(t.data_labels.len(), 1);
    assert_eq!(t.data_labels[&0], "empty");
}

#[test]
fn legacy_fixture_env_pre_and_post() {
    let t = parse_one(&legacy_fixture());
    assert_eq!(t.name, "legacy");
    assert_eq!(t.chain_id, U256::from(1));
    let coinbase = Address::from_hex("0x2adc25665018aa1fe0e6bc666dac8fc2697ff9ba").unwrap();
    assert_eq!(t.env.coinbase, coinbase);
    assert_eq!(
        (t.env.number, t.env.timestamp, t.env.gas_limit),
        (1, 1000, 100_000_000)
    );
    assert_eq!(t.env.difficulty, Some(U256::from(0x20000)));
    assert_eq!(t.env.excess_blob_gas, Some(0));

    assert_eq!(t.pre.len(), 3);
    let sender = Address::from_hex("0xa94f5374fce5edbc8e2a8697c15331677e6ebf0b").unwrap();
    let (_, s) = t
        .pre
        .iter()
        .find(|(a, _)| *a == sender)
        .expect("mixed-case key parsed");
    assert_eq!(
        (s.nonce, s.balance),
        (0, U256::from(1_000_000_000_000_000_000u64))
    );
    assert!(s.code.is_empty());
    let (_, c) = t.pre.iter().find(|(a, _)| *a == addr(0xcc)).unwrap();
    assert_eq!((c.nonce, c.balance), (1, U256::from(100)));
    assert_eq!(&c.code[..], &[0x60, 0x01, 0x60, 0x00, 0x55, 0x00]);
    // The zero-valued slot 1 is dropped; keys and values are left-padded words.
    assert_eq!(c.storage.len(), 2);
    assert_eq!(c.storage.get(&word(0)), Some(&word(1)));
    assert_eq!(c.storage.get(&word(2)), Some(&word(0x200)));
    let (_, d) = t.pre.iter().find(|(a, _)| *a == addr(0xdd)).unwrap();
    assert!(d.code.is_empty(), "\"\" is empty code");

    let cancun = fork(&t, "Cancun");
    assert_eq!(cancun.cases.len(), 2);
    let c1 = &cancun.cases[1];
    assert_eq!(
        c1.indexes,
        Indexes {
            data: 1,
            gas: 1,
            value: 1
        }
    );
    assert_eq!(c1.hash, word(3));
    assert_eq!(c1.logs, word(4));
    assert_eq!(
        c1.expect_exception.as_deref(),
        Some("TransactionException.INTRINSIC_GAS_TOO_LOW")
    );
    assert_eq!(cancun.cases[0].expect_exception, None);
    assert!(cancun.cases[0].state.is_none());
}

#[test]
fn block_env_follows_the_revision() {
    let t = parse_one(&legacy_fixture());
    let (rev, block) = run_target(fork(&t, "Cancun"));
    assert_eq!(rev, Revision::Cancun);
    assert_eq!(block.base_fee, U256::from(10));
    assert_eq!(block.prev_randao, word(0x20000));
    assert_eq!(block.chain_id, U256::from(1));
    assert_eq!(
        block.blob_schedule, None,
        "no override: the revision's default applies"
    );
    assert_eq!(
        (block.number, block.timestamp, block.gas_limit),
        (1, 1000, 100_000_000)
    );

    let (rev, block) = run_target(fork(&t, "Berlin"));
    assert_eq!(rev, Revision::Berlin);
    assert_eq!(block.base_fee, U256::ZERO, "no base fee before London");
    assert_eq!(block.prev_randao, word(0x20000), "DIFFICULTY before Paris");

    // Fields a revision does not need may be missing, with evmone's defaults.
    let without = |fields: &[&str]| {
        let mut v = legacy_fixture();
        let env = v["legacy"]["env"].as_object_mut().unwrap();
        for f in fields {
            env.remove(*f);
        }
        parse_one(&v)
    };
    // No currentRandom: Paris on uses currentDifficulty; before Paris it is not needed.
    let t = without(&["currentRandom"]);
    assert_eq!(run_target(fork(&t, "Cancun")).1.prev_randao, word(0x20000));
    // No currentDifficulty: Paris on uses currentRandom; before Paris it is zero.
    let mut v = legacy_fixture();
    v["legacy"]["env"]["currentRandom"] = json!(format!("0x{:064x}", 0x77));
    v["legacy"]["env"]
        .as_object_mut()
        .unwrap()
        .remove("currentDifficulty");
    let t = parse_one(&v);
    assert_eq!(run_target(fork(&t, "Cancun")).1.prev_randao, word(0x77));
    assert_eq!(run_target(fork(&t, "Berlin")).1.prev_randao, B256::ZERO);
    // Neither: zero everywhere.
    let t = without(&["currentRandom", "currentDifficulty"]);
    assert_eq!(run_target(fork(&t, "Cancun")).1.prev_randao, B256::ZERO);
    // No base fee: zero; no excess blob gas: zero.
    let t = without(&["currentBaseFee", "currentExcessBlobGas"]);
    let (_, block) = run_target(fork(&t, "Cancun"));
    assert_eq!((block.base_fee, block.excess_blob_gas), (U256::ZERO, 0));
    // The excess blob gas follows from the parent's when the current one is absent:
    // max(0, parent excess + parent used - target), Cancun's target being 3 blobs.
    let mut v = legacy_fixture();
    let env = v["legacy"]["env"].as_object_mut().unwrap();
    env.remove("currentExcessBlobGas");
    env.insert("parentExcessBlobGas".into(), json!("0x60000"));
    env.insert("parentBlobGasUsed".into(), json!("0x40000"));
    let t = parse_one(&v);
    assert_eq!(
        run_target(fork(&t, "Cancun")).1.excess_blob_gas,
        0x60000 + 0x40000 - 3 * 131_072
    );
    v["legacy"]["env"]["parentExcessBlobGas"] = json!("0x0");
    let t = parse_one(&v);
    assert_eq!(run_target(fork(&t, "Cancun")).1.excess_blob_gas, 0);

    // A field every block needs is still a per-file error naming it.
    for field in [
        "currentCoinbase",
        "currentNumber",
        "currentTimestamp",
        "currentGasLimit",
    ] {
        let mut v = legacy_fixture();
        v["legacy"]["env"].as_object_mut().unwrap().remove(field);
        let err = parse(&v).unwrap_err().to_string();
        assert!(err.contains(field), "{field}: {err}");
    }
}

#[test]
fn legacy_transaction_per_case() {
    let t = parse_one(&legacy_fixture());
    let tx =
        t.tx.transaction(&Indexes {
            data: 1,
            gas: 1,
            value: 1,
        })
        .unwrap();
    assert_eq!(tx.tx_type, 0);
    assert_eq!(
        tx.sender,
        Address::from_hex("0xa94f5374fce5edbc8e2a8697c15331677e6ebf0b").unwrap()
    );
    assert_eq!(tx.to, Some(addr(0xcc)));
    assert_eq!(tx.nonce, 0);
    assert_eq!(tx.gas_limit, 21000);
    assert_eq!(tx.value, U256::from(100_000));
    assert_eq!(tx.data, vec![1, 2]);
    assert_eq!(tx.gas_price, U256::from(10));
    assert_eq!(tx.max_fee_per_gas, U256::from(10));
    assert_eq!(tx.max_priority_fee_per_gas, U256::from(10));
    assert!(tx.access_list.is_empty() && tx.blob_hashes.is_empty());
    assert!(tx.authorization_list.is_empty());

    let tx =
        t.tx.transaction(&Indexes {
            data: 0,
            gas: 0,
            value: 0,
        })
        .unwrap();
    assert_eq!(
        (tx.gas_limit, tx.value, tx.data.len()),
        (400_000, U256::ZERO, 0)
    );
    let err =
        t.tx.transaction(&Indexes {
            data: 0,
            gas: 2,
            value: 0,
        })
        .unwrap_err();
    assert_eq!(err, "gas index 2 is out of range (the transaction has 2)");
}

#[test]
fn create_transaction_has_no_recipient() {
    let mut v = legacy_fixture();
    v["legacy"]["transaction"]["to"] = json!("");
    let t = parse_one(&v);
    assert_eq!(
        t.tx.transaction(&Indexes {
            data: 0,
            gas: 0,
            value: 0
        })
        .unwrap()
        .to,
        None
    );
}

/// An execution-spec-tests-style fixture: config, post state, EIP-1559 fees, access lists
/// with a null entry.
fn eest_fixture() -> Value {
    json!({
        "tests/prague/x.py::test_x[fork_Prague-state_test]": {
            "env": {
                "currentCoinbase": "0x2adc25665018aa1fe0e6bc666dac8fc2697ff9ba",
                "currentGasLimit": "0x055d4a80",
                "currentNumber": "0x01",
                "currentTimestamp": "0x03e8",
                "currentRandom": "0x0000000000000000000000000000000000000000000000000000000000000000",
                "currentDifficulty": "0x00",
                "currentBaseFee": "0x07",
                "currentExcessBlobGas": "0x00"
            },
            "pre": {
                "0x00000000000000000000000000000000000000aa": {
                    "nonce": "0x00", "balance": "0x3635c9adc5dea00000", "code": "0x", "storage": {}
                }
            },
            "transaction": {
                "nonce": "0x00",
                "maxPriorityFeePerGas": "0x02",
                "maxFeePerGas": "0x07",
                "gasLimit": ["0x0f4240"],
                "to": "0x00000000000000000000000000000000000000bb",
                "value": ["0x01"],
                "data": ["0x", "0xff"],
                "accessLists": [
                    null,
                    [{ "address": "0x00000000000000000000000000000000000000bb",
                       "storageKeys": ["0x01", "0x0000000000000000000000000000000000000000000000000000000000000002"] }]
                ],
                "sender": "0x00000000000000000000000000000000000000aa",
                "secretKey": "0x00"
            },
            "post": {
                "Prague": [
                    {
                        "hash": hash_hex(7),
                        "logs": hash_hex(8),
                        "txbytes": "0x02",
                        "indexes": { "data": 0, "gas": 0, "value": 0 },
                        "state": {
                            "0x00000000000000000000000000000000000000aa": {
                                "nonce": "0x01", "balance": "0x03", "code": "0x", "storage": { "0x01": "0x02" }
                            }
                        }
                    },
                    {
                        "hash": hash_hex(9),
                        "logs": hash_hex(8),
                        "txbytes": "0x02",
                        "indexes": { "data": 1, "gas": 0, "value": 0 }
                    }
                ],
                "Osaka": []
            },
            "config": {
                "blobSchedule": {
                    "Cancun": { "target": "0x03", "max": "0x06", "baseFeeUpdateFraction": "0x32f0ed" },
                    "Prague": { "target": "0x01", "max": "0x02", "baseFeeUpdateFraction": "0x10" }
                },
                "chainid": "0x0a"
            },
            "_info": {}
        }
    })
}

#[test]
fn eest_config_post_state_and_dynamic_fees() {
    let t = parse_one(&eest_fixture());
    assert_eq!(t.chain_id, U256::from(10));
    let prague = fork(&t, "Prague");
    let (rev, block) = run_target(prague);
    assert_eq!(rev, Revision::Prague);
    assert_eq!(block.chain_id, U256::from(10));
    let schedule = block
        .blob_schedule
        .expect("config.blobSchedule.Prague overrides");
    assert_eq!(
        (
            schedule.target,
            schedule.max,
            schedule.base_fee_update_fraction
        ),
        (1, 2, 16)
    );
    // Osaka has no entry in config.blobSchedule: the default applies.
    assert_eq!(run_target(fork(&t, "Osaka")).1.blob_schedule, None);
    assert!(fork(&t, "Osaka").cases.is_empty());

    let state = prague.cases[0].state.as_ref().expect("post state parsed");
    assert_eq!(state.len(), 1);
    assert_eq!(state[0].0, addr(0xaa));
    assert_eq!((state[0].1.nonce, state[0].1.balance), (1, U256::from(3)));
    assert_eq!(state[0].1.storage.get(&word(1)), Some(&word(2)));

    // A null access list leaves the EIP-1559 transaction without one.
    let tx =
        t.tx.transaction(&Indexes {
            data: 0,
            gas: 0,
            value: 0,
        })
        .unwrap();
    assert_eq!(tx.tx_type, 2);
    assert_eq!(tx.max_fee_per_gas, U256::from(7));
    assert_eq!(tx.max_priority_fee_per_gas, U256::from(2));
    assert!(tx.access_list.is_empty());
    let tx =
        t.tx.transaction(&Indexes {
            data: 1,
            gas: 0,
            value: 0,
        })
        .unwrap();
    assert_eq!(tx.tx_type, 2);
    assert_eq!(tx.access_list.len(), 1);
    assert_eq!(tx.access_list[0].address, addr(0xbb));
    assert_eq!(tx.access_list[0].storage_keys, vec![word(1), word(2)]);
}

#[test]
fn transaction_types_follow_present_fields() {
    // gasPrice with an access list: type 1 where the list is present, 0 where it is null.
    let mut v = legacy_fixture();
    v["legacy"]["transaction"]["accessLists"] = json!([null, []]);
    let t = parse_one(&v);
    assert_eq!(t.tx.tx_type(0), 0);
    assert_eq!(
        t.tx.tx_type(1),
        1,
        "an empty list still makes an EIP-2930 transaction"
    );

    let mut v = eest_fixture();
    let name = "tests/prague/x.py::test_x[fork_Prague-state_test]";
    v[name]["transaction"]["blobVersionedHashes"] =
        json!(["0x0100000000000000000000000000000000000000000000000000000000000001"]);
    v[name]["transaction"]["maxFeePerBlobGas"] = json!("0x0a");
    let t = parse_one(&v);
    let tx =
        t.tx.transaction(&Indexes {
            data: 1,
            gas: 0,
            value: 0,
        })
        .unwrap();
    assert_eq!(tx.tx_type, 3);
    assert_eq!(tx.max_fee_per_blob_gas, U256::from(10));
    assert_eq!(tx.blob_hashes.len(), 1);
    assert_eq!(tx.blob_hashes[0].0[0], 1);

    v[name]["transaction"]["authorizationList"] = json!([
        {
            "chainId": "0x00",
            "address": "0x00000000000000000000000000000000000000bb",
            "nonce": "0x05",
            "v": "0x01",
            "r": "0x129205a0c17b07d422358c8e49fd30e7ed40c2065c59a10e19770999d0dea7c1",
            "s": "0x1a9f27baadee4473e053aa5f81f3a41c8c1cb5724d833b83f194013d8b37879d",
            "signer": "0x00000000000000000000000000000000000000aa",
            "yParity": "0x00"
        },
        {
            "chainId": "0x01",
            "address": "0x00000000000000000000000000000000000000cc",
            "nonce": "0x00",
            "v": "0x01",
            "r": "0x01",
            "s": "0x02"
        }
    ]);
    let t = parse_one(&v);
    let tx =
        t.tx.transaction(&Indexes {
            data: 0,
            gas: 0,
            value: 0,
        })
        .unwrap();
    assert_eq!(tx.tx_type, 4);
    let a = &tx.authorization_list;
    assert_eq!(a.len(), 2);
    assert_eq!(
        (a[0].chain_id, a[0].nonce, a[0].address),
        (U256::ZERO, 5, addr(0xbb))
    );
    assert_eq!(a[0].y_parity, U256::ZERO, "yParity wins over v");
    assert_eq!(a[0].signer, Some(addr(0xaa)));
    assert_eq!(
        a[0].r,
        U256::from_str_radix(
            "129205a0c17b07d422358c8e49fd30e7ed40c2065c59a10e19770999d0dea7c1",
            16
        )
        .unwrap()
    );
    assert_eq!(a[1].y_parity, U256::from(1), "v when yParity is absent");
    assert_eq!(
        (a[1].r, a[1].s, a[1].signer),
        (U256::from(1), U256::from(2), None)
    );
}

#[test]
fn out_of_range_transaction_fields_fail_per_case() {
    let mut v = legacy_fixture();
    let tx = &mut v["legacy"]["transaction"];
    tx["value"] = json!([
        "0x:bigint 0x10000000000000000000000000000000000000000000000000000000000000001",
        "0xffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
    ]);
    tx["gasLimit"] = json!(["0x010000000000000000", "0xffffffffffffffff"]);
    tx["nonce"] = json!("18446744073709551615");
    let t = parse_one(&v);
    assert!(matches!(t.tx.value[0], TxNumber::TooWide(_)));

    let err =
        t.tx.transaction(&Indexes {
            data: 0,
            gas: 1,
            value: 0,
        })
        .unwrap_err();
    assert!(err.contains("value") && err.contains("256 bits"), "{err}");
    let err =
        t.tx.transaction(&Indexes {
            data: 0,
            gas: 0,
            value: 1,
        })
        .unwrap_err();
    assert!(err.contains("gasLimit") && err.contains("64 bits"), "{err}");

    let tx =
        t.tx.transaction(&Indexes {
            data: 0,
            gas: 1,
            value: 1,
        })
        .unwrap();
    assert_eq!(tx.value, U256::MAX);
    assert_eq!(tx.gas_limit, u64::MAX);
    assert_eq!(tx.nonce, u64::MAX);
}

#[test]
fn number_spellings() {
    let cases: &[(Value, Option<U256>)] = &[
        (json!("0x"), Some(U256::ZERO)),
        (json!("0x0"), Some(U256::ZERO)),
        (json!("0x00000001"), Some(U256::from(1))),
        (json!("0x123"), Some(U256::from(0x123))),
        (json!("0XfF"), Some(U256::from(255))),
        (json!("255"), Some(U256::from(255))),
        (json!(255), Some(U256::from(255))),
        (json!("0"), Some(U256::ZERO)),
        (
            json!(format!("0x{}1", "0".repeat(100))),
            Some(U256::from(1)),
        ),
        (json!(format!("0x1{}", "0".repeat(64))), None),
        (
            json!("115792089237316195423570985008687907853269984665640564039457584007913129639935"),
            Some(U256::MAX),
        ),
        (
            json!("115792089237316195423570985008687907853269984665640564039457584007913129639936"),
            None,
        ),
        (json!("0x:bigint 0x05"), Some(U256::from(5))),
    ];
    for (v, want) in cases {
        let mut f = legacy_fixture();
        f["legacy"]["transaction"]["value"] = json!([v.clone(), "0x00"]);
        let t = parse_one(&f);
        let got = match &t.tx.value[0] {
            TxNumber::Value(n) => Some(*n),
            TxNumber::TooWide(_) => None,
        };
        assert_eq!(&got, want, "{v}");
    }
    for bad in [
        json!("0xzz"),
        json!("12a"),
        json!(""),
        json!("-1"),
        json!(1.5),
        json!(-3),
        json!(null),
        json!("0x 1"),
    ] {
        let mut f = legacy_fixture();
        f["legacy"]["transaction"]["value"] = json!([bad.clone(), "0x00"]);
        let err = parse(&f).unwrap_err().to_string();
        assert!(err.contains("transaction.value[0]"), "{bad}: {err}");
    }
}

/// Applies `edit` to the legacy fixture and returns the parse error.
fn error_after(edit: impl FnOnce(&mut Value)) -> String {
    let mut v = legacy_fixture();
    edit(&mut v["legacy"]);
    match parse(&v) {
        Ok(_) => panic!("the edited fixture should not parse"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn malformed_fixtures_are_clear_errors() {
    let e = parse_fixture("{ not json").unwrap_err().to_string();
    assert!(e.contains("invalid JSON"), "{e}");
    let e = parse_fixture("[1, 2]").unwrap_err().to_string();
    assert!(e.contains("not a JSON object"), "{e}");
    let e = parse_fixture("{}").unwrap_err().to_string();
    assert!(e.contains("no tests"), "{e}");

    type Edit = Box<dyn FnOnce(&mut Value)>;
    let checks: Vec<(Edit, &[&str])> = vec![
        (
            Box::new(|t: &mut Value| {
                drop(t["env"].as_object_mut().unwrap().remove("currentNumber"))
            }),
            &["env", "currentNumber"],
        ),
        (
            Box::new(|t: &mut Value| {
                let acc = &mut t["pre"]["0x00000000000000000000000000000000000000cc"];
                drop(acc.as_object_mut().unwrap().remove("storage"))
            }),
            &[
                "pre.0x00000000000000000000000000000000000000cc",
                "missing \"storage\"",
            ],
        ),
        (
            Box::new(|t: &mut Value| {
                t["pre"]["0x00000000000000000000000000000000000000cc"]["code"] = json!("0x6001z0")
            }),
            &["code", "invalid hex"],
        ),
        (
            Box::new(|t: &mut Value| {
                t["pre"]["0x00000000000000000000000000000000000000cc"]["code"] =
                    json!(":yul { sstore(0, 1) }")
            }),
            &["code", ":yul"],
        ),
        (
            Box::new(|t: &mut Value| {
                t["pre"]["0x00000000000000000000000000000000000000cc"]["nonce"] =
                    json!("0x010000000000000000")
            }),
            &["nonce", "64 bits"],
        ),
        (
            Box::new(|t: &mut Value| {
                t["pre"]["0x00000000000000000000000000000000000000cc"]["balance"] =
                    json!(format!("0x1{}", "0".repeat(64)))
            }),
            &["balance", "256 bits"],
        ),
        (
            Box::new(|t: &mut Value| {
                t["pre"]["0x00cc"] =
                    json!({"balance": "0", "code": "", "nonce": "0", "storage": {}})
            }),
            &["0x00cc", "20 bytes"],
        ),
        (
            Box::new(|t: &mut Value| {
                t["pre"]["0x00000000000000000000000000000000000000CC"] =
                    json!({"balance": "0", "code": "", "nonce": "0", "storage": {}})
            }),
            &["listed twice"],
        ),
        (
            Box::new(|t: &mut Value| t["transaction"]["data"] = json!(["0x", "0x123"])),
            &["transaction.data[1]", "odd"],
        ),
        (
            Box::new(|t: &mut Value| t["transaction"]["maxFeePerGas"] = json!("0x01")),
            &["both gasPrice and maxFeePerGas"],
        ),
        (
            Box::new(|t: &mut Value| {
                drop(t["transaction"].as_object_mut().unwrap().remove("gasPrice"))
            }),
            &["neither gasPrice nor maxFeePerGas"],
        ),
        (
            Box::new(|t: &mut Value| t["transaction"]["accessLists"] = json!([null])),
            &["1 access lists for 2 data entries"],
        ),
        (
            Box::new(|t: &mut Value| t["post"]["Cancun"][0]["indexes"]["gas"] = json!(2)),
            &["post.Cancun[0].indexes", "gas index 2"],
        ),
        (
            Box::new(|t: &mut Value| t["post"]["Cancun"][0]["hash"] = json!("0x1234")),
            &["post.Cancun[0].hash", "32 bytes"],
        ),
        (
            Box::new(|t: &mut Value| t["post"]["Berlin"] = json!({})),
            &["post.Berlin", "array"],
        ),
        (
            Box::new(|t: &mut Value| t["transaction"]["to"] = json!(5)),
            &["transaction.to", "string"],
        ),
    ];
    for (edit, needles) in checks {
        let e = error_after(edit);
        assert!(e.contains("test \"legacy\""), "{e}");
        for n in needles {
            assert!(e.contains(n), "{e:?} should mention {n:?}");
        }
    }
}

#[test]
fn forks_resolve_or_skip_with_a_reason() {
    assert_eq!(resolve_fork("EIP150"), Ok(Revision::TangerineWhistle));
    assert_eq!(resolve_fork("EIP158"), Ok(Revision::SpuriousDragon));
    assert_eq!(resolve_fork("ConstantinopleFix"), Ok(Revision::Petersburg));
    assert_eq!(resolve_fork("Merge"), Ok(Revision::Paris));
    assert_eq!(resolve_fork("Paris"), Ok(Revision::Paris));
    assert_eq!(resolve_fork("Osaka"), Ok(Revision::Osaka));
    assert!(resolve_fork("CancunToPragueAtTime15k")
        .unwrap_err()
        .contains("transition"));
    assert!(resolve_fork("Amsterdam")
        .unwrap_err()
        .contains("unknown fork"));
    assert!(resolve_fork("12").unwrap_err().contains("unknown fork"));

    let mut v = legacy_fixture();
    let cancun = v["legacy"]["post"]["Cancun"].clone();
    v["legacy"]["post"]["ShanghaiToCancunAtTime15k"] = cancun;
    let t = parse_one(&v);
    let f = fork(&t, "ShanghaiToCancunAtTime15k");
    assert!(matches!(&f.target, ForkTarget::Skip(r) if r.contains("transition")));
    assert_eq!(
        f.cases.len(),
        2,
        "skipped groups keep their cases for counting"
    );
}

#[test]
fn alloc_files_use_the_pre_state_spelling() {
    let alloc = json!({
        "0x00000000000000000000000000000000000000Aa": {
            "nonce": "0x02", "balance": "1000", "code": "0x6000", "storage": { "0x01": "0x0a", "0x02": "0x" }
        }
    });
    let accounts = parse_alloc(&alloc.to_string()).unwrap();
    assert_eq!(accounts.len(), 1);
    let (a, acc) = &accounts[0];
    assert_eq!(*a, addr(0xaa));
    assert_eq!(
        (acc.nonce, acc.balance, &acc.code[..]),
        (2, U256::from(1000), &[0x60, 0x00][..])
    );
    assert_eq!(acc.storage.len(), 1);
    assert_eq!(acc.storage.get(&word(1)), Some(&word(10)));

    let e = parse_alloc("[]").unwrap_err().to_string();
    assert!(e.starts_with("alloc:") && e.contains("object"), "{e}");
    // Missing fields default in alloc files (not in fixtures: see the malformed tests).
    let accounts =
        parse_alloc(r#"{"0x00000000000000000000000000000000000000aa": {"nonce": "0x1"}}"#).unwrap();
    let acc = &accounts[0].1;
    assert_eq!((acc.nonce, acc.balance), (1, U256::ZERO));
    assert!(acc.code.is_empty() && acc.storage.is_empty());
    let e = parse_alloc(r#"{"0x00000000000000000000000000000000000000aa": {"code": "0x1"}}"#)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("alloc.0x00000000000000000000000000000000000000aa.code"),
        "{e}"
    );
}

/// keccak256(rlp("")): the root of an empty state.
const EMPTY_ROOT: &str = "0x56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421";
/// keccak256(rlp([])): the logs hash of no logs.
const NO_LOGS: &str = "0x1dcc4de8dec75d7aab85b567b6ccd41ad312451b948a7413f0a142fd40d49347";

/// A test whose transaction comes from an account that does not exist, so it cannot pay
/// and is rejected: the outcome is known without running any EVM code.
fn unfunded(value: &str, expect: Option<&str>) -> StateTest {
    let mut case = json!({
        "hash": EMPTY_ROOT, "logs": NO_LOGS, "indexes": { "data": 0, "gas": 0, "value": 0 }
    });
    if let Some(e) = expect {
        case["expectException"] = json!(e);
    }
    let mut v = legacy_fixture();
    let t = &mut v["legacy"];
    t["pre"] = json!({});
    t["transaction"]["value"] = json!([value, "0x00"]);
    t["post"] = json!({ "Cancun": [case] });
    parse_one(&v)
}

fn run_only_case(t: &StateTest) -> CaseResult {
    let (rev, block) = run_target(&t.forks[0]);
    run_case(
        t,
        rev,
        block,
        &t.forks[0].cases[0],
        &ember_evm::Interpreter,
        None,
    )
}

#[test]
fn runner_checks_the_rejection_and_its_kind() {
    let ok = run_only_case(&unfunded(
        "0x00",
        Some("TransactionException.INSUFFICIENT_ACCOUNT_FUNDS"),
    ));
    assert!(ok.passed(), "{:?}", ok.mismatches);
    assert_eq!(ok.state_root.to_string(), EMPTY_ROOT);
    assert_eq!(ok.logs_hash.to_string(), NO_LOGS);
    assert!(ok.rejection.is_some() && ok.status.is_none() && ok.gas_used == 0);

    let wrong = run_only_case(&unfunded(
        "0x00",
        Some("TransactionException.NONCE_MISMATCH_TOO_LOW"),
    ));
    assert_eq!(wrong.mismatches.len(), 1, "{:?}", wrong.mismatches);
    assert!(wrong.mismatches[0]
        .starts_with("exception: expected TransactionException.NONCE_MISMATCH_TOO_LOW, got"));

    let unexpected = run_only_case(&unfunded("0x00", None));
    assert_eq!(
        unexpected.mismatches.len(),
        1,
        "{:?}",
        unexpected.mismatches
    );
    assert!(unexpected.mismatches[0].starts_with("exception: none expected"));

    // A value wider than 256 bits cannot be encoded: rejected before `transact`, matching
    // whatever exception the fixture names.
    let wide = "0x:bigint 0x10000000000000000000000000000000000000000000000000000000000000001";
    let r = run_only_case(&unfunded(
        wide,
        Some("TransactionException.RLP_INVALID_VALUE"),
    ));
    assert!(r.passed(), "{:?}", r.mismatches);
    assert!(r
        .rejection
        .as_deref()
        .unwrap()
        .starts_with("unencodable transaction: value"));
    let r = run_only_case(&unfunded(wide, None));
    assert!(!r.passed());
}

#[test]
fn runner_reports_root_and_logs_mismatches() {
    let mut t = unfunded(
        "0x00",
        Some("TransactionException.INSUFFICIENT_ACCOUNT_FUNDS"),
    );
    t.forks[0].cases[0].hash = word(1);
    t.forks[0].cases[0].logs = word(2);
    let r = run_only_case(&t);
    assert_eq!(
        r.mismatches,
        vec![
            format!("state root: expected {}, got {EMPTY_ROOT}", word(1)),
            format!("logs hash: expected {}, got {NO_LOGS}", word(2)),
        ]
    );
    // With the expected post-state at hand, the differing accounts are listed.
    let acc = crate::Account {
        nonce: 1,
        ..Default::default()
    };
    t.forks[0].cases[0].state = Some(vec![(addr(0xaa), acc)]);
    let r = run_only_case(&t);
    assert!(
        r.mismatches.contains(&format!(
            "  account {}: missing from the actual state",
            addr(0xaa)
        )),
        "{:?}",
        r.mismatches
    );
}
