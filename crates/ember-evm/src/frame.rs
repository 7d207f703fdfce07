//! The state of one executing call frame, shared by the interpreter, the instruction bodies
//! and compiled code (which reads its fields at the offsets given here).

use crate::arith::MulModCache;
use crate::host::{ExecResult, Host, Message, StatusCode, TxContext};
use crate::memory::Memory;
use crate::revision::Revision;
use crate::stack::Stack;
use std::ops::Deref;

/// The state of one executing call frame.
pub struct Frame<'a> {
    /// The message that started the frame.
    pub msg: &'a Message<'a>,
    /// The revision the frame runs under.
    pub rev: Revision,
    /// The code being run (unpadded).
    pub code: &'a [u8],
    /// Gas left.
    pub gas_left: i64,
    /// Refund counter of this frame and its successful sub-calls (may be negative).
    pub gas_refund: i64,
    /// The operand stack.
    pub stack: Stack,
    /// The frame's memory.
    pub memory: Memory,
    /// Output of the last sub-call (RETURNDATA*).
    pub return_data: ReturnData,
    /// What RETURN or REVERT returned.
    pub output: Vec<u8>,
    /// MULMOD's cache of Barrett's constant, for this frame's instructions in either tier.
    pub mulmod_cache: MulModCache,
    tx_context: Option<Box<TxContext>>,
}

impl<'a> Frame<'a> {
    /// A fresh frame with the message's gas, an empty stack and memory.
    pub fn new(msg: &'a Message<'a>, rev: Revision, code: &'a [u8]) -> Self {
        Frame {
            msg,
            rev,
            code,
            gas_left: msg.gas,
            gas_refund: 0,
            stack: Stack::new(),
            memory: Memory::new(),
            return_data: ReturnData::default(),
            output: Vec::new(),
            mulmod_cache: MulModCache::default(),
            tx_context: None,
        }
    }

    /// Byte offset of `gas_left` (an `i64`) in a frame, for compiled code.
    pub const GAS_LEFT_OFFSET: usize = std::mem::offset_of!(Frame<'static>, gas_left);
    /// Byte offset of `mulmod_cache` in a frame, for compiled code's MULMOD.
    pub const MULMOD_CACHE_OFFSET: usize = std::mem::offset_of!(Frame<'static>, mulmod_cache);
    /// Byte offset of `gas_refund` (an `i64`) in a frame.
    pub const GAS_REFUND_OFFSET: usize = std::mem::offset_of!(Frame<'static>, gas_refund);
    /// Byte offset of the [`Stack`] in a frame (see `Stack::DATA_OFFSET`, `Stack::LEN_OFFSET`).
    pub const STACK_OFFSET: usize = std::mem::offset_of!(Frame<'static>, stack);
    /// Byte offset of the [`Memory`] in a frame (see `Memory::BASE_OFFSET`,
    /// `Memory::LEN_OFFSET`).
    pub const MEMORY_OFFSET: usize = std::mem::offset_of!(Frame<'static>, memory);
    /// Byte offset of the message reference (a `&Message`) in a frame (see
    /// `Message::VALUE_OFFSET` and the others).
    pub const MSG_OFFSET: usize = std::mem::offset_of!(Frame<'static>, msg);

    /// Byte offset of the frame's [`ReturnData`] (see `ReturnData::LEN_OFFSET`).
    pub const RETURN_DATA_OFFSET: usize = std::mem::offset_of!(Frame<'static>, return_data);
    /// Byte offset of the transaction context the frame fetched, an `Option<Box<TxContext>>`:
    /// a pointer to the context, null until the first read (see [`Frame::tx_context`]).
    pub const TX_CONTEXT_OFFSET: usize = std::mem::offset_of!(Frame<'static>, tx_context);

    /// The transaction context, fetched from the host on first use.
    pub fn tx_context(&mut self, host: &mut dyn Host) -> &TxContext {
        self.tx_context
            .get_or_insert_with(|| Box::new(host.get_tx_context()))
    }

    /// Turns the way the frame stopped into its result (taking its output), and tells the
    /// tracer. It borrows the frame: taking it by value copied the whole frame on every call.
    pub fn finish(&mut self, status: StatusCode, host: &mut dyn Host) -> ExecResult {
        let result = match status {
            StatusCode::Success => ExecResult {
                status,
                gas_left: self.gas_left,
                gas_refund: self.gas_refund,
                output: std::mem::take(&mut self.output),
                create_address: None,
            },
            StatusCode::Revert => ExecResult {
                status,
                gas_left: self.gas_left,
                gas_refund: 0,
                output: std::mem::take(&mut self.output),
                create_address: None,
            },
            _ => ExecResult::failure(status),
        };
        if let Some(t) = host.tracer() {
            t.frame_end(self.msg.depth, self.msg.gas, &result);
        }
        result
    }
}

/// The output of a frame's last sub-call (RETURNDATASIZE, RETURNDATACOPY), read as a byte
/// slice. Its length is kept in a field of its own as well, at [`ReturnData::LEN_OFFSET`],
/// for compiled code to read (a `Vec`'s layout is not specified).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ReturnData {
    /// Always `bytes.len()`.
    len: usize,
    bytes: Vec<u8>,
}

impl ReturnData {
    /// Byte offset of the length (a `usize`).
    pub const LEN_OFFSET: usize = std::mem::offset_of!(ReturnData, len);

    /// Replaces the data with a sub-call's output.
    pub fn set(&mut self, bytes: Vec<u8>) {
        self.len = bytes.len();
        self.bytes = bytes;
    }

    /// Empties the data (a call or create starts).
    pub fn clear(&mut self) {
        self.bytes.clear();
        self.len = 0;
    }
}

impl Deref for ReturnData {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.bytes
    }
}
