//! Test cases: a program run at a fixed address in a small world, on any [`Vm`], with
//! everything it did recorded, and the comparison of two runs.

use crate::{address, Effect, RecordingHost, World};
use ember_evm::{CallKind, ExecResult, Interpreter, Message, Revision, StatusCode, Vm, B256, U256};

/// The address the test programs run at.
pub const CONTRACT: u8 = 0x10;
/// An account whose code is [`CALLEE_CODE`], for nested calls.
pub const CALLEE: u8 = 0x20;
/// The callee: stores CALLVALUE at slot 1, logs its calldata, returns the first 32 bytes of
/// calldata plus one (or reverts when calldata starts with 0xff).
pub const CALLEE_CODE: &[u8] = &[
    0x34, 0x60, 0x01, 0x55, // CALLVALUE PUSH1 1 SSTORE
    0x36, 0x60, 0x00, 0x60, 0x00, 0x37, // CALLDATASIZE 0 0 CALLDATACOPY
    0x36, 0x60, 0x00, 0xa0, // CALLDATASIZE 0 LOG0
    0x60, 0x00, 0x51, // PUSH1 0 MLOAD
    0x80, 0x60, 0xf8, 0x1c, 0x60, 0xff, 0x14, // DUP1 PUSH1 248 SHR PUSH1 0xff EQ
    0x60, 0x26, 0x57, // PUSH1 0x26 JUMPI
    0x60, 0x01, 0x01, 0x60, 0x00, 0x52, // PUSH1 1 ADD PUSH1 0 MSTORE
    0x60, 0x20, 0x60, 0x00, 0xf3, // PUSH1 32 PUSH1 0 RETURN
    0x5b, 0x60, 0x00, 0x80, 0xfd, // 0x26: JUMPDEST PUSH1 0 DUP1 REVERT
];

/// Everything one run produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// The frame's result.
    pub result: ExecResult,
    /// What the host saw, in order.
    pub effects: Vec<Effect>,
    /// The world afterwards (as before, when the frame failed).
    pub world: World,
}

/// A test case: code run at [`CONTRACT`] with `input` and `gas`, in a world that also has
/// [`CALLEE`] and a few storage slots set.
#[derive(Clone, Debug)]
pub struct Case<'a> {
    /// The contract's code.
    pub code: &'a [u8],
    /// Calldata.
    pub input: &'a [u8],
    /// The frame's gas limit.
    pub gas: i64,
    /// The revision.
    pub rev: Revision,
    /// Message flags (`FLAG_STATIC`).
    pub flags: u32,
}

impl<'a> Case<'a> {
    /// A plain call with ample gas at the latest revision.
    pub fn new(code: &'a [u8]) -> Self {
        Case {
            code,
            input: &[],
            gas: 1_000_000,
            rev: Revision::Osaka,
            flags: 0,
        }
    }
}

impl<'a> Case<'a> {
    /// A call with gas enough for all 1024 levels of nested calls (each keeps 1/64th).
    pub fn deep(code: &'a [u8], input: &'a [u8]) -> Self {
        Case {
            input,
            gas: 1_000_000_000_000,
            ..Case::new(code)
        }
    }
}

/// The world `case` runs in: its code at [`CONTRACT`], [`CALLEE`], two storage slots set.
pub fn world<'v>(vm: &'v dyn Vm, case: &Case<'_>) -> RecordingHost<'v> {
    let mut host = RecordingHost::new(vm, case.rev);
    host.set_account(
        address(CONTRACT),
        case.code.to_vec(),
        U256::from(1_000_000u64),
    );
    host.set_account(address(CALLEE), CALLEE_CODE.to_vec(), U256::ZERO);
    let mut one = [0u8; 32];
    one[31] = 1;
    host.set_slot(address(CONTRACT), B256(one), B256([0x11; 32]));
    host.set_slot(address(CONTRACT), B256([0x22; 32]), B256(one));
    host
}

/// The top-level message of `case`.
pub fn message<'a>(case: &Case<'a>) -> Message<'a> {
    Message {
        kind: CallKind::Call,
        flags: case.flags,
        depth: 0,
        gas: case.gas,
        recipient: address(CONTRACT),
        sender: address(0xa0),
        input: case.input,
        value: U256::from(5u64),
        create2_salt: B256::ZERO,
        code_address: address(CONTRACT),
    }
}

/// Runs `case` as a top-level frame on `vm` (nested frames too) and records what happened.
pub fn run(vm: &dyn Vm, case: &Case<'_>) -> Outcome {
    let mut host = world(vm, case);
    let msg = message(case);
    let before = host.world().clone();
    let result = vm.execute(&mut host, case.rev, &msg, case.code, None);
    let effects = std::mem::take(&mut host.effects);
    // A failed top-level frame is undone like a nested one: what it changed (a slot it warmed
    // just before running out of gas, say) is not observable and may differ between tiers.
    let world = if result.status == StatusCode::Success {
        host.into_world()
    } else {
        before
    };
    Outcome {
        result,
        effects,
        world,
    }
}

/// Runs `case` in the interpreter and on `vm` (another tier), and describes the
/// first difference.
pub fn compare(vm: &dyn Vm, case: &Case<'_>) -> Result<Outcome, String> {
    let want = run(&Interpreter, case);
    let got = run(vm, case);
    if want == got {
        return Ok(want);
    }
    let mut msg = format!(
        "tiers disagree on code {} (rev {:?}, gas {}):\n",
        ember_evm::to_hex(case.code),
        case.rev,
        case.gas
    );
    if want.result != got.result {
        msg += &format!(
            "  interpreter: {:?}\n  other tier:  {:?}\n",
            want.result, got.result
        );
    }
    if want.effects != got.effects {
        msg += &format!(
            "  interpreter effects: {:?}\n  other tier effects:  {:?}\n",
            want.effects, got.effects
        );
    }
    if want.world != got.world {
        msg += &format!(
            "  interpreter world: {:?}\n  other tier world:  {:?}\n",
            want.world, got.world
        );
    }
    Err(msg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callee_jumps_to_its_jumpdest() {
        let a = ember_evm::CodeAnalysis::new(CALLEE_CODE);
        assert!(a.is_jumpdest(0x26));
        assert_eq!(CALLEE_CODE[26], 0x57, "JUMPI");
    }
}
