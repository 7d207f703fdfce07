//! ember-jit: compiles EVM contracts to native code with LLVM (through inkwell), agreeing with
//! the interpreter bit for bit.
//!
//! * [`compile`] turns (code, revision) into a [`CompiledContract`]: the suitability
//!   [`analyzer`] first, then LLVM IR (per basic block, with side exits; see the `codegen`
//!   module), the optimisation pipeline, and machine code written by MCJIT straight into the
//!   W^X [`heap`].
//! * [`CompiledContract::execute`] runs a frame natively; whatever the compiled code does not
//!   handle itself it hands to the interpreter, one instruction ([`ember_evm::step`]) or the
//!   rest of the frame ([`ember_evm::execute_from`]) at a time, with the exact state.
//! * [`compile_speculative`] compiles against a profile of the dynamic jumps (a
//!   [`Speculation`]): seen targets become compare-and-branch, unseen ones and sites that
//!   never ran leave through *recompile side exits*, which
//!   [`CompiledContract::execute_observed`] reports (see the [`speculation`] module).
//! * With the `testing` feature (and in this crate's tests), `JitVm` is an
//!   [`ember_evm::Vm`] that compiles every contract it runs and the `difftest` module holds
//!   the JIT-specific differential helpers; the runtime's `jit` tier is what the tools use.
//!
//! Compiled code never unwinds: panics in builtins are caught and re-raised in Rust, and
//! compilation itself runs under `catch_unwind`, so a compiler bug marks a contract
//! interpreter-only instead of taking the process down.

pub mod analyzer;
mod builtins;
mod codegen;
#[cfg(any(test, feature = "testing"))]
pub mod difftest;
pub mod heap;
mod memory_manager;
pub mod speculation;
#[cfg(any(test, feature = "testing"))]
mod vm;

pub use analyzer::{AnalyzerLimits, CodeShape, Rejection};
pub use heap::{CodeHeap, CodeRegion, HeapError, Protection};
#[cfg(any(test, feature = "testing"))]
pub use speculation::JumpRecorder;
pub use speculation::{
    ExitKind, SideExit, SiteProfile, Speculation, SpeculationStats, MAX_SPECULATED_TARGETS,
};
#[cfg(any(test, feature = "testing"))]
pub use vm::{JitStats, JitVm, DEFAULT_CACHE_LIMIT};

use builtins::{decode, take_panic, Outcome};
use ember_evm::opcodes as op;
use ember_evm::Revision;
use ember_evm::{execute_analyzed, execute_from, CodeAnalysis, ExecResult, Frame, Host, Message};
use inkwell::context::Context;
use inkwell::passes::PassBuilderOptions;
use inkwell::targets::{CodeModel, InitializationConfig, RelocMode, Target, TargetMachine};
use inkwell::OptimizationLevel;
use memory_manager::{HeapMemoryManager, Sections};
use std::cell::RefCell;
use std::fmt;
use std::panic::{self, AssertUnwindSafe};
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

/// LLVM optimisation level for the IR pipeline and the code generator.
///
/// O0 is the default. On the evm-benchmarks main set (`bench_jit` example) the geometric-mean
/// speedup over the interpreter was 2.16x at O0, 2.43x at O1, 2.52x at O2 and 2.50x at O3,
/// while the slowest compile went from 1.1 s (O0) to 7.4 s (O1) and 9.1 s (O2/O3): code
/// generation dominates compile time, and the heavy work of the generated code is in builtins
/// that no optimisation level changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OptLevel {
    /// No IR passes, fast code generation (the default).
    O0,
    /// `default<O1>` and codegen level "less".
    O1,
    /// `default<O2>` and the default codegen level.
    O2,
    /// `default<O3>` and aggressive code generation.
    O3,
}

impl OptLevel {
    /// Parses `"0"`..`"3"` or `"O0"`..`"O3"`.
    pub fn from_name(s: &str) -> Option<OptLevel> {
        match s.trim_start_matches(['O', 'o']) {
            "0" => Some(OptLevel::O0),
            "1" => Some(OptLevel::O1),
            "2" => Some(OptLevel::O2),
            "3" => Some(OptLevel::O3),
            _ => None,
        }
    }

    fn pipeline(self) -> &'static str {
        match self {
            OptLevel::O0 => "default<O0>",
            OptLevel::O1 => "default<O1>",
            OptLevel::O2 => "default<O2>",
            OptLevel::O3 => "default<O3>",
        }
    }

    fn codegen(self) -> OptimizationLevel {
        match self {
            OptLevel::O0 => OptimizationLevel::None,
            OptLevel::O1 => OptimizationLevel::Less,
            OptLevel::O2 => OptimizationLevel::Default,
            OptLevel::O3 => OptimizationLevel::Aggressive,
        }
    }
}

/// How to compile.
#[derive(Clone, Debug)]
pub struct JitConfig {
    /// LLVM optimisation level.
    pub opt_level: OptLevel,
    /// The analyzer's gates.
    pub limits: AnalyzerLimits,
    /// Where machine code goes; `None` uses [`CodeHeap::shared`].
    pub heap: Option<Arc<CodeHeap>>,
}

impl Default for JitConfig {
    fn default() -> Self {
        JitConfig {
            opt_level: OptLevel::O0,
            limits: AnalyzerLimits::default(),
            heap: None,
        }
    }
}

impl JitConfig {
    /// The configuration of `--tier jit`: every contract the compiler can handle in bounded
    /// time is compiled.
    pub fn compile_everything() -> Self {
        JitConfig {
            limits: AnalyzerLimits::compile_everything(),
            ..JitConfig::default()
        }
    }
}

/// Why a contract was not compiled; it then runs in the interpreter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CompileError {
    /// The analyzer judged it unsuitable.
    Rejected(Rejection),
    /// The code heap has no room for it.
    Heap(String),
    /// LLVM reported an error (invalid IR, pass or code generation failure).
    Llvm(String),
    /// The compiler panicked; the message is kept.
    Panic(String),
}

impl fmt::Display for CompileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CompileError::Rejected(r) => write!(f, "not compiled: {r}"),
            CompileError::Heap(e) => write!(f, "code heap: {e}"),
            CompileError::Llvm(e) => write!(f, "LLVM: {e}"),
            CompileError::Panic(e) => write!(f, "compiler panicked: {e}"),
        }
    }
}

impl std::error::Error for CompileError {}

/// Where compile time went, and how much machine code came out.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CompileStats {
    /// Building and verifying the IR.
    pub ir_ns: u64,
    /// The IR optimisation pipeline.
    pub opt_ns: u64,
    /// Instruction selection, register allocation, emission and linking into the heap.
    pub emit_ns: u64,
    /// Bytes of machine code (code sections as LLVM sized them).
    pub code_bytes: usize,
}

/// The signature of a compiled contract's function: frame, host, analysis and the call data
/// (pointer and length). The `builtins` module describes the return value.
type EntryFn = for<'a> unsafe extern "C" fn(
    *mut Frame<'a>,
    *mut &mut dyn Host,
    *const CodeAnalysis,
    *const u8,
    u64,
) -> u64;

/// Native code for one contract at one revision, with everything it needs to run.
pub struct CompiledContract {
    /// The entry point, published with a release store once the code is sealed executable;
    /// zero until then.
    entry: AtomicUsize,
    analysis: Arc<CodeAnalysis>,
    /// The heap pages holding the code and its constants; freed when the contract is dropped.
    regions: Vec<CodeRegion>,
    /// The executable range holding the entry function: (start, length).
    text: (usize, usize),
    /// Native stack the entry function's own frame takes (see [`native_frame_bytes`]).
    frame_bytes: usize,
    rev: Revision,
    stats: CompileStats,
    speculation: SpeculationStats,
    /// Frames that ended in native code, frames that left it through a side exit, and the
    /// recompile exits among those.
    native_halts: AtomicU64,
    side_exits: AtomicU64,
    recompile_exits: AtomicU64,
}

impl fmt::Debug for CompiledContract {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CompiledContract")
            .field("entry", &(self.entry.load(Ordering::Relaxed) as *const u8))
            .field("code_len", &self.analysis.code().len())
            .field("rev", &self.rev)
            .field("stats", &self.stats)
            .field("speculation", &self.speculation)
            .field("regions", &self.regions)
            .finish()
    }
}

impl CompiledContract {
    /// The revision the code was compiled for.
    pub fn rev(&self) -> Revision {
        self.rev
    }

    /// The analysed code.
    pub fn analysis(&self) -> &Arc<CodeAnalysis> {
        &self.analysis
    }

    /// Compile time and code size.
    pub fn stats(&self) -> CompileStats {
        self.stats
    }

    /// What the compiler did with the dynamic jumps and which blocks it compiled (without a
    /// speculation every dynamic jump uses the dispatch and no site has an exit).
    pub fn speculation_stats(&self) -> SpeculationStats {
        self.speculation
    }

    /// Whether the code was compiled against a [`Speculation`] and has at least one recompile
    /// exit (so it may ask to be recompiled).
    pub fn is_speculative(&self) -> bool {
        self.speculation.recompile_exits > 0
    }

    /// How many frames ended in native code and how many side-exited to the interpreter
    /// (recompile exits included).
    pub fn exit_counts(&self) -> (u64, u64) {
        (
            self.native_halts.load(Ordering::Relaxed),
            self.side_exits.load(Ordering::Relaxed),
        )
    }

    /// How many frames left through a recompile side exit.
    pub fn recompile_exit_count(&self) -> u64 {
        self.recompile_exits.load(Ordering::Relaxed)
    }

    /// The heap regions holding the machine code and constants.
    pub fn regions(&self) -> &[CodeRegion] {
        &self.regions
    }

    /// Memory this contract keeps alive: the heap pages of its regions plus the struct
    /// itself (the shared [`CodeAnalysis`] is not counted).
    pub fn resident_bytes(&self) -> usize {
        self.regions.iter().map(CodeRegion::len).sum::<usize>()
            + std::mem::size_of::<CompiledContract>()
    }

    /// (start address, length) of the machine code, for symbol maps such as perf's
    /// `/tmp/perf-PID.map`: the entry function to the end of the code section LLVM emitted
    /// it in (the module has no other function).
    pub fn code_symbols(&self) -> Vec<(usize, usize)> {
        vec![self.text]
    }

    /// Native stack the compiled function's own frame takes; each run makes sure this much
    /// and a red zone are free first ([`ember_evm::native_stack`]).
    pub fn native_frame_bytes(&self) -> usize {
        self.frame_bytes
    }

    /// Runs the frame `msg` natively. The result is exactly the interpreter's: side exits
    /// continue in the interpreter with the frame's exact state. With a tracer attached the
    /// frame runs in the interpreter, so that every instruction is traced.
    pub fn execute(&self, host: &mut dyn Host, msg: &Message<'_>) -> ExecResult {
        self.execute_observed(host, msg, &mut |_| {})
    }

    /// [`execute`](Self::execute), calling `on_exit` once when the native code leaves through
    /// a side exit, before the interpreter continues the frame, and never otherwise (not for
    /// frames that halt natively or run in the interpreter from the start).
    ///
    /// A recompile exit at a jump whose destination turns out not to be a JUMPDEST at all is
    /// reported as [`ExitKind::Fallback`]: the frame fails there with a bad jump destination,
    /// which no profile can improve on.
    pub fn execute_observed(
        &self,
        host: &mut dyn Host,
        msg: &Message<'_>,
        on_exit: &mut dyn FnMut(SideExit),
    ) -> ExecResult {
        let entry = self.entry.load(Ordering::Acquire);
        if entry == 0 || host.tracer().is_some() {
            return execute_analyzed(host, self.rev, msg, &self.analysis);
        }
        // SAFETY: a non-zero `entry` was published (release) after MCJIT finished writing
        // and `finalize_memory` sealed the code read+execute; the acquire load makes those
        // writes visible. The code has the `EntryFn` signature (see `codegen`), and the
        // regions it lives in are owned by `self`, which outlives this call.
        let f: EntryFn = unsafe { std::mem::transmute::<usize, EntryFn>(entry) };
        let mut frame = Frame::new(msg, self.rev, self.analysis.code());
        let r = {
            let mut h: &mut dyn Host = &mut *host;
            let frame_ptr = &mut frame as *mut Frame<'_>;
            let input = msg.input;
            // SAFETY: the compiled function only touches the frame through the published
            // field offsets of this very binary and hands the pointers, unchanged, to its
            // builtins; they are valid and exclusively borrowed for the call. The stack
            // accesses stay in bounds because every block checks the stack height on entry.
            // The builtins see the frame as `Frame<'static>` but keep nothing past the call.
            // The call data is the message's, which outlives the call; compiled code reads
            // it only below its length.
            // The call runs with its frame's native stack and a red zone free.
            ember_evm::native_stack::with_stack(self.frame_bytes, || unsafe {
                f(
                    frame_ptr,
                    &mut h,
                    &*self.analysis,
                    input.as_ptr(),
                    input.len() as u64,
                )
            })
        };
        match decode(r) {
            Outcome::Halt(status) => {
                self.native_halts.fetch_add(1, Ordering::Relaxed);
                frame.finish(status, host)
            }
            Outcome::SideExit(pc) => {
                self.side_exits.fetch_add(1, Ordering::Relaxed);
                on_exit(SideExit {
                    pc: pc as u32,
                    kind: ExitKind::Fallback,
                });
                execute_from(frame, &self.analysis, host, pc)
            }
            Outcome::Recompile(pc) => {
                self.side_exits.fetch_add(1, Ordering::Relaxed);
                let kind = if jump_fails(&frame, &self.analysis, pc) {
                    ExitKind::Fallback
                } else {
                    self.recompile_exits.fetch_add(1, Ordering::Relaxed);
                    ExitKind::Recompile
                };
                on_exit(SideExit {
                    pc: pc as u32,
                    kind,
                });
                execute_from(frame, &self.analysis, host, pc)
            }
            Outcome::Panicked => match take_panic() {
                Some(payload) => panic::resume_unwind(payload),
                None => panic!("compiled code reported a panic but none was recorded"),
            },
        }
    }
}

/// The native stack a compiled function's frame takes, read from its x86-64 prologue: the
/// return address, the pushes of callee-saved registers and the `sub rsp, N` after them.
/// LLVM emits no stack probes for these frames, so the size must be known before the call.
/// Where the prologue has another shape (or on another architecture) the bound is eight
/// bytes of frame per byte of machine code: every stack slot is written by at least one
/// instruction of at least four bytes, and no slot is wider than 32 bytes.
fn native_frame_bytes(entry: &[u8], code_bytes: usize) -> usize {
    let fallback = code_bytes.saturating_mul(8);
    if !cfg!(target_arch = "x86_64") {
        return fallback;
    }
    let mut bytes = 8; // the return address
    let mut i = 0;
    while i < entry.len() {
        match entry[i..] {
            // push r64 and push r8..r15
            [0x50..=0x57, ..] => (bytes, i) = (bytes + 8, i + 1),
            [0x41, 0x50..=0x57, ..] => (bytes, i) = (bytes + 8, i + 2),
            // sub rsp, imm32 / imm8
            [0x48, 0x81, 0xec, a, b, c, d, ..] => {
                return bytes + u32::from_le_bytes([a, b, c, d]) as usize;
            }
            [0x48, 0x83, 0xec, n, ..] => return bytes + n as usize,
            _ => break,
        }
    }
    // No `sub rsp` after the pushes: a shape this reader does not know.
    fallback.max(bytes)
}

/// Whether the JUMP or JUMPI at `pc`, about to run on `frame`'s stack, fails with a bad jump
/// destination (a JUMPI only when its condition is true).
fn jump_fails(frame: &Frame<'_>, analysis: &CodeAnalysis, pc: usize) -> bool {
    let stack = frame.stack.as_slice();
    let is_bad =
        |dest: &ember_evm::U256| usize::try_from(*dest).map_or(true, |d| !analysis.is_jumpdest(d));
    match (analysis.code().get(pc), stack) {
        (Some(&op::JUMP), [.., dest]) => is_bad(dest),
        (Some(&op::JUMPI), [.., cond, dest]) => !cond.is_zero() && is_bad(dest),
        // Compiled code only exits this way at a jump with its operands on the stack.
        _ => false,
    }
}

/// Machine-code bytes to promise a compilation of `code_len` bytes of EVM code. The most
/// measured was about 40 bytes per byte of EVM code (JUMPDEST-dense code, see the README);
/// LLVM aborts the process if a section cannot be allocated, so the bound is generous.
fn heap_budget(code_len: usize) -> usize {
    (1 << 20) + code_len.saturating_mul(1024)
}

fn init_llvm() -> Result<(), String> {
    static INIT: OnceLock<Result<(), String>> = OnceLock::new();
    INIT.get_or_init(|| Target::initialize_native(&InitializationConfig::default()))
        .clone()
}

/// Compiles `code` for `rev`: analyzer, IR, optimisation, machine code into the heap.
pub fn compile(
    code: &[u8],
    rev: Revision,
    config: &JitConfig,
) -> Result<CompiledContract, CompileError> {
    analyzer::analyze(code, rev, &config.limits).map_err(CompileError::Rejected)?;
    let analysis = Arc::new(CodeAnalysis::new(code));
    compile_analyzed(analysis, rev, config)
}

/// Compiles already analysed code, skipping the suitability analyzer.
pub fn compile_analyzed(
    analysis: Arc<CodeAnalysis>,
    rev: Revision,
    config: &JitConfig,
) -> Result<CompiledContract, CompileError> {
    compile_speculative(analysis, rev, config, None)
}

/// Compiles already analysed code (skipping the suitability analyzer) against a profile of
/// its dynamic jumps, if `spec` is given; see the [`speculation`] module for what each kind
/// of site becomes. Constant jumps are direct branches either way, and with `spec: None` this
/// is [`compile_analyzed`].
pub fn compile_speculative(
    analysis: Arc<CodeAnalysis>,
    rev: Revision,
    config: &JitConfig,
    spec: Option<&Speculation>,
) -> Result<CompiledContract, CompileError> {
    match panic::catch_unwind(AssertUnwindSafe(|| {
        compile_inner(analysis, rev, config, spec)
    })) {
        Ok(r) => r,
        Err(payload) => Err(CompileError::Panic(panic_message(&*payload))),
    }
}

/// The message of a caught panic payload (`&str` or `String`), for error reports.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string panic payload".to_owned()
    }
}

#[cfg(test)]
thread_local! {
    /// Makes the next compilation on this thread panic inside the compiler (tests only).
    static FORCE_PANIC: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

fn compile_inner(
    analysis: Arc<CodeAnalysis>,
    rev: Revision,
    config: &JitConfig,
    spec: Option<&Speculation>,
) -> Result<CompiledContract, CompileError> {
    #[cfg(test)]
    if FORCE_PANIC.with(|f| f.replace(false)) {
        panic!("forced compiler panic");
    }
    init_llvm().map_err(CompileError::Llvm)?;
    let heap = match &config.heap {
        Some(h) => Arc::clone(h),
        None => CodeHeap::shared().map_err(|e| CompileError::Heap(e.to_string()))?,
    };
    let reservation = heap
        .reserve(heap_budget(analysis.code().len()))
        .map_err(|e| CompileError::Heap(e.to_string()))?;

    let t0 = Instant::now();
    // The small code model with static relocations lets code and its constants use 32-bit
    // absolute addresses; that is only right when the heap lies below 2 GiB. Elsewhere the
    // large code model (64-bit absolute addresses everywhere) is used.
    let code_model = if heap.is_low() {
        CodeModel::Small
    } else {
        CodeModel::Large
    };
    let triple = TargetMachine::get_default_triple();
    let target = Target::from_triple(&triple).map_err(|e| CompileError::Llvm(e.to_string()))?;
    let cpu = TargetMachine::get_host_cpu_name().to_string();
    let features = TargetMachine::get_host_cpu_features().to_string();
    let machine = target
        .create_target_machine(
            &triple,
            &cpu,
            &features,
            config.opt_level.codegen(),
            RelocMode::Static,
            code_model,
        )
        .ok_or_else(|| CompileError::Llvm("cannot create a target machine".into()))?;

    let ctx = Context::create();
    let module = ctx.create_module("ember");
    module.set_triple(&triple);
    module.set_data_layout(&machine.get_target_data().get_data_layout());
    let target = codegen::Target {
        cpu: &cpu,
        features: &features,
    };
    let speculation =
        codegen::build(&ctx, &module, &analysis, rev, target, spec).map_err(CompileError::Llvm)?;
    module
        .verify()
        .map_err(|e| CompileError::Llvm(format!("invalid IR: {e}")))?;
    let t1 = Instant::now();

    module
        .run_passes(
            config.opt_level.pipeline(),
            &machine,
            PassBuilderOptions::create(),
        )
        .map_err(|e| CompileError::Llvm(e.to_string()))?;
    let t2 = Instant::now();

    let shared = Rc::new(RefCell::new(Sections::default()));
    let mm = HeapMemoryManager::new(reservation, Rc::clone(&shared));
    let ee = module
        .create_mcjit_execution_engine_with_memory_manager(
            mm,
            config.opt_level.codegen(),
            code_model,
            false,
            false,
        )
        .map_err(|e| CompileError::Llvm(e.to_string()))?;
    let addr = ee.get_function_address(codegen::ENTRY_NAME);
    let t3 = Instant::now();

    let mut sections = shared.borrow_mut();
    if let Some(e) = sections.error.take() {
        return Err(CompileError::Heap(e));
    }
    let addr = addr.map_err(|e| CompileError::Llvm(e.to_string()))?;
    if !sections.finalized {
        return Err(CompileError::Llvm("MCJIT did not finalize the code".into()));
    }
    let taken = std::mem::take(&mut sections.sections);
    drop(sections);
    let code_bytes = taken
        .iter()
        .filter(|s| s.final_protection == Protection::ReadExecute)
        .map(|s| s.size)
        .sum();
    // The entry function runs from its address to the end of the code section holding it.
    let text = taken
        .iter()
        .filter(|s| s.final_protection == Protection::ReadExecute)
        .map(|s| (s.region.as_ptr() as usize, s.size))
        .find(|&(start, size)| (start..start + size).contains(&addr))
        .map(|(start, size)| (addr, start + size - addr))
        .ok_or_else(|| {
            CompileError::Llvm("the entry point is not in an executable region of the heap".into())
        })?;
    // SAFETY: `text` lies inside a region MCJIT finalized as read+execute, which stays
    // mapped while `taken` (and later the contract) owns it; reading code bytes is allowed.
    let entry_code = unsafe { std::slice::from_raw_parts(text.0 as *const u8, text.1.min(64)) };
    let frame_bytes = native_frame_bytes(entry_code, code_bytes);
    let regions: Vec<CodeRegion> = taken.into_iter().map(|s| s.region).collect();
    // The execution engine, module and context are dropped here; the code lives on in the
    // regions.
    drop(ee);
    drop(module);
    drop(ctx);

    let contract = CompiledContract {
        entry: AtomicUsize::new(0),
        analysis,
        regions,
        text,
        frame_bytes,
        rev,
        speculation,
        stats: CompileStats {
            ir_ns: (t1 - t0).as_nanos() as u64,
            opt_ns: (t2 - t1).as_nanos() as u64,
            emit_ns: (t3 - t2).as_nanos() as u64,
            code_bytes,
        },
        native_halts: AtomicU64::new(0),
        side_exits: AtomicU64::new(0),
        recompile_exits: AtomicU64::new(0),
    };
    contract.entry.store(addr, Ordering::Release);
    Ok(contract)
}

#[cfg(test)]
mod tests {
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

    /// The interpreter's frame just before it executes the instruction at `pc` (the first
    /// time), stepping from the start.
    fn interpreter_at(src: &str, gas: i64, input: &[u8], pc: usize) -> State {
        let code = assemble(src).unwrap();
        let a = CodeAnalysis::new(&code);
        let msg = message(gas, input);
        let mut host = RecordingHost::new(&Interpreter, Revision::Cancun);
        let mut frame = Frame::new(&msg, Revision::Cancun, a.code());
        let mut at = 0;
        while at != pc {
            match step(&mut frame, &a, &mut host, at) {
                Step::Next(n) => at = n,
                Step::Halt(s) => panic!("halted with {s:?} before reaching pc {pc}"),
            }
        }
        state(&frame)
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
    fn inline_memory_access_short_of_gas_for_its_expansion_hands_over_before_it() {
        // MSTORE at 0x2000 needs 900 for memory after the block's static gas of 18: with
        // less, the interpreter takes over at the MSTORE with memory untouched and the gas
        // before it. With exactly enough the block runs natively to its end.
        let src = "PUSH1 9 PUSH2 0x2000 MSTORE PUSH1 1 PUSH1 2 ADD STOP";
        let s = assert_hands_over(src, 18 + 899, &[], 5);
        assert_eq!(s.0, [U256::from(9), U256::from(0x2000)]);
        assert_eq!((s.1, s.3.len()), (18 + 899 - 6, 0));
        let (exit, native) = run_native(src, 18 + 900, &[]);
        assert_eq!(exit, Outcome::Halt(StatusCode::Success));
        assert_eq!((native.1, native.3.len()), (0, 0x2020));
        assert_eq!(native.3[0x201f], 9);
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
            let c = compile_speculative(Arc::clone(&analysis), Revision::Cancun, &config, spec)
                .unwrap();
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
            0x55, 0x41, 0x57, 0x41, 0x56, 0x41, 0x55, 0x41, 0x54, 0x53, 0x48, 0x81, 0xec, 0xb8,
            0x32, 0x02, 0x00, 0x48, 0x89,
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
        let code =
            assemble("PUSH1 0 CALLDATALOAD PUSH1 3 SHL PUSH1 0 MSTORE PUSH1 32 PUSH1 0 RETURN")
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
}
