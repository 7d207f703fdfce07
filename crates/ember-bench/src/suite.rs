//! Loading the ipsilon/evm-benchmarks state-test files into benchmarks and cases.
//!
//! Each file holds one or more state tests, read with ember-state's fixture model. A test's
//! `transaction.to` account is the contract, each `transaction.data[i]` is one input, named by
//! `_info.labels["i"]`. The benchmark keeps what it needs: the pre-state accounts, the block
//! environment, the sender, the recipient, the gas price, the first gas limit and the first
//! value.

use ember_evm::{Address, B256, U256};
use ember_state::statetest::{parse_fixture, FeeTemplate, StateTest, TxNumber};
use foldhash::HashMap;
use std::fmt;
use std::path::Path;

/// The chain id state tests run with.
const CHAIN_ID: u64 = 1;

/// Why a benchmark file could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SuiteError {
    /// The file (or directory) at fault.
    pub origin: String,
    /// What is wrong with it.
    pub message: String,
}

impl fmt::Display for SuiteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.origin, self.message)
    }
}

impl std::error::Error for SuiteError {}

/// One pre-state account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    /// Balance in wei.
    pub balance: U256,
    /// Nonce.
    pub nonce: u64,
    /// Code.
    pub code: Vec<u8>,
    /// keccak256 of `code`.
    pub code_hash: B256,
    /// Storage slots with a non-zero value.
    pub storage: HashMap<U256, U256>,
}

impl Account {
    /// Whether the account is empty in the EIP-161 sense (no code, zero nonce and balance).
    pub fn is_empty(&self) -> bool {
        self.code.is_empty() && self.nonce == 0 && self.balance.is_zero()
    }
}

/// The block a benchmark runs in.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BlockEnv {
    /// The block's beneficiary.
    pub coinbase: Address,
    /// The block number.
    pub number: u64,
    /// The block's timestamp.
    pub timestamp: u64,
    /// The block's gas limit.
    pub gas_limit: u64,
    /// DIFFICULTY (what opcode 0x44 returns before the Merge).
    pub difficulty: U256,
    /// The block's base fee.
    pub base_fee: U256,
    /// The chain id.
    pub chain_id: U256,
}

/// Everything outside the contract call itself: accounts, block, transaction sender and price.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct World {
    /// The accounts.
    pub accounts: HashMap<Address, Account>,
    /// The block.
    pub block: BlockEnv,
    /// The transaction sender (ORIGIN and the caller of the contract).
    pub sender: Address,
    /// The contract being called.
    pub to: Address,
    /// The effective gas price (GASPRICE).
    pub gas_price: U256,
}

impl World {
    /// The code of the called contract (empty if the account does not exist).
    pub fn contract_code(&self) -> &[u8] {
        self.accounts.get(&self.to).map_or(&[], |a| &a.code)
    }

    /// The code hash EXTCODEHASH reports: zero for an empty or absent account.
    pub fn code_hash(&self, addr: &Address) -> B256 {
        match self.accounts.get(addr) {
            Some(a) if !a.is_empty() => a.code_hash,
            _ => B256::ZERO,
        }
    }
}

/// One named input of a benchmark.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Input {
    /// The input's name.
    pub label: String,
    /// The call data.
    pub data: Vec<u8>,
}

/// One state test: a contract, its world and its inputs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Benchmark {
    /// The test's name (the JSON key, e.g. `snailtracer`).
    pub name: String,
    /// The state and block the benchmark runs in.
    pub world: World,
    /// Gas given to the call (`transaction.gasLimit[0]`).
    pub gas: i64,
    /// Value of the call (`transaction.value[0]`).
    pub value: U256,
    /// The inputs it is called with.
    pub inputs: Vec<Input>,
}

/// One input of one benchmark, the unit that is run and timed.
#[derive(Clone, Copy, Debug)]
pub struct Case<'a> {
    /// The benchmark.
    pub bench: &'a Benchmark,
    /// One of its inputs.
    pub input: &'a Input,
}

impl Case<'_> {
    /// `benchmark/label`, e.g. `weierstrudel/15`.
    pub fn name(&self) -> String {
        format!("{}/{}", self.bench.name, self.input.label)
    }
}

/// Every case of `benches` whose name contains `filter` (all when `filter` is `None`).
pub fn cases<'a>(benches: &'a [Benchmark], filter: Option<&str>) -> Vec<Case<'a>> {
    benches
        .iter()
        .flat_map(|bench| bench.inputs.iter().map(move |input| Case { bench, input }))
        .filter(|c| filter.is_none_or(|f| c.name().contains(f)))
        .collect()
}

/// Loads every `*.json` file of `dir`, in file-name order.
pub fn load_dir(dir: &Path) -> Result<Vec<Benchmark>, SuiteError> {
    let origin = dir.display().to_string();
    let entries = std::fs::read_dir(dir).map_err(|e| SuiteError {
        origin: origin.clone(),
        message: format!("cannot read directory: {e}"),
    })?;
    let mut files = Vec::new();
    for entry in entries {
        let path = entry
            .map_err(|e| SuiteError {
                origin: origin.clone(),
                message: format!("cannot list directory: {e}"),
            })?
            .path();
        if path.extension().is_some_and(|e| e == "json") {
            files.push(path);
        }
    }
    files.sort();
    if files.is_empty() {
        return Err(SuiteError {
            origin,
            message: "no .json benchmark files".into(),
        });
    }
    let mut benches = Vec::new();
    for file in files {
        benches.extend(load_file(&file)?);
    }
    Ok(benches)
}

/// Loads the state tests of one file.
pub fn load_file(path: &Path) -> Result<Vec<Benchmark>, SuiteError> {
    let origin = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| SuiteError {
        origin: origin.clone(),
        message: format!("cannot read: {e}"),
    })?;
    parse(&text).map_err(|message| SuiteError { origin, message })
}

/// Parses the text of a state-test file with ember-state's fixture model.
pub fn parse(text: &str) -> Result<Vec<Benchmark>, String> {
    let tests = parse_fixture(text).map_err(|e| e.to_string())?;
    tests
        .iter()
        .map(|t| benchmark(t).map_err(|e| format!("test {:?}: {e}", t.name)))
        .collect()
}

/// The benchmark of one state test: its first gas limit and value, every data entry as an
/// input.
fn benchmark(test: &StateTest) -> Result<Benchmark, String> {
    let tx = &test.tx;
    let to = tx
        .to
        .ok_or("contract-creation transactions are not supported")?;
    let accounts: HashMap<Address, Account> = test
        .pre
        .iter()
        .map(|(addr, acc)| (*addr, account(acc)))
        .collect();
    if accounts.get(&to).is_none_or(|a| a.code.is_empty()) {
        return Err(format!("the called account {to} has no code in pre"));
    }
    let env = &test.env;
    let block = BlockEnv {
        coinbase: env.coinbase,
        number: env.number,
        timestamp: env.timestamp,
        gas_limit: env.gas_limit,
        difficulty: env.difficulty.unwrap_or(U256::ZERO),
        base_fee: env.base_fee.unwrap_or(U256::ZERO),
        chain_id: U256::from(CHAIN_ID),
    };
    let gas_price = match &tx.fee {
        FeeTemplate::Legacy { gas_price } => number(gas_price, "transaction.gasPrice")?,
        FeeTemplate::Dynamic {
            max_fee_per_gas,
            max_priority_fee_per_gas,
        } => {
            let max_fee = number(max_fee_per_gas, "transaction.maxFeePerGas")?;
            let tip = number(max_priority_fee_per_gas, "transaction.maxPriorityFeePerGas")?;
            max_fee.min(block.base_fee.saturating_add(tip))
        }
    };
    let gas = number(first(&tx.gas_limit, "gasLimit")?, "transaction.gasLimit[0]")?;
    let gas = i64::try_from(gas).map_err(|_| "transaction.gasLimit[0] does not fit in i64")?;
    let value = number(first(&tx.value, "value")?, "transaction.value[0]")?;
    if tx.data.is_empty() {
        return Err("transaction.data is empty".into());
    }
    let inputs = tx
        .data
        .iter()
        .enumerate()
        .map(|(i, data)| Input {
            label: test
                .data_labels
                .get(&i)
                .cloned()
                .unwrap_or_else(|| i.to_string()),
            data: data.clone(),
        })
        .collect();
    Ok(Benchmark {
        name: test.name.clone(),
        world: World {
            accounts,
            block,
            sender: tx.sender,
            to,
            gas_price,
        },
        gas,
        value,
        inputs,
    })
}

/// A fixture account with its code hash computed once and its zero slots left out.
fn account(acc: &ember_state::Account) -> Account {
    Account {
        balance: acc.balance,
        nonce: acc.nonce,
        code: acc.code.to_vec(),
        code_hash: acc.code_hash(),
        storage: acc
            .storage
            .iter()
            .filter(|(_, v)| !v.is_zero())
            .map(|(k, v)| (k.to_word(), v.to_word()))
            .collect(),
    }
}

fn first<'a>(values: &'a [TxNumber], key: &str) -> Result<&'a TxNumber, String> {
    values
        .first()
        .ok_or_else(|| format!("transaction.{key} is empty"))
}

fn number(n: &TxNumber, what: &str) -> Result<U256, String> {
    match n {
        TxNumber::Value(v) => Ok(*v),
        TxNumber::TooWide(text) => Err(format!("{what}: {text} does not fit in 256 bits")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ember_evm::{keccak256, EMPTY_CODE_HASH};

    const SENDER: &str = "0xa94f5374fce5edbc8e2a8697c15331677e6ebf0b";
    const TO: &str = "0xbe7c43a580000000000000000000000000000001";

    fn minimal(tx_extra: &str) -> String {
        format!(
            r#"{{"t": {{
                "_info": {{"labels": {{"0": "first", "1": "second"}}}},
                "env": {{"currentCoinbase": "{SENDER}", "currentNumber": "0x01",
                        "currentTimestamp": "0x10", "currentGasLimit": "0x3b9aca00",
                        "currentDifficulty": "0x020000", "currentBaseFee": "0x0a"}},
                "pre": {{
                    "{SENDER}": {{"balance": "0x3b9aca00", "code": "0x", "nonce": "0x00", "storage": {{}}}},
                    "{TO}": {{"balance": "0x00", "code": "0x6001", "nonce": "0x01",
                             "storage": {{"0x01": "0x02", "0x03": "0x00"}}}}
                }},
                "transaction": {{"data": ["0x", "0xabcd", "0x01"], "gasLimit": ["0x0f4240"],
                                 "nonce": "0x00", "sender": "{SENDER}", "to": "{TO}",
                                 "value": ["0x00"] {tx_extra}}},
                "post": {{"London": []}}
            }}}}"#
        )
    }

    #[test]
    fn parses_accounts_env_inputs_and_labels() {
        let benches = parse(&minimal(r#", "gasPrice": "0x07""#)).unwrap();
        assert_eq!(benches.len(), 1);
        let b = &benches[0];
        assert_eq!(b.name, "t");
        assert_eq!(b.gas, 1_000_000);
        assert_eq!(b.world.gas_price, U256::from(7));
        assert_eq!(b.world.block.difficulty, U256::from(0x020000));
        assert_eq!(b.world.block.gas_limit, 1_000_000_000);
        assert_eq!(b.world.contract_code(), &[0x60, 0x01]);
        let to = Address::from_hex(TO).unwrap();
        let contract = &b.world.accounts[&to];
        // Zero-valued slots are dropped; the other is kept.
        assert_eq!(contract.storage.len(), 1);
        assert_eq!(contract.storage[&U256::from(1)], U256::from(2));
        assert_eq!(contract.code_hash, keccak256(&[0x60, 0x01]));
        // The third input has no label and is named by its index.
        let labels: Vec<_> = b.inputs.iter().map(|i| i.label.as_str()).collect();
        assert_eq!(labels, ["first", "second", "2"]);
        assert_eq!(b.inputs[1].data, [0xab, 0xcd]);
        let names: Vec<_> = cases(&benches, Some("sec"))
            .iter()
            .map(Case::name)
            .collect();
        assert_eq!(names, ["t/second"]);
        assert_eq!(cases(&benches, None).len(), 3);
    }

    #[test]
    fn eip1559_price_is_capped_by_max_fee() {
        // baseFee 10 + tip 5 = 15 < maxFee 20.
        let b = parse(&minimal(
            r#", "maxFeePerGas": "0x14", "maxPriorityFeePerGas": "0x05""#,
        ))
        .unwrap();
        assert_eq!(b[0].world.gas_price, U256::from(15));
        // baseFee 10 + tip 5 = 15 > maxFee 12.
        let b = parse(&minimal(
            r#", "maxFeePerGas": "0x0c", "maxPriorityFeePerGas": "0x05""#,
        ))
        .unwrap();
        assert_eq!(b[0].world.gas_price, U256::from(12));
    }

    #[test]
    fn code_hash_of_empty_or_absent_account_is_zero() {
        let b = &parse(&minimal(r#", "gasPrice": "0x07""#)).unwrap()[0];
        let sender = Address::from_hex(SENDER).unwrap();
        assert_eq!(b.world.code_hash(&sender), EMPTY_CODE_HASH);
        assert_eq!(b.world.code_hash(&Address([7; 20])), B256::ZERO);
    }

    #[test]
    fn malformed_input_gives_errors_not_panics() {
        let good = minimal(r#", "gasPrice": "0x07""#);
        let cases = [
            ("not json", "invalid JSON"),
            ("[]", "top level is not a JSON object"),
            ("{}", "no tests"),
            (r#"{"t": 5}"#, "expected a JSON object"),
            (&good.replace(r#""0x6001""#, r#""0x600""#), "odd number"),
            (&good.replace("0x0f4240", "0xffffffffffffffff"), "i64"),
            (&good.replace("0x0f4240", "0xzz"), "gasLimit"),
            (
                &good.replace(
                    r#""value": ["0x00"]"#,
                    &format!(r#""value": ["0x1{}"]"#, "0".repeat(64)),
                ),
                "does not fit in 256 bits",
            ),
            (
                &good.replace(r#""data": ["0x", "0xabcd", "0x01"]"#, r#""data": []"#),
                "empty",
            ),
            (
                &good.replace(r#""code": "0x6001""#, r#""code": "0x""#),
                "has no code",
            ),
            (
                &good.replace(&format!(r#""to": "{TO}""#), r#""to": """#),
                "creation",
            ),
            (
                &good.replace(r#""sender""#, r#""from""#),
                "missing \"sender\"",
            ),
            (&good.replace(r#", "gasPrice": "0x07""#, ""), "maxFeePerGas"),
        ];
        for (text, want) in cases {
            let err = parse(text).unwrap_err();
            assert!(err.contains(want), "{err:?} should mention {want:?}");
        }
    }
}
