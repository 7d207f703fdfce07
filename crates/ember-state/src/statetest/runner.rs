//! Running one case of a state test and comparing the outcome with the fixture.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use ember_evm::{to_hex, Address, Revision, StatusCode, Tracer, Vm, B256, U256};

use super::fixture::{PostCase, StateTest};
use crate::{logs_hash, reward_coinbase, transact, Account, BlockEnv, TxError, WorldState};

/// How many differing accounts a root mismatch lists before it stops.
const MAX_ACCOUNT_DIFFS: usize = 12;

/// What running one case produced, and how it differed from the fixture.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaseResult {
    /// The state root after the transaction (the pre-state root if it was rejected).
    pub state_root: B256,
    /// The logs hash (of no logs if the transaction was rejected).
    pub logs_hash: B256,
    /// Gas used by the transaction; 0 if it was rejected.
    pub gas_used: u64,
    /// How execution ended; `None` if the transaction was rejected.
    pub status: Option<StatusCode>,
    /// The return data of the outermost frame.
    pub output: Vec<u8>,
    /// Why the transaction was rejected, if it was.
    pub rejection: Option<String>,
    /// One line per difference from the fixture; empty when the case passed.
    pub mismatches: Vec<String>,
}

impl CaseResult {
    /// Whether the case matched the fixture.
    pub fn passed(&self) -> bool {
        self.mismatches.is_empty()
    }
}

/// Why a transaction did not execute.
enum Rejection {
    /// `transact` found it invalid.
    Invalid(TxError),
    /// The fixture's transaction cannot be encoded (a field is wider than its type).
    Unencodable(String),
}

/// Runs `case` of `test` in `block` under revision `rev` on a fresh copy of the pre-state,
/// ends the block with a zero reward to the coinbase (which creates an empty coinbase before
/// Spurious Dragon and deletes one from then on, valid transaction or not), then checks, as
/// evmone's state-test runner does (no system calls):
/// the transaction is rejected iff the fixture expects an exception (and then with a
/// matching one), the state root equals `hash` and the logs hash equals `logs`.
///
/// A transaction the fixture cannot encode counts as rejected and matches any expected
/// exception.
pub fn run_case(
    test: &StateTest,
    rev: Revision,
    block: &BlockEnv,
    case: &PostCase,
    vm: &dyn Vm,
    tracer: Option<&mut dyn Tracer>,
) -> CaseResult {
    let mut state = WorldState::new();
    for (addr, account) in &test.pre {
        state.insert(*addr, account.clone());
    }
    let outcome = test
        .tx
        .transaction(&case.indexes)
        .map_err(Rejection::Unencodable)
        .and_then(|tx| {
            transact(&mut state, block, &tx, rev, vm, tracer).map_err(Rejection::Invalid)
        });
    let (rejection, logs, gas_used, status, output) = match outcome {
        Ok(out) => (
            None,
            logs_hash(&out.logs),
            out.gas_used,
            Some(out.status),
            out.output,
        ),
        Err(r) => (Some(r), logs_hash(&[]), 0, None, Vec::new()),
    };
    reward_coinbase(&mut state, rev, &block.coinbase, U256::ZERO);
    let state_root = state.state_root();

    let mut mismatches = Vec::new();
    match (&case.expect_exception, &rejection) {
        (Some(expected), None) => mismatches.push(format!(
            "exception: expected {expected}, but the transaction was valid (gas used {gas_used})"
        )),
        (None, Some(r)) => mismatches.push(format!(
            "exception: none expected, but the transaction was rejected: {}",
            describe(r)
        )),
        (Some(expected), Some(Rejection::Invalid(e))) if !e.matches_expected(expected) => {
            mismatches.push(format!("exception: expected {expected}, got {e}"))
        }
        _ => {}
    }
    if state_root != case.hash {
        mismatches.push(format!(
            "state root: expected {}, got {state_root}",
            case.hash
        ));
        if let Some(expected) = &case.state {
            mismatches.extend(diff_state(expected, &state));
        }
    }
    if logs != case.logs {
        mismatches.push(format!("logs hash: expected {}, got {logs}", case.logs));
    }
    CaseResult {
        state_root,
        logs_hash: logs,
        gas_used,
        status,
        output,
        rejection: rejection.as_ref().map(describe),
        mismatches,
    }
}

fn describe(r: &Rejection) -> String {
    match r {
        Rejection::Invalid(e) => e.to_string(),
        Rejection::Unencodable(why) => format!("unencodable transaction: {why}"),
    }
}

/// Lines describing how `actual` differs from the fixture's post-state, at most
/// [`MAX_ACCOUNT_DIFFS`] accounts.
fn diff_state(expected: &[(Address, Account)], actual: &WorldState) -> Vec<String> {
    let mut addrs: BTreeSet<Address> = expected.iter().map(|(a, _)| *a).collect();
    addrs.extend(actual.iter().map(|(a, _)| *a));
    let mut lines = Vec::new();
    let mut differing = 0usize;
    for addr in addrs {
        let want = expected
            .iter()
            .find(|(a, _)| *a == addr)
            .map(|(_, acc)| acc);
        let got = actual.get(&addr);
        let diff = match (want, got) {
            (None, None) => continue,
            (Some(_), None) => "missing from the actual state".to_owned(),
            (None, Some(_)) => "present but absent from the expected state".to_owned(),
            (Some(w), Some(g)) => match diff_account(w, g) {
                Some(d) => d,
                None => continue,
            },
        };
        differing += 1;
        if differing <= MAX_ACCOUNT_DIFFS {
            lines.push(format!("  account {addr}: {diff}"));
        }
    }
    if differing > MAX_ACCOUNT_DIFFS {
        lines.push(format!(
            "  … and {} more accounts differ",
            differing - MAX_ACCOUNT_DIFFS
        ));
    }
    lines
}

fn diff_account(want: &Account, got: &Account) -> Option<String> {
    let mut d = String::new();
    if want.nonce != got.nonce {
        let _ = write!(d, "nonce expected {}, got {}; ", want.nonce, got.nonce);
    }
    if want.balance != got.balance {
        let _ = write!(
            d,
            "balance expected {:#x}, got {:#x}; ",
            want.balance, got.balance
        );
    }
    if want.code != got.code {
        let _ = write!(
            d,
            "code expected 0x{}, got 0x{}; ",
            abbreviate(&want.code),
            abbreviate(&got.code)
        );
    }
    let keys: BTreeSet<&B256> = want.storage.keys().chain(got.storage.keys()).collect();
    for key in keys {
        let w = want.storage.get(key).copied().unwrap_or(B256::ZERO);
        let g = got.storage.get(key).copied().unwrap_or(B256::ZERO);
        if w != g {
            let (k, w, g) = (key.to_word(), w.to_word(), g.to_word());
            let _ = write!(d, "storage[{k:#x}] expected {w:#x}, got {g:#x}; ");
        }
    }
    if d.is_empty() {
        None
    } else {
        d.truncate(d.len() - 2);
        Some(d)
    }
}

/// Hex of at most 32 bytes, with the total length when longer.
fn abbreviate(code: &[u8]) -> String {
    if code.len() <= 32 {
        to_hex(code)
    } else {
        format!("{}… ({} bytes)", to_hex(&code[..32]), code.len())
    }
}
