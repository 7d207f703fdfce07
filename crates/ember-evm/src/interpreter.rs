//! The interpreter: the dispatch loop over a [`Frame`].
//!
//! Before each instruction the loop makes one table load (`OpInfo`) and checks definedness,
//! stack bounds and static gas with two comparisons and a subtraction; dynamic gas is charged
//! by the instruction bodies in [`crate::instructions`], which compiled code calls too.
//! A frame can be resumed at any JUMPDEST or block start with its stack, memory and gas handed
//! over ([`execute_from`]), which is how compiled code leaves for the interpreter.

use crate::analysis::CodeAnalysis;
use crate::frame::Frame;
use crate::host::{ExecResult, Host, Message, StatusCode, TraceStep, TxContext};
use crate::instructions::{self as ins, CopySource};
use crate::native_stack;
use crate::opcodes::*;
use crate::revision::Revision;
use crate::types::{B256, U256};
use crate::Vm;

/// The interpreter as a [`Vm`]; analyses the code on every call (callers that run code often
/// cache a [`CodeAnalysis`] and use [`execute_analyzed`]).
#[derive(Clone, Copy, Debug, Default)]
pub struct Interpreter;

impl Vm for Interpreter {
    fn execute(
        &self,
        host: &mut dyn Host,
        rev: Revision,
        msg: &Message<'_>,
        code: &[u8],
        _code_hash: Option<&B256>,
    ) -> ExecResult {
        execute(host, rev, msg, code)
    }
}

/// Runs `code` as the frame `msg` at revision `rev`.
pub fn execute(host: &mut dyn Host, rev: Revision, msg: &Message<'_>, code: &[u8]) -> ExecResult {
    execute_analyzed(host, rev, msg, &CodeAnalysis::new(code))
}

/// Runs already analysed code as the frame `msg`.
pub fn execute_analyzed(
    host: &mut dyn Host,
    rev: Revision,
    msg: &Message<'_>,
    analysis: &CodeAnalysis,
) -> ExecResult {
    let mut frame = Frame::new(msg, rev, analysis.code());
    let status = run(&mut frame, analysis, host, 0, &NoObserver);
    frame.finish(status, host)
}

/// Sees where a frame's jumps go, for profile-guided compilation. The interpreter calls it
/// only from [`execute_observed`]; every other entry point is compiled without the calls.
pub trait JumpObserver {
    /// The JUMP or JUMPI at `pc` jumped to `target` (a valid JUMPDEST).
    fn taken(&self, pc: usize, target: usize);
    /// The JUMPI at `pc` did not jump.
    fn not_taken(&self, pc: usize);
}

/// The observer of unobserved runs: its calls compile to nothing.
struct NoObserver;

impl JumpObserver for NoObserver {
    #[inline(always)]
    fn taken(&self, _: usize, _: usize) {}
    #[inline(always)]
    fn not_taken(&self, _: usize) {}
}

/// Runs already analysed code as the frame `msg`, telling `obs` about every jump that
/// executes (a jump to a bad destination ends the frame and is not reported). Nested frames
/// are the host's business and are not observed.
pub fn execute_observed<O: JumpObserver>(
    host: &mut dyn Host,
    rev: Revision,
    msg: &Message<'_>,
    analysis: &CodeAnalysis,
    obs: &O,
) -> ExecResult {
    let mut frame = Frame::new(msg, rev, analysis.code());
    let status = run(&mut frame, analysis, host, 0, obs);
    frame.finish(status, host)
}

/// Continues `frame` at `pc`, with whatever stack, memory, gas and refund it holds, and
/// finishes it. `pc` may be any instruction boundary of this code (not inside PUSH data), as
/// compiled code leaves mid-block too; the frame's gas must be what the interpreter would have
/// before that instruction. Any pc past the end of the code halts as STOP would.
pub fn execute_from(
    mut frame: Frame<'_>,
    analysis: &CodeAnalysis,
    host: &mut dyn Host,
    pc: usize,
) -> ExecResult {
    let pc = pc.min(analysis.code().len());
    let status = run(&mut frame, analysis, host, pc, &NoObserver);
    frame.finish(status, host)
}

fn run<O: JumpObserver>(
    f: &mut Frame<'_>,
    a: &CodeAnalysis,
    host: &mut dyn Host,
    pc: usize,
    obs: &O,
) -> StatusCode {
    // Every interpreted frame, nested ones included, starts here: make sure it has stack.
    // The loop below stays inline on the common path; a fresh segment runs a separate copy.
    if !native_stack::has_room(0) {
        return native_stack::on_new_segment(0, || run_outlined(f, a, host, pc, obs));
    }
    if host.tracer().is_some() {
        run_loop::<true, O>(f, a, host, pc, obs)
    } else {
        run_loop::<false, O>(f, a, host, pc, obs)
    }
}

/// [`run`] without the stack check, out of line.
#[inline(never)]
fn run_outlined<O: JumpObserver>(
    f: &mut Frame<'_>,
    a: &CodeAnalysis,
    host: &mut dyn Host,
    pc: usize,
    obs: &O,
) -> StatusCode {
    if host.tracer().is_some() {
        run_loop::<true, O>(f, a, host, pc, obs)
    } else {
        run_loop::<false, O>(f, a, host, pc, obs)
    }
}

/// Why an instruction could not start: undefined, or the stack out of bounds.
#[cold]
fn requirement_error(info: OpInfo, len: usize) -> StatusCode {
    if info.gas < 0 {
        StatusCode::UndefinedInstruction
    } else if len < info.min_stack as usize {
        StatusCode::StackUnderflow
    } else {
        StatusCode::StackOverflow
    }
}

#[cold]
#[inline(never)]
fn trace_step(f: &Frame<'_>, host: &mut dyn Host, pc: usize, op: u8, info: OpInfo) {
    if let Some(t) = host.tracer() {
        t.step(&TraceStep {
            pc,
            op,
            gas: f.gas_left,
            gas_cost: info.gas.max(0) as i64,
            mem_size: f.memory.len(),
            stack: f.stack.as_slice(),
            return_data: &f.return_data,
            depth: f.msg.depth,
            refund: f.gas_refund,
        });
    }
}

/// The destination of a jump, if it is a JUMPDEST.
#[inline(always)]
fn jump_target(a: &CodeAnalysis, dest: &U256) -> Result<usize, StatusCode> {
    let l = dest.as_limbs();
    if l[1] | l[2] | l[3] == 0 && a.is_jumpdest(l[0] as usize) {
        Ok(l[0] as usize)
    } else {
        Err(StatusCode::BadJumpDestination)
    }
}

/// The loop's hot state, kept in locals so it lives in registers: gas left, the stack item
/// count and the stack's base pointer. It is written back to the frame (`store`) before
/// anything that reads the frame's gas or stack (out-of-line instructions, tracing, halting)
/// and read again (`reload`) after.
///
/// The stack accessors rely on the invariant `Stack` documents: before each instruction the
/// opcode table check guarantees enough items for its pops and room for its pushes.
struct Regs {
    gas: i64,
    len: usize,
    base: *mut U256,
}

impl Regs {
    #[inline(always)]
    fn load(f: &mut Frame<'_>) -> Regs {
        Regs {
            gas: f.gas_left,
            len: f.stack.len(),
            base: f.stack.as_mut_ptr(),
        }
    }

    #[inline(always)]
    fn store(&self, f: &mut Frame<'_>) {
        f.gas_left = self.gas;
        f.stack.set_len(self.len);
    }

    #[inline(always)]
    fn reload(&mut self, f: &Frame<'_>) {
        self.gas = f.gas_left;
        self.len = f.stack.len();
    }

    #[inline(always)]
    fn pop(&mut self) -> U256 {
        debug_assert!(self.len > 0);
        self.len -= 1;
        // SAFETY: the table check guaranteed an item here (see the type's invariant); `base`
        // points at the frame's 1024-slot stack, which outlives the loop and does not move.
        unsafe { *self.base.add(self.len) }
    }

    #[inline(always)]
    fn push(&mut self, v: U256) {
        debug_assert!(self.len < STACK_LIMIT);
        // SAFETY: the table check guaranteed room for the push (len < STACK_LIMIT).
        unsafe { *self.base.add(self.len) = v };
        self.len += 1;
    }

    #[inline(always)]
    fn top(&mut self) -> &mut U256 {
        debug_assert!(self.len > 0);
        // SAFETY: the table check guaranteed at least one item.
        unsafe { &mut *self.base.add(self.len - 1) }
    }

    #[inline(always)]
    fn peek(&self, n: usize) -> U256 {
        debug_assert!(n < self.len);
        // SAFETY: the table check guaranteed more than n items.
        unsafe { *self.base.add(self.len - 1 - n) }
    }

    #[inline(always)]
    fn swap(&mut self, n: usize) {
        debug_assert!(n < self.len);
        // SAFETY: both slots hold items (n < len, from the table check) and are distinct
        // (n >= 1), so the non-overlapping swap of one element is valid.
        unsafe {
            let top = self.base.add(self.len - 1);
            std::ptr::swap_nonoverlapping(top, top.sub(n), 1);
        }
    }
}

#[inline(always)]
fn run_loop<const TRACE: bool, O: JumpObserver>(
    f: &mut Frame<'_>,
    a: &CodeAnalysis,
    host: &mut dyn Host,
    mut pc: usize,
    obs: &O,
) -> StatusCode {
    let table = op_table(f.rev);
    let mut r = Regs::load(f);
    loop {
        match step_inner::<TRACE, O>(f, &mut r, a, host, table, pc, obs) {
            Step::Next(next) => pc = next,
            Step::Halt(status) => {
                r.store(f);
                return status;
            }
        }
    }
}

/// What one instruction did: where execution goes next, or how the frame ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// Continue at this pc.
    Next(usize),
    /// The frame ended with this status (output, gas and refund are in the frame).
    Halt(StatusCode),
}

/// Executes exactly the one instruction at `pc`, with the interpreter's checks and gas: the
/// entry compiled code uses for every instruction it does not generate inline, so both tiers
/// share one implementation. `pc` must be an instruction boundary inside or just past the code.
pub fn step(f: &mut Frame<'_>, a: &CodeAnalysis, host: &mut dyn Host, pc: usize) -> Step {
    let pc = pc.min(a.code().len());
    let mut r = Regs::load(f);
    let s = step_inner::<false, NoObserver>(f, &mut r, a, host, op_table(f.rev), pc, &NoObserver);
    r.store(f);
    s
}

/// The value of a PUSHn immediate; `N` is a constant, so the copy is a fixed-size move.
#[inline(always)]
fn push_n<const N: usize>(code: &[u8], pc: usize) -> U256 {
    let mut buf = [0u8; 32];
    buf[32 - N..].copy_from_slice(&code[pc + 1..pc + 1 + N]);
    U256::from_be_bytes(buf)
}

#[inline(always)]
fn step_inner<const TRACE: bool, O: JumpObserver>(
    f: &mut Frame<'_>,
    r: &mut Regs,
    a: &CodeAnalysis,
    host: &mut dyn Host,
    table: &OpTable,
    pc: usize,
    obs: &O,
) -> Step {
    let code = a.padded_code();

    macro_rules! tri {
        ($e:expr) => {
            match $e {
                Ok(v) => v,
                Err(status) => return Step::Halt(status),
            }
        };
    }
    // An instruction body in `instructions` that works on the frame: sync the registers
    // around it.
    macro_rules! outline {
        ($e:expr) => {{
            r.store(f);
            let res = $e;
            r.reload(f);
            tri!(res)
        }};
    }
    // The same for bodies that cannot fail.
    macro_rules! synced {
        ($e:expr) => {{
            r.store(f);
            $e;
            r.reload(f);
        }};
    }
    macro_rules! binary {
        (|$a:ident, $b:ident| $body:expr) => {{
            let $a = r.pop();
            let top = r.top();
            let $b = *top;
            *top = $body;
        }};
    }
    macro_rules! ternary {
        (|$a:ident, $b:ident, $c:ident| $body:expr) => {{
            let $a = r.pop();
            let $b = r.pop();
            let top = r.top();
            let $c = *top;
            *top = $body;
        }};
    }
    macro_rules! ctx {
        ($e:expr) => {{
            let ctx = f.tx_context(host);
            let v = $e(ctx);
            r.push(v)
        }};
    }
    macro_rules! push_n {
        ($n:literal) => {{
            r.push(push_n::<$n>(code, pc));
            return Step::Next(pc + 1 + $n);
        }};
    }

    // SAFETY: `pc < code.len()` always holds. It starts at 0 or at a pc clamped to the code
    // length; sequential steps move past at most one instruction and its immediate, and a
    // PUSH at the last code byte ends at most 32 bytes into the 33-byte zero padding, whose
    // bytes are STOP and halt; jumps go only to JUMPDESTs inside the code.
    let op = unsafe { *code.get_unchecked(pc) };
    let info = table[op as usize];
    if TRACE {
        r.store(f);
        trace_step(f, host, pc, op, info);
    }
    if r.len < info.min_stack as usize || r.len > info.max_stack as usize {
        return Step::Halt(requirement_error(info, r.len));
    }
    r.gas -= info.gas as i64;
    if r.gas < 0 {
        return Step::Halt(StatusCode::OutOfGas);
    }

    match op {
        STOP => return Step::Halt(StatusCode::Success),
        ADD => binary!(|a, b| a.wrapping_add(b)),
        MUL => binary!(|a, b| a.wrapping_mul(b)),
        SUB => binary!(|a, b| a.wrapping_sub(b)),
        DIV => binary!(|a, b| ins::div(a, b)),
        SDIV => binary!(|a, b| ins::sdiv(a, b)),
        MOD => binary!(|a, b| ins::rem(a, b)),
        SMOD => binary!(|a, b| ins::smod(a, b)),
        ADDMOD => ternary!(|a, b, n| ins::addmod(a, b, n)),
        MULMOD => ternary!(|a, b, n| ins::mulmod(a, b, n)),
        EXP => {
            let base = r.pop();
            let e = r.peek(0);
            r.gas -= ins::exp_cost(f.rev, &e);
            if r.gas < 0 {
                return Step::Halt(StatusCode::OutOfGas);
            }
            *r.top() = base.wrapping_pow(e);
        }
        SIGNEXTEND => binary!(|b, x| ins::signextend(b, x)),
        LT => binary!(|a, b| U256::from((a < b) as u8)),
        GT => binary!(|a, b| U256::from((a > b) as u8)),
        SLT => binary!(|a, b| U256::from(ins::slt(a, b) as u8)),
        SGT => binary!(|a, b| U256::from(ins::slt(b, a) as u8)),
        EQ => binary!(|a, b| U256::from((a == b) as u8)),
        ISZERO => {
            let top = r.top();
            *top = U256::from(top.is_zero() as u8);
        }
        AND => binary!(|a, b| a & b),
        OR => binary!(|a, b| a | b),
        XOR => binary!(|a, b| a ^ b),
        NOT => {
            let top = r.top();
            *top = !*top;
        }
        BYTE => binary!(|i, x| ins::byte(i, x)),
        SHL => binary!(|s, x| ins::shl(s, x)),
        SHR => binary!(|s, x| ins::shr(s, x)),
        SAR => binary!(|s, x| ins::sar(s, x)),
        CLZ => {
            let top = r.top();
            *top = ins::clz(*top);
        }
        KECCAK256 => outline!(ins::keccak(f)),

        ADDRESS => r.push(f.msg.recipient.to_word()),
        BALANCE => outline!(ins::balance(f, host)),
        ORIGIN => ctx!(|c: &TxContext| c.origin.to_word()),
        CALLER => r.push(f.msg.sender.to_word()),
        CALLVALUE => r.push(f.msg.value),
        CALLDATALOAD => {
            let off = r.peek(0);
            *r.top() = ins::calldataload(f.msg.input, &off);
        }
        CALLDATASIZE => r.push(U256::from(f.msg.input.len())),
        CALLDATACOPY => outline!(ins::copy_to_memory(f, CopySource::CallData)),
        CODESIZE => r.push(U256::from(f.code.len())),
        CODECOPY => outline!(ins::copy_to_memory(f, CopySource::Code)),
        GASPRICE => ctx!(|c: &TxContext| c.gas_price),
        EXTCODESIZE => outline!(ins::extcodesize(f, host)),
        EXTCODECOPY => outline!(ins::extcodecopy(f, host)),
        RETURNDATASIZE => r.push(U256::from(f.return_data.len())),
        RETURNDATACOPY => outline!(ins::returndatacopy(f)),
        EXTCODEHASH => outline!(ins::extcodehash(f, host)),
        BLOCKHASH => synced!(ins::blockhash(f, host)),
        COINBASE => ctx!(|c: &TxContext| c.coinbase.to_word()),
        TIMESTAMP => ctx!(|c: &TxContext| U256::from(c.timestamp as u64)),
        NUMBER => ctx!(|c: &TxContext| U256::from(c.block_number as u64)),
        PREVRANDAO => ctx!(|c: &TxContext| c.prev_randao.to_word()),
        GASLIMIT => ctx!(|c: &TxContext| U256::from(c.gas_limit as u64)),
        CHAINID => ctx!(|c: &TxContext| c.chain_id),
        SELFBALANCE => r.push(host.get_balance(&f.msg.recipient)),
        BASEFEE => ctx!(|c: &TxContext| c.base_fee),
        BLOBHASH => synced!(ins::blobhash(f, host)),
        BLOBBASEFEE => ctx!(|c: &TxContext| c.blob_base_fee),

        POP => {
            r.pop();
        }
        MLOAD => {
            let off = r.peek(0);
            *r.top() = tri!(ins::mload(&mut f.memory, &mut r.gas, &off));
        }
        MSTORE => {
            let off = r.pop();
            let v = r.pop();
            tri!(ins::mstore(&mut f.memory, &mut r.gas, &off, &v));
        }
        MSTORE8 => {
            let off = r.pop();
            let v = r.pop();
            tri!(ins::mstore8(&mut f.memory, &mut r.gas, &off, &v));
        }
        SLOAD => outline!(ins::sload(f, host)),
        SSTORE => outline!(ins::sstore(f, host)),
        JUMP => {
            let dest = r.pop();
            let target = tri!(jump_target(a, &dest));
            obs.taken(pc, target);
            return Step::Next(target);
        }
        JUMPI => {
            let dest = r.pop();
            let cond = r.pop();
            if !cond.is_zero() {
                let target = tri!(jump_target(a, &dest));
                obs.taken(pc, target);
                return Step::Next(target);
            }
            obs.not_taken(pc);
        }
        PC => r.push(U256::from(pc)),
        MSIZE => r.push(U256::from(f.memory.len())),
        GAS => r.push(U256::from(r.gas as u64)),
        JUMPDEST => {}
        TLOAD => synced!(ins::tload(f, host)),
        TSTORE => outline!(ins::tstore(f, host)),
        MCOPY => outline!(ins::mcopy(f)),
        PUSH0 => r.push(U256::ZERO),
        PUSH1 => {
            r.push(U256::from(code[pc + 1]));
            return Step::Next(pc + 2);
        }
        PUSH2 => push_n!(2),
        PUSH3 => push_n!(3),
        PUSH4 => push_n!(4),
        PUSH5 => push_n!(5),
        PUSH6 => push_n!(6),
        PUSH7 => push_n!(7),
        PUSH8 => push_n!(8),
        PUSH9 => push_n!(9),
        PUSH10 => push_n!(10),
        PUSH11 => push_n!(11),
        PUSH12 => push_n!(12),
        PUSH13 => push_n!(13),
        PUSH14 => push_n!(14),
        PUSH15 => push_n!(15),
        PUSH16 => push_n!(16),
        PUSH17 => push_n!(17),
        PUSH18 => push_n!(18),
        PUSH19 => push_n!(19),
        PUSH20 => push_n!(20),
        PUSH21 => push_n!(21),
        PUSH22 => push_n!(22),
        PUSH23 => push_n!(23),
        PUSH24 => push_n!(24),
        PUSH25 => push_n!(25),
        PUSH26 => push_n!(26),
        PUSH27 => push_n!(27),
        PUSH28 => push_n!(28),
        PUSH29 => push_n!(29),
        PUSH30 => push_n!(30),
        PUSH31 => push_n!(31),
        PUSH32 => push_n!(32),
        DUP1..=DUP16 => {
            let v = r.peek((op - DUP1) as usize);
            r.push(v);
        }
        SWAP1..=SWAP16 => r.swap((op - SWAP1 + 1) as usize),
        LOG0..=LOG4 => outline!(ins::log(f, host, (op - LOG0) as usize)),

        CREATE | CREATE2 => outline!(ins::create(f, host, op)),
        CALL | CALLCODE | DELEGATECALL | STATICCALL => outline!(ins::call(f, host, op)),
        RETURN => {
            outline!(ins::set_output(f));
            return Step::Halt(StatusCode::Success);
        }
        REVERT => {
            outline!(ins::set_output(f));
            return Step::Halt(StatusCode::Revert);
        }
        INVALID => return Step::Halt(StatusCode::InvalidInstruction),
        SELFDESTRUCT => {
            outline!(ins::selfdestruct(f, host));
            return Step::Halt(StatusCode::Success);
        }
        // Every opcode the table defines is handled above; the table sends undefined ones to
        // `requirement_error` before the match.
        _ => return Step::Halt(StatusCode::UndefinedInstruction),
    }
    Step::Next(pc + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::stack::Stack;
    use crate::types::Address;

    #[test]
    fn published_offsets_reach_the_fields() {
        let msg = Message::call(Address::ZERO, Address::ZERO, &[], 1234);
        let mut f = Frame::new(&msg, Revision::Cancun, &[]);
        f.gas_refund = -7;
        f.stack.push(U256::from(0xabcdu64));
        f.stack.push(U256::from(0x1234u64));
        let base = &mut f as *mut Frame<'_> as *mut u8;
        // SAFETY: the offsets come from `offset_of!` on these very types, the frame is live and
        // exclusively borrowed here, and each read uses the field's own type; the stack data
        // pointer is a `ManuallyDrop<Box<[U256; N]>>`, laid out as a thin pointer.
        unsafe {
            assert_eq!(*(base.add(Frame::GAS_LEFT_OFFSET) as *const i64), 1234);
            assert_eq!(*(base.add(Frame::GAS_REFUND_OFFSET) as *const i64), -7);
            let stack = base.add(Frame::STACK_OFFSET);
            assert_eq!(*(stack.add(Stack::LEN_OFFSET) as *const usize), 2);
            let data = *(stack.add(Stack::DATA_OFFSET) as *const *const U256);
            assert_eq!(*data, U256::from(0xabcdu64));
            assert_eq!(*data.add(1), U256::from(0x1234u64));
            // Writes through the offsets are what the frame then sees.
            *(base.add(Frame::GAS_LEFT_OFFSET) as *mut i64) = 99;
            *(stack.add(Stack::LEN_OFFSET) as *mut usize) = 1;
        }
        assert_eq!(f.gas_left, 99);
        assert_eq!(f.stack.as_slice(), &[U256::from(0xabcdu64)]);
    }

    #[test]
    fn single_steps_follow_the_whole_run() {
        // PUSH1 3 PUSH1 8 JUMP INVALID... 8: JUMPDEST PUSH1 4 ADD STOP
        let code = [
            0x60, 3, 0x60, 8, 0x56, 0xfe, 0xfe, 0xfe, 0x5b, 0x60, 4, 0x01, 0x00,
        ];
        let a = CodeAnalysis::new(&code);
        let msg = Message::call(Address::ZERO, Address::ZERO, &[], 100);
        let mut f = Frame::new(&msg, Revision::Cancun, a.code());
        let mut host = crate::host::tests_support::NullHost;
        let mut pcs = vec![];
        let mut pc = 0;
        let status = loop {
            pcs.push(pc);
            match step(&mut f, &a, &mut host, pc) {
                Step::Next(n) => pc = n,
                Step::Halt(s) => break s,
            }
        };
        assert_eq!(status, StatusCode::Success);
        assert_eq!(pcs, vec![0, 2, 4, 8, 9, 11, 12]);
        assert_eq!(f.gas_left, 100 - 3 - 3 - 8 - 1 - 3 - 3);
        assert_eq!(f.stack.as_slice(), &[U256::from(7)]);
    }
}
