//! The interpreter's two modes against each other: every program runs once through
//! `execute` (unchecked gas segments wherever their checks pass) and once instruction by
//! instruction through `step` (the checked semantics compiled code uses), nested frames
//! included, and everything must agree: status, gas left, refund, output and every effect on
//! the world. Gas limits are chosen around what each program needs, so that segments run out
//! of gas at their entry, inside them on a dynamic charge, and just not.

use ember_evm::{
    step, CodeAnalysis, ExecResult, Frame, Host, Interpreter, Message, Revision, Step, Vm, B256,
};
use ember_testkit::{compare, random_jump_program, random_program, run, Case, XorShift};

/// The interpreter one instruction at a time, through the single-step entry.
struct Stepped;

impl Vm for Stepped {
    fn execute(
        &self,
        host: &mut dyn Host,
        rev: Revision,
        msg: &Message<'_>,
        code: &[u8],
        _code_hash: Option<&B256>,
    ) -> ExecResult {
        let analysis = CodeAnalysis::new(code);
        let mut frame = Frame::new(msg, rev, analysis.code());
        let mut pc = 0;
        let status = loop {
            match step(&mut frame, &analysis, host, pc) {
                Step::Next(next) => pc = next,
                Step::Halt(status) => break status,
            }
        };
        frame.finish(status, host)
    }
}

/// Gas limits around what `code` needs at `rev` with ample gas.
fn gas_limits(code: &[u8], rev: Revision, rng: &mut XorShift) -> Vec<i64> {
    let ample = 1_000_000;
    let outcome = run(
        &Interpreter,
        &Case {
            gas: ample,
            rev,
            ..Case::new(code)
        },
    );
    let used = ample - outcome.result.gas_left;
    let mut limits = vec![ample, used, used - 1, used + 1, used / 2];
    limits.extend((0..4).map(|_| rng.below(used.max(1) as u64 + 1) as i64));
    limits.retain(|&g| g >= 0);
    limits
}

fn agree(code: &[u8], rng: &mut XorShift) {
    for rev in [
        Revision::Frontier,
        Revision::Byzantium,
        Revision::Istanbul,
        Revision::Shanghai,
        Revision::Osaka,
    ] {
        for gas in gas_limits(code, rev, rng) {
            let case = Case {
                gas,
                rev,
                ..Case::new(code)
            };
            if let Err(e) = compare(&Stepped, &case) {
                panic!("{e}");
            }
        }
    }
}

#[test]
fn random_programs_agree_at_every_gas_limit() {
    let mut rng = XorShift::new(0x5e6);
    for _ in 0..300 {
        let items = 1 + rng.below(60) as usize;
        let code = random_program(&mut rng, items);
        agree(&code, &mut rng);
    }
}

#[test]
fn jumpy_programs_agree_at_every_gas_limit() {
    let mut rng = XorShift::new(0x7e7);
    for _ in 0..100 {
        let blocks = 1 + rng.below(12) as usize;
        let code = random_jump_program(&mut rng, blocks);
        agree(&code, &mut rng);
    }
}

#[test]
fn segment_edges_agree() {
    // Each program is hex; run at every gas limit from 0 to what it needs.
    for code in [
        // Starts with a JUMPDEST; a segment-ending GAS right before a JUMPDEST.
        "5b600160025a5b01600052",
        // MSTORE (a dynamic charge) mid-segment, then GAS at its end.
        "6001610400525a50600051",
        // Stack underflow in the second instruction of a segment.
        "600101",
        // Stack overflow: 1025 pushes in one segment.
        &"5f".repeat(1025),
        // An undefined opcode before Shanghai (PUSH0) mid-segment.
        "60015f01",
        // An INVALID after some pushes.
        "60016002fe",
        // RETURNDATACOPY out of bounds (fails other than out of gas), then more.
        "600160006000 3e 6001",
        // A truncated PUSH at the end of the code.
        "600160",
    ] {
        let code = ember_evm::parse_hex(&code.replace(' ', "")).expect("valid hex");
        let case = Case::new(&code);
        let needed = 1_000_000 - run(&Interpreter, &case).result.gas_left;
        for rev in [Revision::Paris, Revision::Osaka] {
            for gas in 0..=needed.min(3000) + 1 {
                let case = Case {
                    gas,
                    rev,
                    ..Case::new(&code)
                };
                if let Err(e) = compare(&Stepped, &case) {
                    panic!("{e}");
                }
            }
        }
    }
}
