//! Shared test fixtures: a small in-memory host that reverts failed nested frames and runs
//! them on any [`Vm`], and the path of the freshly built `libember.so`. Programs are written
//! with ember-testkit's assembler (`programs.rs`).
#![allow(dead_code)] // each test binary uses a different part of this module

pub mod programs;

use ember_evm::{
    keccak256, AccessStatus, Address, ExecResult, Host, Message, Revision, StatusCode,
    StorageStatus, TxContext, Vm, B256, EMPTY_CODE_HASH, U256,
};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

/// The `libember.so` built with this test: cargo compiles the library's cdylib next to the
/// test executable (`target/<profile>/deps/`). The copy in `target/<profile>/` is only
/// refreshed by `cargo build`, so it may be stale and is not used.
pub fn libember_path() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let lib = exe.with_file_name("libember.so");
    assert!(
        lib.is_file(),
        "{} was not built (cargo builds the cdylib for tests)",
        lib.display()
    );
    lib
}

pub fn addr(n: u8) -> Address {
    Address([n; 20])
}

pub fn word(n: u64) -> B256 {
    B256::from_word(U256::from(n))
}

/// The state a test host changes; compared between VMs after a run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct World {
    pub code: BTreeMap<Address, Vec<u8>>,
    pub balance: BTreeMap<Address, U256>,
    pub storage: BTreeMap<(Address, B256), B256>,
    /// Slot values at the start of the transaction.
    pub original: BTreeMap<(Address, B256), B256>,
    pub transient: BTreeMap<(Address, B256), B256>,
    pub warm_accounts: BTreeSet<Address>,
    pub warm_slots: BTreeSet<(Address, B256)>,
    pub logs: Vec<(Address, Vec<u8>, Vec<B256>)>,
    pub selfdestructs: Vec<(Address, Address)>,
    /// Nested frames run through `call`.
    pub calls: u32,
    /// The status of each nested frame, in the order they ended.
    pub statuses: Vec<StatusCode>,
    pub creates: u32,
}

/// A host that keeps a [`World`], reverts it when a nested frame fails, and runs nested
/// frames on `vm`. Creates get an address derived from the sender and a counter. Value
/// transfers are not modelled.
pub struct TestHost<'v> {
    pub world: World,
    pub vm: &'v dyn Vm,
    pub rev: Revision,
    pub tx: TxContext,
    /// Name of a host method that panics when called (for panic-containment tests).
    pub panic_in: Option<&'static str>,
}

impl<'v> TestHost<'v> {
    pub fn new(vm: &'v dyn Vm, rev: Revision, world: World) -> Self {
        let tx = TxContext {
            gas_price: U256::from(7u64),
            origin: addr(0x0f),
            coinbase: addr(0xc0),
            block_number: 1234,
            timestamp: 1_700_000_000,
            gas_limit: 30_000_000,
            prev_randao: B256([0x5e; 32]),
            chain_id: U256::from(1u64),
            base_fee: U256::from(10u64),
            blob_base_fee: U256::from(3u64),
            blob_hashes: vec![B256([0x01; 32]), B256([0x02; 32])],
        };
        TestHost {
            world,
            vm,
            rev,
            tx,
            panic_in: None,
        }
    }

    fn check_panic(&self, method: &str) {
        if self.panic_in == Some(method) {
            panic!("test host panics in {method}");
        }
    }

    /// Runs a top-level call of `to` with `gas`.
    pub fn run(&mut self, to: Address, gas: i64, input: &[u8]) -> ExecResult {
        let code = self.world.code.get(&to).cloned().unwrap_or_default();
        let msg = Message::call(addr(0x0f), to, input, gas);
        self.world.warm_accounts.insert(to);
        let (vm, rev) = (self.vm, self.rev);
        vm.execute(self, rev, &msg, &code, None)
    }
}

impl Host for TestHost<'_> {
    fn account_exists(&mut self, a: &Address) -> bool {
        self.check_panic("account_exists");
        self.world.code.contains_key(a) || self.world.balance.contains_key(a)
    }

    fn get_storage(&mut self, a: &Address, key: &B256) -> B256 {
        self.check_panic("get_storage");
        self.world
            .storage
            .get(&(*a, *key))
            .copied()
            .unwrap_or_default()
    }

    fn set_storage(&mut self, a: &Address, key: &B256, value: &B256) -> StorageStatus {
        self.check_panic("set_storage");
        let slot = (*a, *key);
        let current = self.world.storage.get(&slot).copied().unwrap_or_default();
        let original = *self.world.original.entry(slot).or_insert(current);
        self.world.storage.insert(slot, *value);
        StorageStatus::classify(&original, &current, value)
    }

    fn get_balance(&mut self, a: &Address) -> U256 {
        self.check_panic("get_balance");
        self.world.balance.get(a).copied().unwrap_or_default()
    }

    fn get_code_size(&mut self, a: &Address) -> usize {
        self.world.code.get(a).map_or(0, Vec::len)
    }

    fn get_code_hash(&mut self, a: &Address) -> B256 {
        match self.world.code.get(a) {
            Some(code) => keccak256(code),
            None if self.world.balance.contains_key(a) => EMPTY_CODE_HASH,
            None => B256::ZERO,
        }
    }

    fn copy_code(&mut self, a: &Address, offset: usize, buf: &mut [u8]) -> usize {
        let code = self.world.code.get(a).map_or(&[][..], Vec::as_slice);
        let src = code.get(offset..).unwrap_or_default();
        let n = src.len().min(buf.len());
        buf[..n].copy_from_slice(&src[..n]);
        n
    }

    fn selfdestruct(&mut self, a: &Address, beneficiary: &Address) -> bool {
        let first = !self.world.selfdestructs.iter().any(|(x, _)| x == a);
        self.world.selfdestructs.push((*a, *beneficiary));
        first
    }

    fn call(&mut self, msg: &Message<'_>) -> ExecResult {
        self.check_panic("call");
        self.world.calls += 1;
        let snapshot = self.world.clone();
        let (vm, rev) = (self.vm, self.rev);
        let result = if msg.kind.is_create() {
            self.world.creates += 1;
            let seed = [&msg.sender.0[..], &self.world.creates.to_be_bytes()].concat();
            let mut new = [0u8; 20];
            new.copy_from_slice(&keccak256(&seed).0[12..]);
            let new = Address(new);
            let init = Message {
                recipient: new,
                code_address: new,
                input: &[],
                ..msg.clone()
            };
            self.world.warm_accounts.insert(new);
            let mut r = vm.execute(self, rev, &init, msg.input, None);
            if r.status == StatusCode::Success {
                self.world.code.insert(new, std::mem::take(&mut r.output));
            }
            r.create_address = Some(new);
            r
        } else {
            let code = self
                .world
                .code
                .get(&msg.code_address)
                .cloned()
                .unwrap_or_default();
            vm.execute(self, rev, msg, &code, None)
        };
        if result.status != StatusCode::Success {
            // Revert the state, keeping the counters and the record of statuses.
            let World {
                calls,
                creates,
                statuses,
                ..
            } = std::mem::replace(&mut self.world, snapshot);
            self.world.calls = calls;
            self.world.creates = creates;
            self.world.statuses = statuses;
        }
        self.world.statuses.push(result.status);
        result
    }

    fn get_tx_context(&mut self) -> TxContext {
        self.check_panic("get_tx_context");
        self.tx.clone()
    }

    fn get_block_hash(&mut self, number: i64) -> B256 {
        keccak256(&number.to_be_bytes())
    }

    fn emit_log(&mut self, a: &Address, data: &[u8], topics: &[B256]) {
        self.world.logs.push((*a, data.to_vec(), topics.to_vec()));
    }

    fn access_account(&mut self, a: &Address) -> AccessStatus {
        if self.world.warm_accounts.insert(*a) {
            AccessStatus::Cold
        } else {
            AccessStatus::Warm
        }
    }

    fn access_storage(&mut self, a: &Address, key: &B256) -> AccessStatus {
        if self.world.warm_slots.insert((*a, *key)) {
            AccessStatus::Cold
        } else {
            AccessStatus::Warm
        }
    }

    fn get_transient_storage(&mut self, a: &Address, key: &B256) -> B256 {
        self.world
            .transient
            .get(&(*a, *key))
            .copied()
            .unwrap_or_default()
    }

    fn set_transient_storage(&mut self, a: &Address, key: &B256, value: &B256) {
        self.world.transient.insert((*a, *key), *value);
    }
}
