//! What the runtime compiles with: a [`Backend`] turns analysed code into something runnable.
//! [`JitBackend`] is ember's LLVM compiler; tests use fake backends that count, fail or block.

use ember_evm::{CodeAnalysis, ExecResult, Host, Message, Revision};
use ember_jit::{CompileError, CompiledContract, JitConfig, OptLevel, SideExit, Speculation};
use std::sync::Arc;

/// Why a compile produced no code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CompileFailure {
    /// The contract will not be compiled, ever (the analyzer's verdict, a compiler error):
    /// it runs in the interpreter for good.
    Rejected(String),
    /// It may compile later (the code heap was full): the contract goes back to profiling.
    Transient(String),
}

/// A compiler tier.
pub trait Backend: Send + Sync + 'static {
    /// One compiled contract.
    type Code: Send + Sync + 'static;

    /// Compiles the analysed code for `rev` at optimisation level `level`, speculating on
    /// `spec` when given (see [`ember_jit::Speculation`]). May take long; runs on a compile
    /// worker (or, in the `jit` tier, on the calling thread). A panic is caught by the runtime
    /// and treated as a rejection.
    fn compile(
        &self,
        code: &Arc<CodeAnalysis>,
        rev: Revision,
        level: OptLevel,
        spec: Option<&Speculation>,
    ) -> Result<Self::Code, CompileFailure>;

    /// Runs the frame `msg` with compiled code; calls `on_exit` once if the frame leaves the
    /// compiled code for the interpreter, at that moment. The result must be exactly the
    /// interpreter's.
    fn execute(
        &self,
        code: &Self::Code,
        host: &mut dyn Host,
        msg: &Message<'_>,
        on_exit: &mut dyn FnMut(SideExit),
    ) -> ExecResult;

    /// The memory the compiled code holds, in bytes (what the code cache budget counts).
    fn resident_bytes(&self, code: &Self::Code) -> usize;

    /// Whether the code may take a recompile exit.
    fn is_speculative(&self, code: &Self::Code) -> bool;

    /// (start address, length) of the machine code, for perf maps; none by default.
    fn code_ranges(&self, _code: &Self::Code) -> Vec<(usize, usize)> {
        Vec::new()
    }
}

/// ember's JIT (`ember-jit`): the suitability analyzer, then LLVM. Its configuration's
/// `opt_level` is ignored: the runtime gives the level of each compile.
#[derive(Clone, Debug)]
pub struct JitBackend {
    config: JitConfig,
}

impl JitBackend {
    /// A backend compiling with `config`.
    pub fn new(config: JitConfig) -> Self {
        JitBackend { config }
    }

    /// The configuration it compiles with.
    pub fn config(&self) -> &JitConfig {
        &self.config
    }
}

impl Backend for JitBackend {
    type Code = CompiledContract;

    fn compile(
        &self,
        code: &Arc<CodeAnalysis>,
        rev: Revision,
        level: OptLevel,
        spec: Option<&Speculation>,
    ) -> Result<CompiledContract, CompileFailure> {
        ember_jit::analyzer::analyze(code.code(), rev, &self.config.limits)
            .map_err(|r| CompileFailure::Rejected(CompileError::Rejected(r).to_string()))?;
        let config = JitConfig {
            opt_level: level,
            ..self.config.clone()
        };
        // The compiled contract shares the runtime's analysis rather than making its own.
        ember_jit::compile_speculative(Arc::clone(code), rev, &config, spec).map_err(|e| match e {
            CompileError::Heap(_) => CompileFailure::Transient(e.to_string()),
            _ => CompileFailure::Rejected(e.to_string()),
        })
    }

    fn execute(
        &self,
        code: &CompiledContract,
        host: &mut dyn Host,
        msg: &Message<'_>,
        on_exit: &mut dyn FnMut(SideExit),
    ) -> ExecResult {
        code.execute_observed(host, msg, on_exit)
    }

    fn resident_bytes(&self, code: &CompiledContract) -> usize {
        code.resident_bytes()
    }

    fn is_speculative(&self, code: &CompiledContract) -> bool {
        code.is_speculative()
    }

    fn code_ranges(&self, code: &CompiledContract) -> Vec<(usize, usize)> {
        code.code_symbols()
    }
}
