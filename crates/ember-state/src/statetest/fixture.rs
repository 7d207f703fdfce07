//! The fixture model: ethereum/tests `GeneralStateTests` and execution-spec-tests
//! `state_tests` JSON, parsed into typed tests.
//!
//! Everything that is malformed (bad JSON, bad hex, a missing field, an index past the end
//! of a list, a pre-state number too wide for its field) makes the whole file fail with a
//! [`FixtureError`] naming the test and the JSON path. Transaction fields are the exception:
//! fixtures deliberately write transactions that cannot exist (a value wider than 256
//! bits, a gas limit past 2^64), so those fields keep their out-of-range values as
//! [`TxNumber::TooWide`] and [`TxTemplate::transaction`] reports them per case.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::sync::Arc;

use ember_evm::{parse_hex, Address, Revision, B256, U256};
use ruint::{BaseConvertError, ParseError};
use serde_json::{Map, Value};

use crate::{
    AccessListItem, Account, Authorization, BlobSchedule, BlockEnv, Transaction, GAS_PER_BLOB,
};

/// Why a fixture file could not be parsed: the test, the JSON path and what was wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FixtureError(String);

impl FixtureError {
    fn at(path: &str, what: impl fmt::Display) -> Self {
        FixtureError(format!("{path}: {what}"))
    }
}

impl fmt::Display for FixtureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for FixtureError {}

/// One state test: a pre-state, a block environment, a transaction template and the
/// expected results for each fork.
#[derive(Clone, Debug)]
pub struct StateTest {
    /// The test's key in the file.
    pub name: String,
    /// The block environment (`env`).
    pub env: Env,
    /// The accounts before the transaction.
    pub pre: Vec<(Address, Account)>,
    /// The transaction with its variants (`transaction`).
    pub tx: TxTemplate,
    /// `config.chainid` (execution-spec-tests), else 1.
    pub chain_id: U256,
    /// The expected results, one group per fork named in `post`.
    pub forks: Vec<ForkPost>,
    /// `_info.labels`: names of `transaction.data` entries by index, as ethereum/tests and
    /// evm-benchmarks write them. Informational, so entries that are not an index and a
    /// string are left out.
    pub data_labels: BTreeMap<usize, String>,
}

/// The `env` object.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Env {
    /// `currentCoinbase`.
    pub coinbase: Address,
    /// `currentNumber`.
    pub number: u64,
    /// `currentTimestamp`.
    pub timestamp: u64,
    /// `currentGasLimit`.
    pub gas_limit: u64,
    /// `currentDifficulty`, the DIFFICULTY word before Paris.
    pub difficulty: Option<U256>,
    /// `currentRandom`, PREVRANDAO from Paris on.
    pub random: Option<B256>,
    /// `currentBaseFee`, the EIP-1559 base fee from London on.
    pub base_fee: Option<U256>,
    /// `currentExcessBlobGas`, EIP-4844's excess blob gas from Cancun on.
    pub excess_blob_gas: Option<u64>,
    /// `parentExcessBlobGas` and `parentBlobGasUsed`, from which the excess blob gas follows
    /// when `currentExcessBlobGas` is absent.
    pub parent_blob_gas: Option<(u64, u64)>,
}

impl Env {
    /// The block a transaction of revision `rev` runs in. Fields a revision does not need
    /// may be absent, with the defaults evmone's state-test loader uses: no base fee before
    /// London, and 0 when `currentBaseFee` is absent; PREVRANDAO is `currentRandom`, else
    /// `currentDifficulty`, else zero from Paris, and `currentDifficulty` (else zero) before;
    /// the excess blob gas is `currentExcessBlobGas`, else computed from the parent's
    /// (`max(0, parentExcessBlobGas + parentBlobGasUsed - target)`), else 0.
    /// `blob_schedule` overrides the revision's default blob schedule.
    pub fn block_env(
        &self,
        rev: Revision,
        chain_id: U256,
        blob_schedule: Option<BlobSchedule>,
    ) -> BlockEnv {
        let base_fee = if rev >= Revision::London {
            self.base_fee.unwrap_or(U256::ZERO)
        } else {
            U256::ZERO
        };
        let difficulty = self.difficulty.map(B256::from_word);
        let prev_randao = if rev >= Revision::Paris {
            self.random.or(difficulty)
        } else {
            difficulty
        }
        .unwrap_or(B256::ZERO);
        let mut block = BlockEnv {
            number: self.number,
            timestamp: self.timestamp,
            gas_limit: self.gas_limit,
            coinbase: self.coinbase,
            base_fee,
            prev_randao,
            excess_blob_gas: 0,
            blob_schedule,
            chain_id,
        };
        block.excess_blob_gas = match (self.excess_blob_gas, self.parent_blob_gas) {
            (Some(v), _) => v,
            (None, Some((excess, used))) => block.blob_schedule(rev).map_or(0, |s| {
                (excess.saturating_add(used)).saturating_sub(s.target * GAS_PER_BLOB)
            }),
            (None, None) => 0,
        };
        block
    }
}

/// The expected results for one fork of a test.
#[derive(Clone, Debug)]
pub struct ForkPost {
    /// The fork's name as the fixture writes it.
    pub fork: String,
    /// Whether ember can run the fork, and the block to run it in.
    pub target: ForkTarget,
    /// The expectations, in the file's order.
    pub cases: Vec<PostCase>,
}

/// Whether a fork of a fixture can be run.
#[derive(Clone, Debug)]
pub enum ForkTarget {
    /// A single revision and the block environment for it.
    Run {
        /// The revision.
        revision: Revision,
        /// The block.
        block: BlockEnv,
    },
    /// Not runnable (a transition fork or an unknown name); the reason.
    Skip(String),
}

/// Maps a fixture's fork name to a revision, or says why it cannot be run.
pub fn resolve_fork(name: &str) -> Result<Revision, String> {
    // Names such as "CancunToPragueAtTime15k" switch rules in the middle of a chain; a
    // state test's single block cannot express that.
    if let Some((from, rest)) = name.split_once("To") {
        if Revision::from_name(from).is_some() && rest.contains("At") {
            return Err(format!("transition fork {name} is not supported"));
        }
    }
    // `from_name` also accepts EVMC numbers, which are not fork names.
    if name.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("unknown fork name {name:?}"));
    }
    Revision::from_name(name).ok_or_else(|| format!("unknown fork name {name:?}"))
}

/// Which entries of `data`, `gasLimit` and `value` a case uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Indexes {
    /// Index into the transaction's `data`.
    pub data: usize,
    /// Index into the transaction's `gasLimit`.
    pub gas: usize,
    /// Index into the transaction's `value`.
    pub value: usize,
}

/// One expected result: a `post[fork][i]` entry.
#[derive(Clone, Debug)]
pub struct PostCase {
    /// Which variant of the transaction.
    pub indexes: Indexes,
    /// The state root after the transaction.
    pub hash: B256,
    /// keccak256 of the RLP list of logs.
    pub logs: B256,
    /// Set when the transaction must be rejected (`TransactionException.…`, `|`-separated
    /// alternatives).
    pub expect_exception: Option<String>,
    /// The full post-state (execution-spec-tests only); used to explain root mismatches.
    pub state: Option<Vec<(Address, Account)>>,
}

/// A transaction number as written: its value, or the text of a number wider than 256
/// bits (ethereum/tests write those as `0x:bigint 0x…` to describe invalid transactions).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TxNumber {
    /// A number that fits 256 bits.
    Value(U256),
    /// A number wider than 256 bits, as written (the case expects an exception).
    TooWide(String),
}

impl TxNumber {
    fn word(&self, field: &str) -> Result<U256, String> {
        match self {
            TxNumber::Value(v) => Ok(*v),
            TxNumber::TooWide(text) => Err(format!("{field} {text} does not fit in 256 bits")),
        }
    }

    fn u64(&self, field: &str) -> Result<u64, String> {
        let v = self.word(field)?;
        u64::try_from(v).map_err(|_| format!("{field} {v:#x} does not fit in 64 bits"))
    }
}

/// How the transaction pays for gas.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FeeTemplate {
    /// `gasPrice` (legacy and EIP-2930 transactions).
    Legacy {
        /// `gasPrice`.
        gas_price: TxNumber,
    },
    /// `maxFeePerGas` and `maxPriorityFeePerGas` (EIP-1559 and later types).
    Dynamic {
        /// `maxFeePerGas`.
        max_fee_per_gas: TxNumber,
        /// `maxPriorityFeePerGas`.
        max_priority_fee_per_gas: TxNumber,
    },
}

/// One `authorizationList` entry (EIP-7702).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthorizationTemplate {
    /// `chainId`.
    pub chain_id: TxNumber,
    /// The delegate.
    pub address: Address,
    /// The authority's nonce.
    pub nonce: TxNumber,
    /// `yParity`, or `v` when `yParity` is absent.
    pub y_parity: TxNumber,
    /// The signature's `r`.
    pub r: TxNumber,
    /// The signature's `s`.
    pub s: TxNumber,
    /// The recovered signer as the fixture states it (no signature recovery is done).
    pub signer: Option<Address>,
}

/// The `transaction` object: a template from which each case picks one `data`, one
/// `gasLimit` and one `value`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TxTemplate {
    /// The sender, from the secret key.
    pub sender: Address,
    /// `None` for a contract creation (`"to": ""`).
    pub to: Option<Address>,
    /// The sender's nonce.
    pub nonce: TxNumber,
    /// The fee fields.
    pub fee: FeeTemplate,
    /// The call data variants.
    pub data: Vec<Vec<u8>>,
    /// The gas limit variants.
    pub gas_limit: Vec<TxNumber>,
    /// The value variants.
    pub value: Vec<TxNumber>,
    /// One access list per `data` entry; `None` entries mean "no access list".
    pub access_lists: Option<Vec<Option<Vec<AccessListItem>>>>,
    /// `blobVersionedHashes` (a blob transaction).
    pub blob_versioned_hashes: Option<Vec<B256>>,
    /// `maxFeePerBlobGas`.
    pub max_fee_per_blob_gas: Option<TxNumber>,
    /// `authorizationList` (a set-code transaction).
    pub authorization_list: Option<Vec<AuthorizationTemplate>>,
}

impl TxTemplate {
    /// The transaction type the fixture's fields describe: an authorization list makes a
    /// set-code transaction (4), blob hashes a blob transaction (3), `maxFeePerGas` an
    /// EIP-1559 transaction (2), an access list for this `data` entry an EIP-2930
    /// transaction (1), anything else a legacy one (0).
    pub fn tx_type(&self, data_index: usize) -> u8 {
        if self.authorization_list.is_some() {
            4
        } else if self.blob_versioned_hashes.is_some() {
            3
        } else if matches!(self.fee, FeeTemplate::Dynamic { .. }) {
            2
        } else if self.access_list(data_index).is_some() {
            1
        } else {
            0
        }
    }

    fn access_list(&self, data_index: usize) -> Option<&Vec<AccessListItem>> {
        self.access_lists.as_ref()?.get(data_index)?.as_ref()
    }

    /// Checks that `ix` picks existing `data`, `gasLimit` and `value` entries.
    pub fn check_indexes(&self, ix: &Indexes) -> Result<(), String> {
        for (what, i, len) in [
            ("data", ix.data, self.data.len()),
            ("gas", ix.gas, self.gas_limit.len()),
            ("value", ix.value, self.value.len()),
        ] {
            if i >= len {
                return Err(format!(
                    "{what} index {i} is out of range (the transaction has {len})"
                ));
            }
        }
        Ok(())
    }

    /// The transaction of one case. An `Err` means the fixture describes a transaction
    /// that cannot be encoded (a field wider than its type allows), so it is invalid; or
    /// that an index is out of range, which parsing rules out for every `post` case.
    pub fn transaction(&self, ix: &Indexes) -> Result<Transaction, String> {
        self.check_indexes(ix)?;
        let (gas_price, max_fee_per_gas, max_priority_fee_per_gas) = match &self.fee {
            FeeTemplate::Legacy { gas_price } => {
                let p = gas_price.word("gasPrice")?;
                (p, p, p)
            }
            // `gas_price` is only read for types 0 and 1.
            FeeTemplate::Dynamic {
                max_fee_per_gas,
                max_priority_fee_per_gas,
            } => (
                U256::ZERO,
                max_fee_per_gas.word("maxFeePerGas")?,
                max_priority_fee_per_gas.word("maxPriorityFeePerGas")?,
            ),
        };
        let authorization_list = match &self.authorization_list {
            None => Vec::new(),
            Some(list) => list
                .iter()
                .map(|a| {
                    Ok(Authorization {
                        chain_id: a.chain_id.word("authorization chainId")?,
                        address: a.address,
                        nonce: a.nonce.u64("authorization nonce")?,
                        y_parity: a.y_parity.word("authorization yParity")?,
                        r: a.r.word("authorization r")?,
                        s: a.s.word("authorization s")?,
                        signer: a.signer,
                    })
                })
                .collect::<Result<_, String>>()?,
        };
        Ok(Transaction {
            tx_type: self.tx_type(ix.data),
            sender: self.sender,
            to: self.to,
            nonce: self.nonce.u64("nonce")?,
            gas_limit: self.gas_limit[ix.gas].u64("gasLimit")?,
            gas_price,
            max_fee_per_gas,
            max_priority_fee_per_gas,
            value: self.value[ix.value].word("value")?,
            data: self.data[ix.data].clone(),
            access_list: self.access_list(ix.data).cloned().unwrap_or_default(),
            blob_hashes: self.blob_versioned_hashes.clone().unwrap_or_default(),
            max_fee_per_blob_gas: match &self.max_fee_per_blob_gas {
                Some(n) => n.word("maxFeePerBlobGas")?,
                None => U256::ZERO,
            },
            authorization_list,
        })
    }
}

/// Parses a whole fixture file: a JSON object of tests keyed by name.
pub fn parse_fixture(json: &str) -> Result<Vec<StateTest>, FixtureError> {
    let root: Value =
        serde_json::from_str(json).map_err(|e| FixtureError(format!("invalid JSON: {e}")))?;
    let tests = root
        .as_object()
        .ok_or_else(|| FixtureError("the top level is not a JSON object of tests".into()))?;
    if tests.is_empty() {
        return Err(FixtureError("the file contains no tests".into()));
    }
    tests.iter().map(|(name, v)| parse_test(name, v)).collect()
}

/// Parses an alloc file: a JSON object of accounts keyed by address, spelled as a
/// fixture's `pre` (`nonce`, `balance`, `code`, `storage`), where missing fields mean
/// zero or empty.
pub fn parse_alloc(json: &str) -> Result<Vec<(Address, Account)>, FixtureError> {
    let root: Value =
        serde_json::from_str(json).map_err(|e| FixtureError(format!("invalid JSON: {e}")))?;
    parse_accounts(&Obj::new(&root, "alloc".to_owned())?, Fields::Optional)
}

/// A JSON object together with its path, for error messages.
struct Obj<'a> {
    map: &'a Map<String, Value>,
    path: String,
}

impl<'a> Obj<'a> {
    fn new(v: &'a Value, path: String) -> Result<Self, FixtureError> {
        match v.as_object() {
            Some(map) => Ok(Obj { map, path }),
            None => Err(FixtureError::at(&path, "expected a JSON object")),
        }
    }

    fn child(&self, key: &str) -> String {
        format!("{}.{key}", self.path)
    }

    fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key)
    }

    fn req(&self, key: &str) -> Result<&'a Value, FixtureError> {
        self.map
            .get(key)
            .ok_or_else(|| FixtureError::at(&self.path, format!("missing {key:?}")))
    }

    fn obj(&self, key: &str) -> Result<Obj<'a>, FixtureError> {
        Obj::new(self.req(key)?, self.child(key))
    }

    fn array(&self, key: &str) -> Result<&'a [Value], FixtureError> {
        array(self.req(key)?, &self.child(key))
    }

    fn u64(&self, key: &str) -> Result<u64, FixtureError> {
        to_u64(self.req(key)?, &self.child(key))
    }

    fn opt<T>(
        &self,
        key: &str,
        f: impl FnOnce(&'a Value, &str) -> Result<T, FixtureError>,
    ) -> Result<Option<T>, FixtureError> {
        self.get(key).map(|v| f(v, &self.child(key))).transpose()
    }
}

fn array<'a>(v: &'a Value, path: &str) -> Result<&'a [Value], FixtureError> {
    v.as_array()
        .map(Vec::as_slice)
        .ok_or_else(|| FixtureError::at(path, "expected a JSON array"))
}

fn string<'a>(v: &'a Value, path: &str) -> Result<&'a str, FixtureError> {
    v.as_str()
        .ok_or_else(|| FixtureError::at(path, "expected a string"))
}

/// A number in any spelling fixtures use: `0x`-prefixed hex of any length (`0x` alone is
/// zero, leading zeros are allowed), decimal digits, a JSON integer, or `0x:bigint 0x…`.
/// `Ok(None)` means the number is well-formed but wider than 256 bits.
fn number(v: &Value, path: &str) -> Result<Option<U256>, FixtureError> {
    if let Some(n) = v.as_u64() {
        return Ok(Some(U256::from(n)));
    }
    let s = v
        .as_str()
        .ok_or_else(|| FixtureError::at(path, "expected a number or a numeric string"))?;
    number_text(s, path)
}

/// [`number`] for a string (a JSON string value or an object key).
fn number_text(s: &str, path: &str) -> Result<Option<U256>, FixtureError> {
    let bad = |why: &str| FixtureError::at(path, format!("invalid number {s:?}: {why}"));
    let s_num = s.strip_prefix("0x:bigint ").unwrap_or(s);
    let (digits, radix) = match s_num
        .strip_prefix("0x")
        .or_else(|| s_num.strip_prefix("0X"))
    {
        Some(hex) if hex.bytes().all(|b| b.is_ascii_hexdigit()) => (hex, 16),
        Some(_) => return Err(bad("not hex")),
        None if !s_num.is_empty() && s_num.bytes().all(|b| b.is_ascii_digit()) => (s_num, 10),
        None => return Err(bad("expected 0x-prefixed hex or decimal digits")),
    };
    // Only digits are left, so overflow is the one error possible ("0x" alone is zero).
    match U256::from_str_radix(digits, radix) {
        Ok(n) => Ok(Some(n)),
        Err(ParseError::BaseConvertError(BaseConvertError::Overflow)) => Ok(None),
        Err(e) => Err(bad(&e.to_string())),
    }
}

fn to_u256(v: &Value, path: &str) -> Result<U256, FixtureError> {
    number(v, path)?.ok_or_else(|| FixtureError::at(path, "number does not fit in 256 bits"))
}

fn to_u64(v: &Value, path: &str) -> Result<u64, FixtureError> {
    let n = to_u256(v, path)?;
    u64::try_from(n).map_err(|_| FixtureError::at(path, format!("{n:#x} does not fit in 64 bits")))
}

fn to_tx_number(v: &Value, path: &str) -> Result<TxNumber, FixtureError> {
    Ok(match number(v, path)? {
        Some(n) => TxNumber::Value(n),
        None => TxNumber::TooWide(string(v, path)?.to_owned()),
    })
}

fn to_word(v: &Value, path: &str) -> Result<B256, FixtureError> {
    to_u256(v, path).map(B256::from_word)
}

fn to_address(v: &Value, path: &str) -> Result<Address, FixtureError> {
    Address::from_hex(string(v, path)?).map_err(|e| FixtureError::at(path, e))
}

/// Exactly 32 bytes of hex (hashes).
fn to_hash(v: &Value, path: &str) -> Result<B256, FixtureError> {
    let bytes = parse_hex(string(v, path)?).map_err(|e| FixtureError::at(path, e))?;
    let b: [u8; 32] = bytes.try_into().map_err(|b: Vec<u8>| {
        FixtureError::at(path, format!("expected 32 bytes, got {}", b.len()))
    })?;
    Ok(B256(b))
}

/// Code or call data: `0x`-prefixed hex, or `""` for none.
fn to_bytes(v: &Value, path: &str) -> Result<Vec<u8>, FixtureError> {
    let s = string(v, path)?;
    if let Some(prefix) = s
        .strip_prefix(':')
        .and_then(|r| r.split_whitespace().next())
    {
        return Err(FixtureError::at(
            path,
            format!("source form :{prefix} is not supported (use filled fixtures)"),
        ));
    }
    parse_hex(s).map_err(|e| FixtureError::at(path, e))
}

fn to_index(v: &Value, path: &str) -> Result<usize, FixtureError> {
    let n = to_u64(v, path)?;
    usize::try_from(n).map_err(|_| FixtureError::at(path, "index too large"))
}

fn parse_test(name: &str, v: &Value) -> Result<StateTest, FixtureError> {
    let t = Obj::new(v, format!("test {name:?}"))?;
    let env = parse_env(&t.obj("env")?)?;
    let pre = parse_accounts(&t.obj("pre")?, Fields::Required)?;
    let tx = parse_tx(&t.obj("transaction")?)?;

    let (chain_id, schedules) = match t.get("config") {
        None => (U256::from(1u8), Vec::new()),
        Some(c) => parse_config(&Obj::new(c, t.child("config"))?)?,
    };

    let post = t.obj("post")?;
    let mut forks = Vec::with_capacity(post.map.len());
    for (fork, cases) in post.map {
        let path = post.child(fork);
        let cases = array(cases, &path)?
            .iter()
            .enumerate()
            .map(|(i, c)| parse_case(&Obj::new(c, format!("{path}[{i}]"))?, &tx))
            .collect::<Result<Vec<_>, _>>()?;
        let target = match resolve_fork(fork) {
            Err(reason) => ForkTarget::Skip(reason),
            Ok(revision) => {
                let schedule = schedules
                    .iter()
                    .find(|(name, _)| resolve_fork(name) == Ok(revision))
                    .map(|(_, s)| *s);
                let block = env.block_env(revision, chain_id, schedule);
                ForkTarget::Run { revision, block }
            }
        };
        forks.push(ForkPost {
            fork: fork.clone(),
            target,
            cases,
        });
    }
    let data_labels = t
        .get("_info")
        .and_then(|i| i.get("labels"))
        .and_then(Value::as_object)
        .map(|labels| {
            labels
                .iter()
                .filter_map(|(k, v)| Some((k.parse().ok()?, v.as_str()?.to_owned())))
                .collect()
        })
        .unwrap_or_default();
    Ok(StateTest {
        name: name.to_owned(),
        env,
        pre,
        tx,
        chain_id,
        forks,
        data_labels,
    })
}

/// The execution-spec-tests `config`: the chain id and the blob schedules by fork name.
fn parse_config(c: &Obj<'_>) -> Result<(U256, Vec<(String, BlobSchedule)>), FixtureError> {
    let chain_id = c.opt("chainid", to_u256)?.unwrap_or(U256::from(1u8));
    let mut schedules = Vec::new();
    if c.get("blobSchedule").is_some() {
        let s = c.obj("blobSchedule")?;
        for (fork, entry) in s.map {
            let e = Obj::new(entry, s.child(fork))?;
            let schedule = BlobSchedule {
                target: e.u64("target")?,
                max: e.u64("max")?,
                base_fee_update_fraction: e.u64("baseFeeUpdateFraction")?,
            };
            schedules.push((fork.clone(), schedule));
        }
    }
    Ok((chain_id, schedules))
}

fn parse_env(e: &Obj<'_>) -> Result<Env, FixtureError> {
    Ok(Env {
        coinbase: to_address(e.req("currentCoinbase")?, &e.child("currentCoinbase"))?,
        number: e.u64("currentNumber")?,
        timestamp: e.u64("currentTimestamp")?,
        gas_limit: e.u64("currentGasLimit")?,
        difficulty: e.opt("currentDifficulty", to_u256)?,
        random: e.opt("currentRandom", to_word)?,
        base_fee: e.opt("currentBaseFee", to_u256)?,
        excess_blob_gas: e.opt("currentExcessBlobGas", to_u64)?,
        parent_blob_gas: match (
            e.opt("parentExcessBlobGas", to_u64)?,
            e.opt("parentBlobGasUsed", to_u64)?,
        ) {
            (Some(excess), Some(used)) => Some((excess, used)),
            _ => None,
        },
    })
}

/// Whether [`parse_accounts`] insists on every account field (fixtures) or lets missing
/// ones default to zero and empty (alloc files).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Fields {
    Required,
    Optional,
}

/// A `pre`, `post.state` or alloc object: accounts keyed by address. Zero storage values
/// are dropped (they are absent from the storage trie).
fn parse_accounts(o: &Obj<'_>, fields: Fields) -> Result<Vec<(Address, Account)>, FixtureError> {
    let mut out = Vec::with_capacity(o.map.len());
    let mut seen = HashSet::with_capacity(o.map.len());
    for (key, v) in o.map {
        let path = o.child(key);
        let addr = Address::from_hex(key).map_err(|e| FixtureError::at(&path, e))?;
        if !seen.insert(addr) {
            return Err(FixtureError::at(&path, "the account is listed twice"));
        }
        let a = Obj::new(v, path)?;
        let field = |name: &str| match fields {
            Fields::Required => a.req(name).map(Some),
            Fields::Optional => Ok(a.get(name)),
        };
        let mut storage = HashMap::new();
        if let Some(slots) = field("storage")? {
            let slots = Obj::new(slots, a.child("storage"))?;
            for (k, v) in slots.map {
                let kpath = slots.child(k);
                let key = number_text(k, &kpath)?
                    .map(B256::from_word)
                    .ok_or_else(|| FixtureError::at(&kpath, "key does not fit in 256 bits"))?;
                let value = to_word(v, &kpath)?;
                if storage.insert(key, value).is_some() {
                    return Err(FixtureError::at(&kpath, "the storage key is listed twice"));
                }
            }
        }
        storage.retain(|_, v: &mut B256| !v.is_zero());
        let code = field("code")?
            .map(|c| to_bytes(c, &a.child("code")))
            .transpose()?;
        let nonce = field("nonce")?
            .map(|n| to_u64(n, &a.child("nonce")))
            .transpose()?;
        let balance = field("balance")?
            .map(|b| to_u256(b, &a.child("balance")))
            .transpose()?;
        out.push((
            addr,
            Account {
                nonce: nonce.unwrap_or(0),
                balance: balance.unwrap_or(U256::ZERO),
                code: Arc::from(code.unwrap_or_default()),
                storage,
            },
        ));
    }
    Ok(out)
}

fn parse_access_list(v: &Value, path: &str) -> Result<Vec<AccessListItem>, FixtureError> {
    array(v, path)?
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let it = Obj::new(item, format!("{path}[{i}]"))?;
            let keys_path = it.child("storageKeys");
            Ok(AccessListItem {
                address: to_address(it.req("address")?, &it.child("address"))?,
                storage_keys: it
                    .array("storageKeys")?
                    .iter()
                    .enumerate()
                    .map(|(j, k)| to_word(k, &format!("{keys_path}[{j}]")))
                    .collect::<Result<_, _>>()?,
            })
        })
        .collect()
}

fn parse_authorization(v: &Value, path: &str) -> Result<AuthorizationTemplate, FixtureError> {
    let a = Obj::new(v, path.to_owned())?;
    let y_parity = match a.get("yParity") {
        Some(y) => to_tx_number(y, &a.child("yParity"))?,
        None => to_tx_number(a.req("v")?, &a.child("v"))?,
    };
    Ok(AuthorizationTemplate {
        chain_id: to_tx_number(a.req("chainId")?, &a.child("chainId"))?,
        address: to_address(a.req("address")?, &a.child("address"))?,
        nonce: to_tx_number(a.req("nonce")?, &a.child("nonce"))?,
        y_parity,
        r: to_tx_number(a.req("r")?, &a.child("r"))?,
        s: to_tx_number(a.req("s")?, &a.child("s"))?,
        signer: a.opt("signer", to_address)?,
    })
}

/// Maps each element of a JSON array at `o[key]` with its path.
fn each<'a, T>(
    o: &Obj<'a>,
    key: &str,
    f: impl Fn(&'a Value, &str) -> Result<T, FixtureError>,
) -> Result<Vec<T>, FixtureError> {
    let path = o.child(key);
    o.array(key)?
        .iter()
        .enumerate()
        .map(|(i, v)| f(v, &format!("{path}[{i}]")))
        .collect()
}

fn parse_tx(t: &Obj<'_>) -> Result<TxTemplate, FixtureError> {
    let to_path = t.child("to");
    let to = match string(t.req("to")?, &to_path)? {
        "" => None,
        hex => Some(Address::from_hex(hex).map_err(|e| FixtureError::at(&to_path, e))?),
    };
    let fee = match (t.get("gasPrice"), t.get("maxFeePerGas")) {
        (Some(p), None) => FeeTemplate::Legacy {
            gas_price: to_tx_number(p, &t.child("gasPrice"))?,
        },
        (None, Some(m)) => FeeTemplate::Dynamic {
            max_fee_per_gas: to_tx_number(m, &t.child("maxFeePerGas"))?,
            max_priority_fee_per_gas: to_tx_number(
                t.req("maxPriorityFeePerGas")?,
                &t.child("maxPriorityFeePerGas"),
            )?,
        },
        (Some(_), Some(_)) => {
            return Err(FixtureError::at(
                &t.path,
                "both gasPrice and maxFeePerGas are given",
            ))
        }
        (None, None) => {
            return Err(FixtureError::at(
                &t.path,
                "neither gasPrice nor maxFeePerGas is given",
            ))
        }
    };
    let blob_versioned_hashes = t
        .get("blobVersionedHashes")
        .map(|_| each(t, "blobVersionedHashes", to_hash))
        .transpose()?;
    let authorization_list = t
        .get("authorizationList")
        .map(|_| each(t, "authorizationList", parse_authorization))
        .transpose()?;
    if (blob_versioned_hashes.is_some() || authorization_list.is_some())
        && matches!(fee, FeeTemplate::Legacy { .. })
    {
        return Err(FixtureError::at(
            &t.path,
            "blob and set-code transactions need maxFeePerGas, not gasPrice",
        ));
    }
    let data = each(t, "data", to_bytes)?;
    let access_lists = t
        .get("accessLists")
        .map(|_| {
            each(t, "accessLists", |v, path| match v {
                Value::Null => Ok(None),
                v => parse_access_list(v, path).map(Some),
            })
        })
        .transpose()?;
    if let Some(lists) = &access_lists {
        if lists.len() != data.len() {
            return Err(FixtureError::at(
                &t.child("accessLists"),
                format!(
                    "{} access lists for {} data entries",
                    lists.len(),
                    data.len()
                ),
            ));
        }
    }
    Ok(TxTemplate {
        sender: to_address(t.req("sender")?, &t.child("sender"))?,
        to,
        nonce: to_tx_number(t.req("nonce")?, &t.child("nonce"))?,
        fee,
        data,
        gas_limit: each(t, "gasLimit", to_tx_number)?,
        value: each(t, "value", to_tx_number)?,
        access_lists,
        blob_versioned_hashes,
        max_fee_per_blob_gas: t.opt("maxFeePerBlobGas", to_tx_number)?,
        authorization_list,
    })
}

fn parse_case(c: &Obj<'_>, tx: &TxTemplate) -> Result<PostCase, FixtureError> {
    let ix = c.obj("indexes")?;
    let indexes = Indexes {
        data: to_index(ix.req("data")?, &ix.child("data"))?,
        gas: to_index(ix.req("gas")?, &ix.child("gas"))?,
        value: to_index(ix.req("value")?, &ix.child("value"))?,
    };
    tx.check_indexes(&indexes)
        .map_err(|e| FixtureError::at(&ix.path, e))?;
    let expect_exception = c
        .opt("expectException", |v, p| string(v, p).map(str::to_owned))?
        .filter(|s| !s.is_empty());
    Ok(PostCase {
        indexes,
        hash: to_hash(c.req("hash")?, &c.child("hash"))?,
        logs: to_hash(c.req("logs")?, &c.child("logs"))?,
        expect_exception,
        state: c
            .get("state")
            .map(|_| parse_accounts(&c.obj("state")?, Fields::Required))
            .transpose()?,
    })
}
