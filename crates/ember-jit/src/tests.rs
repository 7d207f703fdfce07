//! Unit tests of compilation, side exits and speculation on the compiled function itself.

use super::*;

#[test]
fn a_panic_inside_the_compiler_is_an_error() {
    FORCE_PANIC.with(|f| f.set(true));
    let r = compile(&[0x00], Revision::Cancun, &JitConfig::compile_everything());
    assert_eq!(
        r.unwrap_err(),
        CompileError::Panic("forced compiler panic".into())
    );
    // The next compilation is unaffected.
    assert!(compile(&[0x00], Revision::Cancun, &JitConfig::compile_everything()).is_ok());
}

use ember_evm::{step, Interpreter, StatusCode, Step, U256};
use ember_testkit::{address, assemble, RecordingHost};

fn message(gas: i64, input: &[u8]) -> Message<'_> {
    Message::call(address(0xa0), address(0x10), input, gas)
}

/// The frame state that matters for handing over: stack, gas, refund, memory.
type State = (Vec<U256>, i64, i64, Vec<u8>);

fn state(f: &Frame<'_>) -> State {
    (
        f.stack.as_slice().to_vec(),
        f.gas_left,
        f.gas_refund,
        f.memory.as_slice().to_vec(),
    )
}

/// Runs the compiled function once, without continuing in the interpreter, and returns
/// how it left and the frame it left behind.
fn run_native(src: &str, gas: i64, input: &[u8]) -> (Outcome, State) {
    run_native_with(src, gas, input, None)
}

/// `run_native` for code compiled against `spec`.
fn run_native_with(
    src: &str,
    gas: i64,
    input: &[u8],
    spec: Option<&Speculation>,
) -> (Outcome, State) {
    let code = assemble(src).unwrap();
    let analysis = Arc::new(CodeAnalysis::new(&code));
    let config = JitConfig::compile_everything();
    let c = compile_speculative(analysis, Revision::Cancun, &config, spec).unwrap();
    let msg = message(gas, input);
    let mut host = RecordingHost::new(&Interpreter, Revision::Cancun);
    let mut frame = Frame::new(&msg, c.rev, c.analysis.code());
    let entry = c.entry.load(Ordering::Acquire);
    // SAFETY: as in `CompiledContract::execute`: published code with the entry
    // signature, and pointers valid and exclusive for the call.
    let r = unsafe {
        let f = std::mem::transmute::<usize, EntryFn>(entry);
        let mut h: &mut dyn Host = &mut host;
        let input = frame.msg.input;
        f(
            &mut frame as *mut Frame<'_>,
            &mut h,
            &*c.analysis,
            input.as_ptr(),
            input.len() as u64,
        )
    };
    (decode(r), state(&frame))
}

/// Steps the interpreter from the start until it halts or `stop(pc)` holds before the
/// instruction at `pc`; returns how it halted (if it did) and its frame.
fn interpret(
    src: &str,
    gas: i64,
    input: &[u8],
    stop: impl Fn(usize) -> bool,
) -> (Option<StatusCode>, State) {
    let code = assemble(src).unwrap();
    let a = CodeAnalysis::new(&code);
    let msg = message(gas, input);
    let mut host = RecordingHost::new(&Interpreter, Revision::Cancun);
    let mut frame = Frame::new(&msg, Revision::Cancun, a.code());
    let mut at = 0;
    while !stop(at) {
        match step(&mut frame, &a, &mut host, at) {
            Step::Next(n) => at = n,
            Step::Halt(s) => return (Some(s), state(&frame)),
        }
    }
    (None, state(&frame))
}

/// The interpreter's frame just before it executes the instruction at `pc` (the first
/// time), stepping from the start.
fn interpreter_at(src: &str, gas: i64, input: &[u8], pc: usize) -> State {
    match interpret(src, gas, input, |at| at == pc) {
        (None, frame) => frame,
        (Some(s), _) => panic!("halted with {s:?} before reaching pc {pc}"),
    }
}

fn assert_hands_over(src: &str, gas: i64, input: &[u8], pc: usize) -> State {
    let (exit, native) = run_native(src, gas, input);
    assert_eq!(exit, Outcome::SideExit(pc), "{src}");
    assert_eq!(native, interpreter_at(src, gas, input, pc), "{src}");
    native
}

#[test]
fn side_exit_at_an_undefined_opcode_hands_over_the_stack_and_gas() {
    // PUSH1 1 PUSH1 2 ADD PUSH1 7 <0x0c>
    let s = assert_hands_over("PUSH1 1 PUSH1 2 ADD PUSH1 7 0x0c", 100, &[], 7);
    assert_eq!(s.0, [U256::from(3), U256::from(7)]);
    assert_eq!(s.1, 100 - 12);
}

#[test]
fn side_exit_at_block_entry_when_gas_is_short_leaves_gas_untouched() {
    let src = "PUSH1 1 &b JUMP :b PUSH1 2 PUSH1 3 ADD ADD PUSH1 0 SSTORE STOP";
    // First block: 3 + 3 + 8 = 14; the second needs 1 + 3 + 3 + 3 + 3 + 3 = 16 more.
    let s = assert_hands_over(src, 14 + 15, &[], 6);
    assert_eq!((s.0.as_slice(), s.1), (&[U256::from(1)][..], 15));
    // With one more unit the block runs natively up to the SSTORE, which fails inside
    // the builtin, a halt rather than an exit.
    assert_eq!(
        run_native(src, 14 + 16, &[]).0,
        Outcome::Halt(StatusCode::OutOfGas)
    );
}

#[test]
fn side_exit_at_block_entry_on_stack_underflow() {
    let s = assert_hands_over("PUSH1 1 &b JUMP :b ADD STOP", 1000, &[], 6);
    assert_eq!(s.0, [U256::from(1)]);
}

#[test]
fn side_exit_after_a_builtin_whose_dynamic_gas_leaves_too_little() {
    // KECCAK256 of 32 bytes at 0x2000 costs 30 + 6 + memory for 257 words
    // (3 * 257 + 257^2 / 512 = 900). The block's static gas is 47; after the builtin 5 gas
    // are left, and the rest of the block (POP PUSH1 PUSH1 ADD) needs 11.
    let src = "PUSH1 32 PUSH2 0x2000 KECCAK256 POP PUSH1 1 PUSH1 2 ADD STOP";
    let s = assert_hands_over(src, 47 + 6 + 900 + 5 - 11, &[], 6);
    assert_eq!(s.1, 5);
    assert_eq!(s.3.len(), 0x2020);
}

#[test]
fn inline_memory_access_short_of_gas_for_its_expansion_halts_out_of_gas_in_place() {
    // MSTORE at 0x2000 needs 900 for memory after the block's static gas of 18. With 899
    // the interpreter still pays for it out of the gas of the instructions after it, runs
    // the two PUSHes and runs out of gas at the ADD; compiled code knows the frame is lost
    // and halts out of gas at the MSTORE, nothing but the (discarded) memory differing.
    // With exactly enough the block runs natively to its end.
    let src = "PUSH1 9 PUSH2 0x2000 MSTORE PUSH1 1 PUSH1 2 ADD STOP";
    let (exit, _) = run_native(src, 18 + 899, &[]);
    assert_eq!(exit, Outcome::Halt(StatusCode::OutOfGas));
    let (status, interpreted) = interpreter_end(src, 18 + 899, &[]);
    assert_eq!(status, StatusCode::OutOfGas);
    assert_eq!(
        interpreted.3.len(),
        0x2020,
        "the interpreter grew memory first"
    );
    let (exit, native) = run_native(src, 18 + 900, &[]);
    assert_eq!(exit, Outcome::Halt(StatusCode::Success));
    assert_eq!((native.1, native.3.len()), (0, 0x2020));
    assert_eq!(native.3[0x201f], 9);
    // An SLOAD after it changes nothing: all it does (a slot marked warm) the failure undoes.
    let src = "PUSH1 9 PUSH2 0x2000 MSTORE PUSH1 1 SLOAD STOP";
    let (exit, _) = run_native(src, 1000, &[]);
    assert_eq!(exit, Outcome::Halt(StatusCode::OutOfGas));
    assert_eq!(interpreter_end(src, 1000, &[]).0, StatusCode::OutOfGas);
}

#[test]
fn inline_memory_access_short_of_gas_before_an_account_read_halts_out_of_gas_in_place() {
    // BALANCE and EXTCODESIZE only read (and mark the account warm, which the failure
    // reverts), as SLOAD does: the frame is lost at the MSTORE in compiled code too.
    for read in ["BALANCE", "EXTCODESIZE"] {
        let src = format!("PUSH1 9 PUSH2 0x2000 MSTORE PUSH1 1 {read} STOP");
        let (exit, _) = run_native(&src, 1000, &[]);
        assert_eq!(exit, Outcome::Halt(StatusCode::OutOfGas), "{src}");
        assert_eq!(interpreter_end(&src, 1000, &[]).0, StatusCode::OutOfGas);
    }
}

#[test]
fn inline_memory_access_short_of_gas_before_a_lasting_effect_hands_over_before_it() {
    // An SSTORE (or a CALL, a LOG) after the MSTORE may run, and be seen by the host, before
    // the frame runs out of gas: the interpreter takes over at the MSTORE with memory
    // untouched and the gas before it. As the last instruction of the block the SSTORE is
    // only reached if everything before it is paid for: compiled code halts in place.
    // The block's static gas is 15 and the expansion costs 900.
    let src = "PUSH1 9 PUSH2 0x2000 MSTORE PUSH1 1 PUSH1 2 SSTORE STOP";
    let s = assert_hands_over(src, 15 + 899, &[], 5);
    assert_eq!(s.0, [U256::from(9), U256::from(0x2000)]);
    assert_eq!((s.1, s.3.len()), (15 + 899 - 6, 0));
    let src = "PUSH1 9 PUSH2 0x2000 MSTORE PUSH1 1 PUSH1 2 SSTORE";
    let (exit, _) = run_native(src, 15 + 899, &[]);
    assert_eq!(exit, Outcome::Halt(StatusCode::OutOfGas));
    assert_eq!(interpreter_end(src, 15 + 899, &[]).0, StatusCode::OutOfGas);
}

#[test]
fn inline_memory_access_at_an_offset_past_the_limit_halts_out_of_gas_in_place() {
    // 2^32 and above, as a constant or not, whatever follows: the interpreter fails right
    // there too.
    for src in [
        "PUSH1 1 PUSH5 0x0100000000 MSTORE PUSH1 1 PUSH1 1 SSTORE STOP",
        "PUSH1 1 PUSH1 0 CALLDATALOAD MLOAD PUSH1 1 PUSH1 1 SSTORE STOP",
    ] {
        let input = words(&[1 << 40]);
        let (exit, _) = run_native(src, 100_000, &input);
        assert_eq!(exit, Outcome::Halt(StatusCode::OutOfGas), "{src}");
        assert_eq!(
            interpreter_end(src, 100_000, &input).0,
            StatusCode::OutOfGas
        );
    }
}

/// The interpreter's frame when it halts, and how it halted.
fn interpreter_end(src: &str, gas: i64, input: &[u8]) -> (StatusCode, State) {
    let (status, frame) = interpret(src, gas, input, |_| false);
    (status.expect("runs until it halts"), frame)
}

#[test]
fn memory_known_in_a_block_survives_growth_by_builtins_and_inline_code() {
    // One block: constant-offset accesses inside what earlier ones proved need no check;
    // between them memory grows through `step` (CALLDATACOPY), a frame builtin (KECCAK256)
    // and the inline growth path, each of which may move the buffer, and a dynamic offset
    // takes the checked path in the middle. The six words left on the stack are stored at
    // the end (a halted frame's stack is not written back).
    let src = "PUSH1 0x11 PUSH1 0 MSTORE PUSH1 0x22 PUSH1 0 MSTORE \
               PUSH2 0x1000 PUSH1 0 PUSH2 0x4000 CALLDATACOPY \
               PUSH1 0x33 PUSH1 0 MSTORE PUSH1 0 MLOAD \
               PUSH1 0 CALLDATALOAD MLOAD \
               PUSH1 0x44 PUSH3 0x010000 MSTORE PUSH1 0x55 PUSH1 0x20 MSTORE8 \
               PUSH1 32 PUSH1 0 KECCAK256 PUSH1 0x66 PUSH2 0x7fe0 MSTORE \
               PUSH1 32 PUSH3 0x040000 KECCAK256 \
               PUSH1 0x77 PUSH1 0x40 MSTORE PUSH1 0x20 MLOAD PUSH2 0x7fe0 MLOAD \
               PUSH2 0x9000 MSTORE PUSH2 0x9020 MSTORE PUSH2 0x9040 MSTORE \
               PUSH2 0x9060 MSTORE PUSH2 0x9080 MSTORE PUSH2 0x90a0 MSTORE STOP";
    let mut input = words(&[0x4000]);
    input.extend((0..64).map(|i| i as u8 + 1));
    let gas = 10_000_000;
    let (exit, native) = run_native(src, gas, &input);
    assert_eq!(
        exit,
        Outcome::Halt(StatusCode::Success),
        "ran natively to its end"
    );
    let (status, interpreted) = interpreter_end(src, gas, &input);
    assert_eq!(status, StatusCode::Success);
    // Compared part by part: the memory is 256 KiB.
    assert_eq!((native.1, native.2), (interpreted.1, interpreted.2));
    assert_eq!(native.3.len(), interpreted.3.len());
    let differ = (0..native.3.len()).find(|&i| native.3[i] != interpreted.3[i]);
    assert_eq!(differ, None, "the first byte of memory that differs");
    assert_eq!(native.3.len(), 0x040020);
    assert_eq!(native.3[0x1f], 0x33);
    assert_eq!(
        (native.3[0x90bf], native.3[0x901f]),
        (0x33, 0x66),
        "MLOADs stored"
    );
}

#[test]
fn a_block_longer_than_one_llvm_block_runs_and_hands_over_as_the_interpreter_does() {
    // 100 rounds of PUSH1 i PUSH1 j MSTORE PUSH1 i DUP1 ADD POP (700 instructions, one EVM
    // block, emitted as several LLVM blocks), then an MSTORE at 0x4000.
    let mut src: String = (0..100u32)
        .map(|i| {
            format!(
                "PUSH1 {} PUSH1 {} MSTORE PUSH1 {} DUP1 ADD POP ",
                i,
                (i % 8) * 32,
                i
            )
        })
        .collect();
    src.push_str("PUSH1 7 PUSH2 0x4000 MSTORE STOP");
    let (exit, native) = run_native(&src, 1_000_000, &[]);
    assert_eq!(exit, Outcome::Halt(StatusCode::Success));
    let (status, interpreted) = interpreter_end(&src, 1_000_000, &[]);
    assert_eq!(status, StatusCode::Success);
    assert_eq!((native.1, &native.3), (interpreted.1, &interpreted.3));
    assert_eq!(native.3[0x401f], 7);
    // Without the gas for the last expansion the frame fails out of gas there, in compiled
    // code as in the interpreter.
    let static_gas = 100 * (3 + 3 + 3 + 3 + 3 + 3 + 2) + 3 + 3 + 3 + 3 * 8;
    let (exit, _) = run_native(&src, static_gas + 100, &[]);
    assert_eq!(exit, Outcome::Halt(StatusCode::OutOfGas));
    assert_eq!(
        interpreter_end(&src, static_gas + 100, &[]).0,
        StatusCode::OutOfGas
    );
    // With an SSTORE after it, the interpreter takes over at that MSTORE (pc 10 * 100 + 2 +
    // 3) with the exact state.
    let src = src.replace("MSTORE STOP", "MSTORE PUSH1 1 PUSH1 1 SSTORE STOP");
    let s = assert_hands_over(&src, static_gas + 6 + 100, &[], 1005);
    assert_eq!(s.3.len(), 256);
}

/// Runs `src` natively to its end and checks gas and memory against the interpreter's, and
/// that the word at 0 is `word`.
fn assert_native_run_stores(src: &str, word: u8) {
    let (exit, native) = run_native(src, 100_000, &[]);
    assert_eq!(exit, Outcome::Halt(StatusCode::Success), "{src}");
    let (_, interpreted) = interpreter_end(src, 100_000, &[]);
    assert_eq!(
        (native.1, &native.3),
        (interpreted.1, &interpreted.3),
        "{src}"
    );
    assert_eq!(native.3[31], word, "{src}");
}

#[test]
fn entry_constants_overwritten_by_a_builtin_are_read_again() {
    // The block at :b starts with 5, 3, 2 proven on the stack. EXP runs in a builtin on the
    // frame's array: it consumes the 2 and the 3 and leaves 8 where the 3 was, so the ADD
    // must read 8 there (13, not 5 + 3), while the 5 below is still the entry constant.
    assert_native_run_stores("PUSH1 5 PUSH1 3 PUSH1 2 :b EXP ADD PUSH1 0 MSTORE STOP", 13);
    // Entry constants swapped, then written back by the flush before a builtin: after it the
    // SUB reads the swapped slots (5 - 3), not the entry's order.
    assert_native_run_stores(
        "PUSH1 5 PUSH1 3 :b SWAP1 PUSH1 1 PUSH1 1 EXP POP SUB PUSH1 0 MSTORE STOP",
        2,
    );
}

#[test]
fn side_exit_at_a_dynamic_jump_to_a_bad_target_keeps_the_operand() {
    let mut input = [0u8; 32];
    input[31] = 5;
    let s = assert_hands_over("PUSH1 0 CALLDATALOAD JUMP :x STOP", 1000, &input, 3);
    assert_eq!(s.0, [U256::from(5)]);
    // A good dynamic target runs natively to the end.
    input[31] = 4;
    assert_eq!(
        run_native("PUSH1 0 CALLDATALOAD JUMP :x STOP", 1000, &input).0,
        Outcome::Halt(StatusCode::Success)
    );
}

/// A dynamic JUMP at pc 3 (target = first calldata word), a dynamic JUMPI at pc 11
/// (target = second word, condition = third word), JUMPDESTs at 4, 12 (STOP) and 14
/// (SSTORE).
const TWO_SITES: &str = "PUSH1 0 CALLDATALOAD JUMP :a PUSH1 64 CALLDATALOAD PUSH1 32 \
                         CALLDATALOAD JUMPI :b STOP :c PUSH1 1 PUSH1 0 SSTORE STOP";

fn words(ws: &[u64]) -> Vec<u8> {
    ws.iter()
        .flat_map(|&w| U256::from(w).to_be_bytes::<32>())
        .collect()
}

#[test]
fn recompile_exits_hand_over_the_state_before_the_jump() {
    let mut spec = Speculation::new();
    spec.record_taken(3, 4);
    spec.record_taken(11, 14);
    // Seen targets run natively to the end.
    let seen = words(&[4, 14, 1]);
    assert_eq!(
        run_native_with(TWO_SITES, 100_000, &seen, Some(&spec)).0,
        Outcome::Halt(StatusCode::Success)
    );
    // An unseen target at the JUMP: exit at 3 with the target still on the stack.
    let input = words(&[12, 14, 1]);
    let (exit, native) = run_native_with(TWO_SITES, 100_000, &input, Some(&spec));
    assert_eq!(exit, Outcome::Recompile(3));
    assert_eq!(native, interpreter_at(TWO_SITES, 100_000, &input, 3));
    assert_eq!(native.0, [U256::from(12)]);
    // An unseen target at the JUMPI: exit at 11 with both operands.
    let input = words(&[4, 12, 1]);
    let (exit, native) = run_native_with(TWO_SITES, 100_000, &input, Some(&spec));
    assert_eq!(exit, Outcome::Recompile(11));
    assert_eq!(native, interpreter_at(TWO_SITES, 100_000, &input, 11));
    assert_eq!(native.0, [U256::from(1), U256::from(12)]);
    // A JUMPI that does not jump never exits, whatever its target.
    let input = words(&[4, 14, 0]);
    assert_eq!(
        run_native_with(TWO_SITES, 100_000, &input, Some(&spec)).0,
        Outcome::Halt(StatusCode::Success)
    );
}

#[test]
fn unprofiled_sites_exit_at_the_jump() {
    // Only the JUMP ran; the JUMPI exits as a whole, even with a false condition.
    let mut spec = Speculation::new();
    spec.record_taken(3, 4);
    let input = words(&[4, 14, 0]);
    let (exit, native) = run_native_with(TWO_SITES, 100_000, &input, Some(&spec));
    assert_eq!(exit, Outcome::Recompile(11));
    assert_eq!(native, interpreter_at(TWO_SITES, 100_000, &input, 11));
    // An empty profile: the JUMP exits.
    let (exit, native) = run_native_with(TWO_SITES, 100_000, &input, Some(&Speculation::new()));
    assert_eq!(exit, Outcome::Recompile(3));
    assert_eq!(native, interpreter_at(TWO_SITES, 100_000, &input, 3));
    // A JUMPI that ran but never jumped falls through natively and exits when it jumps.
    spec.record_not_taken(11);
    assert_eq!(
        run_native_with(TWO_SITES, 100_000, &input, Some(&spec)).0,
        Outcome::Halt(StatusCode::Success)
    );
    let input = words(&[4, 14, 7]);
    let (exit, native) = run_native_with(TWO_SITES, 100_000, &input, Some(&spec));
    assert_eq!(exit, Outcome::Recompile(11));
    assert_eq!(native, interpreter_at(TWO_SITES, 100_000, &input, 11));
    // Without a speculation the same code never asks for a recompile.
    assert_eq!(
        run_native(TWO_SITES, 100_000, &input).0,
        Outcome::Halt(StatusCode::Success)
    );
}

#[test]
fn speculation_stats_count_sites_and_exits() {
    let code = assemble(TWO_SITES).unwrap();
    let analysis = Arc::new(CodeAnalysis::new(&code));
    let config = JitConfig::compile_everything();
    let stats = |spec: Option<&Speculation>| {
        let c =
            compile_speculative(Arc::clone(&analysis), Revision::Cancun, &config, spec).unwrap();
        (c.speculation_stats(), c.is_speculative())
    };
    // Blocks at 0, 4 (a), 12 (b) and 14 (c); the dispatch may reach every JUMPDEST.
    let none = SpeculationStats {
        table_sites: 2,
        compiled_blocks: 4,
        ..SpeculationStats::default()
    };
    assert_eq!(stats(None), (none, false));
    let mut spec = Speculation::new();
    spec.sites.insert(3, SiteProfile::Megamorphic);
    spec.sites.insert(11, SiteProfile::Megamorphic);
    assert_eq!(stats(Some(&spec)), (none, false));
    // 5 is no JUMPDEST and is dropped; c is reached by nothing but exits.
    spec.sites.insert(11, SiteProfile::Targets(vec![12]));
    spec.sites.insert(3, SiteProfile::Targets(vec![4, 5]));
    let guarded = SpeculationStats {
        guarded_sites: 2,
        recompile_exits: 2,
        compiled_blocks: 3,
        ..SpeculationStats::default()
    };
    assert_eq!(stats(Some(&spec)), (guarded, true));
    // Nothing ran: the first JUMP exits, and nothing after it is compiled.
    let unprofiled = SpeculationStats {
        unprofiled_sites: 1,
        recompile_exits: 1,
        compiled_blocks: 1,
        ..SpeculationStats::default()
    };
    assert_eq!(stats(Some(&Speculation::new())), (unprofiled, true));
}

#[test]
fn execute_observed_reports_each_exit_once_with_its_kind() {
    let code = assemble(TWO_SITES).unwrap();
    let analysis = Arc::new(CodeAnalysis::new(&code));
    let config = JitConfig::compile_everything();
    let mut spec = Speculation::new();
    spec.record_taken(3, 4);
    spec.record_taken(11, 14);
    let c = compile_speculative(analysis, Revision::Cancun, &config, Some(&spec)).unwrap();
    let run = |input: &[u8]| {
        let msg = message(100_000, input);
        let mut host = RecordingHost::new(&Interpreter, Revision::Cancun);
        let mut exits = Vec::new();
        let r = c.execute_observed(&mut host, &msg, &mut |e| exits.push(e));
        let mut want_host = RecordingHost::new(&Interpreter, Revision::Cancun);
        let want = execute_analyzed(&mut want_host, Revision::Cancun, &msg, &c.analysis);
        assert_eq!(r, want);
        assert_eq!(host.effects, want_host.effects);
        exits
    };
    assert_eq!(run(&words(&[4, 14, 1])), []);
    let recompile = |pc| SideExit {
        pc,
        kind: ExitKind::Recompile,
    };
    assert_eq!(run(&words(&[12, 14, 1])), [recompile(3)]);
    assert_eq!(run(&words(&[4, 12, 1])), [recompile(11)]);
    // A bad destination at a guarded site fails in the interpreter: not a profile miss.
    let fallback = |pc| SideExit {
        pc,
        kind: ExitKind::Fallback,
    };
    assert_eq!(run(&words(&[5, 14, 1])), [fallback(3)]);
    assert_eq!(run(&words(&[4, 1 << 40, 1])), [fallback(11)]);
    assert_eq!(run(&words(&[4, 5, 0])), []);
    assert_eq!(c.exit_counts(), (2, 4));
    assert_eq!(c.recompile_exit_count(), 2);
    // Gas for the first two blocks only: a fallback exit at the entry of the one at 14.
    let input = words(&[4, 14, 1]);
    let msg = message((3 + 3 + 8) + (1 + 3 + 3 + 3 + 3 + 10), &input);
    let mut host = RecordingHost::new(&Interpreter, Revision::Cancun);
    let mut exits = Vec::new();
    let r = c.execute_observed(&mut host, &msg, &mut |e| exits.push(e));
    assert_eq!(exits, [fallback(14)]);
    assert_eq!(r.status, StatusCode::OutOfGas);
}

#[test]
fn execute_observed_reports_fallback_exits_at_their_pc() {
    let cases: [(&str, u32); 4] = [
        // An undefined opcode at 7.
        ("PUSH1 1 PUSH1 2 ADD PUSH1 7 0x0c", 7),
        // A constant jump to a bad destination at 6.
        ("PUSH1 1 PUSH1 2 PUSH1 5 JUMPI STOP", 6),
        // A dynamic jump to a bad destination, through the dispatch, at 3.
        ("PUSH1 0 CALLDATALOAD JUMP :x STOP", 3),
        // Stack underflow at the entry of the block at 5.
        ("PUSH1 1 &b JUMP :b ADD ADD STOP", 6),
    ];
    for (src, pc) in cases {
        let code = assemble(src).unwrap();
        let c = compile(&code, Revision::Cancun, &JitConfig::compile_everything()).unwrap();
        let input = words(&[5]);
        let msg = message(1000, &input);
        let mut host = RecordingHost::new(&Interpreter, Revision::Cancun);
        let mut exits = Vec::new();
        let r = c.execute_observed(&mut host, &msg, &mut |e| exits.push(e));
        assert_eq!(
            exits,
            [SideExit {
                pc,
                kind: ExitKind::Fallback
            }],
            "{src}"
        );
        let mut want_host = RecordingHost::new(&Interpreter, Revision::Cancun);
        assert_eq!(
            r,
            ember_evm::execute(&mut want_host, Revision::Cancun, &msg, &code)
        );
        assert_eq!(c.recompile_exit_count(), 0);
        assert!(!c.is_speculative());
    }
}

#[test]
fn resident_bytes_and_code_symbols_describe_the_code() {
    let code = assemble(TWO_SITES).unwrap();
    let c = compile(&code, Revision::Cancun, &JitConfig::compile_everything()).unwrap();
    let pages: usize = c.regions().iter().map(|r| r.len()).sum();
    assert!(pages >= 4096);
    assert_eq!(
        c.resident_bytes(),
        pages + std::mem::size_of::<CompiledContract>()
    );
    let symbols = c.code_symbols();
    assert_eq!(symbols.len(), 1);
    let (start, len) = symbols[0];
    assert_eq!(start, c.entry.load(Ordering::Acquire));
    assert!(len > 0 && len <= c.stats().code_bytes, "{len}");
    let text = c
        .regions()
        .iter()
        .find(|r| r.protection() == Protection::ReadExecute)
        .expect("an executable region");
    let base = text.as_ptr() as usize;
    assert!(base <= start && start + len <= base + text.len());
}

#[test]
#[cfg(target_arch = "x86_64")]
fn the_native_frame_is_read_from_the_prologue() {
    // push rbp; push r15; push r14; push r13; push r12; push rbx; sub rsp, 0x232b8
    let prologue = [
        0x55, 0x41, 0x57, 0x41, 0x56, 0x41, 0x55, 0x41, 0x54, 0x53, 0x48, 0x81, 0xec, 0xb8, 0x32,
        0x02, 0x00, 0x48, 0x89,
    ];
    assert_eq!(native_frame_bytes(&prologue, 100), 8 + 6 * 8 + 0x232b8);
    // push rbx; sub rsp, 0x20
    assert_eq!(
        native_frame_bytes(&[0x53, 0x48, 0x83, 0xec, 0x20], 100),
        8 + 8 + 0x20
    );
    // Shapes it does not know fall back to the bound from the code size.
    assert_eq!(native_frame_bytes(&[0x55, 0x90, 0xc3], 100), 800);
    assert_eq!(native_frame_bytes(&[], 100), 800);
    // A compiled contract's frame holds at least its return address and its spill slots.
    let code = assemble(TWO_SITES).unwrap();
    let c = compile(&code, Revision::Cancun, &JitConfig::compile_everything()).unwrap();
    assert!(c.native_frame_bytes() > 64, "{}", c.native_frame_bytes());
    assert!(c.native_frame_bytes() <= 8 * c.stats().code_bytes);
}

#[test]
fn side_exit_at_a_constant_bad_jump_and_at_invalid() {
    assert_hands_over("PUSH1 1 PUSH1 2 PUSH1 5 JUMPI STOP", 1000, &[], 6);
    assert_hands_over("PUSH1 1 PUSH1 2 INVALID", 1000, &[], 4);
}

/// The mappings of this process: (start, end, permissions).
fn mappings() -> Vec<(usize, usize, String)> {
    std::fs::read_to_string("/proc/self/maps")
        .unwrap()
        .lines()
        .map(|l| {
            let mut parts = l.split_whitespace();
            let range = parts.next().unwrap();
            let perms = parts.next().unwrap().to_owned();
            let (a, b) = range.split_once('-').unwrap();
            (
                usize::from_str_radix(a, 16).unwrap(),
                usize::from_str_radix(b, 16).unwrap(),
                perms,
            )
        })
        .collect()
}

#[test]
fn code_heap_pages_are_never_writable_and_executable() {
    let heap = CodeHeap::new(16 << 20).unwrap();
    let config = JitConfig {
        heap: Some(Arc::clone(&heap)),
        ..JitConfig::compile_everything()
    };
    let code = assemble("PUSH1 0 CALLDATALOAD PUSH1 3 SHL PUSH1 0 MSTORE PUSH1 32 PUSH1 0 RETURN")
        .unwrap();
    let contracts: Vec<_> = (0..3)
        .map(|_| compile(&code, Revision::Cancun, &config).unwrap())
        .collect();
    let base = heap.base() as usize;
    let end = base + heap.size();
    let maps = mappings();
    let in_heap: Vec<_> = maps
        .iter()
        .filter(|(a, b, _)| *a < end && *b > base)
        .collect();
    for (a, b, p) in &in_heap {
        assert!(
            !(p.contains('w') && p.contains('x')),
            "{a:x}-{b:x} {p} is writable and executable"
        );
    }
    for c in &contracts {
        let entry = c.entry.load(Ordering::Acquire);
        assert!(heap.contains(entry));
        let (_, _, p) = in_heap
            .iter()
            .find(|(a, b, _)| (*a..*b).contains(&entry))
            .expect("the entry point is mapped");
        assert_eq!(p.as_str(), "r-xp", "code pages are read+execute");
        let region = c
            .regions()
            .iter()
            .find(|r| (r.as_ptr() as usize..r.as_ptr() as usize + r.len()).contains(&entry))
            .expect("the entry point is in one of the contract's regions");
        assert_eq!(region.protection(), Protection::ReadExecute);
        // And the code runs.
        let msg = message(1000, &[]);
        let mut host = RecordingHost::new(&Interpreter, Revision::Cancun);
        assert_eq!(c.execute(&mut host, &msg).status, StatusCode::Success);
    }
    // Dropping a contract gives its pages back.
    let before = heap.free_bytes();
    let freed: usize = contracts[0].regions().iter().map(|r| r.len()).sum();
    drop(contracts);
    assert!(heap.free_bytes() >= before + freed);
    assert_eq!(heap.free_bytes(), heap.size());
}

#[test]
fn a_full_code_heap_is_a_clean_compile_error() {
    let heap = CodeHeap::new(64 << 10).unwrap();
    let config = JitConfig {
        heap: Some(Arc::clone(&heap)),
        ..JitConfig::compile_everything()
    };
    match compile(&[0x00], Revision::Cancun, &config) {
        Err(CompileError::Heap(e)) => assert!(e.contains("exhausted"), "{e}"),
        other => panic!("expected a heap error, got {other:?}"),
    }
    assert_eq!(heap.free_bytes(), heap.size(), "nothing stays allocated");
}

#[test]
fn rejected_contracts_run_in_the_interpreter_with_the_reason_kept() {
    // Under the default gates a 10-byte contract is too small to compile.
    let code = assemble("PUSH1 2 PUSH1 3 ADD PUSH1 0 SSTORE STOP").unwrap();
    let jit = JitVm::new(JitConfig::default());
    let err = jit.lookup(&code, Revision::Cancun, None).unwrap_err();
    assert!(matches!(
        *err,
        CompileError::Rejected(Rejection::TooSmall { .. })
    ));
    let msg = message(100_000, &[]);
    let mut a = RecordingHost::new(&Interpreter, Revision::Cancun);
    let mut b = RecordingHost::new(&Interpreter, Revision::Cancun);
    let want = ember_evm::execute(&mut a, Revision::Cancun, &msg, &code);
    let got = ember_evm::Vm::execute(&jit, &mut b, Revision::Cancun, &msg, &code, None);
    assert_eq!(want, got);
    assert_eq!(a.effects, b.effects);
    assert_eq!(jit.stats().interpreted_runs, 1);
    assert_eq!(jit.stats().interpreter_only, 1);
}

#[test]
fn opt_level_names() {
    assert_eq!(OptLevel::from_name("O2"), Some(OptLevel::O2));
    assert_eq!(OptLevel::from_name("0"), Some(OptLevel::O0));
    assert_eq!(OptLevel::from_name("fast"), None);
}

#[test]
fn a_thread_keeps_one_target_machine_per_kind() {
    init_llvm().unwrap();
    let fast = host_target(CodeModel::Small, OptimizationLevel::None).unwrap();
    let again = host_target(CodeModel::Small, OptimizationLevel::None).unwrap();
    assert!(Rc::ptr_eq(&fast, &again));
    let less = host_target(CodeModel::Small, OptimizationLevel::Less).unwrap();
    let large = host_target(CodeModel::Large, OptimizationLevel::None).unwrap();
    assert!(!Rc::ptr_eq(&fast, &less) && !Rc::ptr_eq(&fast, &large));
    // Another thread makes its own.
    let other = std::thread::spawn(|| {
        let t = host_target(CodeModel::Small, OptimizationLevel::None).unwrap();
        Rc::as_ptr(&t) as usize
    })
    .join()
    .unwrap();
    assert_ne!(other, Rc::as_ptr(&fast) as usize);
    // Compiles on this thread go on working with the kept machines.
    let c = compile(
        &[0x60, 1, 0x60, 2, 0x01, 0x00],
        Revision::Cancun,
        &JitConfig::compile_everything(),
    );
    assert!(c.is_ok());
}

#[test]
fn builtin_calls_carry_what_llvm_may_assume_of_them() {
    // DIV of variable operands calls its pure builtin, which touches only its argument slots;
    // an MSTORE beyond memory may grow it (any memory, but it returns); SLOAD calls the host.
    let code = assemble(
        "PUSH1 0 CALLDATALOAD PUSH1 32 CALLDATALOAD DIV PUSH2 0x1000 MSTORE \
         PUSH1 1 SLOAD POP STOP",
    )
    .unwrap();
    let analysis = CodeAnalysis::new(&code);
    let ctx = Context::create();
    let module = ctx.create_module("attributes");
    let target = codegen::Target {
        cpu: "",
        features: "",
        optimising: false,
    };
    codegen::build(&ctx, &module, &analysis, Revision::Cancun, target, None).unwrap();
    module.verify().unwrap();
    let ir = module.print_to_string().to_string();
    // Attribute groups (`#n`) are printed after the functions, one per line.
    let group_of = |call_marker: &str| -> String {
        let line = ir
            .lines()
            .find(|l| l.contains("call") && l.contains(call_marker))
            .unwrap_or_else(|| panic!("no call with {call_marker} in\n{ir}"));
        let id = line.rsplit('#').next().unwrap().trim().to_string();
        ir.lines()
            .find(|l| l.starts_with(&format!("attributes #{id} ")))
            .unwrap_or_else(|| panic!("no attribute group #{id}"))
            .to_string()
    };
    let pure = group_of("(ptr %args, ptr %out)");
    assert!(
        pure.contains("nounwind")
            && pure.contains("willreturn")
            && pure.contains("memory(argmem: readwrite)"),
        "{pure}"
    );
    let grow = group_of("i64 4128)");
    assert!(
        grow.contains("nounwind") && grow.contains("willreturn"),
        "{grow}"
    );
    assert!(!grow.contains("memory("), "{grow}");
    let host = group_of("(ptr %0, ptr %1)");
    assert!(
        host.contains("nounwind") && !host.contains("willreturn"),
        "{host}"
    );
}
