//! EVM bytecode → LLVM IR: one function per (code, revision).
//!
//! The function is `u64 (ptr frame, ptr host, ptr analysis, ptr input, i64 input_len)` (the
//! `builtins` module describes the return value). Per basic block of
//! [`CodeAnalysis::basic_blocks`]:
//!
//! * **Entry checks.** Stack height against the block's `stack_required` and
//!   `stack_max_growth`, gas against its static gas. If any fails, the function side-exits at
//!   the block start with nothing changed, and the interpreter produces the exact failure at
//!   the exact instruction. Otherwise the block's static gas is charged once.
//! * **Exact gas.** Inside a block `gas` holds the gas left after charging the whole block, so
//!   the interpreter's gas just before instruction `i` is `gas + suffix[i]` (the static gas of
//!   `i` and the instructions after it). That value is written to the frame before every
//!   builtin call and side exit, and GAS pushes `gas + suffix[i + 1]`.
//! * **Stack.** A compile-time virtual stack of SSA values on top of the array, loaded on
//!   demand and written back before every builtin call, side exit and block end.
//! * **Inline instructions.** PUSH*, DUP*, SWAP*, POP, ADD, SUB, MUL, AND, OR, XOR, NOT, LT,
//!   GT, SLT, SGT, EQ, ISZERO, SHL, SHR, SAR, BYTE, PC, GAS, JUMPDEST, JUMP, JUMPI, STOP.
//!   Operations on constants are folded with the interpreter's own helpers; MUL, DIV and MOD
//!   by a constant power of two become shifts and masks, SIGNEXTEND at a constant byte two
//!   shifts.
//! * **Memory, call data and the message in place.** MLOAD, MSTORE and MSTORE8 load and store
//!   through the memory's published base pointer and length when the access is inside it; a
//!   cold call grows memory and charges the expansion from the block's gas. An offset of
//!   2^32 or more halts out of gas in place, as in the interpreter; so does an expansion the
//!   gas after the whole block does not cover, where nothing the rest of the block could do
//!   first would outlast the failure (see `BlockState::oog_certain_from`). Elsewhere such an
//!   instruction side-exits with its operands still on the stack, and the interpreter fails
//!   or grows exactly there. CALLDATALOAD reads the call data in place when the word lies
//!   inside it (a pure builtin pads it otherwise); CALLDATASIZE, CALLVALUE, CALLER, ADDRESS,
//!   MSIZE, RETURNDATASIZE and the transaction and block fields (ORIGIN, GASPRICE, COINBASE,
//!   TIMESTAMP, NUMBER, PREVRANDAO, GASLIMIT, CHAINID, BASEFEE, BLOBBASEFEE; see
//!   `Codegen::tx_field`) are loads, CODESIZE a constant.
//! * **EXP.** Its dynamic gas is charged in place, and a shortfall halts or hands over as a
//!   memory expansion's does; its value is folded, a shift for a constant base that is a power
//!   of two, a product for the exponents 0 to 2, or a pure builtin (see `Codegen::exp`).
//! * **Builtins.** DIV, SDIV, MOD, SMOD, ADDMOD, MULMOD, SIGNEXTEND, CLZ and EXP call pure
//!   functions on values (the virtual stack stays as it is; MULMOD's also gets the frame's
//!   Barrett cache); KECCAK256, SLOAD and SSTORE call the instruction body on the frame, and one
//!   more frame builtin fetches the transaction context; every
//!   other instruction runs through `jit_step`, i.e. the interpreter's `step` for exactly that
//!   instruction.
//! * **Jumps.** A constant target that is a JUMPDEST becomes a direct branch; a constant
//!   invalid target side-exits at the jump (the interpreter then reports it). Dynamic targets
//!   go through one shared dispatch over all JUMPDESTs (a search tree built here at O0, a
//!   `switch` above; see [`Target::optimising`]), which side-exits at the jump for any other
//!   value.
//!   Compiled against a [`Speculation`], a dynamic jump goes where its site's plan says (see
//!   the `speculation` module): compare-and-branch to the profiled targets, the shared
//!   dispatch, or a recompile side exit, which returns the pc with [`RECOMPILE`] set.
//! * INVALID and undefined opcodes side-exit at their pc.

use crate::builtins::{
    fold_pure, frame_builtin, halt_code, jit_calldataload, jit_expand, pure_builtin, step_address,
    CallDataFn, ExpandFn, FrameFn, Pure, EXP_VALUE, FETCH_TX_CONTEXT, RECOMPILE,
};
use crate::entry_stack::{self, Proven};
use crate::speculation::{plan, SitePlan, Speculation, SpeculationStats};
use ember_evm::frame::ReturnData;
use ember_evm::instructions as ins;
use ember_evm::memory::{Memory, MAX_BUFFER_SIZE};
use ember_evm::opcodes::{self as op, immediate_size, op_table, stack_io, OpTable, STACK_LIMIT};
use ember_evm::{
    BasicBlock as EvmBlock, CodeAnalysis, Frame, Message, Revision, StatusCode, TxContext, U256,
};
use inkwell::attributes::{Attribute, AttributeLoc};
use inkwell::basic_block::BasicBlock;
use inkwell::builder::{Builder, BuilderError};
use inkwell::context::Context;
use inkwell::intrinsics::Intrinsic;
use inkwell::module::Module;
use inkwell::types::{FunctionType, IntType};
use inkwell::values::{
    BasicMetadataValueEnum, BasicValue, CallSiteValue, FunctionValue, IntValue, PointerValue,
};
use inkwell::IntPredicate;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

/// Name of the generated function.
pub(crate) const ENTRY_NAME: &str = "ember_contract";

type R<T> = Result<T, BuilderError>;

/// How an instruction that is not generated inline runs.
#[derive(Clone, Copy)]
enum Builtin {
    /// Through the interpreter's `step` (static gas, checks and all).
    Step,
    /// Through the instruction body on the frame (static gas already charged).
    Frame(FrameFn),
}

/// A value on the virtual stack.
#[derive(Clone, Copy)]
struct Val<'ctx> {
    v: IntValue<'ctx>,
    /// The value, when it is known at compile time.
    c: Option<U256>,
    /// The array slot (relative to the block's entry height) the value was loaded from and
    /// still equals: writing it back there is unnecessary.
    home: Option<i64>,
}

/// A long EVM block is emitted as LLVM blocks of at most this many instructions, joined by
/// unconditional branches. Instruction selection builds one DAG per LLVM block and its time
/// grows faster than the block: blake2b_huff (blocks of thousands of instructions) compiled
/// at O0 in 2.5 s as one block each and in 0.53 s split every 128, at the same speed (64 was
/// as quick to compile, with code a few percent slower). The O1 pipeline's simplifycfg merges
/// the pieces again.
const SPLIT_EVERY: usize = 128;

/// What a builtin call may do besides returning, as its call-site attributes tell LLVM. Every
/// builtin call is `nounwind`.
#[derive(Clone, Copy)]
enum Effects {
    /// It reads and writes only memory its pointer arguments point to, and returns: the pure
    /// builtins (operand and result slots, MULMOD's Barrett cache) and CALLDATALOAD's padding
    /// (the call data, operand and result slots). `willreturn` and `memory(argmem: readwrite)`.
    ArgMem,
    /// It returns, but may touch other memory: memory growth, which reallocates the buffer the
    /// `Memory` argument points to. `willreturn`.
    Returns,
    /// Anything: the host is called (frame builtins, `jit_step`).
    Any,
}

/// LLVM's `memory(argmem: readwrite)`: the encoding of `MemoryEffects` with mod-ref (3) for
/// argument memory, location 0, and no access (0) for every other location.
const MEMORY_ARGMEM_READWRITE: u64 = 3;

/// The virtual stack inside one block.
#[derive(Clone)]
struct BlockState<'ctx> {
    /// Stack height at block entry.
    entry_len: IntValue<'ctx>,
    /// Height of the part held in the array, relative to `entry_len`.
    phys: i64,
    /// Items above the array part, bottom first.
    vs: Vec<Val<'ctx>>,
    /// Gas left after the whole block's static gas was charged.
    gas: IntValue<'ctx>,
    /// Bytes the memory is known to hold here: the end of the highest constant-offset access
    /// the block has made so far (memory never shrinks within a frame).
    mem_known: u64,
    /// The memory's base pointer, as loaded in this block since the last call that may have
    /// moved the buffer (a growth, or a builtin working on the frame).
    mem_base: Option<PointerValue<'ctx>>,
    /// The top of the stack at block entry as `entry_stack` proved it (the items just below
    /// `entry_len`), if it did.
    known: Option<Rc<[Option<U256>]>>,
    /// The array slots below this one (relative to `entry_len`) still hold what they held at
    /// block entry: nothing in the block has written them (a flush, or a builtin's results).
    untouched_below: i64,
    /// The pc from which on a memory expansion that the gas left after the whole block does
    /// not pay is certain to end the frame out of gas, with nothing done first that the
    /// failure does not undo: every instruction after it but the block's last is
    /// [`undone_by_failure`]. Such an expansion leaves gas for less than the static gas of the
    /// rest of the block; no instruction in that rest can make gas, fail otherwise or halt
    /// before the charges, and the last one is only reached if they are all paid.
    oog_certain_from: usize,
}

struct Codegen<'a, 'ctx> {
    ctx: &'ctx Context,
    b: Builder<'ctx>,
    func: FunctionValue<'ctx>,
    i32: IntType<'ctx>,
    i64: IntType<'ctx>,
    i256: IntType<'ctx>,
    module: &'a Module<'ctx>,
    frame: PointerValue<'ctx>,
    host: PointerValue<'ctx>,
    analysis_ptr: PointerValue<'ctx>,
    /// The call data.
    input: PointerValue<'ctx>,
    input_len: IntValue<'ctx>,
    /// The frame's message.
    msg: PointerValue<'ctx>,
    /// The frame's memory.
    memory: PointerValue<'ctx>,
    stack_base: PointerValue<'ctx>,
    /// Stack height and gas between blocks.
    len_var: PointerValue<'ctx>,
    gas_var: PointerValue<'ctx>,
    /// Where a dynamic jump wants to go, and the state to hand over if it cannot.
    target_var: PointerValue<'ctx>,
    exit_pc_var: PointerValue<'ctx>,
    exit_len_var: PointerValue<'ctx>,
    exit_gas_var: PointerValue<'ctx>,
    step_ty: FunctionType<'ctx>,
    step_ptr: PointerValue<'ctx>,
    frame_fn_ty: FunctionType<'ctx>,
    pure_fn_ty: FunctionType<'ctx>,
    mulmod_fn_ty: FunctionType<'ctx>,
    expand_fn_ty: FunctionType<'ctx>,
    calldata_fn_ty: FunctionType<'ctx>,
    /// Operands and result of pure builtins: allocas of `[3 x i256]` and `i256`, which the
    /// x86-64 data layout aligns to 16 bytes (the builtins need 8).
    args_var: PointerValue<'ctx>,
    out_var: PointerValue<'ctx>,
    analysis: &'a CodeAnalysis,
    table: &'static OpTable,
    /// The revision the code is compiled for.
    rev: Revision,
    /// The EVM blocks, by start pc.
    blocks: &'a [EvmBlock],
    /// The LLVM block of every EVM block some branch goes to, by start pc: created on first
    /// use, laid out in pc order.
    bbs: BTreeMap<usize, BasicBlock<'ctx>>,
    /// Blocks branched to but not emitted yet.
    pending: BTreeSet<usize>,
    dispatch: Option<BasicBlock<'ctx>>,
    stop: BasicBlock<'ctx>,
    /// What `entry_stack` proved: block entries and jump targets.
    proven: Proven,
    /// The profile to speculate on, if any.
    spec: Option<&'a Speculation>,
    /// What was done with it so far.
    spec_stats: SpeculationStats,
    /// See [`Target::optimising`].
    optimising: bool,
    /// See [`Codegen::out_of_gas`].
    oog: Option<BasicBlock<'ctx>>,
}

/// The host CPU the machine code is generated for (LLVM's names), and the code generator it
/// is generated with.
pub(crate) struct Target<'s> {
    pub cpu: &'s str,
    pub features: &'s str,
    /// Whether the code generator optimises (LLVM above O0). Two choices follow from it:
    /// - DIV, MOD, SDIV and SMOD of variable operands get an inline 64-bit path (see
    ///   `Codegen::divide`) only when it does. Only a code generator that keeps values in
    ///   registers across the path's extra blocks gains from it: LLVM's fast one at O0 spills
    ///   every live value at each, and the path cost swap_math 5% there while it gained sha1
    ///   18%.
    /// - The shared jump dispatch is a `switch` when it does, which LLVM lowers to a search
    ///   tree with jump tables where cases are dense, and otherwise a search tree built in
    ///   the IR (`Codegen::search_tree`), since LLVM lowers a `switch` at O0 to one comparison
    ///   per case. At O1 the built tree made swap_math 3-5% slower and its code 6% larger.
    pub optimising: bool,
}

/// Builds the function for `analysis` at `rev` into `module`, speculating on `spec` if given;
/// returns what was done with the speculation.
pub(crate) fn build<'ctx>(
    ctx: &'ctx Context,
    module: &Module<'ctx>,
    analysis: &CodeAnalysis,
    rev: Revision,
    target: Target<'_>,
    spec: Option<&Speculation>,
) -> Result<SpeculationStats, String> {
    build_inner(ctx, module, analysis, rev, target, spec).map_err(|e| e.to_string())
}

fn build_inner<'ctx>(
    ctx: &'ctx Context,
    module: &Module<'ctx>,
    analysis: &CodeAnalysis,
    rev: Revision,
    target: Target<'_>,
    spec: Option<&Speculation>,
) -> R<SpeculationStats> {
    let (target_cpu, target_features) = (target.cpu, target.features);
    let ptr = ctx.ptr_type(Default::default());
    let i64 = ctx.i64_type();
    let fn_ty = i64.fn_type(
        &[ptr.into(), ptr.into(), ptr.into(), ptr.into(), i64.into()],
        false,
    );
    let func = module.add_function(ENTRY_NAME, fn_ty, None);
    let nounwind = ctx.create_enum_attribute(Attribute::get_named_enum_kind_id("nounwind"), 0);
    func.add_attribute(AttributeLoc::Function, nounwind);
    func.add_attribute(
        AttributeLoc::Function,
        ctx.create_string_attribute("target-cpu", target_cpu),
    );
    func.add_attribute(
        AttributeLoc::Function,
        ctx.create_string_attribute("target-features", target_features),
    );
    let noalias = ctx.create_enum_attribute(Attribute::get_named_enum_kind_id("noalias"), 0);
    for i in 0..3 {
        func.add_attribute(AttributeLoc::Param(i), noalias);
    }

    let b = ctx.create_builder();
    let entry = ctx.append_basic_block(func, "entry");
    let stop = ctx.append_basic_block(func, "stop");
    b.position_at_end(entry);
    let param = |i| func.get_nth_param(i).expect("five params");
    let (frame, host, analysis_ptr, input) = (
        param(0).into_pointer_value(),
        param(1).into_pointer_value(),
        param(2).into_pointer_value(),
        param(3).into_pointer_value(),
    );
    let input_len = param(4).into_int_value();

    let i32 = ctx.i32_type();
    let len_var = b.build_alloca(i64, "len")?;
    let gas_var = b.build_alloca(i64, "gas")?;
    let target_var = b.build_alloca(i32, "target")?;
    let exit_pc_var = b.build_alloca(i64, "exit_pc")?;
    let exit_len_var = b.build_alloca(i64, "exit_len")?;
    let exit_gas_var = b.build_alloca(i64, "exit_gas")?;

    let step_ty = i64.fn_type(&[ptr.into(), ptr.into(), ptr.into(), i64.into()], false);
    let frame_fn_ty = i64.fn_type(&[ptr.into(), ptr.into()], false);
    let pure_fn_ty = ctx.void_type().fn_type(&[ptr.into(), ptr.into()], false);
    let mulmod_fn_ty = ctx
        .void_type()
        .fn_type(&[ptr.into(), ptr.into(), ptr.into()], false);
    let expand_fn_ty = i64.fn_type(&[ptr.into(), i64.into(), i64.into()], false);
    let calldata_fn_ty = ctx
        .void_type()
        .fn_type(&[ptr.into(), i64.into(), ptr.into(), ptr.into()], false);
    let i256 = ctx
        .custom_width_int_type(std::num::NonZeroU32::new(256).expect("non-zero"))
        .map_err(|_| BuilderError::BitwidthError)?;
    let args_var = b.build_alloca(i256.array_type(3), "args")?;
    let out_var = b.build_alloca(i256, "out")?;
    let step_ptr =
        b.build_int_to_ptr(i64.const_int(step_address() as u64, false), ptr, "jit_step")?;

    let blocks = analysis.basic_blocks(rev);
    let proven = entry_stack::prove(analysis, &blocks);
    let mut cg = Codegen {
        ctx,
        b,
        func,
        i32,
        i64,
        i256: ctx
            .custom_width_int_type(std::num::NonZeroU32::new(256).expect("non-zero"))
            .map_err(|_| BuilderError::BitwidthError)?,
        module,
        frame,
        host,
        analysis_ptr,
        input,
        input_len,
        msg: ptr.const_null(),
        memory: ptr.const_null(),
        stack_base: ptr.const_null(),
        len_var,
        gas_var,
        target_var,
        exit_pc_var,
        exit_len_var,
        exit_gas_var,
        step_ty,
        step_ptr,
        frame_fn_ty,
        pure_fn_ty,
        mulmod_fn_ty,
        expand_fn_ty,
        calldata_fn_ty,
        args_var,
        out_var,
        analysis,
        table: op_table(rev),
        rev,
        blocks: &blocks,
        bbs: BTreeMap::new(),
        pending: BTreeSet::new(),
        dispatch: None,
        stop,
        proven,
        spec,
        spec_stats: SpeculationStats::default(),
        optimising: target.optimising,
        oog: None,
    };

    // Entry: the stack array pointer, height and gas from the frame.
    let data_field = cg.field_ptr(Frame::STACK_OFFSET + ember_evm::stack::Stack::DATA_OFFSET)?;
    cg.stack_base =
        cg.b.build_load(ptr, data_field, "stack")?
            .into_pointer_value();
    let msg_field = cg.field_ptr(Frame::MSG_OFFSET)?;
    cg.msg = cg.b.build_load(ptr, msg_field, "msg")?.into_pointer_value();
    cg.memory = cg.field_ptr(Frame::MEMORY_OFFSET)?;
    let len = cg.load_frame_len()?;
    cg.b.build_store(len_var, len)?;
    let gas = cg.load_frame_gas()?;
    cg.b.build_store(gas_var, gas)?;

    let first = cg.block_at(0);
    cg.b.build_unconditional_branch(first)?;

    // Falling off the end of the code is STOP.
    cg.b.position_at_end(stop);
    let gas = cg.b.build_load(i64, gas_var, "gas")?.into_int_value();
    cg.store_frame_gas(gas)?;
    cg.ret_const(halt_code(StatusCode::Success))?;

    // Only blocks that something branches to are compiled: from the first, through
    // fall-throughs, constant and guarded targets, and every JUMPDEST once a dynamic jump uses
    // the shared dispatch. What only recompile exits lead to is left to the interpreter.
    while let Some(pc) = cg.pending.pop_first() {
        let i = blocks
            .binary_search_by_key(&pc, |b| b.start)
            .expect("branch targets are block starts");
        cg.block(&blocks[i])?;
        cg.spec_stats.compiled_blocks += 1;
    }
    cg.finish_dispatch()?;
    Ok(cg.spec_stats)
}

impl<'a, 'ctx> Codegen<'a, 'ctx> {
    // ---- frame access ------------------------------------------------------------------

    fn field_ptr(&self, offset: usize) -> R<PointerValue<'ctx>> {
        let off = self.i64.const_int(offset as u64, false);
        // SAFETY: building a GEP only creates IR. The offsets are `offset_of!` values of the
        // running binary's `Frame`/`Stack`, so the address stays inside the frame object.
        unsafe {
            self.b
                .build_in_bounds_gep(self.ctx.i8_type(), self.frame, &[off], "field")
        }
    }

    fn load_frame_len(&self) -> R<IntValue<'ctx>> {
        let p = self.field_ptr(Frame::STACK_OFFSET + ember_evm::stack::Stack::LEN_OFFSET)?;
        Ok(self.b.build_load(self.i64, p, "len")?.into_int_value())
    }

    fn store_frame_len(&self, v: IntValue<'ctx>) -> R<()> {
        let p = self.field_ptr(Frame::STACK_OFFSET + ember_evm::stack::Stack::LEN_OFFSET)?;
        self.b.build_store(p, v)?;
        Ok(())
    }

    fn load_frame_gas(&self) -> R<IntValue<'ctx>> {
        let p = self.field_ptr(Frame::GAS_LEFT_OFFSET)?;
        Ok(self.b.build_load(self.i64, p, "gas")?.into_int_value())
    }

    fn store_frame_gas(&self, v: IntValue<'ctx>) -> R<()> {
        let p = self.field_ptr(Frame::GAS_LEFT_OFFSET)?;
        self.b.build_store(p, v)?;
        Ok(())
    }

    fn ret_const(&self, v: u64) -> R<()> {
        self.b.build_return(Some(&self.i64.const_int(v, false)))?;
        Ok(())
    }

    // ---- memory, call data and the message ----------------------------------------------

    /// A pointer `offset` bytes into the object at `base`.
    fn byte_ptr(&self, base: PointerValue<'ctx>, offset: IntValue<'ctx>) -> R<PointerValue<'ctx>> {
        // SAFETY: building a GEP only creates IR. Callers pass a field offset of the object
        // or a memory or call data offset they have checked against its length.
        unsafe {
            self.b
                .build_in_bounds_gep(self.ctx.i8_type(), base, &[offset], "")
        }
    }

    /// Loads a `ty` at `p` with the given alignment.
    fn load_aligned(
        &self,
        ty: IntType<'ctx>,
        p: PointerValue<'ctx>,
        align: u32,
    ) -> R<IntValue<'ctx>> {
        let v = self.b.build_load(ty, p, "")?;
        v.as_instruction_value()
            .expect("a load is an instruction")
            .set_alignment(align)
            .map_err(|_| BuilderError::UnsetPosition)?;
        Ok(v.into_int_value())
    }

    /// Stores `v` at `p` with the given alignment.
    fn store_aligned(&self, p: PointerValue<'ctx>, v: IntValue<'ctx>, align: u32) -> R<()> {
        self.b
            .build_store(p, v)?
            .set_alignment(align)
            .map_err(|_| BuilderError::UnsetPosition)?;
        Ok(())
    }

    /// Calls the `extern "C"` function at `addr` (baked into the code) with `args`; returns
    /// its integer result, if it has one. The call carries the attributes that hold for the
    /// builtin (`effects`), so that LLVM need not assume it reads and writes everything.
    fn call_address(
        &self,
        ty: FunctionType<'ctx>,
        addr: usize,
        args: &[BasicMetadataValueEnum<'ctx>],
        effects: Effects,
    ) -> R<Option<IntValue<'ctx>>> {
        let f = self.b.build_int_to_ptr(
            self.const64(addr),
            self.ctx.ptr_type(Default::default()),
            "builtin",
        )?;
        let call = self.b.build_indirect_call(ty, f, args, "")?;
        self.set_effects(call, effects);
        Ok(call
            .try_as_basic_value()
            .basic()
            .map(|v| v.into_int_value()))
    }

    /// Marks a builtin call with what it may do (see [`Effects`]).
    fn set_effects(&self, call: CallSiteValue<'ctx>, effects: Effects) {
        let attr = |name: &str, value: u64| {
            self.ctx
                .create_enum_attribute(Attribute::get_named_enum_kind_id(name), value)
        };
        // No builtin unwinds: the pure ones cannot panic (and an `extern "C"` function
        // aborts rather than unwind), the others catch panics and return PANICKED.
        call.add_attribute(AttributeLoc::Function, attr("nounwind", 0));
        match effects {
            Effects::ArgMem => {
                call.add_attribute(AttributeLoc::Function, attr("willreturn", 0));
                call.add_attribute(
                    AttributeLoc::Function,
                    attr("memory", MEMORY_ARGMEM_READWRITE),
                );
            }
            Effects::Returns => {
                call.add_attribute(AttributeLoc::Function, attr("willreturn", 0));
            }
            Effects::Any => {}
        }
    }

    /// The memory's current size in bytes (its published length).
    fn load_memory_len(&self) -> R<IntValue<'ctx>> {
        let p = self.byte_ptr(self.memory, self.const64(Memory::LEN_OFFSET))?;
        self.load_aligned(self.i64, p, 8)
    }

    fn const64(&self, n: usize) -> IntValue<'ctx> {
        self.i64.const_int(n as u64, false)
    }

    /// `v` with its bytes reversed (big-endian memory to a native word and back).
    fn byte_swap(&self, v: IntValue<'ctx>) -> R<IntValue<'ctx>> {
        let f = Intrinsic::find("llvm.bswap")
            .and_then(|i| i.get_declaration(self.module, &[v.get_type().into()]))
            .ok_or(BuilderError::UnsetPosition)?;
        Ok(self
            .b
            .build_call(f, &[v.into()], "bswap")?
            .try_as_basic_value()
            .basic()
            .expect("bswap returns a value")
            .into_int_value())
    }

    /// The 20-byte big-endian address at `offset` in the message, as a word.
    fn message_address(&self, offset: usize) -> R<IntValue<'ctx>> {
        self.address_at(self.msg, offset)
    }

    /// The 20-byte big-endian address at `offset` from `base`, as a word.
    fn address_at(&self, base: PointerValue<'ctx>, offset: usize) -> R<IntValue<'ctx>> {
        let i160 = self
            .ctx
            .custom_width_int_type(std::num::NonZeroU32::new(160).expect("non-zero"))
            .map_err(|_| BuilderError::BitwidthError)?;
        let p = self.byte_ptr(base, self.const64(offset))?;
        let v = self.load_aligned(i160, p, 1)?;
        let v = self.byte_swap(v)?;
        self.b.build_int_z_extend(v, self.i256, "address")
    }

    /// The transaction or block field `opc` reads, loaded from the context the frame holds.
    /// The frame fetches the context from the host on its first read, in either tier; until
    /// then its pointer is null and a cold call fetches it (whatever it returns other than 0,
    /// a caught panic, leaves the function).
    fn tx_field(&self, opc: u8) -> R<IntValue<'ctx>> {
        let ptr = self.ctx.ptr_type(Default::default());
        let field = self.field_ptr(Frame::TX_CONTEXT_OFFSET)?;
        let held = self.b.build_load(ptr, field, "tx")?.into_pointer_value();
        let missing = self.b.build_is_null(held, "")?;
        let from = self.b.get_insert_block().expect("positioned");
        let fetch = self.ctx.append_basic_block(self.func, "tx_fetch");
        let have = self.ctx.append_basic_block(self.func, "tx");
        self.b.build_conditional_branch(missing, fetch, have)?;
        self.b.position_at_end(fetch);
        let r = self
            .call_address(
                self.frame_fn_ty,
                FETCH_TX_CONTEXT as usize,
                &[self.frame.into(), self.host.into()],
                Effects::Any,
            )?
            .expect("frame builtins return u64");
        let fetched = self.b.build_load(ptr, field, "")?.into_pointer_value();
        let fetched_in = self.b.get_insert_block().expect("positioned");
        self.return_unless(r, 0, have)?;
        self.b.position_at_end(have);
        let phi = self.b.build_phi(ptr, "tx")?;
        phi.add_incoming(&[(&held, from), (&fetched, fetched_in)]);
        let tx = phi.as_basic_value().into_pointer_value();
        let u256 = |offset: usize| -> R<IntValue<'ctx>> {
            let p = self.byte_ptr(tx, self.const64(offset))?;
            self.load_aligned(self.i256, p, 8)
        };
        let i64_field = |offset: usize| -> R<IntValue<'ctx>> {
            let p = self.byte_ptr(tx, self.const64(offset))?;
            let v = self.b.build_load(self.i64, p, "")?.into_int_value();
            self.b.build_int_z_extend(v, self.i256, "")
        };
        use std::mem::offset_of;
        match opc {
            op::ORIGIN => self.address_at(tx, offset_of!(TxContext, origin)),
            op::COINBASE => self.address_at(tx, offset_of!(TxContext, coinbase)),
            op::GASPRICE => u256(offset_of!(TxContext, gas_price)),
            op::CHAINID => u256(offset_of!(TxContext, chain_id)),
            op::BASEFEE => u256(offset_of!(TxContext, base_fee)),
            op::BLOBBASEFEE => u256(offset_of!(TxContext, blob_base_fee)),
            op::TIMESTAMP => i64_field(offset_of!(TxContext, timestamp)),
            op::NUMBER => i64_field(offset_of!(TxContext, block_number)),
            op::GASLIMIT => i64_field(offset_of!(TxContext, gas_limit)),
            _ => {
                // PREVRANDAO: 32 big-endian bytes.
                let p = self.byte_ptr(tx, self.const64(offset_of!(TxContext, prev_randao)))?;
                let v = self.load_aligned(self.i256, p, 1)?;
                self.byte_swap(v)
            }
        }
    }

    /// The address of the `size` bytes of memory at the run-time offset `off`, for the
    /// instruction at `pc`; memory grows (and the block's gas pays for it) on a cold path.
    ///
    /// An offset above [`MAX_BUFFER_SIZE`] is an out-of-gas halt right here, as in the
    /// interpreter. So is an expansion that the gas left after the whole block does not cover
    /// when `pc` is at or past [`BlockState::oog_certain_from`]: the frame then fails out of gas
    /// before it could do anything its failure does not undo. Elsewhere such an
    /// instruction is left to the interpreter: a side exit at `pc` with the stack as it was
    /// `before` the operands were popped and the gas before the instruction (`gas_before` is
    /// its suffix), after which the interpreter fails exactly where it must, or grows memory
    /// itself and runs on. `None` when the failure or the exit is certain.
    ///
    /// A constant-offset access inside what the block already knows the memory holds needs
    /// no check, and the base pointer is loaded once per block and after each growth.
    fn memory_at(
        &mut self,
        st: &mut BlockState<'ctx>,
        before: &BlockState<'ctx>,
        pc: usize,
        gas_before: i64,
        off: Val<'ctx>,
        size: u64,
    ) -> R<Option<PointerValue<'ctx>>> {
        let limit = U256::from(MAX_BUFFER_SIZE);
        // A constant offset within the limit: its end, which the memory is known to hold
        // after this access.
        let const_end = off
            .c
            .filter(|&c| c <= limit)
            .map(|c| c.as_limbs()[0] + size);
        if let Some(end) = const_end.filter(|&end| end <= st.mem_known) {
            let base = self.memory_base(st)?;
            return Ok(Some(
                self.byte_ptr(base, self.const64(end as usize - size as usize))?,
            ));
        }
        let oog = self.out_of_gas()?;
        match off.c {
            Some(c) if c > limit => {
                self.b.build_unconditional_branch(oog)?;
                return Ok(None);
            }
            Some(_) => {}
            None => {
                let fits = self.b.build_int_compare(
                    IntPredicate::ULE,
                    off.v,
                    self.i256.const_int(MAX_BUFFER_SIZE, false),
                    "fits",
                )?;
                let ok = self.ctx.append_basic_block(self.func, "mem_fits");
                self.b.build_conditional_branch(fits, ok, oog)?;
                self.b.position_at_end(ok);
            }
        }
        let off64 = self.b.build_int_truncate(off.v, self.i64, "off")?;
        let end = self
            .b
            .build_int_add(off64, self.i64.const_int(size, false), "end")?;
        let len = self.load_memory_len()?;
        let inside = self
            .b
            .build_int_compare(IntPredicate::ULE, end, len, "inside")?;
        let base_before = self.memory_base(st)?;
        let from = self.b.get_insert_block().expect("positioned");
        let fast = self.ctx.append_basic_block(self.func, "mem");
        let grow = self.ctx.append_basic_block(self.func, "mem_grow");
        self.b.build_conditional_branch(inside, fast, grow)?;

        self.b.position_at_end(grow);
        let left = self
            .call_address(
                self.expand_fn_ty,
                jit_expand as ExpandFn as usize,
                &[self.memory.into(), st.gas.into(), end.into()],
                Effects::Returns,
            )?
            .expect("jit_expand returns i64");
        let paid =
            self.b
                .build_int_compare(IntPredicate::SGE, left, self.i64.const_zero(), "paid")?;
        let grown_base = self.load_memory_base()?;
        self.unless_paid(before, pc, gas_before, paid, fast)?;

        self.b.position_at_end(fast);
        let gas = self.b.build_phi(self.i64, "gas")?;
        gas.add_incoming(&[(&st.gas, from), (&left, grow)]);
        st.gas = gas.as_basic_value().into_int_value();
        let base = self
            .b
            .build_phi(self.ctx.ptr_type(Default::default()), "mem_base")?;
        base.add_incoming(&[(&base_before, from), (&grown_base, grow)]);
        let base = base.as_basic_value().into_pointer_value();
        st.mem_base = Some(base);
        if let Some(end) = const_end {
            st.mem_known = st.mem_known.max(end);
        }
        Ok(Some(self.byte_ptr(base, off64)?))
    }

    /// Carries on in `ok` if the dynamic charge of the instruction at `pc` was `paid`.
    /// Otherwise the frame halts out of gas right here where that is certain (`pc` at or past
    /// [`BlockState::oog_certain_from`]), and elsewhere side-exits at `pc` with the stack as it
    /// was `before` the operands were popped and the gas before the instruction (`gas_before`
    /// is its suffix), for the interpreter to fail or pay exactly there.
    fn unless_paid(
        &mut self,
        before: &BlockState<'ctx>,
        pc: usize,
        gas_before: i64,
        paid: IntValue<'ctx>,
        ok: BasicBlock<'ctx>,
    ) -> R<()> {
        if pc >= before.oog_certain_from {
            let oog = self.out_of_gas()?;
            self.b.build_conditional_branch(paid, ok, oog)?;
        } else {
            let exit = self.ctx.append_basic_block(self.func, "unpaid");
            self.b.build_conditional_branch(paid, ok, exit)?;
            self.b.position_at_end(exit);
            let mut b4 = before.clone();
            let g = self.gas_at(&b4, gas_before)?;
            self.side_exit(&mut b4, pc, g)?;
        }
        Ok(())
    }

    /// Returns `r` from the function unless it is `ok_value` (a builtin's halt or caught
    /// panic), and carries on in `next` when it is.
    fn return_unless(&self, r: IntValue<'ctx>, ok_value: u64, next: BasicBlock<'ctx>) -> R<()> {
        let leave = self.ctx.append_basic_block(self.func, "leave");
        let ok = self.i64.const_int(ok_value, false);
        let is_ok = self.b.build_int_compare(IntPredicate::EQ, r, ok, "")?;
        self.b.build_conditional_branch(is_ok, next, leave)?;
        self.b.position_at_end(leave);
        self.b.build_return(Some(&r))?;
        Ok(())
    }

    /// The function's one block that halts out of gas (a failed frame's stack, memory and gas
    /// are not looked at), created on first use.
    fn out_of_gas(&mut self) -> R<BasicBlock<'ctx>> {
        if let Some(bb) = self.oog {
            return Ok(bb);
        }
        let here = self.b.get_insert_block();
        let bb = self.ctx.append_basic_block(self.func, "out_of_gas");
        self.b.position_at_end(bb);
        self.ret_const(halt_code(StatusCode::OutOfGas))?;
        if let Some(here) = here {
            self.b.position_at_end(here);
        }
        self.oog = Some(bb);
        Ok(bb)
    }

    /// The memory's base pointer: the one this block loaded, or loaded now.
    fn memory_base(&self, st: &mut BlockState<'ctx>) -> R<PointerValue<'ctx>> {
        match st.mem_base {
            Some(base) => Ok(base),
            None => {
                let base = self.load_memory_base()?;
                st.mem_base = Some(base);
                Ok(base)
            }
        }
    }

    fn load_memory_base(&self) -> R<PointerValue<'ctx>> {
        let field = self.byte_ptr(self.memory, self.const64(Memory::BASE_OFFSET))?;
        Ok(self
            .b
            .build_load(self.ctx.ptr_type(Default::default()), field, "mem_base")?
            .into_pointer_value())
    }

    /// MLOAD, MSTORE or MSTORE8 in place; returns true when it ended the block's code.
    fn memory_op(
        &mut self,
        st: &mut BlockState<'ctx>,
        pc: usize,
        opc: u8,
        suffix: &[i64],
    ) -> R<bool> {
        let before = st.clone();
        let off = self.pop(st)?;
        let value = if opc == op::MLOAD {
            None
        } else {
            Some(self.pop(st)?)
        };
        let size = if opc == op::MSTORE8 { 1 } else { 32 };
        let Some(p) = self.memory_at(st, &before, pc, suffix[0], off, size)? else {
            return Ok(true);
        };
        match value {
            None => {
                let v = self.load_aligned(self.i256, p, 1)?;
                let v = self.byte_swap(v)?;
                self.push_value(st, v);
            }
            Some(v) if opc == op::MSTORE => {
                let swapped = match v.c {
                    Some(c) => self.i256.const_int_arbitrary_precision(
                        U256::from_le_bytes(c.to_be_bytes::<32>()).as_limbs(),
                    ),
                    None => self.byte_swap(v.v)?,
                };
                self.store_aligned(p, swapped, 1)?;
            }
            Some(v) => {
                let byte = self.b.build_int_truncate(v.v, self.ctx.i8_type(), "byte")?;
                self.store_aligned(p, byte, 1)?;
            }
        }
        Ok(false)
    }

    /// EXP: its dynamic gas (per byte of the exponent) charged in place, as a memory
    /// expansion's is (the same halt or hand-over when the block's gas does not cover it), and
    /// its value folded for constants, a shift for a constant base that is a power of two, a
    /// product for the exponents 0 to 2, and the interpreter's helper in a pure builtin
    /// otherwise.
    fn exp(&mut self, st: &mut BlockState<'ctx>, pc: usize, suffix: &[i64]) -> R<bool> {
        let before = st.clone();
        let base = self.pop(st)?;
        let e = self.pop(st)?;
        // The interpreter's charge, for a constant exponent; otherwise its bytes,
        // (256 - leading zeros + 7) / 8, times the interpreter's gas per byte.
        let cost = match e.c {
            Some(c) => Some(
                self.i64
                    .const_int(ins::exp_cost(self.rev, &c) as u64, false),
            )
            .filter(|_| !c.is_zero()),
            None => {
                let per_byte = ins::exp_byte_gas(self.rev) as u64;
                let ctlz = self.ctlz256(e.v)?;
                let b = &self.b;
                let lz = b.build_int_truncate(ctlz, self.i64, "")?;
                let bits = b.build_int_sub(self.i64.const_int(256 + 7, false), lz, "")?;
                let bytes = b.build_right_shift(bits, self.i64.const_int(3, false), false, "")?;
                Some(b.build_int_mul(bytes, self.i64.const_int(per_byte, false), "exp_cost")?)
            }
        };
        if let Some(cost) = cost {
            let b = &self.b;
            let left = b.build_int_sub(st.gas, cost, "exp_gas")?;
            let paid =
                b.build_int_compare(IntPredicate::SGE, left, self.i64.const_zero(), "paid")?;
            let ok = self.ctx.append_basic_block(self.func, "exp_paid");
            self.unless_paid(&before, pc, suffix[0], paid, ok)?;
            self.b.position_at_end(ok);
            st.gas = left;
        }
        let c256 = |n: u64| self.i256.const_int(n, false);
        match (base.c, e.c) {
            (Some(x), Some(y)) => self.push_const(st, ins::exp(x, y)),
            (_, Some(y)) if y.is_zero() => self.push_const(st, U256::from(1)),
            (_, Some(y)) if y == U256::from(1) => self.push_value(st, base.v),
            (_, Some(y)) if y == U256::from(2) => {
                let v = self.b.build_int_mul(base.v, base.v, "square")?;
                self.push_value(st, v);
            }
            (Some(x), _) if x.is_zero() => {
                let z = self
                    .b
                    .build_int_compare(IntPredicate::EQ, e.v, c256(0), "")?;
                let v = self.b.build_int_z_extend(z, self.i256, "")?;
                self.push_value(st, v);
            }
            (Some(x), _) if x == U256::from(1) => self.push_const(st, x),
            (Some(x), _) if power_of_two(x).is_some() => {
                // (2^k)^e = 2^(k e), zero once k e reaches 256, i.e. for e >= ceil(256 / k).
                // The bit is set in 64 bits and placed in its limb through a vector: a 256-bit
                // shift by a variable amount is several times the code.
                let k = power_of_two(x).expect("checked");
                let b = &self.b;
                let in_range =
                    b.build_int_compare(IntPredicate::ULT, e.v, c256(256u64.div_ceil(k)), "")?;
                let e64 = b.build_int_truncate(e.v, self.i64, "")?;
                let shift = b.build_int_mul(e64, self.i64.const_int(k, false), "")?;
                let shift = b
                    .build_select(in_range, shift, self.i64.const_zero(), "")?
                    .into_int_value();
                let bit = b.build_and(shift, self.i64.const_int(63, false), "")?;
                let word = b.build_left_shift(self.i64.const_int(1, false), bit, "")?;
                let limb = b.build_right_shift(shift, self.i64.const_int(6, false), false, "")?;
                let limbs = self.i64.vec_type(4);
                let placed = b.build_insert_element(limbs.const_zero(), word, limb, "")?;
                let pow = b
                    .build_bit_cast(placed, self.i256, "pow2")?
                    .into_int_value();
                let v = b
                    .build_select(in_range, pow, self.i256.const_zero(), "")?
                    .into_int_value();
                self.push_value(st, v);
            }
            _ => {
                let v = self.pure_call(EXP_VALUE, &[base, e])?;
                self.push_value(st, v);
            }
        }
        Ok(false)
    }

    /// The leading zero bits of a 256-bit value (256 for zero), with LLVM's intrinsic.
    fn ctlz256(&self, v: IntValue<'ctx>) -> R<IntValue<'ctx>> {
        let f = Intrinsic::find("llvm.ctlz")
            .and_then(|i| i.get_declaration(self.module, &[self.i256.into()]))
            .expect("llvm.ctlz exists for every integer type");
        let zero_is_poison = self.ctx.bool_type().const_zero();
        Ok(self
            .b
            .build_call(f, &[v.into(), zero_is_poison.into()], "ctlz")?
            .try_as_basic_value()
            .basic()
            .expect("ctlz returns its argument's type")
            .into_int_value())
    }

    /// CALLDATALOAD: a load in place when the word lies wholly inside the call data, the
    /// interpreter's zero-padding body otherwise.
    fn calldataload(&mut self, off: Val<'ctx>) -> R<IntValue<'ctx>> {
        let b = &self.b;
        let fits = b.build_int_compare(
            IntPredicate::ULE,
            off.v,
            self.i256.const_int(MAX_BUFFER_SIZE, false),
            "fits",
        )?;
        let off64 = b.build_int_truncate(off.v, self.i64, "off")?;
        let end = b.build_int_add(off64, self.i64.const_int(32, false), "end")?;
        let inside = b.build_int_compare(IntPredicate::ULE, end, self.input_len, "inside")?;
        let whole = b.build_and(fits, inside, "")?;
        let fast = self.ctx.append_basic_block(self.func, "cd");
        let slow = self.ctx.append_basic_block(self.func, "cd_padded");
        let join = self.ctx.append_basic_block(self.func, "cd_join");
        b.build_conditional_branch(whole, fast, slow)?;

        b.position_at_end(fast);
        let p = self.byte_ptr(self.input, off64)?;
        let v = self.load_aligned(self.i256, p, 1)?;
        let fast_v = self.byte_swap(v)?;
        let fast_end = self.b.get_insert_block().expect("positioned");
        self.b.build_unconditional_branch(join)?;

        self.b.position_at_end(slow);
        self.store_aligned(self.args_var, off.v, 8)?;
        self.call_address(
            self.calldata_fn_ty,
            jit_calldataload as CallDataFn as usize,
            &[
                self.input.into(),
                self.input_len.into(),
                self.args_var.into(),
                self.out_var.into(),
            ],
            Effects::ArgMem,
        )?;
        let slow_v = self.load_out()?;
        self.b.build_unconditional_branch(join)?;

        self.b.position_at_end(join);
        let v = self.b.build_phi(self.i256, "calldata")?;
        v.add_incoming(&[(&fast_v, fast_end), (&slow_v, slow)]);
        Ok(v.as_basic_value().into_int_value())
    }

    /// `v` modulo 2^k: its low `k` bits (`k` < 256).
    fn low_bits(&self, v: IntValue<'ctx>, k: u64) -> R<IntValue<'ctx>> {
        let mask = (U256::from(1) << k as usize) - U256::from(1);
        let mask = self.i256.const_int_arbitrary_precision(mask.as_limbs());
        self.b.build_and(v, mask, "low_bits")
    }

    /// DIV, MOD, SDIV and SMOD by a constant power of two, ADDMOD and MULMOD modulo a constant
    /// power of two, MULMOD modulo 2^256 − 1 and SIGNEXTEND at a constant byte, without the
    /// builtin (operands top first, as the builtins take them).
    fn specialise(&self, opc: u8, vals: &[Val<'ctx>]) -> R<Option<IntValue<'ctx>>> {
        let b = &self.b;
        let c256 = |n: u64| self.i256.const_int(n, false);
        Ok(match opc {
            op::DIV => match vals[1].c.and_then(power_of_two) {
                Some(k) => Some(b.build_right_shift(vals[0].v, c256(k), false, "div")?),
                None => None,
            },
            op::MOD => match vals[1].c.and_then(power_of_two) {
                Some(k) => Some(self.low_bits(vals[0].v, k)?),
                None => None,
            },
            // A positive power of two 2^k (k < 255; 2^255 is negative): the quotient rounds
            // toward zero, so a negative dividend is first raised by 2^k − 1, the low k bits
            // of its sign spread over the word; the remainder is what that quotient leaves.
            op::SDIV | op::SMOD => match vals[1].c.and_then(power_of_two) {
                Some(0) if opc == op::SDIV => Some(vals[0].v),
                Some(0) => Some(c256(0)),
                Some(k) if k < 255 => {
                    let a = vals[0].v;
                    let sign = b.build_right_shift(a, c256(255), true, "")?;
                    let bias = b.build_right_shift(sign, c256(256 - k), false, "")?;
                    let biased = b.build_int_add(a, bias, "")?;
                    let q = b.build_right_shift(biased, c256(k), true, "sdiv")?;
                    Some(if opc == op::SDIV {
                        q
                    } else {
                        let multiple = b.build_left_shift(q, c256(k), "")?;
                        b.build_int_sub(a, multiple, "smod")?
                    })
                }
                _ => None,
            },
            // 2^256 ≡ 1 modulo 2^256 − 1 (Solidity's full-width `mulDiv` takes this MULMOD
            // first): the two halves of the 512-bit product, added with the carry wrapped
            // around, reduced once more only if they came to the modulus itself; the
            // interpreter's `arith::rem_all_ones`, in IR.
            op::MULMOD if vals[2].c == Some(U256::MAX) => {
                let i512 = self
                    .ctx
                    .custom_width_int_type(std::num::NonZeroU32::new(512).expect("non-zero"))
                    .map_err(|_| BuilderError::BitwidthError)?;
                let x = b.build_int_z_extend(vals[0].v, i512, "")?;
                let y = b.build_int_z_extend(vals[1].v, i512, "")?;
                let product = b.build_int_mul(x, y, "")?;
                let c512 = |n: u64| i512.const_int(n, false);
                let low =
                    b.build_int_z_extend(b.build_int_truncate(product, self.i256, "")?, i512, "")?;
                let high = b.build_right_shift(product, c512(256), false, "")?;
                let sum = b.build_int_add(low, high, "")?;
                let carry = b.build_right_shift(sum, c512(256), false, "")?;
                let folded = b.build_int_add(
                    b.build_int_truncate(sum, self.i256, "")?,
                    b.build_int_truncate(carry, self.i256, "")?,
                    "",
                )?;
                let is_modulus =
                    b.build_int_compare(IntPredicate::EQ, folded, self.i256.const_all_ones(), "")?;
                Some(
                    b.build_select(is_modulus, c256(0), folded, "mulmod")?
                        .into_int_value(),
                )
            }
            // Modulo 2^k (k < 256; 2^0 gives zero): 2^k divides 2^256, so the 256-bit
            // wrapping sum or product has the low k bits of the exact one.
            op::ADDMOD | op::MULMOD => match vals[2].c.and_then(power_of_two) {
                Some(k) => {
                    let (x, y) = (vals[0].v, vals[1].v);
                    let full = if opc == op::ADDMOD {
                        b.build_int_add(x, y, "")?
                    } else {
                        b.build_int_mul(x, y, "")?
                    };
                    Some(self.low_bits(full, k)?)
                }
                None => None,
            },
            op::SIGNEXTEND => match vals[0].c {
                Some(byte) if byte < U256::from(31) => {
                    let s = c256(248 - 8 * byte.as_limbs()[0]);
                    let up = b.build_left_shift(vals[1].v, s, "")?;
                    Some(b.build_right_shift(up, s, true, "signextend")?)
                }
                Some(_) => Some(vals[1].v),
                None => None,
            },
            _ => None,
        })
    }

    // ---- the stack array ---------------------------------------------------------------

    fn slot_ptr(&self, st: &BlockState<'ctx>, k: i64) -> R<PointerValue<'ctx>> {
        let idx = self.add_const(st.entry_len, k)?;
        // SAFETY: building a GEP only creates IR. At run time the index is below
        // STACK_LIMIT and not negative: block entry checks bound the height to
        // [stack_required, STACK_LIMIT - stack_max_growth], and `k` stays within those.
        unsafe {
            self.b
                .build_in_bounds_gep(self.i256, self.stack_base, &[idx], "slot")
        }
    }

    fn add_const(&self, v: IntValue<'ctx>, k: i64) -> R<IntValue<'ctx>> {
        if k == 0 {
            Ok(v)
        } else {
            self.b
                .build_int_add(v, self.i64.const_int(k as u64, true), "")
        }
    }

    fn load_slot(&self, st: &BlockState<'ctx>, k: i64) -> R<IntValue<'ctx>> {
        let p = self.slot_ptr(st, k)?;
        let v = self.b.build_load(self.i256, p, "")?;
        v.as_instruction_value()
            .expect("a load is an instruction")
            .set_alignment(8)
            .map_err(|_| BuilderError::UnsetPosition)?;
        Ok(v.into_int_value())
    }

    fn store_slot(&self, st: &BlockState<'ctx>, k: i64, v: IntValue<'ctx>) -> R<()> {
        let p = self.slot_ptr(st, k)?;
        self.b
            .build_store(p, v)?
            .set_alignment(8)
            .map_err(|_| BuilderError::UnsetPosition)?;
        Ok(())
    }

    /// Makes sure the top `n` items are on the virtual stack.
    fn pull(&self, st: &mut BlockState<'ctx>, n: usize) -> R<()> {
        while st.vs.len() < n {
            st.phys -= 1;
            // A slot the entry analysis proved constant, and that still holds its entry
            // value, is not loaded.
            let c = st.known.as_ref().and_then(|k| {
                if st.phys >= st.untouched_below {
                    return None;
                }
                let i = usize::try_from(k.len() as i64 + st.phys).ok()?;
                k.get(i).copied().flatten()
            });
            let v = match c {
                Some(c) => self.i256.const_int_arbitrary_precision(c.as_limbs()),
                None => self.load_slot(st, st.phys)?,
            };
            st.vs.insert(
                0,
                Val {
                    v,
                    c,
                    home: Some(st.phys),
                },
            );
        }
        Ok(())
    }

    fn pop(&self, st: &mut BlockState<'ctx>) -> R<Val<'ctx>> {
        self.pull(st, 1)?;
        Ok(st.vs.pop().expect("pulled one item"))
    }

    fn push_const(&self, st: &mut BlockState<'ctx>, c: U256) {
        let v = self.i256.const_int_arbitrary_precision(c.as_limbs());
        st.vs.push(Val {
            v,
            c: Some(c),
            home: None,
        });
    }

    fn push_value(&self, st: &mut BlockState<'ctx>, v: IntValue<'ctx>) {
        st.vs.push(Val {
            v,
            c: None,
            home: None,
        });
    }

    /// Writes the virtual stack to the array; returns the stack height.
    fn flush(&self, st: &mut BlockState<'ctx>) -> R<IntValue<'ctx>> {
        let items = std::mem::take(&mut st.vs);
        for (i, val) in items.iter().enumerate() {
            let k = st.phys + i as i64;
            if val.home != Some(k) {
                self.store_slot(st, k, val.v)?;
                st.untouched_below = st.untouched_below.min(k);
            }
        }
        st.phys += items.len() as i64;
        self.add_const(st.entry_len, st.phys)
    }

    /// Side exit at `pc`: the stack and `gas_before` go to the frame, then the interpreter
    /// continues at `pc`.
    fn side_exit(&self, st: &mut BlockState<'ctx>, pc: usize, gas_before: IntValue<'ctx>) -> R<()> {
        let len = self.flush(st)?;
        self.hand_over(len, gas_before, pc as u64)
    }

    /// Leaves the compiled code with the stack height `len` and the gas `gas` in the frame,
    /// returning `code` (the pc to continue at, maybe with a flag).
    fn hand_over(&self, len: IntValue<'ctx>, gas: IntValue<'ctx>, code: u64) -> R<()> {
        self.store_frame_len(len)?;
        self.store_frame_gas(gas)?;
        self.ret_const(code)
    }

    // ---- blocks ------------------------------------------------------------------------

    fn block(&mut self, blk: &EvmBlock) -> R<()> {
        let bb = self.bbs[&blk.start];
        self.b.position_at_end(bb);
        let entry = self.proven.entries.get(&blk.start);
        let height = entry.and_then(|e| e.height);
        let known = entry.map(|e| Rc::clone(&e.top));
        // A proven entry height is a constant: the overflow check below folds away, and slot
        // addresses become constant offsets.
        let len = match height {
            Some(h) => self.const64(h),
            None => self
                .b
                .build_load(self.i64, self.len_var, "len")?
                .into_int_value(),
        };
        let gas = self
            .b
            .build_load(self.i64, self.gas_var, "gas")?
            .into_int_value();

        // Entry checks.
        let mut checks = Vec::new();
        // Items every way in leaves need no underflow check, and a known height within the
        // limit no overflow check.
        let no_underflow = known
            .as_ref()
            .is_some_and(|k| k.len() >= usize::from(blk.stack_required));
        let no_overflow =
            height.is_some_and(|h| h + usize::from(blk.stack_max_growth) <= STACK_LIMIT);
        if blk.stack_required > 0 && !no_underflow {
            let req = self.i64.const_int(blk.stack_required as u64, false);
            checks.push(
                self.b
                    .build_int_compare(IntPredicate::UGE, len, req, "underflow")?,
            );
        }
        if blk.stack_max_growth > 0 && !no_overflow {
            // A block that grows by more than the whole stack can never run to its end; it
            // always exits (then the interpreter overflows at the exact instruction).
            match (STACK_LIMIT as u64).checked_sub(blk.stack_max_growth as u64) {
                Some(limit) => {
                    let limit = self.i64.const_int(limit, false);
                    checks.push(self.b.build_int_compare(
                        IntPredicate::ULE,
                        len,
                        limit,
                        "overflow",
                    )?);
                }
                None => checks.push(self.ctx.bool_type().const_zero()),
            }
        }
        if blk.static_gas > 0 {
            let need = self.i64.const_int(blk.static_gas as u64, false);
            checks.push(
                self.b
                    .build_int_compare(IntPredicate::SGE, gas, need, "gas")?,
            );
        }
        if let Some(&first) = checks.first() {
            let mut ok = first;
            for &c in &checks[1..] {
                ok = self.b.build_and(ok, c, "")?;
            }
            let body = self.ctx.append_basic_block(self.func, "body");
            let fail = self.ctx.append_basic_block(self.func, "entry_exit");
            self.b.build_conditional_branch(ok, body, fail)?;
            self.b.position_at_end(fail);
            self.hand_over(len, gas, blk.start as u64)?;
            self.b.position_at_end(body);
        }
        // The instructions and the static gas from each one to the block end.
        let code = self.analysis.padded_code();
        let mut instrs = Vec::with_capacity(blk.instructions as usize + 1);
        let mut pc = blk.start;
        while pc < blk.end {
            instrs.push(pc);
            pc += 1 + immediate_size(code[pc]);
        }
        let mut suffix = vec![0i64; instrs.len() + 1];
        for i in (0..instrs.len()).rev() {
            suffix[i] = suffix[i + 1] + (self.table[code[instrs[i]] as usize].gas.max(0) as i64);
        }
        let last = instrs.len().saturating_sub(1);
        let oog_certain_from = instrs[..last]
            .iter()
            .rev()
            .find(|&&pc| !undone_by_failure(code[pc]))
            .map_or(0, |&pc| pc + 1);

        let gas = self.add_const(gas, -blk.static_gas)?;
        let mut st = BlockState {
            entry_len: len,
            phys: 0,
            vs: Vec::new(),
            gas,
            mem_known: 0,
            mem_base: None,
            known,
            untouched_below: 0,
            oog_certain_from,
        };

        for (i, &pc) in instrs.iter().enumerate() {
            let opc = code[pc];
            if i > 0 && i % SPLIT_EVERY == 0 {
                let cur = self.b.get_insert_block().expect("positioned");
                let bb = self.ctx.append_basic_block(self.func, "split");
                bb.move_after(cur).expect("same function");
                self.b.build_unconditional_branch(bb)?;
                self.b.position_at_end(bb);
            }
            if self.instruction(&mut st, pc, opc, &suffix[i..])? {
                return Ok(());
            }
        }
        // Fell through to the next block (or off the end of the code).
        self.goto_next(&mut st, blk.end)
    }

    /// Writes back the block's state and branches to the block at `next`.
    fn goto_next(&mut self, st: &mut BlockState<'ctx>, next: usize) -> R<()> {
        let len = self.flush(st)?;
        self.b.build_store(self.len_var, len)?;
        self.b.build_store(self.gas_var, st.gas)?;
        let bb = self.next_block(next);
        self.b.build_unconditional_branch(bb)?;
        Ok(())
    }

    /// The LLVM block of the EVM block starting at `pc`, created (and queued for emission)
    /// on first use.
    fn block_at(&mut self, pc: usize) -> BasicBlock<'ctx> {
        if let Some(&bb) = self.bbs.get(&pc) {
            return bb;
        }
        let bb = self.ctx.append_basic_block(self.func, &format!("pc{pc}"));
        // Keep the blocks in pc order, after the shared STOP, as the code is laid out.
        let before = self
            .bbs
            .range(..pc)
            .next_back()
            .map_or(self.stop, |(_, &b)| b);
        bb.move_after(before)
            .expect("both blocks belong to the function");
        self.bbs.insert(pc, bb);
        self.pending.insert(pc);
        bb
    }

    /// The block execution continues in at `pc` when it falls through: STOP past the end.
    fn next_block(&mut self, pc: usize) -> BasicBlock<'ctx> {
        if pc < self.analysis.code().len() {
            self.block_at(pc)
        } else {
            self.stop
        }
    }

    fn gas_at(&self, st: &BlockState<'ctx>, suffix: i64) -> R<IntValue<'ctx>> {
        self.add_const(st.gas, suffix)
    }

    /// Emits one instruction; returns true when it ended the block's code (a jump, a halt or
    /// a side exit).
    fn instruction(
        &mut self,
        st: &mut BlockState<'ctx>,
        pc: usize,
        opc: u8,
        suffix: &[i64],
    ) -> R<bool> {
        let info = self.table[opc as usize];
        if info.gas < 0 || opc == op::INVALID {
            let g = self.gas_at(st, suffix[0])?;
            self.side_exit(st, pc, g)?;
            return Ok(true);
        }
        match opc {
            op::PUSH0 => self.push_const(st, U256::ZERO),
            op::PUSH1..=op::PUSH32 => {
                let n = immediate_size(opc);
                let mut buf = [0u8; 32];
                buf[32 - n..].copy_from_slice(&self.analysis.padded_code()[pc + 1..pc + 1 + n]);
                self.push_const(st, U256::from_be_bytes(buf));
            }
            op::DUP1..=op::DUP16 => {
                let n = (opc - op::DUP1 + 1) as usize;
                self.pull(st, n)?;
                let mut v = st.vs[st.vs.len() - n];
                v.home = None;
                st.vs.push(v);
            }
            op::SWAP1..=op::SWAP16 => {
                let n = (opc - op::SWAP1 + 1) as usize;
                self.pull(st, n + 1)?;
                let top = st.vs.len() - 1;
                st.vs.swap(top, top - n);
            }
            op::POP => {
                if st.vs.pop().is_none() {
                    st.phys -= 1;
                }
            }
            op::JUMPDEST => {}
            op::PC => self.push_const(st, U256::from(pc)),
            op::MLOAD | op::MSTORE | op::MSTORE8 => return self.memory_op(st, pc, opc, suffix),
            op::EXP => return self.exp(st, pc, suffix),
            op::CALLDATALOAD => {
                let off = self.pop(st)?;
                let v = self.calldataload(off)?;
                self.push_value(st, v);
            }
            op::CALLDATASIZE => {
                let v = self
                    .b
                    .build_int_z_extend(self.input_len, self.i256, "calldatasize")?;
                self.push_value(st, v);
            }
            op::CODESIZE => self.push_const(st, U256::from(self.analysis.code().len())),
            op::MSIZE => {
                let len = self.load_memory_len()?;
                let v = self.b.build_int_z_extend(len, self.i256, "msize")?;
                self.push_value(st, v);
            }
            op::CALLVALUE => {
                let p = self.byte_ptr(self.msg, self.const64(Message::VALUE_OFFSET))?;
                let v = self.load_aligned(self.i256, p, 8)?;
                self.push_value(st, v);
            }
            op::CALLER => {
                let v = self.message_address(Message::SENDER_OFFSET)?;
                self.push_value(st, v);
            }
            op::ADDRESS => {
                let v = self.message_address(Message::RECIPIENT_OFFSET)?;
                self.push_value(st, v);
            }
            op::RETURNDATASIZE => {
                let off = Frame::RETURN_DATA_OFFSET + ReturnData::LEN_OFFSET;
                let len = self.b.build_load(self.i64, self.field_ptr(off)?, "")?;
                let v =
                    self.b
                        .build_int_z_extend(len.into_int_value(), self.i256, "returndatasize")?;
                self.push_value(st, v);
            }
            op::ORIGIN
            | op::GASPRICE
            | op::COINBASE
            | op::TIMESTAMP
            | op::NUMBER
            | op::PREVRANDAO
            | op::GASLIMIT
            | op::CHAINID
            | op::BASEFEE
            | op::BLOBBASEFEE => {
                let v = self.tx_field(opc)?;
                self.push_value(st, v);
            }
            op::GAS => {
                let g = self.gas_at(st, suffix[1])?;
                let v = self.b.build_int_z_extend(g, self.i256, "gas")?;
                self.push_value(st, v);
            }
            op::ADD
            | op::SUB
            | op::MUL
            | op::AND
            | op::OR
            | op::XOR
            | op::LT
            | op::GT
            | op::SLT
            | op::SGT
            | op::EQ
            | op::SHL
            | op::SHR
            | op::SAR
            | op::BYTE => {
                let a = self.pop(st)?;
                let b = self.pop(st)?;
                self.binary(st, opc, a, b)?;
            }
            op::ISZERO | op::NOT => {
                let a = self.pop(st)?;
                if let Some(c) = a.c {
                    let r = if opc == op::NOT {
                        !c
                    } else {
                        U256::from(c.is_zero() as u8)
                    };
                    self.push_const(st, r);
                } else {
                    let v = if opc == op::NOT {
                        self.b.build_not(a.v, "not")?
                    } else {
                        let z = self.b.build_int_compare(
                            IntPredicate::EQ,
                            a.v,
                            self.i256.const_zero(),
                            "iszero",
                        )?;
                        self.b.build_int_z_extend(z, self.i256, "")?
                    };
                    self.push_value(st, v);
                }
            }
            op::STOP => {
                let g = self.gas_at(st, suffix[0])?;
                self.store_frame_gas(g)?;
                self.ret_const(halt_code(StatusCode::Success))?;
                return Ok(true);
            }
            op::JUMP => {
                self.jump(st, pc, suffix[0])?;
                return Ok(true);
            }
            op::JUMPI => {
                self.jumpi(st, pc, suffix[0])?;
                return Ok(true);
            }
            _ => {
                if let Some((f, n)) = pure_builtin(opc) {
                    self.call_pure(st, opc, f, n)?;
                } else if let Some(f) = frame_builtin(opc) {
                    return self.call_builtin(st, pc, opc, suffix, Builtin::Frame(f));
                } else {
                    return self.call_builtin(st, pc, opc, suffix, Builtin::Step);
                }
            }
        }
        Ok(false)
    }

    fn binary(&self, st: &mut BlockState<'ctx>, opc: u8, a: Val<'ctx>, b: Val<'ctx>) -> R<()> {
        if let (Some(x), Some(y)) = (a.c, b.c) {
            let r = match opc {
                op::ADD => x.wrapping_add(y),
                op::SUB => x.wrapping_sub(y),
                op::MUL => x.wrapping_mul(y),
                op::AND => x & y,
                op::OR => x | y,
                op::XOR => x ^ y,
                op::LT => U256::from((x < y) as u8),
                op::GT => U256::from((x > y) as u8),
                op::SLT => U256::from(ins::slt(x, y) as u8),
                op::SGT => U256::from(ins::slt(y, x) as u8),
                op::EQ => U256::from((x == y) as u8),
                op::SHL => ins::shl(x, y),
                op::SHR => ins::shr(x, y),
                op::SAR => ins::sar(x, y),
                _ => ins::byte(x, y),
            };
            self.push_const(st, r);
            return Ok(());
        }
        if opc == op::MUL {
            for (k, other) in [(a.c, b.v), (b.c, a.v)] {
                if let Some(k) = k.and_then(power_of_two) {
                    let c = self.i256.const_int(k, false);
                    let v = self.b.build_left_shift(other, c, "mul")?;
                    self.push_value(st, v);
                    return Ok(());
                }
            }
        }
        let b_ = &self.b;
        let (x, y) = (a.v, b.v);
        let cmp = |p, name| -> R<IntValue<'ctx>> {
            let c = b_.build_int_compare(p, x, y, name)?;
            b_.build_int_z_extend(c, self.i256, "")
        };
        let c256 = |n: u64| self.i256.const_int(n, false);
        let v = match opc {
            op::ADD => b_.build_int_add(x, y, "add")?,
            op::SUB => b_.build_int_sub(x, y, "sub")?,
            op::MUL => b_.build_int_mul(x, y, "mul")?,
            op::AND => b_.build_and(x, y, "and")?,
            op::OR => b_.build_or(x, y, "or")?,
            op::XOR => b_.build_xor(x, y, "xor")?,
            op::LT => cmp(IntPredicate::ULT, "lt")?,
            op::GT => cmp(IntPredicate::UGT, "gt")?,
            op::SLT => cmp(IntPredicate::SLT, "slt")?,
            op::SGT => cmp(IntPredicate::SGT, "sgt")?,
            op::EQ => cmp(IntPredicate::EQ, "eq")?,
            op::SHL | op::SHR | op::SAR => {
                // x = shift amount (top), y = value. LLVM shifts by >= 256 are poison; the
                // select picks the EVM result for them and never uses the poison.
                let in_range = b_.build_int_compare(IntPredicate::ULT, x, c256(256), "inrange")?;
                let (shifted, big) = match opc {
                    op::SHL => (b_.build_left_shift(y, x, "shl")?, self.i256.const_zero()),
                    op::SHR => (
                        b_.build_right_shift(y, x, false, "shr")?,
                        self.i256.const_zero(),
                    ),
                    _ => (
                        b_.build_right_shift(y, x, true, "sar")?,
                        b_.build_right_shift(y, c256(255), true, "sign")?,
                    ),
                };
                b_.build_select(in_range, shifted, big, "")?
                    .into_int_value()
            }
            _ => {
                // BYTE: x = index from the most significant byte, y = value.
                let in_range = b_.build_int_compare(IntPredicate::ULT, x, c256(32), "inrange")?;
                let from_low = b_.build_int_sub(c256(31), x, "")?;
                let bits = b_.build_int_mul(from_low, c256(8), "")?;
                let shifted = b_.build_right_shift(y, bits, false, "")?;
                let byte = b_.build_and(shifted, c256(0xff), "byte")?;
                b_.build_select(in_range, byte, self.i256.const_zero(), "")?
                    .into_int_value()
            }
        };
        self.push_value(st, v);
        Ok(())
    }

    /// A pure arithmetic builtin on the top `n` values. It reads only its operands (MULMOD's
    /// also the frame's Barrett cache, through a pointer), so the virtual stack stays as it
    /// is. Constant operands are folded.
    fn call_pure(&self, st: &mut BlockState<'ctx>, opc: u8, f: Pure, n: usize) -> R<()> {
        let mut vals = Vec::with_capacity(n);
        for _ in 0..n {
            vals.push(self.pop(st)?);
        }
        if let Some(consts) = vals.iter().map(|v| v.c).collect::<Option<Vec<U256>>>() {
            self.push_const(st, fold_pure(opc, &consts));
            return Ok(());
        }
        if let Some(v) = self.specialise(opc, &vals)? {
            self.push_value(st, v);
            return Ok(());
        }
        let r = match opc {
            op::DIV | op::MOD | op::SDIV | op::SMOD if self.optimising => {
                self.divide(opc, f, &vals)?
            }
            _ => self.pure_call(f, &vals)?,
        };
        self.push_value(st, r);
        Ok(())
    }

    /// DIV, MOD, SDIV or SMOD of two variable operands (dividend first): one 64-bit hardware
    /// division when both fit in 64 bits (signed: in `i64`, the dividend above `i64::MIN`,
    /// where `idiv` would overflow) and the divisor is not zero, the builtin otherwise. Small
    /// operands are common: loop counters and indexes (sha1's `i / 20`), fixed-point numbers
    /// (snailtracer's SDIVs, about half of them).
    fn divide(&self, opc: u8, f: Pure, vals: &[Val<'ctx>]) -> R<IntValue<'ctx>> {
        let b = &self.b;
        let (x, y) = (vals[0].v, vals[1].v);
        let x64 = b.build_int_truncate(x, self.i64, "")?;
        let y64 = b.build_int_truncate(y, self.i64, "")?;
        let signed = matches!(opc, op::SDIV | op::SMOD);
        let widen = |v: IntValue<'ctx>| {
            if signed {
                b.build_int_s_extend(v, self.i256, "")
            } else {
                b.build_int_z_extend(v, self.i256, "")
            }
        };
        let x_fits = b.build_int_compare(IntPredicate::EQ, widen(x64)?, x, "")?;
        let y_fits = b.build_int_compare(IntPredicate::EQ, widen(y64)?, y, "")?;
        let zero = self.i64.const_zero();
        let mut small = b.build_and(x_fits, y_fits, "")?;
        small = b.build_and(
            small,
            b.build_int_compare(IntPredicate::NE, y64, zero, "")?,
            "",
        )?;
        if signed {
            let min = self.i64.const_int(i64::MIN as u64, true);
            let no_overflow = b.build_int_compare(IntPredicate::NE, x64, min, "")?;
            small = b.build_and(small, no_overflow, "small")?;
        }
        let fast = self.ctx.append_basic_block(self.func, "div64");
        let slow = self.ctx.append_basic_block(self.func, "div256");
        let join = self.ctx.append_basic_block(self.func, "div_join");
        b.build_conditional_branch(small, fast, slow)?;

        b.position_at_end(fast);
        let q = match opc {
            op::DIV => b.build_int_unsigned_div(x64, y64, "")?,
            op::MOD => b.build_int_unsigned_rem(x64, y64, "")?,
            op::SDIV => b.build_int_signed_div(x64, y64, "")?,
            _ => b.build_int_signed_rem(x64, y64, "")?,
        };
        let fast_v = widen(q)?;
        b.build_unconditional_branch(join)?;

        b.position_at_end(slow);
        let slow_v = self.pure_call(f, vals)?;
        let slow_end = b.get_insert_block().expect("positioned");
        b.build_unconditional_branch(join)?;

        b.position_at_end(join);
        let v = b.build_phi(self.i256, "quotient")?;
        v.add_incoming(&[(&fast_v, fast), (&slow_v, slow_end)]);
        Ok(v.as_basic_value().into_int_value())
    }

    /// Calls pure builtin `f` on `vals` (top first) and returns its result.
    fn pure_call(&self, f: Pure, vals: &[Val<'ctx>]) -> R<IntValue<'ctx>> {
        // Each operand is written limb by limb with volatile 64-bit stores, which LLVM neither
        // merges nor widens, and the builtin reads it the same way (`read_words`): a load that
        // spans more than one store, or part of a wider one, can miss store forwarding and
        // wait for the store to reach the cache.
        for (i, v) in vals.iter().enumerate() {
            for limb in 0..4u64 {
                let idx = [self.i64.const_int(4 * i as u64 + limb, false)];
                // SAFETY: building a GEP only creates IR; `4 * i + limb < 12`, inside the
                // `[3 x i256]` alloca.
                let p = unsafe {
                    self.b
                        .build_in_bounds_gep(self.i64, self.args_var, &idx, "")
                }?;
                let shifted = self.b.build_right_shift(
                    v.v,
                    self.i256.const_int(64 * limb, false),
                    false,
                    "",
                )?;
                let word = self.b.build_int_truncate(shifted, self.i64, "")?;
                let store = self.b.build_store(p, word)?;
                store
                    .set_alignment(8)
                    .map_err(|_| BuilderError::UnsetPosition)?;
                store
                    .set_volatile(true)
                    .map_err(|_| BuilderError::UnsetPosition)?;
            }
        }
        let (args, out) = (self.args_var.into(), self.out_var.into());
        match f {
            Pure::Plain(f) => {
                self.call_address(self.pure_fn_ty, f as usize, &[args, out], Effects::ArgMem)?
            }
            Pure::MulMod(f) => {
                let cache = self.field_ptr(Frame::MULMOD_CACHE_OFFSET)?.into();
                let args = [args, out, cache];
                self.call_address(self.mulmod_fn_ty, f as usize, &args, Effects::ArgMem)?
            }
        };
        self.load_out()
    }

    /// The word a builtin wrote to the result slot, read limb by limb with volatile 64-bit
    /// loads: the builtin stores it as four limbs (`ember_evm::stack::write_word`), and LLVM
    /// read it back with one 256-bit load, which waited for those stores to reach the cache
    /// (a store-forwarding stall after every DIV and MULMOD, the hottest spot of swap_math's
    /// compiled code).
    fn load_out(&self) -> R<IntValue<'ctx>> {
        let mut word = self.i256.const_zero();
        for limb in 0..4u64 {
            let idx = [self.i64.const_int(limb, false)];
            // SAFETY: building a GEP only creates IR; limb < 4 lies inside the i256 slot.
            let p = unsafe { self.b.build_in_bounds_gep(self.i64, self.out_var, &idx, "") }?;
            let v = self.b.build_load(self.i64, p, "")?;
            let load = v.as_instruction_value().expect("a load is an instruction");
            load.set_alignment(8)
                .map_err(|_| BuilderError::UnsetPosition)?;
            load.set_volatile(true)
                .map_err(|_| BuilderError::UnsetPosition)?;
            let wide = self
                .b
                .build_int_z_extend(v.into_int_value(), self.i256, "")?;
            let at = self.i256.const_int(64 * limb, false);
            word = self
                .b
                .build_or(word, self.b.build_left_shift(wide, at, "")?, "")?;
        }
        Ok(word)
    }

    /// Runs the instruction at `pc` in a builtin that works on the frame: the stack and
    /// gas are written to the frame first and read back after.
    fn call_builtin(
        &mut self,
        st: &mut BlockState<'ctx>,
        pc: usize,
        opc: u8,
        suffix: &[i64],
        builtin: Builtin,
    ) -> R<bool> {
        let len = self.flush(st)?;
        self.store_frame_len(len)?;
        // The builtin may grow the memory, which may move its buffer.
        st.mem_base = None;
        let next = pc + 1;
        let (r, ok_value) = match builtin {
            Builtin::Step => {
                // `step` charges the instruction's static gas itself.
                let g = self.gas_at(st, suffix[0])?;
                self.store_frame_gas(g)?;
                let args = [
                    self.frame.into(),
                    self.host.into(),
                    self.analysis_ptr.into(),
                    self.i64.const_int(pc as u64, false).into(),
                ];
                let call =
                    self.b
                        .build_indirect_call(self.step_ty, self.step_ptr, &args, "step")?;
                self.set_effects(call, Effects::Any);
                let r = call
                    .try_as_basic_value()
                    .basic()
                    .expect("jit_step returns u64")
                    .into_int_value();
                (r, next as u64)
            }
            Builtin::Frame(f) => {
                // The block already charged the static gas.
                let g = self.gas_at(st, suffix[1])?;
                self.store_frame_gas(g)?;
                let r = self
                    .call_address(
                        self.frame_fn_ty,
                        f as usize,
                        &[self.frame.into(), self.host.into()],
                        Effects::Any,
                    )?
                    .expect("frame builtins return u64");
                (r, 0)
            }
        };
        if matches!(opc, op::RETURN | op::REVERT | op::SELFDESTRUCT) {
            // These always halt; whatever the builtin returned is the function's result.
            self.b.build_return(Some(&r))?;
            return Ok(true);
        }
        // Anything else than carrying on (a halt, or a caught panic) leaves the function.
        let cont = self.ctx.append_basic_block(self.func, "cont");
        self.return_unless(r, ok_value, cont)?;
        self.b.position_at_end(cont);

        let (pops, pushes) = stack_io(opc);
        // The builtin consumed the slots of its operands and wrote its results there.
        st.untouched_below = st.untouched_below.min(st.phys - pops as i64);
        st.phys += pushes as i64 - pops as i64;
        let after = self.load_frame_gas()?;
        st.gas = self.add_const(after, -suffix[1])?;
        if suffix[1] > 0 {
            // The instruction's dynamic gas may leave less than the rest of the block needs:
            // hand over at the next instruction (the frame already holds its exact state).
            let ok =
                self.b
                    .build_int_compare(IntPredicate::SGE, st.gas, self.i64.const_zero(), "")?;
            let body = self.ctx.append_basic_block(self.func, "cont");
            let out = self.ctx.append_basic_block(self.func, "gas_exit");
            self.b.build_conditional_branch(ok, body, out)?;
            self.b.position_at_end(out);
            self.ret_const(next as u64)?;
            self.b.position_at_end(body);
        }
        Ok(false)
    }

    fn is_jumpdest(&self, c: U256) -> Option<usize> {
        self.analysis.jump_destination(&c)
    }

    fn jump(&mut self, st: &mut BlockState<'ctx>, pc: usize, suffix: i64) -> R<()> {
        self.pull(st, 1)?;
        let dest = *st.vs.last().expect("pulled");
        match dest.c.map(|c| self.is_jumpdest(c)) {
            Some(Some(target)) => {
                st.vs.pop();
                let len = self.flush(st)?;
                self.b.build_store(self.len_var, len)?;
                self.b.build_store(self.gas_var, st.gas)?;
                let bb = self.block_at(target);
                self.b.build_unconditional_branch(bb)?;
            }
            Some(None) => {
                let g = self.gas_at(st, suffix)?;
                self.side_exit(st, pc, g)?;
            }
            None => {
                let plan = self.site_plan(pc);
                let len = self.flush(st)?;
                let taken = self.add_const(len, -1)?;
                self.dynamic_jump(st, pc, suffix, dest.v, len, taken, plan)?;
            }
        }
        Ok(())
    }

    fn jumpi(&mut self, st: &mut BlockState<'ctx>, pc: usize, suffix: i64) -> R<()> {
        self.pull(st, 2)?;
        let n = st.vs.len();
        let (dest, cond) = (st.vs[n - 1], st.vs[n - 2]);
        match cond.c {
            Some(c) if c.is_zero() => {
                st.vs.truncate(n - 2);
                return self.goto_next(st, pc + 1);
            }
            Some(_) => {
                // Always taken: a JUMP whose exit re-runs the JUMPI.
                return match dest.c.map(|c| self.is_jumpdest(c)) {
                    Some(Some(target)) => {
                        st.vs.truncate(n - 2);
                        let len = self.flush(st)?;
                        self.b.build_store(self.len_var, len)?;
                        self.b.build_store(self.gas_var, st.gas)?;
                        let bb = self.block_at(target);
                        self.b.build_unconditional_branch(bb)?;
                        Ok(())
                    }
                    Some(None) => {
                        let g = self.gas_at(st, suffix)?;
                        self.side_exit(st, pc, g)
                    }
                    None => {
                        let plan = self.site_plan(pc);
                        let len = self.flush(st)?;
                        let taken = self.add_const(len, -2)?;
                        self.dynamic_jump(st, pc, suffix, dest.v, len, taken, plan)
                    }
                };
            }
            None => {}
        }
        let nonzero =
            self.b
                .build_int_compare(IntPredicate::NE, cond.v, self.i256.const_zero(), "cond")?;
        let next_bb = self.next_block(pc + 1);
        match dest.c.map(|c| self.is_jumpdest(c)) {
            Some(Some(target)) => {
                st.vs.truncate(n - 2);
                let len = self.flush(st)?;
                self.b.build_store(self.len_var, len)?;
                self.b.build_store(self.gas_var, st.gas)?;
                let bb = self.block_at(target);
                self.b.build_conditional_branch(nonzero, bb, next_bb)?;
                return Ok(());
            }
            Some(None) => {
                let len = self.flush(st)?;
                let fall = self.ctx.append_basic_block(self.func, "fall");
                let taken = self.ctx.append_basic_block(self.func, "bad_jump");
                self.b.build_conditional_branch(nonzero, taken, fall)?;
                self.b.position_at_end(taken);
                let g = self.gas_at(st, suffix)?;
                self.hand_over(len, g, pc as u64)?;
                self.b.position_at_end(fall);
                let rest = self.add_const(len, -2)?;
                self.b.build_store(self.len_var, rest)?;
                self.b.build_store(self.gas_var, st.gas)?;
            }
            None => {
                let plan = self.site_plan(pc);
                let len = self.flush(st)?;
                if plan == SitePlan::Unprofiled {
                    // Never ran: the whole JUMPI is the exit, whatever the condition.
                    let g = self.gas_at(st, suffix)?;
                    return self.recompile_exit(len, g, pc);
                }
                let taken_len = self.add_const(len, -2)?;
                let fall = self.ctx.append_basic_block(self.func, "fall");
                let taken = self.ctx.append_basic_block(self.func, "taken");
                self.b.build_conditional_branch(nonzero, taken, fall)?;
                self.b.position_at_end(taken);
                self.dynamic_jump(st, pc, suffix, dest.v, len, taken_len, plan)?;
                self.b.position_at_end(fall);
                self.b.build_store(self.len_var, taken_len)?;
                self.b.build_store(self.gas_var, st.gas)?;
            }
        }
        self.b.build_unconditional_branch(next_bb)?;
        Ok(())
    }

    /// How the dynamic jump at `pc` is compiled; counted in the speculation stats (call it
    /// once per site).
    fn site_plan(&mut self, pc: usize) -> SitePlan {
        let analysis = self.analysis;
        let p = match self.proven.targets.get(&pc) {
            // A long chain of compares is slower than the dispatch, which is exact too.
            Some(targets) if targets.len() <= MAX_PROVEN_COMPARES => {
                SitePlan::Proven(targets.clone())
            }
            Some(_) => SitePlan::Table,
            None => plan(self.spec, pc, |t| analysis.is_jumpdest(t)),
        };
        let s = &mut self.spec_stats;
        match p {
            SitePlan::Table => s.table_sites += 1,
            SitePlan::Guard(_) => s.guarded_sites += 1,
            SitePlan::Unprofiled => s.unprofiled_sites += 1,
            SitePlan::Proven(_) => s.proven_sites += 1,
        }
        p
    }

    /// A recompile side exit at the jump at `pc`: the stack height `len` (the jump's operands
    /// still on the stack) and `gas_before` (the gas before the jump) go to the frame.
    fn recompile_exit(
        &mut self,
        len: IntValue<'ctx>,
        gas_before: IntValue<'ctx>,
        pc: usize,
    ) -> R<()> {
        self.spec_stats.recompile_exits += 1;
        self.hand_over(len, gas_before, RECOMPILE | pc as u64)
    }

    /// A taken jump at `pc` to the run-time value `dest`, compiled as `plan` says. Where it
    /// reaches a JUMPDEST the stack height is `taken_len` and the gas is the block's; where it
    /// exits, the stack is at `exit_len` (operands still on it) with the gas before the jump.
    #[allow(clippy::too_many_arguments)]
    fn dynamic_jump(
        &mut self,
        st: &BlockState<'ctx>,
        pc: usize,
        suffix: i64,
        dest: IntValue<'ctx>,
        exit_len: IntValue<'ctx>,
        taken_len: IntValue<'ctx>,
        plan: SitePlan,
    ) -> R<()> {
        match plan {
            SitePlan::Table => self.table_jump(st, pc, suffix, dest, exit_len, taken_len),
            SitePlan::Guard(targets) => {
                self.compare_chain(st, dest, taken_len, &targets)?;
                let g = self.gas_at(st, suffix)?;
                self.recompile_exit(exit_len, g, pc)
            }
            SitePlan::Proven(targets) => {
                self.compare_chain(st, dest, taken_len, &targets)?;
                // Only a bad jump gets here: the interpreter fails it.
                let g = self.gas_at(st, suffix)?;
                self.hand_over(exit_len, g, pc as u64)
            }
            SitePlan::Unprofiled => {
                let g = self.gas_at(st, suffix)?;
                self.recompile_exit(exit_len, g, pc)
            }
        }
    }

    /// Branches to the block of each of `targets` that `dest` equals, with the stack height
    /// `taken_len` and the block's gas; leaves the builder where `dest` is none of them.
    fn compare_chain(
        &mut self,
        st: &BlockState<'ctx>,
        dest: IntValue<'ctx>,
        taken_len: IntValue<'ctx>,
        targets: &[usize],
    ) -> R<()> {
        self.b.build_store(self.len_var, taken_len)?;
        self.b.build_store(self.gas_var, st.gas)?;
        // A chain of 256-bit comparisons: at O0 it measured faster than a `switch` on the
        // 32-bit pc, which LLVM may lower to an indirect jump.
        for &t in targets {
            let c = self.i256.const_int(t as u64, false);
            let hit = self
                .b
                .build_int_compare(IntPredicate::EQ, dest, c, "guard")?;
            let miss = self.ctx.append_basic_block(self.func, "unseen");
            let bb = self.block_at(t);
            self.b.build_conditional_branch(hit, bb, miss)?;
            self.b.position_at_end(miss);
        }
        Ok(())
    }

    /// Branches to the shared dispatch with the state for both outcomes: `taken_len` and the
    /// block's gas if `dest` is a JUMPDEST, or a side exit at the jump at `pc` with the stack
    /// at `exit_len` (operands still on it) and the gas before the jump.
    fn table_jump(
        &mut self,
        st: &BlockState<'ctx>,
        pc: usize,
        suffix: i64,
        dest: IntValue<'ctx>,
        exit_len: IntValue<'ctx>,
        taken_len: IntValue<'ctx>,
    ) -> R<()> {
        let b = &self.b;
        b.build_store(self.len_var, taken_len)?;
        b.build_store(self.gas_var, st.gas)?;
        b.build_store(self.exit_pc_var, self.i64.const_int(pc as u64, false))?;
        b.build_store(self.exit_len_var, exit_len)?;
        b.build_store(self.exit_gas_var, self.add_const(st.gas, suffix)?)?;
        // Targets at or past the code length are never JUMPDESTs; they map to u32::MAX, which
        // no JUMPDEST has (the analyzer keeps code far below 4 GiB).
        let code_len = self
            .i256
            .const_int(self.analysis.code().len() as u64, false);
        let in_code = b.build_int_compare(IntPredicate::ULT, dest, code_len, "")?;
        let low = b.build_int_truncate(dest, self.i32, "")?;
        let t = b.build_select(in_code, low, self.i32.const_all_ones(), "target")?;
        b.build_store(self.target_var, t)?;
        let dispatch = match self.dispatch {
            Some(d) => d,
            None => {
                let d = self.ctx.append_basic_block(self.func, "dispatch");
                self.dispatch = Some(d);
                // The dispatch may go to any JUMPDEST.
                let code = self.analysis.code();
                for i in 0..self.blocks.len() {
                    let start = self.blocks[i].start;
                    if code.get(start) == Some(&op::JUMPDEST) {
                        self.block_at(start);
                    }
                }
                d
            }
        };
        self.b.build_unconditional_branch(dispatch)?;
        Ok(())
    }

    /// Branches from the current block to the block of `cases` (sorted by target) whose target
    /// is `t`, or to `bad`: a balanced tree of comparisons, down to leaves of at most
    /// [`SEARCH_LEAF`] equality tests, for the fast code generator (see
    /// [`Target::optimising`]). LLVM lowers a `switch` at O0 to one comparison per case, in
    /// order, which for the hundreds of JUMPDESTs of a solc contract took 40% of snailtracer's
    /// compiled time.
    fn search_tree(
        &self,
        t: IntValue<'ctx>,
        cases: &[(u64, BasicBlock<'ctx>)],
        bad: BasicBlock<'ctx>,
    ) -> R<()> {
        let b = &self.b;
        if cases.len() <= SEARCH_LEAF {
            for &(pc, bb) in cases {
                let c = self.i32.const_int(pc, false);
                let hit = b.build_int_compare(IntPredicate::EQ, t, c, "")?;
                let next = self.ctx.append_basic_block(self.func, "dispatch");
                b.build_conditional_branch(hit, bb, next)?;
                b.position_at_end(next);
            }
            b.build_unconditional_branch(bad)?;
            return Ok(());
        }
        let (low, high) = cases.split_at(cases.len() / 2);
        let pivot = self.i32.const_int(high[0].0, false);
        let below = b.build_int_compare(IntPredicate::ULT, t, pivot, "")?;
        let (left, right) = (
            self.ctx.append_basic_block(self.func, "dispatch"),
            self.ctx.append_basic_block(self.func, "dispatch"),
        );
        b.build_conditional_branch(below, left, right)?;
        b.position_at_end(left);
        self.search_tree(t, low, bad)?;
        b.position_at_end(right);
        self.search_tree(t, high, bad)
    }

    /// Fills in the shared dispatch block, if any dynamic jump uses it.
    fn finish_dispatch(&self) -> R<()> {
        let Some(dispatch) = self.dispatch else {
            return Ok(());
        };
        let b = &self.b;
        b.position_at_end(dispatch);
        let t = b
            .build_load(self.i32, self.target_var, "t")?
            .into_int_value();
        let bad = self.ctx.append_basic_block(self.func, "bad_jump");
        let targets = self
            .bbs
            .iter()
            .filter(|(&pc, _)| self.analysis.is_jumpdest(pc))
            .map(|(&pc, &bb)| (pc as u64, bb));
        if self.optimising {
            let cases: Vec<_> = targets
                .map(|(pc, bb)| (self.i32.const_int(pc, false), bb))
                .collect();
            b.build_switch(t, bad, &cases)?;
        } else {
            self.search_tree(t, &targets.collect::<Vec<_>>(), bad)?;
        }
        b.position_at_end(bad);
        let len = b
            .build_load(self.i64, self.exit_len_var, "")?
            .into_int_value();
        self.store_frame_len(len)?;
        let gas = b
            .build_load(self.i64, self.exit_gas_var, "")?
            .into_int_value();
        self.store_frame_gas(gas)?;
        let pc = b
            .build_load(self.i64, self.exit_pc_var, "")?
            .into_int_value();
        b.build_return(Some(&pc))?;
        Ok(())
    }
}

/// The most cases [`Codegen::search_tree`] compares one by one at a leaf.
const SEARCH_LEAF: usize = 4;

/// The most targets a jump with proven targets is compiled to compare against; one with more
/// goes through the dispatch. Measured at O0: 8 kept swap_math at 4.3-4.4x revm and
/// blake2b_shifts at 4.0-4.3x, where 16 took blake2b_shifts to 2.3x and 4 swap_math to 3.6x.
const MAX_PROVEN_COMPARES: usize = 8;

/// Whether all the instruction does is undone when its frame fails, and, with its stack and
/// static gas assured, it can fail only out of gas. That is the interpreter's own rule for
/// what may share a gas segment ([`op::ends_segment`]): every instruction with a lasting effect
/// (a write, a log, a call) can also fail in a static frame, so it ends a segment; what is left
/// reads at most, and a read only marks an account or slot warm, which the frame's failure
/// reverts (EIP-2929). GAS ends a segment only because it reads the gas left.
fn undone_by_failure(opc: u8) -> bool {
    !op::ends_segment(opc) || opc == op::GAS
}

/// `k` when `c` is 2^k.
fn power_of_two(c: U256) -> Option<u64> {
    c.is_power_of_two().then(|| c.trailing_zeros() as u64)
}
