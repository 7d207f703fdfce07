//! The interface between the EVM and the world it runs in, mirroring the EVMC 12 host
//! interface so that the EVMC shim and ember's in-memory state implement one trait.

use crate::types::{Address, B256, U256};

/// How an execution ended. The discriminants are EVMC's `evmc_status_code` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(i32)]
pub enum StatusCode {
    /// The frame ran to its end (STOP, RETURN, SELFDESTRUCT, or the end of the code).
    Success = 0,
    /// A generic failure (a create whose code is too large, for one).
    Failure = 1,
    /// REVERT: state changes undone, gas left and output returned.
    Revert = 2,
    /// The frame ran out of gas.
    OutOfGas = 3,
    /// The designated INVALID instruction (0xfe).
    InvalidInstruction = 4,
    /// An opcode not defined at the revision.
    UndefinedInstruction = 5,
    /// More than 1024 stack items.
    StackOverflow = 6,
    /// An instruction found too few stack items.
    StackUnderflow = 7,
    /// JUMP or JUMPI to a pc that is not a JUMPDEST.
    BadJumpDestination = 8,
    /// Reading return data beyond its end (RETURNDATACOPY).
    InvalidMemoryAccess = 9,
    /// A call deeper than [`crate::MAX_CALL_DEPTH`].
    CallDepthExceeded = 10,
    /// A state change inside a static call.
    StaticModeViolation = 11,
    /// A precompile rejected its input.
    PrecompileFailure = 12,
    /// A create returned code the revision forbids (starting with 0xef).
    ContractValidationFailure = 13,
    /// An argument too large to handle (a memory offset, say).
    ArgumentOutOfRange = 14,
    /// The sender cannot pay the value of a call or create.
    InsufficientBalance = 17,
    /// A bug or an unexpected condition in the VM.
    InternalError = -1,
    /// The VM refused to run the frame.
    Rejected = -2,
    /// The VM could not allocate memory.
    OutOfMemory = -3,
}

impl StatusCode {
    /// The short lowercase name used in `evm-run --json` and traces.
    pub fn name(self) -> &'static str {
        match self {
            StatusCode::Success => "success",
            StatusCode::Failure => "failure",
            StatusCode::Revert => "revert",
            StatusCode::OutOfGas => "out of gas",
            StatusCode::InvalidInstruction => "invalid instruction",
            StatusCode::UndefinedInstruction => "undefined instruction",
            StatusCode::StackOverflow => "stack overflow",
            StatusCode::StackUnderflow => "stack underflow",
            StatusCode::BadJumpDestination => "bad jump destination",
            StatusCode::InvalidMemoryAccess => "invalid memory access",
            StatusCode::CallDepthExceeded => "call depth exceeded",
            StatusCode::StaticModeViolation => "static mode violation",
            StatusCode::PrecompileFailure => "precompile failure",
            StatusCode::ContractValidationFailure => "contract validation failure",
            StatusCode::ArgumentOutOfRange => "argument out of range",
            StatusCode::InsufficientBalance => "insufficient balance",
            StatusCode::InternalError => "internal error",
            StatusCode::Rejected => "rejected",
            StatusCode::OutOfMemory => "out of memory",
        }
    }

    /// The status with this EVMC number.
    pub fn from_evmc(n: i32) -> Option<StatusCode> {
        use StatusCode::*;
        Some(match n {
            0 => Success,
            1 => Failure,
            2 => Revert,
            3 => OutOfGas,
            4 => InvalidInstruction,
            5 => UndefinedInstruction,
            6 => StackOverflow,
            7 => StackUnderflow,
            8 => BadJumpDestination,
            9 => InvalidMemoryAccess,
            10 => CallDepthExceeded,
            11 => StaticModeViolation,
            12 => PrecompileFailure,
            13 => ContractValidationFailure,
            14 => ArgumentOutOfRange,
            17 => InsufficientBalance,
            -1 => InternalError,
            -2 => Rejected,
            -3 => OutOfMemory,
            _ => return None,
        })
    }
}

/// The kind of a call. The discriminants are EVMC's `evmc_call_kind` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(i32)]
pub enum CallKind {
    /// CALL, or a transaction's call.
    Call = 0,
    /// DELEGATECALL: the caller's storage, sender and value.
    DelegateCall = 1,
    /// CALLCODE: the caller's storage, with its own value.
    CallCode = 2,
    /// CREATE, or a creating transaction.
    Create = 3,
    /// CREATE2: the address depends on a salt and the init code.
    Create2 = 4,
}

impl CallKind {
    /// Whether this call creates a contract.
    pub fn is_create(self) -> bool {
        matches!(self, CallKind::Create | CallKind::Create2)
    }
}

/// `Message::flags` bit: the call and its sub-calls may not modify state (`EVMC_STATIC`).
pub const FLAG_STATIC: u32 = 1;
/// `Message::flags` bit: the code runs as an EIP-7702 delegation target (`EVMC_DELEGATED`).
pub const FLAG_DELEGATED: u32 = 2;

/// One call frame's parameters (EVMC's `evmc_message`).
#[derive(Clone, Debug)]
pub struct Message<'a> {
    /// The kind of call.
    pub kind: CallKind,
    /// `FLAG_STATIC` | `FLAG_DELEGATED`.
    pub flags: u32,
    /// 0 for the transaction's own call.
    pub depth: i32,
    /// Gas given to the frame.
    pub gas: i64,
    /// The account whose storage and balance the code works on.
    pub recipient: Address,
    /// The caller (the account that runs CALL, or the transaction's sender).
    pub sender: Address,
    /// Call data, or the init code of a create.
    pub input: &'a [u8],
    /// The value transferred (the apparent value for DELEGATECALL).
    pub value: U256,
    /// CREATE2's salt.
    pub create2_salt: B256,
    /// The account whose code runs (the delegate for EIP-7702 delegated accounts).
    pub code_address: Address,
}

impl Message<'_> {
    /// Byte offset of `value` (a little-endian [`U256`]) in a message, for compiled code.
    pub const VALUE_OFFSET: usize = std::mem::offset_of!(Message<'static>, value);
    /// Byte offset of `sender` (20 bytes, big-endian) in a message.
    pub const SENDER_OFFSET: usize = std::mem::offset_of!(Message<'static>, sender);
    /// Byte offset of `recipient` (20 bytes, big-endian) in a message.
    pub const RECIPIENT_OFFSET: usize = std::mem::offset_of!(Message<'static>, recipient);
}

impl<'a> Message<'a> {
    /// A plain top-level CALL: depth 0, no flags, no value, running the recipient's own code.
    pub fn call(sender: Address, recipient: Address, input: &'a [u8], gas: i64) -> Self {
        Message {
            kind: CallKind::Call,
            flags: 0,
            depth: 0,
            gas,
            recipient,
            sender,
            input,
            value: U256::ZERO,
            create2_salt: B256::ZERO,
            code_address: recipient,
        }
    }

    /// Whether the frame runs in static mode.
    #[inline]
    pub fn is_static(&self) -> bool {
        self.flags & FLAG_STATIC != 0
    }
}

/// The result of executing a frame or a host call (EVMC's `evmc_result`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExecResult {
    /// How the frame ended.
    pub status: StatusCode,
    /// Gas left; zero unless `Success` or `Revert`.
    pub gas_left: i64,
    /// Uncapped refund of this frame and its sub-calls; zero unless `Success`.
    pub gas_refund: i64,
    /// Return or revert data (empty after a successful create).
    pub output: Vec<u8>,
    /// The new contract's address for a successful create.
    pub create_address: Option<Address>,
}

impl ExecResult {
    /// A result with no gas left, no refund and no output.
    pub fn failure(status: StatusCode) -> Self {
        ExecResult {
            status,
            gas_left: 0,
            gas_refund: 0,
            output: Vec::new(),
            create_address: None,
        }
    }
}

/// How `set_storage` changed a slot (EVMC's `evmc_storage_status`), in terms of the value at
/// the start of the transaction (original), before this write (current) and the new value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(i32)]
pub enum StorageStatus {
    /// Any case not listed below (current == new, or a dirty slot changed again).
    Assigned = 0,
    /// 0 → 0 → Z.
    Added = 1,
    /// X → X → 0.
    Deleted = 2,
    /// X → X → Z.
    Modified = 3,
    /// X → 0 → Z.
    DeletedAdded = 4,
    /// X → Y → 0.
    ModifiedDeleted = 5,
    /// X → 0 → X.
    DeletedRestored = 6,
    /// 0 → Y → 0.
    AddedDeleted = 7,
    /// X → Y → X.
    ModifiedRestored = 8,
}

impl StorageStatus {
    /// Classifies a write from the original, current and new values of a slot.
    pub fn classify(original: &B256, current: &B256, new: &B256) -> StorageStatus {
        use StorageStatus::*;
        if current == new {
            return Assigned;
        }
        if original == current {
            // Clean slot.
            if original.is_zero() {
                Added
            } else if new.is_zero() {
                Deleted
            } else {
                Modified
            }
        } else if original.is_zero() {
            // Dirty, created in this transaction.
            if new.is_zero() {
                AddedDeleted
            } else {
                Assigned
            }
        } else if current.is_zero() {
            if new == original {
                DeletedRestored
            } else {
                DeletedAdded
            }
        } else if new.is_zero() {
            ModifiedDeleted
        } else if new == original {
            ModifiedRestored
        } else {
            Assigned
        }
    }

    /// The status with this EVMC number.
    pub fn from_evmc(n: i32) -> Option<StorageStatus> {
        use StorageStatus::*;
        Some(match n {
            0 => Assigned,
            1 => Added,
            2 => Deleted,
            3 => Modified,
            4 => DeletedAdded,
            5 => ModifiedDeleted,
            6 => DeletedRestored,
            7 => AddedDeleted,
            8 => ModifiedRestored,
            _ => return None,
        })
    }
}

/// EIP-2929 access status (EVMC's `evmc_access_status`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(i32)]
pub enum AccessStatus {
    /// Not accessed before in this transaction.
    Cold = 0,
    /// Accessed before in this transaction.
    Warm = 1,
}

/// The transaction and block context (EVMC's `evmc_tx_context`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TxContext {
    /// The effective gas price (EIP-1559).
    pub gas_price: U256,
    /// The transaction's sender (ORIGIN).
    pub origin: Address,
    /// The block's beneficiary (COINBASE).
    pub coinbase: Address,
    /// The block number (NUMBER).
    pub block_number: i64,
    /// The block's timestamp in seconds (TIMESTAMP).
    pub timestamp: i64,
    /// The block's gas limit (GASLIMIT).
    pub gas_limit: i64,
    /// PREVRANDAO from Paris on, DIFFICULTY before.
    pub prev_randao: B256,
    /// The chain id (CHAINID).
    pub chain_id: U256,
    /// The block's base fee (BASEFEE).
    pub base_fee: U256,
    /// The block's blob base fee (BLOBBASEFEE).
    pub blob_base_fee: U256,
    /// The transaction's blob versioned hashes (BLOBHASH).
    pub blob_hashes: Vec<B256>,
}

/// One executed instruction, as an EIP-3155 tracer sees it (state before the instruction).
#[derive(Debug)]
pub struct TraceStep<'a> {
    /// The instruction's offset in the code.
    pub pc: usize,
    /// The opcode.
    pub op: u8,
    /// Gas left before the instruction.
    pub gas: i64,
    /// The instruction's static gas cost.
    pub gas_cost: i64,
    /// Memory size in bytes.
    pub mem_size: usize,
    /// The stack, bottom first.
    pub stack: &'a [U256],
    /// The last call's return data.
    pub return_data: &'a [u8],
    /// The frame's depth.
    pub depth: i32,
    /// The refund counter of the transaction so far.
    pub refund: i64,
}

/// Receives execution events for tracing; implemented by the CLIs' EIP-3155 writer.
pub trait Tracer {
    /// Called before each instruction runs.
    fn step(&mut self, step: &TraceStep<'_>);
    /// Called when a frame ends, with the gas it was given and its result.
    fn frame_end(&mut self, depth: i32, gas_limit: i64, result: &ExecResult);
}

/// The world the EVM runs in (EVMC's `evmc_host_interface`, one method per function).
pub trait Host {
    /// Whether the account exists (from Spurious Dragon: exists and is not empty).
    fn account_exists(&mut self, addr: &Address) -> bool;
    /// The current value of a storage slot.
    fn get_storage(&mut self, addr: &Address, key: &B256) -> B256;
    /// Writes a slot and classifies the change for SSTORE's gas and refund.
    fn set_storage(&mut self, addr: &Address, key: &B256, value: &B256) -> StorageStatus;
    /// The balance, zero for a non-existent account.
    fn get_balance(&mut self, addr: &Address) -> U256;
    /// The size of the account's code.
    fn get_code_size(&mut self, addr: &Address) -> usize;
    /// Zero for a non-existent account, keccak("") for an existing one without code.
    fn get_code_hash(&mut self, addr: &Address) -> B256;
    /// Copies code from `offset` into `buf`; returns how many bytes were copied.
    fn copy_code(&mut self, addr: &Address, offset: usize, buf: &mut [u8]) -> usize;
    /// Registers a selfdestruct; true if `addr` was not registered before (pre-London refund).
    fn selfdestruct(&mut self, addr: &Address, beneficiary: &Address) -> bool;
    /// Runs a nested call or create: nonce, addresses, value transfer, precompiles, journaling.
    fn call(&mut self, msg: &Message<'_>) -> ExecResult;
    /// The transaction and block context.
    fn get_tx_context(&mut self) -> TxContext;
    /// The hash of block `number`, or zero when unknown.
    fn get_block_hash(&mut self, number: i64) -> B256;
    /// Records a log of `addr` (LOG0..LOG4).
    fn emit_log(&mut self, addr: &Address, data: &[u8], topics: &[B256]);
    /// Marks the account warm (EIP-2929) and says what it was before.
    fn access_account(&mut self, addr: &Address) -> AccessStatus;
    /// Marks the slot warm (EIP-2929) and says what it was before.
    fn access_storage(&mut self, addr: &Address, key: &B256) -> AccessStatus;
    /// The value of a transient storage slot (EIP-1153).
    fn get_transient_storage(&mut self, addr: &Address, key: &B256) -> B256;
    /// Writes a transient storage slot (EIP-1153).
    fn set_transient_storage(&mut self, addr: &Address, key: &B256, value: &B256);
    /// The tracer that should see this execution's instructions, if tracing is on.
    fn tracer(&mut self) -> Option<&mut dyn Tracer> {
        None
    }
}

/// A host with no accounts, for unit tests of code that never reaches the host.
#[cfg(test)]
pub(crate) mod tests_support {
    use super::*;

    pub struct NullHost;

    impl Host for NullHost {
        fn account_exists(&mut self, _: &Address) -> bool {
            false
        }
        fn get_storage(&mut self, _: &Address, _: &B256) -> B256 {
            B256::ZERO
        }
        fn set_storage(&mut self, _: &Address, _: &B256, _: &B256) -> StorageStatus {
            StorageStatus::Assigned
        }
        fn get_balance(&mut self, _: &Address) -> U256 {
            U256::ZERO
        }
        fn get_code_size(&mut self, _: &Address) -> usize {
            0
        }
        fn get_code_hash(&mut self, _: &Address) -> B256 {
            B256::ZERO
        }
        fn copy_code(&mut self, _: &Address, _: usize, _: &mut [u8]) -> usize {
            0
        }
        fn selfdestruct(&mut self, _: &Address, _: &Address) -> bool {
            false
        }
        fn call(&mut self, _: &Message<'_>) -> ExecResult {
            ExecResult::failure(StatusCode::Failure)
        }
        fn get_tx_context(&mut self) -> TxContext {
            TxContext::default()
        }
        fn get_block_hash(&mut self, _: i64) -> B256 {
            B256::ZERO
        }
        fn emit_log(&mut self, _: &Address, _: &[u8], _: &[B256]) {}
        fn access_account(&mut self, _: &Address) -> AccessStatus {
            AccessStatus::Cold
        }
        fn access_storage(&mut self, _: &Address, _: &B256) -> AccessStatus {
            AccessStatus::Cold
        }
        fn get_transient_storage(&mut self, _: &Address, _: &B256) -> B256 {
            B256::ZERO
        }
        fn set_transient_storage(&mut self, _: &Address, _: &B256, _: &B256) {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(n: u8) -> B256 {
        let mut x = [0u8; 32];
        x[31] = n;
        B256(x)
    }

    #[test]
    fn storage_status_classification_covers_every_pattern() {
        use StorageStatus::*;
        let cases = [
            ((0, 0, 0), Assigned),
            ((1, 1, 1), Assigned),
            ((0, 0, 5), Added),
            ((3, 3, 0), Deleted),
            ((3, 3, 4), Modified),
            ((3, 0, 4), DeletedAdded),
            ((3, 4, 0), ModifiedDeleted),
            ((3, 0, 3), DeletedRestored),
            ((0, 4, 0), AddedDeleted),
            ((3, 4, 3), ModifiedRestored),
            ((3, 4, 5), Assigned),
            ((0, 4, 5), Assigned),
        ];
        for ((o, c, v), want) in cases {
            assert_eq!(
                StorageStatus::classify(&b(o), &b(c), &b(v)),
                want,
                "{o}->{c}->{v}"
            );
            assert_eq!(StorageStatus::from_evmc(want as i32), Some(want));
        }
    }

    #[test]
    fn status_numbers_round_trip() {
        for n in -3..=17 {
            if let Some(s) = StatusCode::from_evmc(n) {
                assert_eq!(s as i32, n);
            }
        }
        assert_eq!(StatusCode::from_evmc(15), None);
    }
}
