//! ember-bench: ember's interpreter, ember's compiled code and revm's interpreter on the
//! ipsilon/evm-benchmarks state tests, with a correctness check of every case before it is
//! timed.
//!
//! The `ember-bench` binary is the entry point; the modules are public so that the binary
//! and the tests share them.

pub mod cli;
pub mod ember_runner;
pub mod measure;
pub mod outcome;
pub mod progress;
pub mod report;
pub mod revm_runner;
pub mod suite;

use ember_evm::B256;
use ember_jit::{CompileStats, CompiledContract, OptLevel};
use ember_runner::{compile, EmberRunner};
use ember_runtime::RuntimeConfig;
use measure::{measure, Plan, Timing};
use outcome::{differences, Outcome};
use revm_runner::RevmRunner;
use std::hint::black_box;
use std::time::Duration;
use suite::Case;

/// What one timed iteration of ember's interpreter does.
pub const TIMED_EMBER: &str = "host reset + ember_evm::execute_analyzed(London) to the end \
    (CodeAnalysis built once per case, outside the timed region)";
/// What one timed iteration of ember's compiled code does.
pub const TIMED_JIT: &str = "host reset + CompiledContract::execute to the end (the contract \
    compiled once per case with ember_jit::compile(London, JitConfig::compile_everything() at \
    the chosen optimisation level), outside the timed region)";
/// What one timed revm iteration does.
pub const TIMED_REVM: &str = "host reset + Interpreter::clear + run_plain(LONDON) to the end \
    (Bytecode analysed and instruction/gas tables built once per case, outside; the \
    interpreter and its memory buffer are reused as revm's frame handling does)";

/// The level ember's compiled tier is compiled at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JitLevel {
    /// The level of the runtime's first compile in `auto` with its default settings, chosen
    /// by the size of the code ([`RuntimeConfig::first_level`]).
    First,
    /// One level for every contract.
    Fixed(OptLevel),
}

impl JitLevel {
    /// The level a contract of `code_len` bytes is compiled at.
    pub fn for_code(self, code_len: usize) -> OptLevel {
        match self {
            JitLevel::First => RuntimeConfig::default().first_level(code_len),
            JitLevel::Fixed(level) => level,
        }
    }

    /// How the level is chosen, for the report's heading.
    pub fn describe(self) -> String {
        match self {
            JitLevel::First => {
                let c = RuntimeConfig::default();
                format!(
                    "LLVM level of auto's first compile: {:?} for code of at most {} bytes, else {:?}",
                    c.first_level(0),
                    c.tier_up_bytes(),
                    c.opt_level()
                )
            }
            JitLevel::Fixed(level) => format!("LLVM {level:?}"),
        }
    }
}

/// What became of ember's compiled tier on one case.
#[derive(Clone, Debug)]
pub enum Jit {
    /// The compiled tier was not asked for (`--no-jit`).
    Off,
    /// The contract was not compiled (the analyzer rejected it or the compilation failed);
    /// the other two engines were still checked and timed.
    NotCompiled {
        /// Why.
        reason: String,
    },
    /// Compiled, checked against the interpreter and timed.
    Timed {
        /// The level the contract was compiled at.
        level: OptLevel,
        /// Execution time; compilation is not part of it.
        timing: Timing,
        /// Compile time and machine-code size.
        compile: CompileStats,
    },
}

/// What became of one case.
#[derive(Clone, Debug)]
#[expect(
    clippy::large_enum_variant,
    reason = "one value per benchmark case, mostly the timed variant: boxing would save nothing"
)]
pub enum CaseResult {
    /// The engines agreed and were timed.
    Timed {
        /// The case.
        name: String,
        /// keccak256 of the contract's code: cases of one contract share it.
        contract: B256,
        /// What every engine returned.
        outcome: Outcome,
        /// ember's interpreter.
        interp: Timing,
        /// ember's compiled code.
        jit: Jit,
        /// revm.
        revm: Timing,
    },
    /// The engines disagree: a correctness bug in one of them.
    Mismatch {
        /// The case.
        name: String,
        /// What differed, one line each.
        differences: Vec<String>,
    },
    /// The case needs something the harness does not provide.
    Unsupported {
        /// The case.
        name: String,
        /// What it needs.
        reason: String,
    },
}

/// One case set up in every engine, outside any timed region: the code analysed for ember's
/// interpreter and for revm, and, when asked for, compiled.
pub struct Engines<'a> {
    /// ember's interpreter.
    pub interp: EmberRunner<'a>,
    /// ember's compiled code: `None` with `--no-jit`, else the compiled contract or why it
    /// was not compiled.
    pub jit: Option<Result<EmberRunner<'a, CompiledContract>, String>>,
    /// revm's interpreter.
    pub revm: RevmRunner,
}

/// Every engine's outcome of one run of a case.
#[derive(Clone, Debug)]
pub struct Outcomes {
    /// What ember's interpreter did.
    pub interp: Outcome,
    /// `None` when the case has no compiled code.
    pub jit: Option<Outcome>,
    /// What revm did.
    pub revm: Outcome,
}

impl Outcomes {
    /// Why the harness cannot run the case, if any engine needed what it does not provide.
    pub fn unsupported(&self) -> Option<&String> {
        self.interp
            .unsupported
            .as_ref()
            .or(self.revm.unsupported.as_ref())
            .or(self.jit.as_ref().and_then(|j| j.unsupported.as_ref()))
    }

    /// Where revm and the compiled code differ from ember's interpreter; empty when all agree.
    pub fn differences(&self) -> Vec<String> {
        let mut out = differences(("interp", &self.interp), ("revm", &self.revm));
        if let Some(jit) = &self.jit {
            out.extend(differences(("interp", &self.interp), ("jit", jit)));
        }
        out
    }
}

impl<'a> Engines<'a> {
    /// Prepares `case` in ember's interpreter and revm, and compiles it at the level `jit`
    /// names, if any.
    pub fn new(case: Case<'a>, jit: Option<OptLevel>) -> Self {
        Engines {
            interp: EmberRunner::new(case),
            jit: jit.map(|level| {
                compile(case, level)
                    .map(|c| EmberRunner::with_tier(case, c))
                    .map_err(|e| e.to_string())
            }),
            revm: RevmRunner::new(case),
        }
    }

    /// Runs the case once in each engine (this also warms them up).
    pub fn run_once(&mut self) -> Outcomes {
        let interp = self.interp.run();
        let jit = match &mut self.jit {
            Some(Ok(runner)) => {
                let r = runner.run();
                Some(runner.outcome(r))
            }
            _ => None,
        };
        let revm = self.revm.run();
        Outcomes {
            interp: self.interp.outcome(interp),
            jit,
            revm: self.revm.outcome(revm),
        }
    }
}

/// Sets `case` up in every engine (compiling it at the level `jit` gives its code, if any),
/// checks that they agree, then times them per `plan` after a warm-up of `warmup`, their
/// samples taken in turn.
pub fn run_case(
    case: Case<'_>,
    plan: &Plan,
    warmup: Duration,
    jit: Option<JitLevel>,
) -> CaseResult {
    let name = case.name();
    let level = jit.map(|j| j.for_code(case.bench.world.contract_code().len()));
    let mut engines = Engines::new(case, level);
    let outcomes = engines.run_once();
    if let Some(reason) = outcomes.unsupported() {
        return CaseResult::Unsupported {
            name,
            reason: reason.clone(),
        };
    }
    let differences = outcomes.differences();
    if !differences.is_empty() {
        return CaseResult::Mismatch { name, differences };
    }
    let Engines {
        mut interp,
        jit,
        mut revm,
    } = engines;
    let mut run_interp = || {
        black_box(interp.run());
    };
    let mut run_revm = || {
        black_box(revm.run());
    };
    let (interp, jit, revm) = match jit.zip(level) {
        None => {
            let [i, r] = measure(plan, warmup, [&mut run_interp, &mut run_revm]);
            (i, Jit::Off, r)
        }
        Some((Err(reason), _)) => {
            let [i, r] = measure(plan, warmup, [&mut run_interp, &mut run_revm]);
            (i, Jit::NotCompiled { reason }, r)
        }
        Some((Ok(mut compiled), level)) => {
            let compile = compiled.tier().stats();
            let mut run_jit = || {
                black_box(compiled.run());
            };
            let [i, j, r] = measure(plan, warmup, [&mut run_interp, &mut run_jit, &mut run_revm]);
            let jit = Jit::Timed {
                level,
                timing: j,
                compile,
            };
            (i, jit, r)
        }
    };
    CaseResult::Timed {
        name,
        contract: case.bench.world.code_hash(&case.bench.world.to),
        outcome: outcomes.interp,
        interp,
        jit,
        revm,
    }
}

#[cfg(test)]
mod tests;
