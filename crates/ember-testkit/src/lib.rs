//! Test support shared by ember's crates, tests, examples and tools: a deterministic host
//! that records every effect ([`RecordingHost`]), an assembler ([`assemble`]), seeded program
//! generators ([`random_program`], [`random_jump_program`]) and test cases run on any
//! [`ember_evm::Vm`] and compared with the interpreter ([`Case`], [`run`], [`compare`]).
//!
//! It depends on `ember-evm` only, so every tier can be tested with it.

mod asm;
mod case;
mod host;
mod programs;

pub use asm::{assemble, assemble_labelled};
pub use case::{compare, message, run, world, Case, Outcome, CALLEE, CALLEE_CODE, CONTRACT};
pub use host::{Call, Effect, Log, RecordingHost, World};
pub use programs::{random_jump_program, random_program, self_caller, self_caller_input, XorShift};

use ember_evm::Address;

/// The address whose last byte is `n`.
pub fn address(n: u8) -> Address {
    let mut a = [0u8; 20];
    a[19] = n;
    Address(a)
}

/// Runs `f` on a new thread with `stack` bytes of native stack and returns its result
/// (a panic on that thread is re-raised).
pub fn on_thread<T: Send>(stack: usize, f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| {
        let t = std::thread::Builder::new()
            .stack_size(stack)
            .spawn_scoped(s, f);
        match t.expect("spawn a test thread").join() {
            Ok(v) => v,
            Err(payload) => std::panic::resume_unwind(payload),
        }
    })
}
