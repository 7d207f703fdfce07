//! What the runtime compiles with: a [`Backend`] turns analysed code into something runnable.
//! [`JitBackend`] is ember's LLVM compiler; tests use fake backends that count, fail or block.

use ember_evm::{CodeAnalysis, ExecResult, Host, Message, Revision};
use ember_jit::{CompiledContract, JitConfig};
use std::sync::Arc;

/// A compiler tier.
pub trait Backend: Send + Sync + 'static {
    /// One compiled contract.
    type Code: Send + Sync + 'static;

    /// Compiles the analysed code for `rev`, or says why it will not run compiled (the
    /// contract then stays in the interpreter for good). May take long; runs on a compile
    /// worker (or, in the `jit` tier, on the calling thread). A panic is caught by the
    /// runtime and treated as a failure.
    fn compile(&self, code: &Arc<CodeAnalysis>, rev: Revision) -> Result<Arc<Self::Code>, String>;

    /// Runs the frame `msg` with compiled code. The result must be exactly the interpreter's.
    fn execute(&self, code: &Self::Code, host: &mut dyn Host, msg: &Message<'_>) -> ExecResult;
}

/// ember's JIT (`ember-jit`): the suitability analyzer, then LLVM.
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
    ) -> Result<Arc<CompiledContract>, String> {
        ember_jit::analyzer::analyze(code.code(), rev, &self.config.limits)
            .map_err(|r| ember_jit::CompileError::Rejected(r).to_string())?;
        // The compiled contract shares the runtime's analysis rather than making its own.
        ember_jit::compile_analyzed(Arc::clone(code), rev, &self.config)
            .map(Arc::new)
            .map_err(|e| e.to_string())
    }

    fn execute(
        &self,
        code: &CompiledContract,
        host: &mut dyn Host,
        msg: &Message<'_>,
    ) -> ExecResult {
        code.execute(host, msg)
    }
}
