//! Transaction-level differential testing of ember against revm (crates.io), and of ember's
//! interpreter against its compiled tier.
//!
//! [`gen::case`] builds a random but valid case: a pre-state (a funded sender, contracts with
//! generated code, storage and balances, sometimes an empty account or an empty coinbase), a
//! block for a random revision and one transaction (legacy, EIP-2930, EIP-1559, EIP-4844 or
//! EIP-7702;
//! a call or a create). [`check`] runs it through `ember_state::transact` in the interpreter
//! and in the compiled tier, and through revm's mainnet handler on an in-memory database, and
//! reports every difference: validity, status, gas used, output, logs and the whole
//! post-state (nonce, balance, code and storage of every account that exists).

pub mod gen;
mod revm_side;

use ember_evm::{Address, Interpreter, Revision, StatusCode, Vm, B256, U256};
use ember_state::{transact, Account, Log, WorldState};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

pub use gen::{Case, Rng};

/// How a transaction ended, in terms both engines share.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ending {
    /// The transaction was invalid (no state change).
    Rejected,
    /// It ran: success, revert, or an exceptional halt.
    Ran {
        /// How the top frame ended.
        status: Status,
        /// Gas charged to the sender.
        gas_used: u64,
        /// The top frame's output.
        output: Vec<u8>,
        /// The logs, in order.
        logs: Vec<Log>,
    },
}

/// The outermost frame's outcome class.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Success.
    Success,
    /// REVERT.
    Revert,
    /// An exceptional halt.
    Halt,
}

/// The accounts that exist after a transaction, in address order.
pub type PostState = BTreeMap<Address, Account>;

/// One engine's result: the ending and the post-state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// How the transaction ended.
    pub ending: Ending,
    /// The accounts afterwards.
    pub post: PostState,
}

/// The engine an outcome came from, for reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    /// ember's interpreter.
    Interpreter,
    /// ember's compiled tier.
    Compiled,
    /// revm.
    Revm,
}

/// Runs `case` in ember with `vm`.
pub fn run_ember(case: &Case, vm: &dyn Vm) -> Outcome {
    let mut state = WorldState::new();
    for (a, acc) in &case.pre {
        state.insert(*a, acc.clone());
    }
    let ending = match transact(&mut state, &case.block, &case.tx, case.rev, vm, None) {
        Err(_) => Ending::Rejected,
        Ok(out) => Ending::Ran {
            status: match out.status {
                StatusCode::Success => Status::Success,
                StatusCode::Revert => Status::Revert,
                _ => Status::Halt,
            },
            gas_used: out.gas_used,
            output: if out.status == StatusCode::Success || out.status == StatusCode::Revert {
                out.output
            } else {
                Vec::new()
            },
            logs: out.logs,
        },
    };
    let post = state.iter().map(|(a, acc)| (*a, acc.clone())).collect();
    Outcome { ending, post }
}

/// Runs `case` in revm; `None` for Constantinople, which revm does not implement (it goes
/// from Byzantium to Petersburg, without EIP-1283).
pub fn run_revm(case: &Case) -> Option<Outcome> {
    revm_side::run(case)
}

/// Lines describing how `b` differs from `a` (empty when they agree).
pub fn diff(a: &Outcome, b: &Outcome) -> Vec<String> {
    let mut out = Vec::new();
    match (&a.ending, &b.ending) {
        (Ending::Rejected, Ending::Rejected) => {}
        (
            Ending::Ran {
                status: s1,
                gas_used: g1,
                output: o1,
                logs: l1,
            },
            Ending::Ran {
                status: s2,
                gas_used: g2,
                output: o2,
                logs: l2,
            },
        ) => {
            if s1 != s2 {
                out.push(format!("status {s1:?} vs {s2:?}"));
            }
            if g1 != g2 {
                out.push(format!("gas used {g1} vs {g2}"));
            }
            // A creating transaction's output is the new code in neither engine's report;
            // only compare call outputs.
            if o1 != o2 {
                out.push(format!(
                    "output 0x{} vs 0x{}",
                    ember_evm::to_hex(o1),
                    ember_evm::to_hex(o2)
                ));
            }
            if l1 != l2 {
                out.push(format!("logs {l1:?} vs {l2:?}"));
            }
        }
        (x, y) => out.push(format!("validity: {x:?} vs {y:?}")),
    }
    let addrs: BTreeSet<&Address> = a.post.keys().chain(b.post.keys()).collect();
    for addr in addrs {
        match (a.post.get(addr), b.post.get(addr)) {
            (Some(x), Some(y)) if x == y => {}
            (x, y) => out.push(format!("account {addr}: {} vs {}", show(x), show(y))),
        }
    }
    out
}

fn show(acc: Option<&Account>) -> String {
    let Some(a) = acc else {
        return "absent".into();
    };
    let mut s = format!(
        "nonce {} balance {:#x} code 0x{}",
        a.nonce,
        a.balance,
        ember_evm::to_hex(&a.code)
    );
    let slots: BTreeMap<&B256, &B256> = a.storage.iter().collect();
    for (k, v) in slots {
        let _ = write!(s, " [{:#x}]={:#x}", k.to_word(), v.to_word());
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_reports_each_kind_of_difference() {
        let mut rng = Rng::from_seed(7);
        let case = gen::case(&mut rng, Some(Revision::Cancun));
        let a = run_ember(&case, &Interpreter);
        assert!(diff(&a, &a).is_empty());
        let Ending::Ran {
            status,
            gas_used,
            output,
            logs,
        } = a.ending.clone()
        else {
            panic!("seed 7 gives a valid transaction");
        };
        let changed = |ending| Outcome {
            ending,
            post: a.post.clone(),
        };
        let other_gas = changed(Ending::Ran {
            status,
            gas_used: gas_used + 1,
            output: output.clone(),
            logs: logs.clone(),
        });
        assert!(diff(&a, &other_gas)[0].starts_with("gas used"));
        let other_status = changed(Ending::Ran {
            status: Status::Halt,
            gas_used,
            output: output.clone(),
            logs: logs.clone(),
        });
        let other_status = if status == Status::Halt {
            changed(Ending::Ran {
                status: Status::Revert,
                gas_used,
                output,
                logs,
            })
        } else {
            other_status
        };
        assert!(diff(&a, &other_status)[0].starts_with("status"));
        assert!(diff(&a, &changed(Ending::Rejected))[0].starts_with("validity"));
        let mut post = a.post.clone();
        post.get_mut(&gen::SENDER).unwrap().nonce += 1;
        let d = diff(
            &a,
            &Outcome {
                ending: a.ending.clone(),
                post,
            },
        );
        assert_eq!(d.len(), 1);
        assert!(
            d[0].starts_with(&format!("account {}", gen::SENDER)),
            "{d:?}"
        );
    }
}

/// The result of checking one case in all three engines.
#[derive(Debug)]
pub struct Report {
    /// The case that differed.
    pub case: Case,
    /// Differences of the compiled tier from the interpreter.
    pub compiled: Vec<String>,
    /// Differences of revm from ember's interpreter.
    pub revm: Vec<String>,
    /// How the transaction ended in ember's interpreter; `None` if it was rejected.
    pub status: Option<Status>,
}

impl Report {
    /// Whether all engines agreed.
    pub fn agreed(&self) -> bool {
        self.compiled.is_empty() && self.revm.is_empty()
    }
}

/// Runs `case` in ember's interpreter, in `compiled` (ember's compiled tier) and in revm.
pub fn check(case: Case, compiled: &dyn Vm) -> Report {
    let interp = run_ember(&case, &Interpreter);
    let jit = run_ember(&case, compiled);
    let revm = run_revm(&case);
    Report {
        status: match &interp.ending {
            Ending::Rejected => None,
            Ending::Ran { status, .. } => Some(*status),
        },
        compiled: diff(&interp, &jit),
        revm: revm.map(|r| diff(&interp, &r)).unwrap_or_default(),
        case,
    }
}

/// `U256` conversions shared by both sides.
pub(crate) fn to_revm_u256(v: &U256) -> revm::primitives::U256 {
    revm::primitives::U256::from_be_bytes(v.to_be_bytes::<32>())
}

/// ember's revision as revm's spec.
pub(crate) fn spec(rev: Revision) -> Option<revm::primitives::hardfork::SpecId> {
    use revm::primitives::hardfork::SpecId;
    Some(match rev {
        Revision::Frontier => SpecId::FRONTIER,
        Revision::Homestead => SpecId::HOMESTEAD,
        Revision::TangerineWhistle => SpecId::TANGERINE,
        Revision::SpuriousDragon => SpecId::SPURIOUS_DRAGON,
        Revision::Byzantium => SpecId::BYZANTIUM,
        Revision::Constantinople => return None,
        Revision::Petersburg => SpecId::PETERSBURG,
        Revision::Istanbul => SpecId::ISTANBUL,
        Revision::Berlin => SpecId::BERLIN,
        Revision::London => SpecId::LONDON,
        Revision::Paris => SpecId::MERGE,
        Revision::Shanghai => SpecId::SHANGHAI,
        Revision::Cancun => SpecId::CANCUN,
        Revision::Prague => SpecId::PRAGUE,
        Revision::Osaka => SpecId::OSAKA,
    })
}
