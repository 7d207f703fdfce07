//! Test programs run as contract A in a small world of callees, and helpers to run them.

use super::{addr, op, Asm, TestHost, World};
use ember::abi::{evmc_revision, evmc_vm};
use ember::{evmc_create_ember, execute_evmc};
use ember_evm::{ExecResult, Host, Message, Revision, Vm, B256, U256};
use std::ptr::NonNull;

pub const A: u8 = 0xaa; // the program under test
pub const B: u8 = 0xbb; // a well-behaved callee
pub const R: u8 = 0xcc; // a callee that writes, logs and reverts
pub const D: u8 = 0xdd; // a contract that calls itself until it cannot

/// One `evmc_vm` created in-process through the C entry point and shared by all threads:
/// the ABI path without dlopen.
pub struct SharedEmber(NonNull<evmc_vm>);

// SAFETY: ember's instances are thread-safe (immutable after creation but for atomically
// updated options), so the pointer may be used from any thread.
unsafe impl Send for SharedEmber {}
// SAFETY: as above.
unsafe impl Sync for SharedEmber {}

impl SharedEmber {
    pub fn new() -> Self {
        SharedEmber(NonNull::new(evmc_create_ember()).expect("evmc_create_ember"))
    }
}

impl Drop for SharedEmber {
    fn drop(&mut self) {
        // SAFETY: a live instance from evmc_create_ember, destroyed once.
        unsafe { (self.0.as_ref().destroy.unwrap())(self.0.as_ptr()) }
    }
}

impl Vm for SharedEmber {
    fn execute(
        &self,
        host: &mut dyn Host,
        rev: Revision,
        msg: &Message<'_>,
        code: &[u8],
        _: Option<&B256>,
    ) -> ExecResult {
        // SAFETY: a live ABI-12 ember instance, usable from any thread.
        unsafe { execute_evmc(self.0, host, evmc_revision(rev as i32), msg, code) }
    }
}

/// B: stores CALLER at slot 2 (fails in static mode), logs ADDRESS with two topics, returns
/// ADDRESS and CALLVALUE.
fn callee_b() -> Vec<u8> {
    Asm::new()
        .op(&[op::CALLER])
        .push_u(2)
        .op(&[op::SSTORE])
        .op(&[op::ADDRESS])
        .store(0)
        .op(&[op::CALLVALUE])
        .store(1)
        .push_u(0xb0)
        .push_u(0xb1)
        .push_u(32)
        .push_u(0)
        .op(&[op::LOG2])
        .ret(2)
        .build()
}

/// R: writes slot 3, logs, then reverts with 32 bytes.
fn callee_r() -> Vec<u8> {
    Asm::new()
        .push_u(0x33)
        .push_u(3)
        .op(&[op::SSTORE])
        .push_u(0xee)
        .store(0)
        .push_u(1)
        .push_u(2)
        .push_u(32)
        .push_u(0)
        .op(&[op::LOG2])
        .push_u(32)
        .push_u(0)
        .op(&[op::REVERT])
        .build()
}

/// D: counts its depth in slot 0 and calls itself with all the gas it may pass on.
fn recursive_d() -> Vec<u8> {
    Asm::new()
        .push_u(0)
        .op(&[op::SLOAD])
        .push_u(1)
        .op(&[0x01]) // ADD
        .push_u(0)
        .op(&[op::SSTORE])
        .push_u(0)
        .push_u(0)
        .push_u(0)
        .push_u(0)
        .push_u(0)
        .op(&[op::ADDRESS, op::GAS, op::CALL, op::STOP])
        .build()
}

/// Pushes the arguments of CALL/CALLCODE (with value 0) or DELEGATECALL/STATICCALL to
/// `to`, with the output written to memory slot `out`, then the call itself, then stores
/// the success flag at slot `flag`.
fn call(asm: Asm, opcode: u8, to: u8, out: u64, flag: u64) -> Asm {
    let asm = asm.push_u(64).push_u(32 * out).push_u(0).push_u(0);
    let asm = if matches!(opcode, op::CALL | op::CALLCODE) {
        asm.push_u(0)
    } else {
        asm
    };
    asm.push(&[to; 20])
        .push_u(100_000)
        .op(&[opcode])
        .store(flag)
}

/// Init code that deploys `runtime` (at most 32 bytes).
fn deployer(runtime: &[u8]) -> Vec<u8> {
    let mut word = [0u8; 32];
    word[..runtime.len()].copy_from_slice(runtime);
    Asm::new()
        .push(&word)
        .push_u(0)
        .op(&[op::MSTORE])
        .push_u(runtime.len() as u64)
        .push_u(0)
        .op(&[op::RETURN])
        .build()
}

/// The programs run as A, by name.
pub fn programs() -> Vec<(&'static str, Vec<u8>)> {
    let env = [
        &[op::ADDRESS][..],
        &[op::ADDRESS, op::BALANCE],
        &[op::ORIGIN],
        &[op::CALLER],
        &[op::CALLVALUE],
        &[0x60, 0x00, op::CALLDATALOAD],
        &[op::CALLDATASIZE],
        &[op::CODESIZE],
        &[op::GASPRICE],
        &[0x60, B, op::EXTCODESIZE],
        &[0x60, B, op::EXTCODEHASH],
        &[0x61, 0x04, 0xd1, op::BLOCKHASH],
        &[op::COINBASE],
        &[op::TIMESTAMP],
        &[op::NUMBER],
        &[op::PREVRANDAO],
        &[op::GASLIMIT],
        &[op::CHAINID],
        &[op::SELFBALANCE],
        &[op::BASEFEE],
        &[0x60, 0x01, op::BLOBHASH],
        &[op::BLOBBASEFEE],
        &[0x60, 0x99, 0x60, 0x01, op::TSTORE, 0x60, 0x01, op::TLOAD],
        &[op::GAS],
    ];
    let mut env_prog = Asm::new();
    for (i, ops) in env.iter().enumerate() {
        env_prog = env_prog.op(ops).store(i as u64);
    }
    let n = env.len() as u64;
    // EXTCODECOPY(B, slot n, 0, 40), then return everything.
    let env_prog = env_prog
        .push_u(40)
        .push_u(0)
        .push_u(32 * n)
        .push(&[B; 20])
        .op(&[op::EXTCODECOPY])
        .ret(n + 2)
        .build();

    let storage_log = Asm::new()
        .push_u(42)
        .push_u(1)
        .op(&[op::SSTORE])
        .push_u(1)
        .op(&[op::SLOAD])
        .store(0)
        .push_u(7)
        .push_u(8)
        .push_u(32)
        .push_u(0)
        .op(&[op::LOG2])
        .push_u(0)
        .push_u(1)
        .op(&[op::SSTORE]) // clear again: a refund
        .ret(1)
        .build();

    let mut calls = Asm::new();
    calls = call(calls, op::CALL, B, 0, 2);
    calls = call(calls, op::STATICCALL, B, 3, 5);
    calls = call(calls, op::DELEGATECALL, B, 6, 8);
    calls = call(calls, op::CALLCODE, B, 9, 11);
    calls = call(calls, op::CALL, R, 12, 14);
    // RETURNDATASIZE, and copy R's revert data to slot 15.
    let calls = calls
        .op(&[op::RETURNDATASIZE])
        .store(16)
        .push_u(32)
        .push_u(0)
        .push_u(32 * 15)
        .op(&[op::RETURNDATACOPY])
        .ret(17)
        .build();

    // CREATE and CREATE2 of init code (in memory slots 0..2) that deploys a contract
    // returning 0x5a5a; then a call of the first one.
    let runtime = Asm::new().push_u(0x5a5a).store(0).ret(1).build();
    let init = deployer(&runtime);
    assert!(init.len() <= 64);
    let mut padded = init.clone();
    padded.resize(64, 0);
    let creates = Asm::new()
        .push(&padded[..32])
        .store(0)
        .push(&padded[32..])
        .store(1)
        // CREATE(value 0, offset 0, size)
        .push_u(init.len() as u64)
        .push_u(0)
        .push_u(0)
        .op(&[op::CREATE])
        .store(4)
        // CREATE2(value 0, offset 0, size, salt 5)
        .push_u(5)
        .push_u(init.len() as u64)
        .push_u(0)
        .push_u(0)
        .op(&[op::CREATE2])
        .store(5)
        // CALL(gas, the first contract, value 0, no input, output to slot 6)
        .push_u(32)
        .push_u(32 * 6)
        .push_u(0)
        .push_u(0)
        .push_u(0)
        .push_u(32 * 4)
        .op(&[0x51]) // MLOAD
        .push_u(100_000)
        .op(&[op::CALL])
        .store(7)
        .ret(8)
        .build();

    let selfdestruct = Asm::new().push(&[B; 20]).op(&[op::SELFDESTRUCT]).build();
    let out_of_gas = Asm::new().push(&[0xff, 0xff, 0xff]).op(&[0x51]).build(); // MLOAD far away
    let invalid = vec![op::INVALID];
    let reverts = Asm::new()
        .push_u(0x77)
        .store(0)
        .push_u(32)
        .push_u(0)
        .op(&[op::REVERT])
        .build();
    let recursion = Asm::new()
        .push_u(0)
        .push_u(0)
        .push_u(0)
        .push_u(0)
        .push_u(0)
        .push(&[D; 20])
        .op(&[op::GAS, op::CALL])
        .store(0)
        .ret(1)
        .build();

    vec![
        ("env", env_prog),
        ("storage_log", storage_log),
        ("calls", calls),
        ("creates", creates),
        ("selfdestruct", selfdestruct),
        ("out_of_gas", out_of_gas),
        ("invalid", invalid),
        ("reverts", reverts),
        ("recursion", recursion),
        ("empty", Vec::new()),
    ]
}

pub fn world(program: &[u8]) -> World {
    let mut w = World::default();
    w.code.insert(addr(A), program.to_vec());
    w.code.insert(addr(B), callee_b());
    w.code.insert(addr(R), callee_r());
    w.code.insert(addr(D), recursive_d());
    w.balance.insert(addr(A), U256::from(1000u64));
    w
}

/// Runs `program` as A with `vm`; returns the result and the final world.
pub fn run(vm: &dyn Vm, rev: Revision, program: &[u8], gas: i64) -> (ExecResult, World) {
    let mut host = TestHost::new(vm, rev, world(program));
    let r = host.run(addr(A), gas, &[0x12; 40]);
    (r, host.world)
}

/// The program with this name.
pub fn program(name: &str) -> Vec<u8> {
    programs()
        .into_iter()
        .find(|(n, _)| *n == name)
        .map(|(_, p)| p)
        .expect("no such program")
}

/// Runs `f` on a thread with a large stack: the recursion program nests hundreds of frames,
/// each several Rust frames deep through the EVMC trampolines (more in debug builds).
pub fn with_big_stack<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| {
        std::thread::Builder::new()
            .stack_size(1 << 30)
            .spawn_scoped(s, f)
            .expect("spawn")
            .join()
            .expect("test thread panicked")
    })
}
