//! Shared pieces of ember's command-line tools `evm-run` and `evm-statetest`.

pub mod args;
pub mod profile_args;
pub mod runtime_args;
pub mod trace;
