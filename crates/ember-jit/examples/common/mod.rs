//! What the benchmark examples share: cases loaded from state-test style JSON (the
//! evm-benchmarks format), with the contract's storage, and a fresh host per run.

use ember_evm::{parse_hex, Address, Interpreter, Message, Revision, B256, U256};
use ember_testkit::RecordingHost;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// One benchmark case: a contract frame with its calldata.
pub struct Case {
    pub name: String,
    pub code: Vec<u8>,
    pub storage: Vec<(B256, B256)>,
    pub input: Vec<u8>,
    pub gas: i64,
    pub sender: Address,
    pub address: Address,
    pub rev: Revision,
}

fn hex(v: &Value) -> Result<Vec<u8>, String> {
    let s = v.as_str().ok_or("expected a hex string")?;
    parse_hex(s).map_err(|e| format!("{s}: {e}"))
}

fn address(v: &Value) -> Result<Address, String> {
    let b = hex(v)?;
    Ok(Address(b.as_slice().try_into().map_err(|_| "bad address")?))
}

/// A 32-byte word from a hex quantity of any length.
fn word(v: &str) -> Result<B256, String> {
    let digits = v.trim_start_matches("0x");
    let n = U256::from_str_radix(if digits.is_empty() { "0" } else { digits }, 16)
        .map_err(|e| format!("{v}: {e}"))?;
    Ok(B256(n.to_be_bytes::<32>()))
}

fn quantity(v: &Value) -> Option<i64> {
    i64::from_str_radix(v.as_str()?.trim_start_matches("0x"), 16).ok()
}

fn load_file(f: &Path) -> Result<Vec<Case>, String> {
    let text = std::fs::read_to_string(f).map_err(|e| format!("{}: {e}", f.display()))?;
    let json: Value = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", f.display()))?;
    let tests = json.as_object().ok_or("expected an object of tests")?;
    let mut cases = Vec::new();
    for (test, t) in tests {
        let tx = &t["transaction"];
        let to = address(&tx["to"])?;
        let sender = match tx.get("sender") {
            Some(s) => address(s)?,
            None => Address([0xa9; 20]),
        };
        let account = t["pre"]
            .as_object()
            .and_then(|pre| {
                pre.iter()
                    .find(|(k, _)| address(&Value::String((*k).clone())).ok() == Some(to))
            })
            .map(|(_, acc)| acc)
            .ok_or("no account for the recipient")?;
        let code = hex(&account["code"])?;
        let mut storage = Vec::new();
        if let Some(slots) = account["storage"].as_object() {
            for (k, v) in slots {
                storage.push((word(k)?, word(v.as_str().ok_or("bad storage value")?)?));
            }
        }
        let gas = quantity(&tx["gasLimit"][0]).ok_or("bad gasLimit")?;
        let rev = t["post"]
            .as_object()
            .and_then(|p| p.keys().find_map(|k| Revision::from_name(k)))
            .ok_or("no known fork in post")?;
        let data = tx["data"].as_array().ok_or("no data")?;
        for (i, d) in data.iter().enumerate() {
            let label = t["_info"]["labels"][i.to_string()]
                .as_str()
                .map_or_else(|| i.to_string(), str::to_owned);
            let name = if data.len() > 1 {
                format!("{test}/{label}")
            } else {
                test.clone()
            };
            cases.push(Case {
                name,
                code: code.clone(),
                storage: storage.clone(),
                input: hex(d)?,
                gas,
                sender,
                address: to,
                rev,
            });
        }
    }
    Ok(cases)
}

/// The cases of a state-test style JSON file, or of every such file in a directory.
pub fn load(path: &Path) -> Result<Vec<Case>, String> {
    if !path.is_dir() {
        return load_file(path);
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(|e| format!("{}: {e}", path.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    let mut cases = Vec::new();
    for f in files {
        cases.extend(load_file(&f)?);
    }
    Ok(cases)
}

impl Case {
    /// The frame's message.
    pub fn message(&self) -> Message<'_> {
        Message::call(self.sender, self.address, &self.input, self.gas)
    }

    /// A fresh world: the contract with its storage.
    pub fn host(&self) -> RecordingHost<'static> {
        let mut host = RecordingHost::new(&Interpreter, self.rev);
        host.set_account(self.address, self.code.clone(), U256::ZERO);
        for &(k, v) in &self.storage {
            host.set_slot(self.address, k, v);
        }
        host
    }
}
