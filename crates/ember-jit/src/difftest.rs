//! JIT-specific differential testing: jump profiles for speculation, random speculations, a
//! [`Vm`] running one compiled contract, and the differential fuzzing input. Built for tests
//! and with the `testing` feature only; the general test support (host, assembler, program
//! generators, cases) is in `ember-testkit`.

use crate::speculation::{SiteProfile, Speculation, MAX_SPECULATED_TARGETS};
use crate::{compile_speculative, CompiledContract, JitVm, OptLevel, SideExit};
use ember_evm::{
    keccak256, CodeAnalysis, ExecResult, Host, Interpreter, Message, Revision, Vm, B256,
};
use ember_testkit::{
    compare, message, random_jump_program, random_program, world, Case, Outcome, XorShift,
};
use std::sync::{Arc, Mutex};

/// Runs `case`'s top-level frame in the interpreter (nested frames too) and returns where its
/// jumps went, as a profile to compile against: what a [`crate::JumpRecorder`] records from
/// [`ember_evm::execute_observed`].
///
/// The frame is stepped instruction by instruction instead: `execute_observed` is generic
/// over the observer, and instantiating the interpreter's loop in this crate changes how
/// LLVM inlines the helpers into the compiled code's builtins, which slows compiled code.
pub fn profile(case: &Case<'_>) -> Speculation {
    use ember_evm::opcodes::{JUMP, JUMPI};
    let mut host = world(&Interpreter, case);
    let msg = message(case);
    let analysis = CodeAnalysis::new(case.code);
    let mut frame = ember_evm::Frame::new(&msg, case.rev, analysis.code());
    let mut spec = Speculation::new();
    let mut pc = 0;
    loop {
        let op = analysis.code().get(pc).copied();
        let jumps = match (op, frame.stack.as_slice()) {
            (Some(JUMP), _) => true,
            (Some(JUMPI), [.., cond, _]) => !cond.is_zero(),
            _ => false,
        };
        match ember_evm::step(&mut frame, &analysis, &mut host, pc) {
            ember_evm::Step::Next(next) => {
                if jumps {
                    spec.record_taken(pc, next);
                } else if op == Some(JUMPI) {
                    spec.record_not_taken(pc);
                }
                pc = next;
            }
            ember_evm::Step::Halt(_) => return spec,
        }
    }
}

/// A [`Vm`] that runs frames of one compiled contract's code (at its revision) natively,
/// through [`CompiledContract::execute_observed`], and every other frame in the interpreter;
/// it keeps the side exits the contract reported.
pub struct ContractVm<'c> {
    contract: &'c CompiledContract,
    exits: Mutex<Vec<SideExit>>,
}

impl<'c> ContractVm<'c> {
    /// A VM running `contract` for its own code.
    pub fn new(contract: &'c CompiledContract) -> Self {
        ContractVm {
            contract,
            exits: Mutex::new(Vec::new()),
        }
    }

    /// The side exits reported so far, in order; empties the list.
    pub fn take_exits(&self) -> Vec<SideExit> {
        std::mem::take(&mut *self.exits.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

impl Vm for ContractVm<'_> {
    fn execute(
        &self,
        host: &mut dyn Host,
        rev: Revision,
        msg: &Message<'_>,
        code: &[u8],
        _code_hash: Option<&B256>,
    ) -> ExecResult {
        if rev != self.contract.rev() || code != self.contract.analysis().code() {
            return ember_evm::execute(host, rev, msg, code);
        }
        self.contract.execute_observed(host, msg, &mut |exit| {
            self.exits
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(exit)
        })
    }
}

/// A speculation for `code` made from `base` (usually a recorded [`profile`]) by random
/// changes: per JUMP/JUMPI site, keep its profile, drop it (never ran), make it megamorphic,
/// or give it up to [`MAX_SPECULATED_TARGETS`] targets drawn from its own, the JUMPDESTs and
/// a few bad values. Now and then a malformed entry (too many targets, duplicates, a site
/// that is no jump) is mixed in, which the compiler must take in its stride.
pub fn random_speculation(rng: &mut XorShift, code: &[u8], base: &Speculation) -> Speculation {
    use ember_evm::opcodes::{immediate_size, JUMP, JUMPDEST, JUMPI};
    let (mut sites, mut jumpdests) = (Vec::new(), Vec::new());
    let mut pc = 0;
    while pc < code.len() {
        match code[pc] {
            JUMP | JUMPI => sites.push(pc as u32),
            JUMPDEST => jumpdests.push(pc as u32),
            _ => {}
        }
        pc += 1 + immediate_size(code[pc]);
    }
    let mut spec = Speculation::new();
    for &site in &sites {
        let seen = match base.sites.get(&site) {
            Some(SiteProfile::Targets(ts)) => ts.clone(),
            _ => Vec::new(),
        };
        let profile = match rng.below(20) {
            0..=7 => match base.sites.get(&site) {
                Some(p) => p.clone(),
                None => continue,
            },
            8..=10 => continue,
            11..=12 => SiteProfile::Megamorphic,
            _ => {
                let n = if rng.below(10) == 0 {
                    MAX_SPECULATED_TARGETS + 1
                } else {
                    rng.below(MAX_SPECULATED_TARGETS as u64 + 1) as usize
                };
                let bad = [0, 1, code.len() as u32, u32::MAX];
                let targets = (0..n)
                    .map(|_| match rng.below(4) {
                        0 if !seen.is_empty() => rng.pick(&seen),
                        0 | 1 if !jumpdests.is_empty() => rng.pick(&jumpdests),
                        _ => rng.pick(&bad),
                    })
                    .collect();
                SiteProfile::Targets(targets)
            }
        };
        spec.sites.insert(site, profile);
    }
    if rng.below(8) == 0 && !code.is_empty() {
        let pc = rng.below(code.len() as u64) as u32;
        spec.sites
            .entry(pc)
            .or_insert_with(|| SiteProfile::Targets(vec![pc]));
    }
    spec
}

/// A speculation for `case`: a profile of its code run with calldata that differs from the
/// case's in about a quarter of the bytes, randomly changed by [`random_speculation`].
pub fn speculation_for(rng: &mut XorShift, case: &Case<'_>) -> Speculation {
    let other: Vec<u8> = case
        .input
        .iter()
        .map(|&b| {
            if rng.below(4) == 0 {
                rng.next_u64() as u8
            } else {
                b
            }
        })
        .collect();
    let base = profile(&Case {
        input: &other,
        ..case.clone()
    });
    random_speculation(rng, case.code, &base)
}

/// Runs `case` in the interpreter and with `contract` (compiled from the case's code at its
/// revision) for the top frame, and describes the first difference. Also checks how the side
/// exits were reported: once for each exit the contract counted, recompile exits only at
/// jumps. Returns the outcome and the exits.
pub fn compare_compiled(
    contract: &CompiledContract,
    case: &Case<'_>,
) -> Result<(Outcome, Vec<SideExit>), String> {
    let vm = ContractVm::new(contract);
    let before = contract.exit_counts().1;
    let out = compare(&vm, case)?;
    let exits = vm.take_exits();
    let counted = contract.exit_counts().1 - before;
    if exits.len() as u64 != counted {
        return Err(format!(
            "{} side exits reported, {counted} counted, on code {}",
            exits.len(),
            ember_evm::to_hex(case.code)
        ));
    }
    for e in &exits {
        let op = case.code.get(e.pc as usize).copied();
        if e.kind == crate::ExitKind::Recompile
            && !matches!(
                op,
                Some(ember_evm::opcodes::JUMP | ember_evm::opcodes::JUMPI)
            )
        {
            return Err(format!(
                "recompile exit at pc {} ({op:?}) on code {}",
                e.pc,
                ember_evm::to_hex(case.code)
            ));
        }
    }
    Ok((out, exits))
}

/// The level the differential fuzz target compiles `data` at: O1, the level hot contracts are
/// recompiled at, for one input in eight (by the input's hash, so that an input always replays
/// at the same level), O0 for the rest.
pub fn fuzz_level(data: &[u8]) -> OptLevel {
    if keccak256(data).0[31] % 8 == 7 {
        OptLevel::O1
    } else {
        OptLevel::O0
    }
}

/// One differential fuzzing input: the first byte picks the revision, the next two the gas
/// limit; with the top bit of the first byte set, the next eight bytes seed
/// [`random_program`] and the rest is calldata, otherwise the rest is the bytecode itself
/// (with the calldata fixed). The code runs on `jit` and, compiled against a speculation
/// derived from the input ([`speculation_for`], seeded with the input's hash), through
/// [`compare_compiled`]. A seeded input also runs a [`random_jump_program`] from the same
/// seed both ways, as generated programs have few computed jumps. Returns the first
/// difference from the interpreter.
pub fn fuzz_one(jit: &JitVm, data: &[u8]) -> Result<(), String> {
    let Some((&head, rest)) = data.split_first() else {
        return Ok(());
    };
    let rev = ember_evm::ALL_REVISIONS[(head & 0x7f) as usize % ember_evm::ALL_REVISIONS.len()];
    let (gas_bytes, rest) = rest.split_at(rest.len().min(2));
    let gas = gas_bytes
        .iter()
        .fold(0i64, |g, &b| (g << 8) | b as i64)
        .saturating_mul(16);
    let hash = keccak256(data);
    let mut spec_rng = XorShift::new(u64::from_be_bytes(hash.0[..8].try_into().expect("8 bytes")));
    let mut case = Case {
        code: rest,
        input: &[0x11; 36],
        gas,
        rev,
        flags: 0,
    };
    if head & 0x80 == 0 {
        return fuzz_case(jit, &case, &mut spec_rng);
    }
    let (seed, input) = rest.split_at(rest.len().min(8));
    let seed = seed.iter().fold(0u64, |s, &b| (s << 8) | b as u64);
    let mut rng = XorShift::new(seed);
    let items = 5 + rng.below(80) as usize;
    let generated = random_program(&mut rng, items);
    case.code = &generated;
    case.input = input;
    fuzz_case(jit, &case, &mut spec_rng)?;
    let blocks = 1 + rng.below(16) as usize;
    let jumpy = random_jump_program(&mut rng, blocks);
    case.code = &jumpy;
    fuzz_case(jit, &case, &mut spec_rng)
}

/// Compares `case` on `jit` and, compiled against a speculation drawn from `rng`, through
/// [`compare_compiled`]. Code without computed jumps compiles the same either way, and code
/// `jit` does not compile is not compiled either, so both only run on `jit`.
fn fuzz_case(jit: &JitVm, case: &Case<'_>, rng: &mut XorShift) -> Result<(), String> {
    compare(jit, case)?;
    let has_sites = jit
        .lookup(case.code, case.rev, None)
        .is_ok_and(|c| c.speculation_stats().table_sites > 0);
    if !has_sites {
        return Ok(());
    }
    let config = jit.config();
    let spec = speculation_for(rng, case);
    let analysis = Arc::new(CodeAnalysis::new(case.code));
    let contract = compile_speculative(analysis, case.rev, config, Some(&spec))
        .map_err(|e| format!("compiling against {spec:?}: {e}"))?;
    compare_compiled(&contract, case)
        .map(|_| ())
        .map_err(|e| format!("compiled against {spec:?}:\n{e}"))
}
