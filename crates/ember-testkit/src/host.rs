//! A deterministic in-memory host that records every effect a frame has (storage and
//! transient writes, logs, calls, selfdestructs) and undoes a failed nested frame's changes.

use crate::address;
use ember_evm::{
    keccak256, AccessStatus, Address, CallKind, ExecResult, Host, Message, Revision, StatusCode,
    StorageStatus, Tracer, TxContext, Vm, B256, U256,
};
use std::collections::{HashMap, HashSet};

/// One observable effect of execution, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    /// SSTORE, with how the host classified the write.
    Storage {
        /// The account.
        addr: Address,
        /// The slot.
        key: B256,
        /// The value written.
        value: B256,
        /// How the host classified the write.
        status: StorageStatus,
    },
    /// TSTORE.
    Transient {
        /// The account.
        addr: Address,
        /// The slot.
        key: B256,
        /// The value written.
        value: B256,
    },
    /// LOG0..LOG4.
    Log {
        /// The account that logged.
        addr: Address,
        /// The log's data.
        data: Vec<u8>,
        /// The log's topics.
        topics: Vec<B256>,
    },
    /// A nested call or create, with the message's essentials and the callee's result.
    Call(Call),
    /// SELFDESTRUCT.
    SelfDestruct {
        /// The account destroyed.
        addr: Address,
        /// Who receives its balance.
        beneficiary: Address,
    },
}

/// A nested call or create as the host received it, and what the callee returned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Call {
    /// The kind of call.
    pub kind: CallKind,
    /// The message's flags ([`ember_evm::FLAG_STATIC`], [`ember_evm::FLAG_DELEGATED`]).
    pub flags: u32,
    /// The callee's depth.
    pub depth: i32,
    /// Gas given to the callee.
    pub gas: i64,
    /// The account the callee runs as.
    pub recipient: Address,
    /// The account whose code runs.
    pub code_address: Address,
    /// Call data or init code.
    pub input: Vec<u8>,
    /// The value sent.
    pub value: U256,
    /// The callee's result.
    pub result: ExecResult,
}

/// A log as it stands: the account that logged, its data and its topics.
pub type Log = (Address, Vec<u8>, Vec<B256>);

/// The world a [`RecordingHost`] keeps: what a failed nested frame's changes are undone in.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct World {
    /// Code by account.
    pub code: HashMap<Address, Vec<u8>>,
    /// Balance by account.
    pub balance: HashMap<Address, U256>,
    /// Storage slots.
    pub storage: HashMap<(Address, B256), B256>,
    /// Transient storage slots (EIP-1153).
    pub transient: HashMap<(Address, B256), B256>,
    /// Accounts warm under EIP-2929.
    pub warm_accounts: HashSet<Address>,
    /// Storage slots warm under EIP-2929.
    pub warm_slots: HashSet<(Address, B256)>,
    /// Accounts that ran SELFDESTRUCT.
    pub selfdestructed: HashSet<Address>,
    /// The logs that stand, in order.
    pub logs: Vec<Log>,
}

/// A deterministic host: accounts with code, balance and storage, EIP-2929 warm sets, and a
/// log of [`Effect`]s. Nested calls run the callee's code with the host's [`Vm`], so each
/// tier is tested on nested frames too. A nested frame that fails has its changes to the
/// [`World`] undone, as a client's host does; [`RecordingHost::effects`] still records
/// everything every frame did, failed or not.
pub struct RecordingHost<'v> {
    vm: &'v dyn Vm,
    rev: Revision,
    world: World,
    /// Slot values at the start of the transaction.
    original: HashMap<(Address, B256), B256>,
    creates: u64,
    tracer: Option<Box<dyn Tracer + 'v>>,
    panic_in: Option<&'static str>,
    /// The transaction and block context the code sees.
    pub tx: TxContext,
    /// Everything that happened, in order.
    pub effects: Vec<Effect>,
}

impl<'v> RecordingHost<'v> {
    /// An empty world at `rev`, whose nested frames run on `vm`.
    pub fn new(vm: &'v dyn Vm, rev: Revision) -> Self {
        RecordingHost {
            vm,
            rev,
            world: World::default(),
            original: HashMap::new(),
            creates: 0,
            tracer: None,
            panic_in: None,
            tx: TxContext {
                gas_price: U256::from(7u64),
                origin: address(0xa9),
                coinbase: address(0xc0),
                block_number: 1234,
                timestamp: 5678,
                gas_limit: 30_000_000,
                prev_randao: B256([0x42; 32]),
                chain_id: U256::from(1u64),
                base_fee: U256::from(3u64),
                blob_base_fee: U256::from(2u64),
                blob_hashes: vec![B256([0x01; 32])],
            },
            effects: Vec::new(),
        }
    }

    /// Hands every instruction of every frame to `tracer`.
    pub fn set_tracer(&mut self, tracer: Box<dyn Tracer + 'v>) {
        self.tracer = Some(tracer);
    }

    /// Makes the host method named `method` (for example `"set_storage"`) panic when it is
    /// called, to test that a VM contains a host's panic.
    pub fn panic_in(&mut self, method: &'static str) {
        self.panic_in = Some(method);
    }

    fn enter(&self, method: &str) {
        if self.panic_in == Some(method) {
            panic!("the recording host panics in {method}, as the test asked");
        }
    }

    /// Marks `addr` warm, as the transaction's sender and recipient are.
    pub fn warm(&mut self, addr: Address) {
        self.world.warm_accounts.insert(addr);
    }

    /// The world as it stands.
    pub fn world(&self) -> &World {
        &self.world
    }

    /// Gives up the host, keeping the world as it stands.
    pub fn into_world(self) -> World {
        self.world
    }

    /// A storage slot's current value.
    pub fn slot(&self, addr: Address, key: B256) -> B256 {
        self.world
            .storage
            .get(&(addr, key))
            .copied()
            .unwrap_or(B256::ZERO)
    }

    /// The nested calls and creates, in the order they returned, failed ones included.
    pub fn calls(&self) -> Vec<&Call> {
        self.effects
            .iter()
            .filter_map(|e| match e {
                Effect::Call(c) => Some(c),
                _ => None,
            })
            .collect()
    }

    /// The logs that stand (those of failed frames are gone): account, data and topics.
    pub fn logs(&self) -> &[Log] {
        &self.world.logs
    }

    /// Installs an account with `code` and `balance`.
    pub fn set_account(&mut self, addr: Address, code: Vec<u8>, balance: U256) {
        self.world.code.insert(addr, code);
        self.world.balance.insert(addr, balance);
    }

    /// Sets the code of `addr`, keeping its balance.
    pub fn set_code(&mut self, addr: Address, code: Vec<u8>) {
        self.world.code.insert(addr, code);
    }

    /// Sets the balance of `addr`, keeping its code.
    pub fn set_balance(&mut self, addr: Address, balance: U256) {
        self.world.balance.insert(addr, balance);
    }

    /// Sets a storage slot's value, also as its value at the start of the transaction.
    pub fn set_slot(&mut self, addr: Address, key: B256, value: B256) {
        self.world.storage.insert((addr, key), value);
        self.original.insert((addr, key), value);
    }
}

impl Host for RecordingHost<'_> {
    fn account_exists(&mut self, addr: &Address) -> bool {
        self.enter("account_exists");
        let w = &self.world;
        w.code.contains_key(addr) || w.balance.get(addr).is_some_and(|b| !b.is_zero())
    }
    fn get_storage(&mut self, addr: &Address, key: &B256) -> B256 {
        self.enter("get_storage");
        self.slot(*addr, *key)
    }
    fn set_storage(&mut self, addr: &Address, key: &B256, value: &B256) -> StorageStatus {
        self.enter("set_storage");
        let current = self.slot(*addr, *key);
        let original = self
            .original
            .get(&(*addr, *key))
            .copied()
            .unwrap_or(B256::ZERO);
        let status = StorageStatus::classify(&original, &current, value);
        self.world.storage.insert((*addr, *key), *value);
        self.effects.push(Effect::Storage {
            addr: *addr,
            key: *key,
            value: *value,
            status,
        });
        status
    }
    fn get_balance(&mut self, addr: &Address) -> U256 {
        self.enter("get_balance");
        self.world.balance.get(addr).copied().unwrap_or(U256::ZERO)
    }
    fn get_code_size(&mut self, addr: &Address) -> usize {
        self.enter("get_code_size");
        self.world.code.get(addr).map_or(0, Vec::len)
    }
    fn get_code_hash(&mut self, addr: &Address) -> B256 {
        self.enter("get_code_hash");
        match self.world.code.get(addr) {
            Some(c) => keccak256(c),
            None => B256::ZERO,
        }
    }
    fn copy_code(&mut self, addr: &Address, offset: usize, buf: &mut [u8]) -> usize {
        self.enter("copy_code");
        let code = self.world.code.get(addr).map_or(&[][..], Vec::as_slice);
        let src = code.get(offset..).unwrap_or(&[]);
        let n = src.len().min(buf.len());
        buf[..n].copy_from_slice(&src[..n]);
        n
    }
    fn selfdestruct(&mut self, addr: &Address, beneficiary: &Address) -> bool {
        self.enter("selfdestruct");
        self.effects.push(Effect::SelfDestruct {
            addr: *addr,
            beneficiary: *beneficiary,
        });
        self.world.selfdestructed.insert(*addr)
    }
    fn call(&mut self, msg: &Message<'_>) -> ExecResult {
        self.enter("call");
        let (code, recipient, create_address) = if msg.kind.is_create() {
            self.creates += 1;
            let mut a = [0u8; 20];
            a[0] = 0xcc;
            a[12..].copy_from_slice(&self.creates.to_be_bytes());
            (msg.input.to_vec(), Address(a), Some(Address(a)))
        } else {
            let code = self
                .world
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
            self.world.warm_accounts.insert(recipient);
        }
        let before = self.world.clone();
        let vm = self.vm;
        let rev = self.rev;
        let mut result = vm.execute(self, rev, &sub, &code, None);
        if result.status == StatusCode::Success {
            if let Some(a) = create_address {
                self.world.code.insert(a, result.output.clone());
                result.create_address = Some(a);
                result.output.clear();
            }
        } else {
            self.world = before;
        }
        self.effects.push(Effect::Call(Call {
            kind: msg.kind,
            flags: msg.flags,
            depth: msg.depth,
            gas: msg.gas,
            recipient: msg.recipient,
            code_address: msg.code_address,
            input: msg.input.to_vec(),
            value: msg.value,
            result: result.clone(),
        }));
        result
    }
    fn get_tx_context(&mut self) -> TxContext {
        self.enter("get_tx_context");
        self.tx.clone()
    }
    fn get_block_hash(&mut self, number: i64) -> B256 {
        self.enter("get_block_hash");
        keccak256(&number.to_be_bytes())
    }
    fn emit_log(&mut self, addr: &Address, data: &[u8], topics: &[B256]) {
        self.enter("emit_log");
        self.world
            .logs
            .push((*addr, data.to_vec(), topics.to_vec()));
        self.effects.push(Effect::Log {
            addr: *addr,
            data: data.to_vec(),
            topics: topics.to_vec(),
        });
    }
    fn access_account(&mut self, addr: &Address) -> AccessStatus {
        self.enter("access_account");
        if self.world.warm_accounts.insert(*addr) {
            AccessStatus::Cold
        } else {
            AccessStatus::Warm
        }
    }
    fn access_storage(&mut self, addr: &Address, key: &B256) -> AccessStatus {
        self.enter("access_storage");
        if self.world.warm_slots.insert((*addr, *key)) {
            AccessStatus::Cold
        } else {
            AccessStatus::Warm
        }
    }
    fn get_transient_storage(&mut self, addr: &Address, key: &B256) -> B256 {
        self.enter("get_transient_storage");
        self.world
            .transient
            .get(&(*addr, *key))
            .copied()
            .unwrap_or(B256::ZERO)
    }
    fn set_transient_storage(&mut self, addr: &Address, key: &B256, value: &B256) {
        self.enter("set_transient_storage");
        self.world.transient.insert((*addr, *key), *value);
        self.effects.push(Effect::Transient {
            addr: *addr,
            key: *key,
            value: *value,
        });
    }
    fn tracer(&mut self) -> Option<&mut dyn Tracer> {
        match &mut self.tracer {
            Some(t) => Some(&mut **t),
            None => None,
        }
    }
}
