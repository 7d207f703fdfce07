//! State tests: the fixture model for ethereum/tests `GeneralStateTests` and
//! execution-spec-tests `state_tests`, and a runner that executes one case and compares
//! the state root, the logs hash and the expected exception with the fixture.
//!
//! ```no_run
//! use ember_state::statetest::{parse_fixture, run_case, ForkTarget};
//!
//! let json = std::fs::read_to_string("test.json").unwrap();
//! for test in parse_fixture(&json).unwrap() {
//!     for fork in &test.forks {
//!         let ForkTarget::Run { revision, block } = &fork.target else { continue };
//!         for case in &fork.cases {
//!             let result = run_case(&test, *revision, block, case, &ember_evm::Interpreter, None);
//!             println!("{} {}: {}", test.name, fork.fork, result.passed());
//!         }
//!     }
//! }
//! ```

mod fixture;
mod runner;

pub use fixture::{
    parse_alloc, parse_fixture, resolve_fork, AuthorizationTemplate, Env, FeeTemplate,
    FixtureError, ForkPost, ForkTarget, Indexes, PostCase, StateTest, TxNumber, TxTemplate,
};
pub use runner::{run_case, CaseResult};

#[cfg(test)]
mod shared_fixtures;
#[cfg(test)]
mod tests;
