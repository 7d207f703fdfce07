//! Checks against fixture data that do not go through the state-test module: the state root
//! of pre-states (a rejected transaction leaves the state unchanged, so the fixture's post
//! hash is the pre-state root) and EIP-7702 signer recovery.

mod common;

use common::{json_files, shared_dir};
use ember_evm::{Address, B256, U256};
use ember_state::{Account, Authorization, WorldState};
use serde_json::Value;
use std::sync::Arc;

fn u256(v: &Value) -> U256 {
    let s = v.as_str().expect("hex string");
    U256::from_str_radix(s.trim_start_matches("0x"), 16).expect("hex number")
}

fn word(s: &str) -> B256 {
    B256::from_hex_padded(s).expect("32-byte hex")
}

/// The `pre` object of a fixture as a world state.
fn pre_state(pre: &Value) -> WorldState {
    let mut state = WorldState::new();
    for (addr, acc) in pre.as_object().expect("pre is an object") {
        let storage = acc["storage"]
            .as_object()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (word(k), word(v.as_str().unwrap())))
                    .collect()
            })
            .unwrap_or_default();
        let code = ember_evm::parse_hex(acc["code"].as_str().unwrap_or("0x")).expect("code hex");
        let account = Account {
            nonce: u256(&acc["nonce"]).to::<u64>(),
            balance: u256(&acc["balance"]),
            code: Arc::from(code),
            storage,
        };
        state.insert(Address::from_hex(addr).expect("address"), account);
    }
    state
}

#[test]
fn pre_state_roots_equal_the_hash_of_rejected_cases() {
    let Some(shared) = shared_dir() else { return };
    let mut checked = 0;
    for path in json_files(&shared) {
        let text = std::fs::read_to_string(&path).expect("read fixture");
        if !text.contains("expectException") {
            continue;
        }
        let json: Value = serde_json::from_str(&text).expect("fixture JSON");
        for (name, test) in json.as_object().expect("fixture object") {
            let Some(post) = test.get("post").and_then(Value::as_object) else {
                continue;
            };
            let root = pre_state(&test["pre"]).state_root();
            for cases in post.values() {
                for case in cases.as_array().expect("post cases") {
                    if case.get("expectException").is_none() {
                        continue;
                    }
                    let want = word(case["hash"].as_str().expect("hash"));
                    assert_eq!(root, want, "{} {name}", path.display());
                    checked += 1;
                }
            }
        }
    }
    println!("{checked} rejected cases checked");
    assert!(
        checked > 1000,
        "expected over a thousand rejected cases, found {checked}"
    );
}

#[test]
fn recovered_authorities_match_fixture_signers() {
    let Some(shared) = shared_dir() else { return };
    let (mut matched, mut invalid) = (0, 0);
    for path in json_files(&shared.join("eest-fixtures")) {
        let text = std::fs::read_to_string(&path).expect("read fixture");
        if !text.contains("authorizationList") {
            continue;
        }
        let json: Value = serde_json::from_str(&text).expect("fixture JSON");
        for test in json.as_object().expect("fixture object").values() {
            let Some(list) = test["transaction"]["authorizationList"].as_array() else {
                continue;
            };
            for a in list {
                let auth = Authorization {
                    chain_id: u256(&a["chainId"]),
                    address: Address::from_hex(a["address"].as_str().unwrap()).unwrap(),
                    nonce: u256(&a["nonce"]).to::<u64>(),
                    y_parity: u256(&a["yParity"]),
                    r: u256(&a["r"]),
                    s: u256(&a["s"]),
                    signer: None,
                };
                let signer = Address::from_hex(a["signer"].as_str().unwrap()).unwrap();
                match auth.authority() {
                    Some(got) => {
                        assert_eq!(got, signer, "{}", path.display());
                        matched += 1;
                    }
                    None => invalid += 1,
                }
            }
        }
    }
    println!("{matched} signers recovered, {invalid} invalid signatures");
    assert!(
        matched > 100,
        "expected many authorizations, recovered {matched}"
    );
}
