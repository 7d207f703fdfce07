//! Helpers for the interpreter tests: programs are assembled with ember-testkit's assembler and
//! run against its recording host, whose nested frames run on the interpreter.

#![allow(dead_code)] // each test binary uses a different part of this module

use ember_evm::*;
pub use ember_testkit::{address as addr, Effect, RecordingHost};

/// The contract under test runs at this address, called by `CALLER`.
pub const CONTRACT: u8 = 0xaa;
/// The contract's caller.
pub const CALLER: u8 = 0xbb;

/// A host whose nested frames run on the interpreter at the latest revision.
pub fn host() -> RecordingHost<'static> {
    RecordingHost::new(&Interpreter, Revision::LATEST)
}

/// A 32-byte word holding `n`.
pub fn word(n: u64) -> B256 {
    B256::from_word(U256::from(n))
}

/// Assembles a test program.
pub fn asm(src: &str) -> Vec<u8> {
    ember_testkit::assemble(src).unwrap_or_else(|e| panic!("{src}: {e}"))
}

/// Sets up accounts of a [`RecordingHost`] in a chain of calls.
pub trait Setup {
    /// Gives `a` this code.
    fn with_code(self, a: Address, code: &[u8]) -> Self;
    /// Gives `a` this balance.
    fn with_balance(self, a: Address, balance: u64) -> Self;
    /// Sets slot `k` of `a` to `v`, also as its value at the start of the transaction.
    fn with_slot(self, a: Address, k: u64, v: u64) -> Self;
}

impl Setup for RecordingHost<'_> {
    fn with_code(mut self, a: Address, code: &[u8]) -> Self {
        self.set_code(a, code.to_vec());
        self
    }
    fn with_balance(mut self, a: Address, balance: u64) -> Self {
        self.set_balance(a, U256::from(balance));
        self
    }
    fn with_slot(mut self, a: Address, k: u64, v: u64) -> Self {
        self.set_slot(a, word(k), word(v));
        self
    }
}

/// Runs the program `code` (assembler text) as a call to `CONTRACT` with `gas` at `rev`.
pub fn run_with(
    host: &mut RecordingHost<'_>,
    rev: Revision,
    code: &str,
    gas: i64,
    flags: u32,
) -> ExecResult {
    let code = asm(code);
    host.warm(addr(CONTRACT));
    host.warm(addr(CALLER));
    let msg = Message {
        flags,
        ..Message::call(addr(CALLER), addr(CONTRACT), &[], gas)
    };
    execute(host, rev, &msg, &code)
}

/// Runs `code` on a fresh host.
pub fn run(rev: Revision, code: &str, gas: i64) -> ExecResult {
    run_with(&mut host(), rev, code, gas, 0)
}

/// Code suffix returning the top of the stack as 32 bytes. Costs 3 + (3 + 3 memory) + 3 + 3 +
/// 0 = 15 gas when memory was empty.
pub const RET_TOP: &str = "PUSH1 0 MSTORE PUSH1 32 PUSH1 0 RETURN";
/// The gas of [`RET_TOP`] on empty memory.
pub const RET_TOP_GAS: i64 = 15;

/// Gas used by a successful or reverted run.
pub fn used(r: &ExecResult, gas: i64) -> i64 {
    gas - r.gas_left
}

/// The output as one word.
pub fn out_word(r: &ExecResult) -> U256 {
    assert_eq!(r.output.len(), 32, "output {:?}", r);
    U256::from_be_slice(&r.output)
}
