//! Test programs run as contract A in a small world of callees, and helpers to run them.

use super::addr;
use ember::abi::{evmc_revision, evmc_vm};
use ember::{evmc_create_ember, execute_evmc};
use ember_evm::{to_hex, ExecResult, Host, Message, Revision, Vm, B256, U256};
use ember_testkit::{Effect, RecordingHost, World};
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

/// `PUSHn n` with the fewest bytes that hold `n` (PUSH1 for zero).
fn push(n: u64) -> String {
    let bytes = (64 - n.leading_zeros()).div_ceil(8).max(1);
    format!("PUSH{bytes} {n}")
}

/// `PUSH20` of the address whose 20 bytes are all `a`.
fn push_addr(a: u8) -> String {
    format!("PUSH20 0x{}", format!("{a:02x}").repeat(20))
}

/// Stores the top of the stack at memory slot `i` (offset 32·i).
fn store(i: u64) -> String {
    format!("{} MSTORE", push(32 * i))
}

/// Returns memory slots `0..n`.
fn ret(n: u64) -> String {
    format!("{} PUSH1 0 RETURN", push(32 * n))
}

/// B: stores CALLER at slot 2 (fails in static mode), logs ADDRESS with two topics, returns
/// ADDRESS and CALLVALUE.
fn callee_b() -> Vec<u8> {
    asm(&format!(
        "CALLER PUSH1 2 SSTORE ADDRESS {} CALLVALUE {} PUSH1 0xb0 PUSH1 0xb1 PUSH1 32 PUSH1 0 LOG2 {}",
        store(0),
        store(1),
        ret(2)
    ))
}

/// R: writes slot 3, logs, then reverts with 32 bytes.
fn callee_r() -> Vec<u8> {
    asm(&format!(
        "PUSH1 0x33 PUSH1 3 SSTORE PUSH1 0xee {} PUSH1 1 PUSH1 2 PUSH1 32 PUSH1 0 LOG2 \
         PUSH1 32 PUSH1 0 REVERT",
        store(0)
    ))
}

/// D: counts its depth in slot 0 and calls itself with all the gas it may pass on.
fn recursive_d() -> Vec<u8> {
    asm("PUSH1 0 SLOAD PUSH1 1 ADD PUSH1 0 SSTORE \
         PUSH1 0 PUSH1 0 PUSH1 0 PUSH1 0 PUSH1 0 ADDRESS GAS CALL STOP")
}

/// The arguments of CALL/CALLCODE (with value 0) or DELEGATECALL/STATICCALL to `to`, with the
/// output written to memory slot `out`, then the call itself, then the success flag stored at
/// slot `flag`.
fn call(opcode: &str, to: u8, out: u64, flag: u64) -> String {
    let value = if matches!(opcode, "CALL" | "CALLCODE") {
        "PUSH1 0 "
    } else {
        ""
    };
    format!(
        "PUSH1 64 {} PUSH1 0 PUSH1 0 {value}{} {} {opcode} {}",
        push(32 * out),
        push_addr(to),
        push(100_000),
        store(flag)
    )
}

/// Init code that deploys `runtime` (at most 32 bytes).
fn deployer(runtime: &[u8]) -> Vec<u8> {
    let mut word = [0u8; 32];
    word[..runtime.len()].copy_from_slice(runtime);
    asm(&format!(
        "PUSH32 0x{} PUSH1 0 MSTORE {} PUSH1 0 RETURN",
        to_hex(&word),
        push(runtime.len() as u64)
    ))
}

/// The programs run as A, by name.
pub fn programs() -> Vec<(&'static str, Vec<u8>)> {
    let env = [
        "ADDRESS".to_string(),
        "ADDRESS BALANCE".into(),
        "ORIGIN".into(),
        "CALLER".into(),
        "CALLVALUE".into(),
        "PUSH1 0 CALLDATALOAD".into(),
        "CALLDATASIZE".into(),
        "CODESIZE".into(),
        "GASPRICE".into(),
        format!("PUSH1 {B} EXTCODESIZE"),
        format!("PUSH1 {B} EXTCODEHASH"),
        "PUSH2 1233 BLOCKHASH".into(),
        "COINBASE".into(),
        "TIMESTAMP".into(),
        "NUMBER".into(),
        "PREVRANDAO".into(),
        "GASLIMIT".into(),
        "CHAINID".into(),
        "SELFBALANCE".into(),
        "BASEFEE".into(),
        "PUSH1 1 BLOBHASH".into(),
        "BLOBBASEFEE".into(),
        "PUSH1 0x99 PUSH1 1 TSTORE PUSH1 1 TLOAD".into(),
        "GAS".into(),
    ];
    let n = env.len() as u64;
    let mut env_src: String = env
        .iter()
        .enumerate()
        .map(|(i, ops)| format!("{ops} {} ", store(i as u64)))
        .collect();
    // EXTCODECOPY(B, slot n, 0, 40), then return everything.
    env_src += &format!(
        "PUSH1 40 PUSH1 0 {} {} EXTCODECOPY {}",
        push(32 * n),
        push_addr(B),
        ret(n + 2)
    );

    // The last SSTORE clears the slot again: a refund.
    let storage_log = asm(&format!(
        "PUSH1 42 PUSH1 1 SSTORE PUSH1 1 SLOAD {} PUSH1 7 PUSH1 8 PUSH1 32 PUSH1 0 LOG2 \
         PUSH1 0 PUSH1 1 SSTORE {}",
        store(0),
        ret(1)
    ));

    // RETURNDATASIZE after R's revert, and R's revert data copied to slot 15.
    let calls = asm(&format!(
        "{} {} {} {} {} RETURNDATASIZE {} PUSH1 32 PUSH1 0 {} RETURNDATACOPY {}",
        call("CALL", B, 0, 2),
        call("STATICCALL", B, 3, 5),
        call("DELEGATECALL", B, 6, 8),
        call("CALLCODE", B, 9, 11),
        call("CALL", R, 12, 14),
        store(16),
        push(32 * 15),
        ret(17)
    ));

    // CREATE and CREATE2 of init code (in memory slots 0..2) that deploys a contract
    // returning 0x5a5a; then a call of the first one (its address loaded from slot 4).
    let runtime = asm(&format!("PUSH2 0x5a5a {} {}", store(0), ret(1)));
    let init = deployer(&runtime);
    assert!(init.len() <= 64);
    let mut padded = init.clone();
    padded.resize(64, 0);
    let size = push(init.len() as u64);
    let creates = asm(&format!(
        "PUSH32 0x{} {} PUSH32 0x{} {} \
         {size} PUSH1 0 PUSH1 0 CREATE {} \
         PUSH1 5 {size} PUSH1 0 PUSH1 0 CREATE2 {} \
         PUSH1 32 {} PUSH1 0 PUSH1 0 PUSH1 0 {} MLOAD {} CALL {} {}",
        to_hex(&padded[..32]),
        store(0),
        to_hex(&padded[32..]),
        store(1),
        store(4),
        store(5),
        push(32 * 6),
        push(32 * 4),
        push(100_000),
        store(7),
        ret(8)
    ));

    let selfdestruct = asm(&format!("{} SELFDESTRUCT", push_addr(B)));
    // MLOAD far away.
    let out_of_gas = asm("PUSH3 0xffffff MLOAD");
    let invalid = asm("INVALID");
    let reverts = asm(&format!("PUSH1 0x77 {} PUSH1 32 PUSH1 0 REVERT", store(0)));
    let recursion = asm(&format!(
        "PUSH1 0 PUSH1 0 PUSH1 0 PUSH1 0 PUSH1 0 {} GAS CALL {} {}",
        push_addr(D),
        store(0),
        ret(1)
    ));

    vec![
        ("env", asm(&env_src)),
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

/// A recording host whose world holds `program` as A next to the callees B, R and D, and
/// whose nested frames run on `vm`.
pub fn host<'v>(vm: &'v dyn Vm, rev: Revision, program: &[u8]) -> RecordingHost<'v> {
    let mut host = RecordingHost::new(vm, rev);
    host.set_account(addr(A), program.to_vec(), U256::from(1000u64));
    for (a, code) in [(B, callee_b()), (R, callee_r()), (D, recursive_d())] {
        host.set_code(addr(a), code);
    }
    host.tx.timestamp = 1_700_000_000;
    host.tx.blob_hashes = vec![B256([0x01; 32]), B256([0x02; 32])];
    host
}

/// Runs A in `host` as a top-level call with `gas` and 40 bytes of calldata.
pub fn call_a(host: &mut RecordingHost<'_>, vm: &dyn Vm, rev: Revision, gas: i64) -> ExecResult {
    let code = host.world().code[&addr(A)].clone();
    host.warm(addr(A));
    let msg = Message::call(addr(0x0f), addr(A), &[0x12; 40], gas);
    vm.execute(host, rev, &msg, &code, None)
}

/// What a run of a program did.
#[derive(Debug, PartialEq, Eq)]
pub struct Ran {
    /// The top-level frame's result.
    pub result: ExecResult,
    /// The world afterwards.
    pub world: World,
    /// Everything the host saw, in order.
    pub effects: Vec<Effect>,
}

/// Runs `program` as A with `vm`.
pub fn run(vm: &dyn Vm, rev: Revision, program: &[u8], gas: i64) -> Ran {
    let mut host = host(vm, rev, program);
    let result = call_a(&mut host, vm, rev, gas);
    Ran {
        result,
        effects: std::mem::take(&mut host.effects),
        world: host.into_world(),
    }
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

/// Assembles a test program with ember-testkit's assembler.
fn asm(src: &str) -> Vec<u8> {
    ember_testkit::assemble(src).unwrap_or_else(|e| panic!("{src}: {e}"))
}
