//! Differential testing support: a deterministic in-memory host that records every effect a
//! frame has (storage and transient writes, logs, calls, selfdestructs), and helpers that run
//! the same code in the interpreter and in compiled code and compare everything. Used by the
//! crate's tests, the fuzz target and the benchmark examples.

use crate::speculation::{SiteProfile, Speculation, MAX_SPECULATED_TARGETS};
use crate::{compile_speculative, CompiledContract, JitVm, SideExit};
use ember_evm::{
    keccak256, AccessStatus, Address, CallKind, CodeAnalysis, ExecResult, Host, Interpreter,
    Message, Revision, StatusCode, StorageStatus, TxContext, Vm, B256, U256,
};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

/// One observable effect of execution, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    /// SSTORE, with how the host classified the write.
    Storage {
        addr: Address,
        key: B256,
        value: B256,
        status: StorageStatus,
    },
    /// TSTORE.
    Transient {
        addr: Address,
        key: B256,
        value: B256,
    },
    /// LOG0..LOG4.
    Log {
        addr: Address,
        data: Vec<u8>,
        topics: Vec<B256>,
    },
    /// A nested call or create, with the message's essentials and the callee's result.
    Call {
        kind: CallKind,
        depth: i32,
        gas: i64,
        recipient: Address,
        code_address: Address,
        input: Vec<u8>,
        value: U256,
        result: ExecResult,
    },
    /// SELFDESTRUCT.
    SelfDestruct { addr: Address, beneficiary: Address },
}

/// A deterministic host: accounts with code, balance and storage, EIP-2929 warm sets, and a
/// log of [`Effect`]s. Nested calls run the callee's code with the host's [`Vm`], so each
/// tier is tested on nested frames too. It does no journaling: a reverted sub-call keeps its
/// writes, which is deterministic and therefore enough for comparing two tiers.
pub struct RecordingHost<'v> {
    vm: &'v dyn Vm,
    rev: Revision,
    code: HashMap<Address, Vec<u8>>,
    balance: HashMap<Address, U256>,
    storage: HashMap<(Address, B256), B256>,
    original: HashMap<(Address, B256), B256>,
    transient: HashMap<(Address, B256), B256>,
    warm_accounts: HashSet<Address>,
    warm_slots: HashSet<(Address, B256)>,
    creates: u64,
    /// Everything that happened, in order.
    pub effects: Vec<Effect>,
}

impl<'v> RecordingHost<'v> {
    /// An empty world at `rev`, whose nested frames run on `vm`.
    pub fn new(vm: &'v dyn Vm, rev: Revision) -> Self {
        RecordingHost {
            vm,
            rev,
            code: HashMap::new(),
            balance: HashMap::new(),
            storage: HashMap::new(),
            original: HashMap::new(),
            transient: HashMap::new(),
            warm_accounts: HashSet::new(),
            warm_slots: HashSet::new(),
            creates: 0,
            effects: Vec::new(),
        }
    }

    /// Installs an account with `code` and `balance`.
    pub fn set_account(&mut self, addr: Address, code: Vec<u8>, balance: U256) {
        self.code.insert(addr, code);
        self.balance.insert(addr, balance);
    }

    /// Sets a storage slot's value, also as its value at the start of the transaction.
    pub fn set_slot(&mut self, addr: Address, key: B256, value: B256) {
        self.storage.insert((addr, key), value);
        self.original.insert((addr, key), value);
    }
}

impl Host for RecordingHost<'_> {
    fn account_exists(&mut self, addr: &Address) -> bool {
        self.code.contains_key(addr) || self.balance.get(addr).is_some_and(|b| !b.is_zero())
    }
    fn get_storage(&mut self, addr: &Address, key: &B256) -> B256 {
        self.storage
            .get(&(*addr, *key))
            .copied()
            .unwrap_or(B256::ZERO)
    }
    fn set_storage(&mut self, addr: &Address, key: &B256, value: &B256) -> StorageStatus {
        let current = self.get_storage(addr, key);
        let original = self
            .original
            .get(&(*addr, *key))
            .copied()
            .unwrap_or(B256::ZERO);
        let status = StorageStatus::classify(&original, &current, value);
        self.storage.insert((*addr, *key), *value);
        self.effects.push(Effect::Storage {
            addr: *addr,
            key: *key,
            value: *value,
            status,
        });
        status
    }
    fn get_balance(&mut self, addr: &Address) -> U256 {
        self.balance.get(addr).copied().unwrap_or(U256::ZERO)
    }
    fn get_code_size(&mut self, addr: &Address) -> usize {
        self.code.get(addr).map_or(0, Vec::len)
    }
    fn get_code_hash(&mut self, addr: &Address) -> B256 {
        match self.code.get(addr) {
            Some(c) => keccak256(c),
            None => B256::ZERO,
        }
    }
    fn copy_code(&mut self, addr: &Address, offset: usize, buf: &mut [u8]) -> usize {
        let code = self.code.get(addr).map_or(&[][..], Vec::as_slice);
        let src = code.get(offset..).unwrap_or(&[]);
        let n = src.len().min(buf.len());
        buf[..n].copy_from_slice(&src[..n]);
        n
    }
    fn selfdestruct(&mut self, addr: &Address, beneficiary: &Address) -> bool {
        self.effects.push(Effect::SelfDestruct {
            addr: *addr,
            beneficiary: *beneficiary,
        });
        true
    }
    fn call(&mut self, msg: &Message<'_>) -> ExecResult {
        let (code, recipient, create_address) = if msg.kind.is_create() {
            self.creates += 1;
            let mut a = [0u8; 20];
            a[0] = 0xcc;
            a[12..].copy_from_slice(&self.creates.to_be_bytes());
            (msg.input.to_vec(), Address(a), Some(Address(a)))
        } else {
            let code = self
                .code
                .get(&msg.code_address)
                .cloned()
                .unwrap_or_default();
            (code, msg.recipient, None)
        };
        let mut sub = msg.clone();
        sub.recipient = recipient;
        if msg.kind.is_create() {
            sub.input = &[];
        }
        let vm = self.vm;
        let rev = self.rev;
        let mut result = vm.execute(self, rev, &sub, &code, None);
        if result.status == StatusCode::Success {
            if let Some(a) = create_address {
                self.code.insert(a, result.output.clone());
                result.create_address = Some(a);
                result.output.clear();
            }
        }
        self.effects.push(Effect::Call {
            kind: msg.kind,
            depth: msg.depth,
            gas: msg.gas,
            recipient: msg.recipient,
            code_address: msg.code_address,
            input: msg.input.to_vec(),
            value: msg.value,
            result: result.clone(),
        });
        result
    }
    fn get_tx_context(&mut self) -> TxContext {
        TxContext {
            gas_price: U256::from(7u64),
            origin: address(0xa0),
            coinbase: address(0xc0),
            block_number: 1234,
            timestamp: 5678,
            gas_limit: 30_000_000,
            prev_randao: B256([0x42; 32]),
            chain_id: U256::from(1u64),
            base_fee: U256::from(3u64),
            blob_base_fee: U256::from(1u64),
            blob_hashes: vec![B256([0x01; 32])],
        }
    }
    fn get_block_hash(&mut self, number: i64) -> B256 {
        keccak256(&number.to_be_bytes())
    }
    fn emit_log(&mut self, addr: &Address, data: &[u8], topics: &[B256]) {
        self.effects.push(Effect::Log {
            addr: *addr,
            data: data.to_vec(),
            topics: topics.to_vec(),
        });
    }
    fn access_account(&mut self, addr: &Address) -> AccessStatus {
        if self.warm_accounts.insert(*addr) {
            AccessStatus::Cold
        } else {
            AccessStatus::Warm
        }
    }
    fn access_storage(&mut self, addr: &Address, key: &B256) -> AccessStatus {
        if self.warm_slots.insert((*addr, *key)) {
            AccessStatus::Cold
        } else {
            AccessStatus::Warm
        }
    }
    fn get_transient_storage(&mut self, addr: &Address, key: &B256) -> B256 {
        self.transient
            .get(&(*addr, *key))
            .copied()
            .unwrap_or(B256::ZERO)
    }
    fn set_transient_storage(&mut self, addr: &Address, key: &B256, value: &B256) {
        self.transient.insert((*addr, *key), *value);
        self.effects.push(Effect::Transient {
            addr: *addr,
            key: *key,
            value: *value,
        });
    }
}

/// The address whose last byte is `n`.
pub fn address(n: u8) -> Address {
    let mut a = [0u8; 20];
    a[19] = n;
    Address(a)
}

/// The address the test programs run at.
pub const CONTRACT: u8 = 0x10;
/// An account whose code is [`CALLEE_CODE`], for nested calls.
pub const CALLEE: u8 = 0x20;
/// The callee: stores CALLVALUE at slot 1, logs its calldata, returns the first 32 bytes of
/// calldata plus one (or reverts when calldata starts with 0xff).
pub const CALLEE_CODE: &[u8] = &[
    0x34, 0x60, 0x01, 0x55, // CALLVALUE PUSH1 1 SSTORE
    0x36, 0x60, 0x00, 0x60, 0x00, 0x37, // CALLDATASIZE 0 0 CALLDATACOPY
    0x36, 0x60, 0x00, 0xa0, // CALLDATASIZE 0 LOG0
    0x60, 0x00, 0x51, // PUSH1 0 MLOAD
    0x80, 0x60, 0xf8, 0x1c, 0x60, 0xff, 0x14, // DUP1 PUSH1 248 SHR PUSH1 0xff EQ
    0x60, 0x26, 0x57, // PUSH1 0x26 JUMPI
    0x60, 0x01, 0x01, 0x60, 0x00, 0x52, // PUSH1 1 ADD PUSH1 0 MSTORE
    0x60, 0x20, 0x60, 0x00, 0xf3, // PUSH1 32 PUSH1 0 RETURN
    0x5b, 0x60, 0x00, 0x80, 0xfd, // 0x26: JUMPDEST PUSH1 0 DUP1 REVERT
];

/// Everything one run produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// The frame's result.
    pub result: ExecResult,
    /// What the host saw, in order.
    pub effects: Vec<Effect>,
}

/// A test case: code run at [`CONTRACT`] with `input` and `gas`, in a world that also has
/// [`CALLEE`] and a few storage slots set.
#[derive(Clone, Debug)]
pub struct Case<'a> {
    /// The contract's code.
    pub code: &'a [u8],
    /// Calldata.
    pub input: &'a [u8],
    /// The frame's gas limit.
    pub gas: i64,
    /// The revision.
    pub rev: Revision,
    /// Message flags (`FLAG_STATIC`).
    pub flags: u32,
}

impl<'a> Case<'a> {
    /// A plain call with ample gas at the latest revision.
    pub fn new(code: &'a [u8]) -> Self {
        Case {
            code,
            input: &[],
            gas: 1_000_000,
            rev: Revision::Osaka,
            flags: 0,
        }
    }
}

/// The world `case` runs in: its code at [`CONTRACT`], [`CALLEE`], two storage slots set.
fn world<'v>(vm: &'v dyn Vm, case: &Case<'_>) -> RecordingHost<'v> {
    let mut host = RecordingHost::new(vm, case.rev);
    host.set_account(
        address(CONTRACT),
        case.code.to_vec(),
        U256::from(1_000_000u64),
    );
    host.set_account(address(CALLEE), CALLEE_CODE.to_vec(), U256::ZERO);
    let mut one = [0u8; 32];
    one[31] = 1;
    host.set_slot(address(CONTRACT), B256(one), B256([0x11; 32]));
    host.set_slot(address(CONTRACT), B256([0x22; 32]), B256(one));
    host
}

/// The top-level message of `case`.
fn message<'a>(case: &Case<'a>) -> Message<'a> {
    Message {
        kind: CallKind::Call,
        flags: case.flags,
        depth: 0,
        gas: case.gas,
        recipient: address(CONTRACT),
        sender: address(0xa0),
        input: case.input,
        value: U256::from(5u64),
        create2_salt: B256::ZERO,
        code_address: address(CONTRACT),
    }
}

/// Runs `case` as a top-level frame on `vm` (nested frames too) and records what happened.
pub fn run(vm: &dyn Vm, case: &Case<'_>) -> Outcome {
    let mut host = world(vm, case);
    let msg = message(case);
    let result = vm.execute(&mut host, case.rev, &msg, case.code, None);
    Outcome {
        result,
        effects: host.effects,
    }
}

/// Runs `case`'s top-level frame in the interpreter (nested frames too) and returns where its
/// jumps went, as a profile to compile against: what a [`crate::JumpRecorder`] records from
/// [`ember_evm::execute_observed`].
///
/// The frame is stepped instruction by instruction instead: `execute_observed` is generic
/// over the observer, and instantiating the interpreter's loop in this crate changes how
/// LLVM inlines the helpers into the compiled code's builtins (measured: DIV-heavy contracts
/// ran 30% slower in compiled code).
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

/// Runs `case` in the interpreter and on `vm` (a [`JitVm`], a [`ContractVm`], …), and
/// describes the first difference.
pub fn compare(vm: &dyn Vm, case: &Case<'_>) -> Result<Outcome, String> {
    let want = run(&Interpreter, case);
    let got = run(vm, case);
    if want == got {
        return Ok(want);
    }
    let mut msg = format!(
        "tiers disagree on code {} (rev {:?}, gas {}):\n",
        ember_evm::to_hex(case.code),
        case.rev,
        case.gas
    );
    if want.result != got.result {
        msg += &format!(
            "  interpreter: {:?}\n  jit:         {:?}\n",
            want.result, got.result
        );
    }
    if want.effects != got.effects {
        msg += &format!(
            "  interpreter effects: {:?}\n  jit effects:         {:?}\n",
            want.effects, got.effects
        );
    }
    Err(msg)
}

/// A xorshift64* generator: a fixed seed gives the same programs on every machine.
#[derive(Clone, Debug)]
pub struct XorShift(u64);

impl XorShift {
    /// A generator from `seed` (zero is remapped, xorshift needs a non-zero state).
    pub fn new(seed: u64) -> Self {
        XorShift(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize]
    }
}

enum Item {
    Bytes(Vec<u8>),
    Label,
    /// PUSH2 <label> then the jump opcode.
    Jump(usize, u8),
}

/// Interesting 256-bit operands: boundaries of shifts, bytes, signs and widths.
fn interesting_word(rng: &mut XorShift) -> Vec<u8> {
    let mut w = [0u8; 32];
    match rng.below(8) {
        0 => w[31] = rng.pick(&[0, 1, 2, 7, 8, 31, 32, 33, 255]),
        1 => w[30..].copy_from_slice(&rng.pick(&[255u16, 256, 257, 511, 1024]).to_be_bytes()),
        2 => w[0] = 0x80,
        3 => w = [0xff; 32],
        4 => {
            w = [0xff; 32];
            w[0] = 0x7f;
        }
        5 => w[24..].copy_from_slice(&rng.next_u64().to_be_bytes()),
        6 => w[16] = 1,
        _ => {
            for chunk in w.chunks_mut(8) {
                chunk.copy_from_slice(&rng.next_u64().to_be_bytes());
            }
        }
    }
    let mut out = vec![0x7f];
    out.extend_from_slice(&w);
    out
}

/// (items needed on the stack, change of height) of an item run straight through.
fn stack_effect(it: &Item) -> (i64, i64) {
    let bytes: &[u8] = match it {
        Item::Bytes(b) => b,
        Item::Label => return (0, 0),
        Item::Jump(_, op) => {
            return if *op == ember_evm::opcodes::JUMPI {
                (1, -1)
            } else {
                (0, 0)
            }
        }
    };
    let (mut need, mut h) = (0i64, 0i64);
    let mut pc = 0;
    while pc < bytes.len() {
        let (pop, push) = ember_evm::opcodes::stack_io(bytes[pc]);
        need = need.max(pop as i64 - h);
        h += push as i64 - pop as i64;
        pc += 1 + ember_evm::opcodes::immediate_size(bytes[pc]);
    }
    (need, h)
}

/// A random program mixing arithmetic, stack shuffles, jumps (static, dynamic, invalid),
/// memory, storage, logs, calls and stray bytes. It runs in bounded gas, not bounded time,
/// so give it a gas limit.
pub fn random_program(rng: &mut XorShift, items: usize) -> Vec<u8> {
    use ember_evm::opcodes::*;
    const INLINE: &[u8] = &[
        ADD, SUB, MUL, AND, OR, XOR, LT, GT, SLT, SGT, EQ, SHL, SHR, SAR, BYTE, ISZERO, NOT,
    ];
    const STEPPED: &[u8] = &[
        DIV, SDIV, MOD, SMOD, ADDMOD, MULMOD, EXP, SIGNEXTEND, CLZ, KECCAK256,
    ];
    const ENV: &[u8] = &[
        GAS,
        PC,
        MSIZE,
        CALLER,
        ADDRESS,
        CALLDATASIZE,
        CALLVALUE,
        RETURNDATASIZE,
        CODESIZE,
        SELFBALANCE,
        NUMBER,
        TIMESTAMP,
        CHAINID,
        BASEFEE,
        PUSH0,
    ];
    let mut list = Vec::new();
    let mut labels = 0usize;
    // The stack height along the straight-line layout: operands are pushed first when an
    // item needs more, so most programs run deep instead of underflowing at once (jumps make
    // the real height differ, which keeps some underflows and overflows in the mix).
    let mut depth = 0i64;
    for _ in 0..items {
        let it = match rng.below(100) {
            0..=19 => Item::Bytes(match rng.below(4) {
                0 => interesting_word(rng),
                1 => vec![PUSH0],
                _ => vec![PUSH1, rng.below(40) as u8],
            }),
            20..=39 => Item::Bytes(vec![rng.pick(INLINE)]),
            40..=46 => Item::Bytes(vec![rng.pick(STEPPED)]),
            47..=56 => {
                let n = if rng.below(4) == 0 {
                    rng.below(16)
                } else {
                    rng.below(3)
                } as u8;
                Item::Bytes(vec![if rng.below(2) == 0 {
                    DUP1 + n
                } else {
                    SWAP1 + n
                }])
            }
            57..=59 => Item::Bytes(vec![POP]),
            60..=64 => {
                let off = rng.below(96) as u8;
                Item::Bytes(match rng.below(3) {
                    0 => vec![PUSH1, off, MSTORE],
                    1 => vec![PUSH1, off, MLOAD],
                    _ => vec![PUSH1, off, MSTORE8],
                })
            }
            65..=67 => {
                let key = rng.below(3) as u8;
                Item::Bytes(if rng.below(2) == 0 {
                    vec![PUSH1, key, SLOAD]
                } else {
                    vec![PUSH1, key, SSTORE]
                })
            }
            68..=74 => {
                labels += 1;
                Item::Label
            }
            75..=81 => {
                let target = rng.below(labels as u64 + 2) as usize;
                Item::Jump(target, if rng.below(2) == 0 { JUMP } else { JUMPI })
            }
            82..=83 => {
                // A computed (dynamic) target: a label's pc plus zero, or a bad target.
                let target = rng.below(labels as u64 + 2) as usize;
                list.push(Item::Jump(target, POP));
                Item::Bytes(match rng.below(4) {
                    0 => vec![PUSH1, rng.below(200) as u8, JUMP],
                    _ => vec![PUSH1, 0, ADD, rng.pick(&[JUMP, JUMPI])],
                })
            }
            84..=88 => Item::Bytes(vec![rng.pick(ENV)]),
            89 => Item::Bytes(vec![PUSH1, 32, PUSH1, 0, LOG1]),
            90 => Item::Bytes(vec![
                PUSH1,
                0,
                PUSH1,
                0,
                PUSH1,
                32,
                PUSH1,
                0,
                PUSH1,
                rng.below(3) as u8,
                PUSH1,
                CALLEE,
                GAS,
                CALL,
            ]),
            91 => Item::Bytes(vec![rng.below(256) as u8]),
            92 => Item::Bytes(vec![PUSH1, 32, PUSH1, 0, rng.pick(&[RETURN, REVERT])]),
            93 => Item::Bytes(vec![rng.pick(&[STOP, INVALID, 0x0c])]),
            94..=95 => Item::Bytes(vec![PUSH1, 0, PUSH1, 3, TLOAD, TSTORE]),
            _ => Item::Bytes(vec![
                PUSH1,
                rng.below(64) as u8,
                PUSH1,
                rng.below(64) as u8,
                PUSH1,
                rng.below(64) as u8,
                rng.pick(&[MCOPY, CALLDATACOPY, CODECOPY]),
            ]),
        };
        let (need, delta) = stack_effect(&it);
        while depth < need {
            list.push(Item::Bytes(interesting_word(rng)));
            depth += 1;
        }
        depth += delta;
        list.push(it);
        if depth > 24 {
            list.push(Item::Bytes(vec![POP, POP, POP, POP]));
            depth -= 4;
        }
    }
    // Lay out: labels are JUMPDESTs; `Jump(l, op)` is PUSH2 <pc of label l> op (with POP
    // as "push only"); labels past the last one point to a non-JUMPDEST pc.
    let mut pcs = Vec::new();
    let mut pc = 0;
    for it in &list {
        match it {
            Item::Bytes(b) => pc += b.len(),
            Item::Label => {
                pcs.push(pc);
                pc += 1;
            }
            Item::Jump(_, op) => pc += if *op == POP { 3 } else { 4 },
        }
    }
    let mut code = Vec::with_capacity(pc);
    for it in &list {
        match it {
            Item::Bytes(b) => code.extend_from_slice(b),
            Item::Label => code.push(JUMPDEST),
            Item::Jump(l, op) => {
                let target = pcs.get(*l).copied().unwrap_or(pc + *l) as u16;
                code.push(PUSH2);
                code.extend_from_slice(&target.to_be_bytes());
                if *op != POP {
                    code.push(*op);
                }
            }
        }
    }
    code
}

/// Assembles whitespace-separated mnemonics into bytecode, for readable tests.
///
/// `PUSHn x` takes a decimal or `0x` hex immediate (any width up to n bytes); `:name` emits a
/// JUMPDEST and names its pc; `&name` emits `PUSH2 <pc of name>`; `0x..` alone emits raw
/// bytes.
pub fn assemble(src: &str) -> Result<Vec<u8>, String> {
    let ops: HashMap<&str, u8> = (0..=255u8)
        .filter_map(|op| ember_evm::opcodes::name(op).map(|n| (n, op)))
        .collect();
    let mut labels = HashMap::new();
    let mut code = Vec::new();
    let mut fixups = Vec::new();
    let mut tokens = src.split_whitespace();
    while let Some(tok) = tokens.next() {
        if let Some(name) = tok.strip_prefix(':') {
            if labels.insert(name, code.len()).is_some() {
                return Err(format!("label {name} defined twice"));
            }
            code.push(ember_evm::opcodes::JUMPDEST);
        } else if let Some(name) = tok.strip_prefix('&') {
            code.push(ember_evm::opcodes::PUSH2);
            fixups.push((code.len(), name));
            code.extend_from_slice(&[0, 0]);
        } else if let Some(hex) = tok.strip_prefix("0x") {
            code.extend(ember_evm::parse_hex(hex).map_err(|e| format!("{tok}: {e}"))?);
        } else {
            let op = *ops
                .get(tok.to_ascii_uppercase().as_str())
                .ok_or_else(|| format!("unknown mnemonic {tok}"))?;
            code.push(op);
            let n = ember_evm::opcodes::immediate_size(op);
            if n > 0 {
                let imm = tokens
                    .next()
                    .ok_or_else(|| format!("{tok} needs an immediate"))?;
                let v = match imm.strip_prefix("0x") {
                    Some(h) => U256::from_str_radix(h, 16),
                    None => U256::from_str_radix(imm, 10),
                }
                .map_err(|e| format!("{imm}: {e}"))?;
                if v.bit_len() > 8 * n {
                    return Err(format!("{imm} does not fit {tok}"));
                }
                code.extend_from_slice(&v.to_be_bytes::<32>()[32 - n..]);
            }
        }
    }
    for (at, name) in fixups {
        let pc = *labels
            .get(name)
            .ok_or_else(|| format!("undefined label {name}"))?;
        let pc = u16::try_from(pc).map_err(|_| format!("label {name} beyond 64 KiB"))?;
        code[at..at + 2].copy_from_slice(&pc.to_be_bytes());
    }
    Ok(code)
}

/// A program made for speculation: `blocks` JUMPDEST blocks that each store a value, count
/// the blocks run (returning after 40), and leave through a computed jump. The jumps read a
/// calldata byte (at an offset that moves with the count) and jump through a table in
/// memory of the blocks' pcs, whose last entry may be a bad target; some jumps are JUMPIs
/// with a calldata condition, and some blocks call one of two shared "functions" first,
/// which return with a jump to the address the caller pushed, as solc's internal calls do.
/// Different calldata reaches different targets at every site.
pub fn random_jump_program(rng: &mut XorShift, blocks: usize) -> Vec<u8> {
    let blocks = blocks.clamp(1, 64);
    let table_len = blocks + 1;
    let counter = 32 * table_len;
    let mut src = String::new();
    for i in 0..blocks {
        src += &format!("&b{i} PUSH2 {} MSTORE ", 32 * i);
    }
    // pc 1 is the immediate of the first PUSH2: never a JUMPDEST.
    src += &format!("PUSH1 1 PUSH2 {} MSTORE ", 32 * blocks);
    let selector = |rng: &mut XorShift| {
        let slots = if rng.below(4) == 0 { table_len } else { blocks };
        format!(
            "PUSH2 {counter} MLOAD PUSH1 {} ADD CALLDATALOAD PUSH1 248 SHR PUSH1 {slots} SWAP1 MOD \
             PUSH1 5 SHL MLOAD ",
            rng.below(32)
        )
    };
    src += &selector(rng);
    src += "JUMP ";
    for i in 0..blocks {
        src += &format!(
            ":b{i} PUSH2 {counter} MLOAD PUSH1 1 ADD DUP1 PUSH2 {counter} MSTORE \
             PUSH1 40 LT &end JUMPI PUSH1 {} PUSH1 {} SSTORE ",
            rng.below(256),
            rng.below(4)
        );
        if rng.below(3) == 0 {
            src += &format!("&r{i} &f{} JUMP :r{i} ", rng.below(2));
        }
        match rng.below(3) {
            0 => {
                // A JUMPI on the top bit of a calldata byte; falls into the next block.
                src += &format!(
                    "PUSH2 {counter} MLOAD PUSH1 {} ADD CALLDATALOAD PUSH1 255 SHR ",
                    rng.below(32)
                );
                src += &selector(rng);
                src += "JUMPI ";
            }
            _ => {
                src += &selector(rng);
                src += "JUMP ";
            }
        }
    }
    src += "&end JUMP ";
    for f in 0..2 {
        src += &format!(":f{f} PUSH1 {} PUSH1 {} SSTORE JUMP ", f + 1, 4 + f);
    }
    src += &format!(":end PUSH1 32 PUSH2 {counter} RETURN");
    assemble(&src).expect("the generated program assembles")
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callee_jumps_to_its_jumpdest() {
        let a = ember_evm::CodeAnalysis::new(CALLEE_CODE);
        assert!(a.is_jumpdest(0x26));
        assert_eq!(CALLEE_CODE[26], 0x57, "JUMPI");
    }

    #[test]
    fn assembler_encodes_pushes_labels_and_raw_bytes() {
        let code = assemble("PUSH1 0x20 &end JUMP 0xfe :end push2 258 STOP").unwrap();
        assert_eq!(
            code,
            [0x60, 0x20, 0x61, 0, 7, 0x56, 0xfe, 0x5b, 0x61, 1, 2, 0x00]
        );
        assert!(assemble("PUSH1 256").is_err());
        assert!(assemble("&nowhere").is_err());
        assert!(assemble("FROB").is_err());
        assert!(assemble("PUSH1").is_err());
    }
}
