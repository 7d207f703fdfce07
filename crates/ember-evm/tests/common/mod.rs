//! A minimal in-memory host for interpreter tests: accounts, storage with original values,
//! EIP-2929 warm sets, logs, transient storage, and nested calls run by the interpreter.

#![allow(dead_code)]

use ember_evm::*;
use std::collections::{HashMap, HashSet};

#[derive(Default, Clone)]
pub struct MockAccount {
    pub balance: U256,
    pub code: Vec<u8>,
    /// slot -> (original, current)
    pub storage: HashMap<B256, (B256, B256)>,
}

/// A nested call as the host received it.
#[derive(Clone, Debug)]
pub struct RecordedCall {
    pub kind: CallKind,
    pub flags: u32,
    pub depth: i32,
    pub gas: i64,
    pub recipient: Address,
    pub code_address: Address,
    pub value: U256,
}

#[derive(Default)]
pub struct MockHost {
    pub accounts: HashMap<Address, MockAccount>,
    pub warm_accounts: HashSet<Address>,
    pub warm_slots: HashSet<(Address, B256)>,
    pub transient: HashMap<(Address, B256), B256>,
    pub logs: Vec<(Address, Vec<u8>, Vec<B256>)>,
    pub calls: Vec<RecordedCall>,
    pub selfdestructs: Vec<(Address, Address)>,
    pub tx: TxContext,
    pub rev: Option<Revision>,
    /// Result every nested call returns when the callee has no code.
    pub call_result: Option<ExecResult>,
    pub tracer: Option<Box<dyn Tracer>>,
}

pub fn addr(n: u8) -> Address {
    let mut a = [0u8; 20];
    a[19] = n;
    Address(a)
}

pub fn word(n: u64) -> B256 {
    B256::from_word(U256::from(n))
}

impl MockHost {
    pub fn with_code(mut self, a: Address, code: &[u8]) -> Self {
        self.accounts.entry(a).or_default().code = code.to_vec();
        self
    }
    pub fn with_balance(mut self, a: Address, b: u64) -> Self {
        self.accounts.entry(a).or_default().balance = U256::from(b);
        self
    }
    pub fn with_slot(mut self, a: Address, k: u64, v: u64) -> Self {
        self.accounts
            .entry(a)
            .or_default()
            .storage
            .insert(word(k), (word(v), word(v)));
        self
    }
    pub fn slot(&self, a: Address, k: u64) -> B256 {
        self.accounts
            .get(&a)
            .and_then(|acc| acc.storage.get(&word(k)))
            .map(|s| s.1)
            .unwrap_or_default()
    }
}

impl Host for MockHost {
    fn account_exists(&mut self, a: &Address) -> bool {
        self.accounts
            .get(a)
            .is_some_and(|acc| !acc.balance.is_zero() || !acc.code.is_empty())
    }
    fn get_storage(&mut self, a: &Address, k: &B256) -> B256 {
        self.accounts
            .get(a)
            .and_then(|acc| acc.storage.get(k))
            .map(|s| s.1)
            .unwrap_or_default()
    }
    fn set_storage(&mut self, a: &Address, k: &B256, v: &B256) -> StorageStatus {
        let slot = self
            .accounts
            .entry(*a)
            .or_default()
            .storage
            .entry(*k)
            .or_default();
        let status = StorageStatus::classify(&slot.0, &slot.1, v);
        slot.1 = *v;
        status
    }
    fn get_balance(&mut self, a: &Address) -> U256 {
        self.accounts
            .get(a)
            .map(|acc| acc.balance)
            .unwrap_or_default()
    }
    fn get_code_size(&mut self, a: &Address) -> usize {
        self.accounts.get(a).map(|acc| acc.code.len()).unwrap_or(0)
    }
    fn get_code_hash(&mut self, a: &Address) -> B256 {
        match self.accounts.get(a) {
            Some(acc) => keccak256(&acc.code),
            None => B256::ZERO,
        }
    }
    fn copy_code(&mut self, a: &Address, offset: usize, buf: &mut [u8]) -> usize {
        let code = self
            .accounts
            .get(a)
            .map(|acc| acc.code.as_slice())
            .unwrap_or(&[]);
        if offset >= code.len() {
            return 0;
        }
        let n = buf.len().min(code.len() - offset);
        buf[..n].copy_from_slice(&code[offset..offset + n]);
        n
    }
    fn selfdestruct(&mut self, a: &Address, b: &Address) -> bool {
        let first = !self.selfdestructs.iter().any(|(x, _)| x == a);
        self.selfdestructs.push((*a, *b));
        first
    }
    fn call(&mut self, msg: &Message<'_>) -> ExecResult {
        self.calls.push(RecordedCall {
            kind: msg.kind,
            flags: msg.flags,
            depth: msg.depth,
            gas: msg.gas,
            recipient: msg.recipient,
            code_address: msg.code_address,
            value: msg.value,
        });
        if msg.kind.is_create() {
            return ExecResult {
                status: StatusCode::Success,
                gas_left: msg.gas,
                gas_refund: 0,
                output: vec![],
                create_address: Some(addr(0xcc)),
            };
        }
        let code = self
            .accounts
            .get(&msg.code_address)
            .map(|a| a.code.clone())
            .unwrap_or_default();
        if code.is_empty() {
            return self.call_result.clone().unwrap_or(ExecResult {
                status: StatusCode::Success,
                gas_left: msg.gas,
                gas_refund: 0,
                output: vec![],
                create_address: None,
            });
        }
        let rev = self.rev.unwrap_or(Revision::LATEST);
        execute(self, rev, msg, &code)
    }
    fn get_tx_context(&mut self) -> TxContext {
        self.tx.clone()
    }
    fn get_block_hash(&mut self, n: i64) -> B256 {
        word(0x1000 + n as u64)
    }
    fn emit_log(&mut self, a: &Address, data: &[u8], topics: &[B256]) {
        self.logs.push((*a, data.to_vec(), topics.to_vec()));
    }
    fn access_account(&mut self, a: &Address) -> AccessStatus {
        if self.warm_accounts.insert(*a) {
            AccessStatus::Cold
        } else {
            AccessStatus::Warm
        }
    }
    fn access_storage(&mut self, a: &Address, k: &B256) -> AccessStatus {
        if self.warm_slots.insert((*a, *k)) {
            AccessStatus::Cold
        } else {
            AccessStatus::Warm
        }
    }
    fn get_transient_storage(&mut self, a: &Address, k: &B256) -> B256 {
        self.transient.get(&(*a, *k)).copied().unwrap_or_default()
    }
    fn set_transient_storage(&mut self, a: &Address, k: &B256, v: &B256) {
        self.transient.insert((*a, *k), *v);
    }
    fn tracer(&mut self) -> Option<&mut dyn Tracer> {
        match &mut self.tracer {
            Some(t) => Some(t.as_mut()),
            None => None,
        }
    }
}

/// The contract under test runs at this address, called by `CALLER`.
pub const CONTRACT: u8 = 0xaa;
pub const CALLER: u8 = 0xbb;

/// Runs `code` (hex, spaces ignored) as a call to `CONTRACT` with `gas` at `rev`.
pub fn run_with(
    host: &mut MockHost,
    rev: Revision,
    code: &str,
    gas: i64,
    flags: u32,
) -> ExecResult {
    let code = parse_hex(&code.replace(' ', "")).expect("test code is hex");
    host.rev = Some(rev);
    host.warm_accounts.insert(addr(CONTRACT));
    host.warm_accounts.insert(addr(CALLER));
    let msg = Message {
        kind: CallKind::Call,
        flags,
        depth: 0,
        gas,
        recipient: addr(CONTRACT),
        sender: addr(CALLER),
        input: &[],
        value: U256::ZERO,
        create2_salt: B256::ZERO,
        code_address: addr(CONTRACT),
    };
    execute(host, rev, &msg, &code)
}

pub fn run(rev: Revision, code: &str, gas: i64) -> ExecResult {
    run_with(&mut MockHost::default(), rev, code, gas, 0)
}

/// Code suffix returning the top of the stack as 32 bytes: PUSH1 0 MSTORE PUSH1 32 PUSH1 0
/// RETURN. Costs 3 + (3 + 3 memory) + 3 + 3 + 0 = 15 gas when memory was empty.
pub const RET_TOP: &str = "60005260206000f3";
pub const RET_TOP_GAS: i64 = 15;

/// Gas used by a successful or reverted run.
pub fn used(r: &ExecResult, gas: i64) -> i64 {
    gas - r.gas_left
}

pub fn out_word(r: &ExecResult) -> U256 {
    assert_eq!(r.output.len(), 32, "output {:?}", r);
    U256::from_be_slice(&r.output)
}
