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
mod entry_stack;
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
use inkwell::context::{AsContextRef, Context};
use inkwell::llvm_sys::core::LLVMContextSetDiscardValueNames;
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
/// O0 is the default: higher levels make faster code but compile many times slower, since
/// code generation dominates compile time (the crate README has the measurements and the
/// `bench_jit` command that prints them).
/// Levels are ordered from the quickest compile (O0) to the most optimised (O3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum OptLevel {
    /// No IR passes, fast code generation (the default).
    O0,
    /// A short IR pipeline (sroa, early-cse, instcombine, simplifycfg) and codegen level
    /// "less": as fast as `default<O1>` on the main benchmarks at an eighth of its
    /// optimisation time (measured; see the crate README).
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
            // instcombine without its fixpoint check: where LLVM verifies the fixpoint it
            // aborts the process (LLVM ERROR) when one is not reached, which only costs
            // optimisation elsewhere.
            OptLevel::O1 => "function(sroa,early-cse,instcombine<no-verify-fixpoint>,simplifycfg)",
            OptLevel::O2 => "default<O2>",
            OptLevel::O3 => "default<O3>",
        }
    }

    /// Whether instruction selection tries the fast selector first (LLVM's default only at
    /// O0). At O1 it cut the emission time and did not slow the code (see the README).
    fn fast_isel(self) -> bool {
        matches!(self, OptLevel::O0 | OptLevel::O1)
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
    /// recompile exits among those. The first is counted on every call, without a locked
    /// instruction (see [`CompiledContract::execute_observed`]); the others are rare.
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
    /// (recompile exits included). The first may fall short while several threads run the
    /// contract at once: it is a diagnostic, kept out of the way of the calls it counts.
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
                // A load and a store, not a locked add: after the compiled frame's stores a
                // locked instruction waits for them all to drain, about 10 ns on every call
                // (a fifth of the fixed cost of a compiled call). Concurrent calls may lose
                // an increment.
                let halts = self.native_halts.load(Ordering::Relaxed);
                self.native_halts.store(halts + 1, Ordering::Relaxed);
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

/// The host's target: its triple, CPU and features, and a target machine for one code model
/// and code generation level.
struct HostTarget {
    triple: inkwell::targets::TargetTriple,
    cpu: String,
    features: String,
    machine: TargetMachine,
}

/// What a target machine is made for: its code model and code generation level.
type MachineKind = (CodeModel, OptimizationLevel);

thread_local! {
    /// This thread's target machines, one per code model and code generation level in use.
    /// A target machine costs about 0.3 ms to create, a fifth of the whole compile of a small
    /// contract; LLVM lets one thread reuse it for any number of modules.
    static HOST_TARGETS: RefCell<Vec<(MachineKind, Rc<HostTarget>)>> =
        const { RefCell::new(Vec::new()) };
}

/// This thread's target machine for `code_model` at `level`, created on first use.
fn host_target(code_model: CodeModel, level: OptimizationLevel) -> Result<Rc<HostTarget>, String> {
    let key = (code_model, level);
    if let Some(t) = HOST_TARGETS.with(|ts| {
        ts.borrow()
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, t)| Rc::clone(t))
    }) {
        return Ok(t);
    }
    let triple = TargetMachine::get_default_triple();
    let target = Target::from_triple(&triple).map_err(|e| e.to_string())?;
    let cpu = TargetMachine::get_host_cpu_name().to_string();
    let features = TargetMachine::get_host_cpu_features().to_string();
    let machine = target
        .create_target_machine(
            &triple,
            &cpu,
            &features,
            level,
            RelocMode::Static,
            code_model,
        )
        .ok_or("cannot create a target machine")?;
    let t = Rc::new(HostTarget {
        triple,
        cpu,
        features,
        machine,
    });
    HOST_TARGETS.with(|ts| ts.borrow_mut().push((key, Rc::clone(&t))));
    Ok(t)
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
    let host = host_target(code_model, config.opt_level.codegen()).map_err(CompileError::Llvm)?;
    let machine = &host.machine;

    let ctx = Context::create();
    // The IR's values and blocks carry names only for whoever reads it; LLVM keeps each one
    // unique per function, which in large functions is a good part of building the IR and of
    // verifying it. With names discarded the builder drops them on creation.
    // SAFETY: `ctx` is a live context created just above, owned here and used by this thread
    // only; the call only sets a flag on it.
    unsafe { LLVMContextSetDiscardValueNames((&ctx).as_ctx_ref(), 1) };
    let module = ctx.create_module("ember");
    module.set_triple(&host.triple);
    module.set_data_layout(&machine.get_target_data().get_data_layout());
    let target = codegen::Target {
        cpu: &host.cpu,
        features: &host.features,
        optimising: config.opt_level > OptLevel::O0,
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
            machine,
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
            config.opt_level.fast_isel(),
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
mod tests;
