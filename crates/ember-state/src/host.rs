//! ember's `Host` over the in-memory state: nested calls and creates, value transfers,
//! precompiles, storage classification, selfdestruct, warm/cold tracking and journaling.

use crate::block::BlockEnv;
use crate::journal::TxState;
use crate::logs::Log;
use crate::precompiles::{is_precompile, run_precompile};
use crate::rlp;
use ember_evm::{
    keccak256, AccessStatus, Address, CallKind, ExecResult, Host, Message, Revision, StatusCode,
    StorageStatus, Tracer, TxContext, Vm, B256, FLAG_DELEGATED, MAX_CODE_SIZE,
};
use std::sync::Arc;

/// Gas per byte of deployed code.
const CODE_DEPOSIT_COST: i64 = 200;
/// The RIPEMD-160 precompile, whose touch survives a revert (the Spurious Dragon quirk).
const RIPEMD_ADDRESS: Address =
    Address([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3]);

/// The address of a contract created by `sender` with `nonce` (CREATE):
/// the last 20 bytes of keccak256(rlp([sender, nonce])).
pub fn create_address(sender: &Address, nonce: u64) -> Address {
    let mut payload = Vec::with_capacity(30);
    rlp::encode_bytes_to(&mut payload, &sender.0);
    rlp::encode_u64_to(&mut payload, nonce);
    last_20(&keccak256(&rlp::encode_list(&payload)))
}

/// The address of a contract created by CREATE2:
/// the last 20 bytes of keccak256(0xff ‖ sender ‖ salt ‖ keccak256(init_code)).
pub fn create2_address(sender: &Address, salt: &B256, init_code: &[u8]) -> Address {
    let mut buf = [0u8; 85];
    buf[0] = 0xff;
    buf[1..21].copy_from_slice(&sender.0);
    buf[21..53].copy_from_slice(&salt.0);
    buf[53..].copy_from_slice(&keccak256(init_code).0);
    last_20(&keccak256(&buf))
}

fn last_20(h: &B256) -> Address {
    let mut a = [0u8; 20];
    a.copy_from_slice(&h.0[12..]);
    Address(a)
}

/// The host one transaction (or one `run_message`) executes against.
pub(crate) struct StateHost<'s, 'v> {
    pub(crate) tx: TxState<'s>,
    pub(crate) rev: Revision,
    vm: &'v dyn Vm,
    block: &'v BlockEnv,
    ctx: TxContext,
    tracer: Option<&'v mut dyn Tracer>,
}

impl<'s, 'v> StateHost<'s, 'v> {
    pub(crate) fn new(
        tx: TxState<'s>,
        rev: Revision,
        vm: &'v dyn Vm,
        block: &'v BlockEnv,
        ctx: TxContext,
        tracer: Option<&'v mut dyn Tracer>,
    ) -> Self {
        StateHost {
            tx,
            rev,
            vm,
            block,
            ctx,
            tracer,
        }
    }

    /// Before a create frame starts: bumps the sender's nonce (at depth 0 the transaction
    /// already did), computes the new address and warms it. These changes belong to the
    /// caller's frame, so a failing create does not undo them. A nonce at its maximum
    /// (EIP-2681) fails the create without consuming the gas it was given.
    fn prepare_create<'m>(&mut self, msg: &Message<'m>) -> Result<Message<'m>, ExecResult> {
        let nonce = self.tx.nonce(&msg.sender);
        let creation_nonce = if msg.depth == 0 {
            nonce.saturating_sub(1)
        } else {
            if nonce == u64::MAX {
                return Err(ExecResult {
                    gas_left: msg.gas,
                    ..ExecResult::failure(StatusCode::Failure)
                });
            }
            self.tx.set_nonce(&msg.sender, nonce + 1);
            nonce
        };
        let addr = match msg.kind {
            CallKind::Create2 => create2_address(&msg.sender, &msg.create2_salt, msg.input),
            _ => create_address(&msg.sender, creation_nonce),
        };
        // EIP-2929: the new address is warm even if the create fails.
        self.access_account(&addr);
        Ok(Message {
            recipient: addr,
            code_address: addr,
            ..msg.clone()
        })
    }

    /// Runs a message after `call` has prepared it: creates go to `create`; calls transfer
    /// value, touch the recipient, and run a precompile or the code at `code_address`.
    fn execute_message(&mut self, msg: &Message<'_>) -> ExecResult {
        if msg.kind.is_create() {
            return self.create(msg);
        }
        if msg.kind == CallKind::Call {
            if !self.tx.transfer(&msg.sender, &msg.recipient, msg.value) {
                return ExecResult::failure(StatusCode::InsufficientBalance);
            }
            // A call brings the recipient into existence; before Spurious Dragon it stays.
            // A zero-value call touches it (EIP-161), so it is deleted again if it is still
            // empty at the end. (With value it cannot end up empty; not touching it then
            // keeps the RIPEMD quirk below to zero-value calls, as in geth and evmone.)
            self.tx.account_mut(&msg.recipient);
            if msg.value.is_zero() {
                self.tx.touch(&msg.recipient);
            }
        }
        if msg.flags & FLAG_DELEGATED == 0 {
            if let Some(r) = run_precompile(self.rev, &msg.code_address, msg.input, msg.gas) {
                return r;
            }
        }
        let code = match self.tx.code(&msg.code_address) {
            Some(c) if !c.is_empty() => Arc::clone(c),
            _ => {
                return ExecResult {
                    status: StatusCode::Success,
                    gas_left: msg.gas,
                    gas_refund: 0,
                    output: Vec::new(),
                    create_address: None,
                }
            }
        };
        let hash = self.tx.world.code_hash_of(&code);
        let (vm, rev) = (self.vm, self.rev);
        vm.execute(self, rev, msg, &code, Some(&hash))
    }

    /// Creates the contract at `msg.recipient` (already computed by `call`).
    fn create(&mut self, msg: &Message<'_>) -> ExecResult {
        let addr = msg.recipient;
        if let Some(acc) = self.tx.account(&addr) {
            // EIP-7610 (and EIP-684): an address with a nonce, code or storage is taken.
            if acc.nonce != 0 || !acc.code.is_empty() || acc.has_storage() {
                return ExecResult::failure(StatusCode::Failure);
            }
        }
        self.tx.account_mut(&addr);
        if self.rev >= Revision::SpuriousDragon {
            self.tx.set_nonce(&addr, 1);
        }
        self.tx.mark_created(&addr);
        if !self.tx.transfer(&msg.sender, &addr, msg.value) {
            return ExecResult::failure(StatusCode::InsufficientBalance);
        }

        let init_msg = Message {
            input: &[],
            recipient: addr,
            code_address: addr,
            ..msg.clone()
        };
        let (vm, rev) = (self.vm, self.rev);
        let result = vm.execute(self, rev, &init_msg, msg.input, None);
        if result.status != StatusCode::Success {
            return result;
        }

        let code = result.output;
        if self.rev >= Revision::London && code.first() == Some(&0xef) {
            return ExecResult::failure(StatusCode::ContractValidationFailure);
        }
        if self.rev >= Revision::SpuriousDragon && code.len() > MAX_CODE_SIZE {
            return ExecResult::failure(StatusCode::Failure);
        }
        let deposit = i64::try_from(code.len())
            .unwrap_or(i64::MAX)
            .saturating_mul(CODE_DEPOSIT_COST);
        let created = |gas_left| ExecResult {
            status: StatusCode::Success,
            gas_left,
            gas_refund: result.gas_refund,
            output: Vec::new(),
            create_address: Some(addr),
        };
        if result.gas_left < deposit {
            // Frontier keeps the account without code; later revisions fail the create.
            if self.rev == Revision::Frontier {
                return created(result.gas_left);
            }
            return ExecResult::failure(StatusCode::OutOfGas);
        }
        if !code.is_empty() {
            self.tx.set_code(&addr, code.into());
        }
        created(result.gas_left - deposit)
    }
}

impl Host for StateHost<'_, '_> {
    fn account_exists(&mut self, addr: &Address) -> bool {
        match self.tx.account(addr) {
            None => false,
            Some(a) => self.rev < Revision::SpuriousDragon || !a.is_empty(),
        }
    }

    fn get_storage(&mut self, addr: &Address, key: &B256) -> B256 {
        self.tx.storage(addr, key)
    }

    fn set_storage(&mut self, addr: &Address, key: &B256, value: &B256) -> StorageStatus {
        let current = self.tx.storage(addr, key);
        let original = self.tx.original_storage(addr, key);
        let status = StorageStatus::classify(&original, &current, value);
        self.tx.set_storage(addr, key, *value);
        status
    }

    fn get_balance(&mut self, addr: &Address) -> ember_evm::U256 {
        self.tx.balance(addr)
    }

    fn get_code_size(&mut self, addr: &Address) -> usize {
        self.tx.code(addr).map_or(0, |c| c.len())
    }

    fn get_code_hash(&mut self, addr: &Address) -> B256 {
        match self.tx.account(addr) {
            Some(a) if !a.is_empty() => self.tx.world.code_hash_of(&a.code),
            _ => B256::ZERO,
        }
    }

    fn copy_code(&mut self, addr: &Address, offset: usize, buf: &mut [u8]) -> usize {
        let Some(code) = self.tx.code(addr) else {
            return 0;
        };
        let src = code.get(offset..).unwrap_or(&[]);
        let n = src.len().min(buf.len());
        buf[..n].copy_from_slice(&src[..n]);
        n
    }

    fn selfdestruct(&mut self, addr: &Address, beneficiary: &Address) -> bool {
        let balance = self.tx.balance(addr);
        self.tx.account_mut(beneficiary);
        self.tx.touch(beneficiary);
        if self.rev >= Revision::Cancun && !self.tx.is_created_in_tx(addr) {
            // EIP-6780: only the balance moves (and stays if the beneficiary is `addr`).
            self.tx.set_balance(addr, ember_evm::U256::ZERO);
            self.tx.add_balance(beneficiary, balance);
            return false;
        }
        // The balance is burned when the beneficiary is `addr` itself.
        self.tx.add_balance(beneficiary, balance);
        self.tx.set_balance(addr, ember_evm::U256::ZERO);
        self.tx.mark_destructed(addr)
    }

    fn call(&mut self, msg: &Message<'_>) -> ExecResult {
        let prepared;
        let msg = if msg.kind.is_create() {
            match self.prepare_create(msg) {
                Ok(m) => {
                    prepared = m;
                    &prepared
                }
                Err(light_failure) => return light_failure,
            }
        } else {
            msg
        };

        let checkpoint = self.tx.checkpoint();
        let result = self.execute_message(msg);
        if result.status != StatusCode::Success {
            let ripemd_touched =
                self.rev >= Revision::SpuriousDragon && self.tx.is_touched(&RIPEMD_ADDRESS);
            self.tx.rollback(checkpoint);
            if ripemd_touched {
                self.tx.touch(&RIPEMD_ADDRESS);
            }
        }
        result
    }

    fn get_tx_context(&mut self) -> TxContext {
        self.ctx.clone()
    }

    fn get_block_hash(&mut self, number: i64) -> B256 {
        self.block.block_hash(number)
    }

    fn emit_log(&mut self, addr: &Address, data: &[u8], topics: &[B256]) {
        self.tx.logs.push(Log {
            address: *addr,
            topics: topics.to_vec(),
            data: data.to_vec(),
        });
    }

    fn access_account(&mut self, addr: &Address) -> AccessStatus {
        // Before Berlin there is no warm/cold distinction; report cold, as EVMC hosts do.
        if self.rev < Revision::Berlin {
            return AccessStatus::Cold;
        }
        if is_precompile(self.rev, addr) || self.tx.warm_account(addr) {
            AccessStatus::Warm
        } else {
            AccessStatus::Cold
        }
    }

    fn access_storage(&mut self, addr: &Address, key: &B256) -> AccessStatus {
        if self.rev >= Revision::Berlin && self.tx.warm_slot(addr, key) {
            AccessStatus::Warm
        } else {
            AccessStatus::Cold
        }
    }

    fn get_transient_storage(&mut self, addr: &Address, key: &B256) -> B256 {
        self.tx.transient(addr, key)
    }

    fn set_transient_storage(&mut self, addr: &Address, key: &B256, value: &B256) {
        self.tx.set_transient(addr, key, *value);
    }

    fn tracer(&mut self) -> Option<&mut dyn Tracer> {
        match &mut self.tracer {
            Some(t) => Some(&mut **t),
            None => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::account::Account;
    use crate::world::WorldState;
    use ember_evm::{parse_hex, Interpreter, EMPTY_CODE_HASH, U256};

    fn a(n: u8) -> Address {
        let mut x = [0u8; 20];
        x[19] = n;
        x[0] = 0xaa;
        Address(x)
    }

    fn w(n: u8) -> B256 {
        let mut x = [0u8; 32];
        x[31] = n;
        B256(x)
    }

    fn hex_addr(s: &str) -> Address {
        Address::from_hex(s).unwrap()
    }

    /// Runs `f` with a host over `world` in revision `rev`, then ends the transaction.
    fn with_host<R>(
        world: &mut WorldState,
        rev: Revision,
        f: impl FnOnce(&mut StateHost<'_, '_>) -> R,
    ) -> R {
        let block = BlockEnv {
            number: 1,
            gas_limit: 30_000_000,
            ..BlockEnv::default()
        };
        let mut host = StateHost::new(
            TxState::new(world),
            rev,
            &Interpreter,
            &block,
            TxContext::default(),
            None,
        );
        let r = f(&mut host);
        host.tx.finish(rev);
        r
    }

    fn call_msg(sender: Address, to: Address, gas: i64) -> Message<'static> {
        Message {
            kind: CallKind::Call,
            flags: 0,
            depth: 1,
            gas,
            recipient: to,
            sender,
            input: &[],
            value: U256::ZERO,
            create2_salt: B256::ZERO,
            code_address: to,
        }
    }

    fn create_msg(sender: Address, init_code: &[u8], gas: i64) -> Message<'_> {
        Message {
            kind: CallKind::Create,
            recipient: Address::ZERO,
            code_address: Address::ZERO,
            input: init_code,
            ..call_msg(sender, Address::ZERO, gas)
        }
    }

    #[test]
    fn create_address_vectors() {
        // Widely published vectors for sender 0x6ac7…dbf0 and nonces 0..3.
        let sender = hex_addr("0x6ac7ea33f8831ea9dcc53393aaa88b25a785dbf0");
        let want = [
            "0xcd234a471b72ba2f1ccf0a70fcaba648a5eecd8d",
            "0x343c43a37d37dff08ae8c4a11544c718abb4fcf8",
            "0xf778b86fa74e846c4f0a1fbd1335fe81c00a0c91",
            "0xfffd933a0bc612844eaf0c6fe3e5b8e9b6c1d19c",
        ];
        for (nonce, want) in want.iter().enumerate() {
            assert_eq!(create_address(&sender, nonce as u64), hex_addr(want));
        }
    }

    #[test]
    fn create2_address_vectors_from_eip1014() {
        let zero = Address::ZERO;
        assert_eq!(
            create2_address(&zero, &B256::ZERO, &[0x00]),
            hex_addr("0x4D1A2e2bB4F88F0250f26Ffff098B0b30B26BF38")
        );
        assert_eq!(
            create2_address(
                &hex_addr("0xdeadbeef00000000000000000000000000000000"),
                &B256::ZERO,
                &[0x00]
            ),
            hex_addr("0xB928f69Bb1D91Cd65274e3c79d8986362984fDA3")
        );
        assert_eq!(
            create2_address(
                &hex_addr("0x00000000000000000000000000000000deadbeef"),
                &B256::from_hex_padded("0xcafebabe").unwrap(),
                &parse_hex("0xdeadbeefdeadbeefdeadbeefdeadbeefdeadbeefdeadbeefdeadbeefdeadbeefdeadbeefdeadbeefdeadbeef").unwrap()
            ),
            hex_addr("0x1d8bfDC5D46DC4f61D6b6115972536eBE6A8854C")
        );
        assert_eq!(
            create2_address(&zero, &B256::ZERO, &[]),
            hex_addr("0xE33C0C7F7df4809055C3ebA6c09CFe4BaF1BD9e0")
        );
    }

    #[test]
    fn storage_status_round_trip_through_set_storage() {
        use StorageStatus::*;
        let mut world = WorldState::new();
        let mut acc = Account {
            nonce: 1,
            ..Account::default()
        };
        acc.storage.insert(w(1), w(1));
        world.insert(a(1), acc);
        with_host(&mut world, Revision::Cancun, |h| {
            // Slot 1 starts at X = 1; slot 2 at 0. (original, current, new) → status, from
            // the EVMC storage-status table.
            let steps = [
                (1, 1, Assigned),         // X → X → X
                (1, 2, Modified),         // X → X → Z
                (1, 1, ModifiedRestored), // X → Y → X
                (1, 0, Deleted),          // X → X → 0
                (1, 3, DeletedAdded),     // X → 0 → Z
                (1, 0, ModifiedDeleted),  // X → Y → 0
                (1, 1, DeletedRestored),  // X → 0 → X
                (2, 5, Added),            // 0 → 0 → Z
                (2, 6, Assigned),         // 0 → Y → Z
                (2, 0, AddedDeleted),     // 0 → Y → 0
            ];
            for (slot, value, want) in steps {
                assert_eq!(
                    h.set_storage(&a(1), &w(slot), &w(value)),
                    want,
                    "slot {slot} := {value}"
                );
                assert_eq!(h.get_storage(&a(1), &w(slot)), w(value));
            }
        });
        assert_eq!(world.get(&a(1)).unwrap().storage.get(&w(1)), Some(&w(1)));
        assert_eq!(world.get(&a(1)).unwrap().storage.get(&w(2)), None);
    }

    #[test]
    fn existence_and_code_hash_follow_eip161_and_eip1052() {
        let mut world = WorldState::new();
        world.insert(a(1), Account::default());
        world.insert(
            a(2),
            Account {
                balance: U256::from(1),
                ..Account::default()
            },
        );
        let code: Arc<[u8]> = Arc::from(&[0x00u8][..]);
        world.insert(
            a(3),
            Account {
                code: code.clone(),
                ..Account::default()
            },
        );
        with_host(&mut world.clone(), Revision::TangerineWhistle, |h| {
            assert!(
                h.account_exists(&a(1)),
                "an empty account exists before EIP-161"
            );
            assert!(!h.account_exists(&a(9)));
        });
        with_host(&mut world, Revision::Cancun, |h| {
            assert!(
                !h.account_exists(&a(1)),
                "an empty account is dead from EIP-161"
            );
            assert!(h.account_exists(&a(2)));
            assert_eq!(h.get_code_hash(&a(9)), B256::ZERO);
            assert_eq!(h.get_code_hash(&a(1)), B256::ZERO);
            assert_eq!(h.get_code_hash(&a(2)), EMPTY_CODE_HASH);
            assert_eq!(h.get_code_hash(&a(3)), keccak256(&code));
            assert_eq!(h.get_code_size(&a(3)), 1);
            let mut buf = [0xffu8; 4];
            assert_eq!(h.copy_code(&a(3), 0, &mut buf), 1);
            assert_eq!(buf, [0x00, 0xff, 0xff, 0xff]);
            assert_eq!(h.copy_code(&a(3), 5, &mut buf), 0);
        });
    }

    #[test]
    fn warm_and_cold_access() {
        let mut world = WorldState::new();
        let precompile = hex_addr("0x0000000000000000000000000000000000000001");
        with_host(&mut world, Revision::Berlin, |h| {
            assert_eq!(h.access_account(&a(1)), AccessStatus::Cold);
            assert_eq!(h.access_account(&a(1)), AccessStatus::Warm);
            assert_eq!(h.access_account(&precompile), AccessStatus::Warm);
            assert_eq!(h.access_storage(&a(1), &w(1)), AccessStatus::Cold);
            assert_eq!(h.access_storage(&a(1), &w(1)), AccessStatus::Warm);
            assert_eq!(h.access_storage(&a(2), &w(1)), AccessStatus::Cold);
        });
        with_host(&mut world, Revision::Istanbul, |h| {
            h.access_account(&a(1));
            assert_eq!(
                h.access_account(&a(1)),
                AccessStatus::Cold,
                "no warmth before Berlin"
            );
        });
    }

    #[test]
    fn selfdestruct_before_and_after_eip6780() {
        let rich = Account {
            nonce: 1,
            balance: U256::from(10),
            code: Arc::from(&[0u8][..]),
            ..Account::default()
        };
        let mut world = WorldState::new();
        world.insert(a(1), rich.clone());
        with_host(&mut world, Revision::Shanghai, |h| {
            assert!(h.selfdestruct(&a(1), &a(2)), "first registration");
            assert!(!h.selfdestruct(&a(1), &a(2)));
        });
        assert!(
            world.get(&a(1)).is_none(),
            "destroyed at the end of the transaction"
        );
        assert_eq!(world.get(&a(2)).unwrap().balance, U256::from(10));

        let mut world = WorldState::new();
        world.insert(a(1), rich.clone());
        with_host(&mut world, Revision::Cancun, |h| {
            assert!(
                !h.selfdestruct(&a(1), &a(1)),
                "not created in this transaction"
            );
        });
        assert_eq!(
            world.get(&a(1)),
            Some(&rich),
            "kept, balance included, when it names itself"
        );

        let mut world = WorldState::new();
        world.insert(a(1), rich);
        with_host(&mut world, Revision::Shanghai, |h| {
            h.selfdestruct(&a(1), &a(1));
        });
        assert!(
            world.get(&a(1)).is_none(),
            "destroyed and its balance burned"
        );
    }

    #[test]
    fn failed_frame_is_undone_except_the_ripemd_touch() {
        // Both precompiles exist as empty accounts; a call with no gas fails in each.
        let ripemd = RIPEMD_ADDRESS;
        let identity = hex_addr("0x0000000000000000000000000000000000000004");
        let mut world = WorldState::new();
        world.insert(ripemd, Account::default());
        world.insert(identity, Account::default());
        world.insert(
            a(1),
            Account {
                nonce: 1,
                ..Account::default()
            },
        );
        with_host(&mut world, Revision::Cancun, |h| {
            assert_eq!(
                h.call(&call_msg(a(1), ripemd, 0)).status,
                StatusCode::OutOfGas
            );
            assert_eq!(
                h.call(&call_msg(a(1), identity, 0)).status,
                StatusCode::OutOfGas
            );
        });
        assert!(
            world.get(&ripemd).is_none(),
            "the touch of 0x03 survives the revert"
        );
        assert!(
            world.get(&identity).is_some(),
            "the touch of 0x04 is reverted"
        );

        // A call with value does not touch (the recipient cannot end up empty), so a failed
        // one leaves the empty 0x03 alone.
        let mut world = WorldState::new();
        world.insert(ripemd, Account::default());
        world.insert(
            a(1),
            Account {
                nonce: 1,
                balance: U256::from(5),
                ..Account::default()
            },
        );
        let paying = Message {
            value: U256::from(1),
            ..call_msg(a(1), ripemd, 0)
        };
        let r = with_host(&mut world, Revision::Cancun, |h| h.call(&paying));
        assert_eq!(r.status, StatusCode::OutOfGas);
        assert_eq!(world.get(&ripemd), Some(&Account::default()));
        assert_eq!(
            world.get(&a(1)).unwrap().balance,
            U256::from(5),
            "value transfer undone"
        );
    }

    #[test]
    fn call_to_missing_account_creates_it_only_before_spurious_dragon() {
        for (rev, kept) in [
            (Revision::TangerineWhistle, true),
            (Revision::SpuriousDragon, false),
        ] {
            let mut world = WorldState::new();
            world.insert(
                a(1),
                Account {
                    nonce: 1,
                    ..Account::default()
                },
            );
            let r = with_host(&mut world, rev, |h| h.call(&call_msg(a(1), a(2), 100)));
            assert_eq!(
                (r.status, r.gas_left),
                (StatusCode::Success, 100),
                "empty code succeeds"
            );
            assert_eq!(world.get(&a(2)).is_some(), kept, "{rev}");
        }
    }

    /// Init code returning one byte `b`: PUSH1 b PUSH1 0 MSTORE8 PUSH1 1 PUSH1 0 RETURN.
    fn init_returning(b: u8) -> Vec<u8> {
        vec![0x60, b, 0x60, 0x00, 0x53, 0x60, 0x01, 0x60, 0x00, 0xf3]
    }

    #[test]
    fn create_deposits_code_and_bumps_nonces() {
        let mut world = WorldState::new();
        world.insert(
            a(1),
            Account {
                nonce: 7,
                code: Arc::from(&[0u8][..]),
                ..Account::default()
            },
        );
        let init = init_returning(0xfe);
        let r = with_host(&mut world, Revision::Cancun, |h| {
            h.call(&create_msg(a(1), &init, 100_000))
        });
        let addr = create_address(&a(1), 7);
        assert_eq!(r.status, StatusCode::Success);
        assert_eq!(r.create_address, Some(addr));
        assert!(r.output.is_empty());
        // Execution: 3+3+(3+3 memory)+3+3 = 18, then 200 for the one deployed byte.
        assert_eq!(r.gas_left, 100_000 - 18 - 200);
        assert_eq!(world.get(&a(1)).unwrap().nonce, 8);
        let created = world.get(&addr).unwrap();
        assert_eq!((created.nonce, &*created.code), (1, &[0xfe][..]));
    }

    #[test]
    fn code_starting_with_ef_is_rejected_from_london() {
        let init = init_returning(0xef);
        for (rev, ok) in [(Revision::Berlin, true), (Revision::London, false)] {
            let mut world = WorldState::new();
            world.insert(
                a(1),
                Account {
                    nonce: 1,
                    ..Account::default()
                },
            );
            let r = with_host(&mut world, rev, |h| {
                h.call(&create_msg(a(1), &init, 100_000))
            });
            assert_eq!(r.status == StatusCode::Success, ok, "{rev}");
            assert_eq!(world.get(&create_address(&a(1), 1)).is_some(), ok);
            assert_eq!(
                world.get(&a(1)).unwrap().nonce,
                2,
                "the nonce bump is not undone"
            );
        }
    }

    #[test]
    fn code_size_limit_from_spurious_dragon() {
        // PUSH2 0x6001 PUSH1 0 RETURN: returns 24577 zero bytes, one over EIP-170's limit.
        let init = [0x61, 0x60, 0x01, 0x60, 0x00, 0xf3];
        for (rev, ok) in [
            (Revision::TangerineWhistle, true),
            (Revision::SpuriousDragon, false),
        ] {
            let mut world = WorldState::new();
            world.insert(
                a(1),
                Account {
                    nonce: 1,
                    ..Account::default()
                },
            );
            let r = with_host(&mut world, rev, |h| {
                h.call(&create_msg(a(1), &init, 10_000_000))
            });
            assert_eq!(r.status == StatusCode::Success, ok, "{rev}");
        }
    }

    #[test]
    fn frontier_keeps_a_codeless_contract_when_the_deposit_runs_out_of_gas() {
        // PUSH1 1 PUSH1 0 RETURN costs 9 gas; 100 gas leaves 91, short of the 200 deposit.
        let init = [0x60, 0x01, 0x60, 0x00, 0xf3];
        for (rev, ok) in [(Revision::Frontier, true), (Revision::Homestead, false)] {
            let mut world = WorldState::new();
            world.insert(
                a(1),
                Account {
                    nonce: 1,
                    ..Account::default()
                },
            );
            let r = with_host(&mut world, rev, |h| h.call(&create_msg(a(1), &init, 100)));
            let addr = create_address(&a(1), 1);
            if ok {
                assert_eq!((r.status, r.gas_left), (StatusCode::Success, 91));
                assert_eq!(world.get(&addr), Some(&Account::default()));
            } else {
                assert_eq!((r.status, r.gas_left), (StatusCode::OutOfGas, 0));
                assert!(world.get(&addr).is_none());
            }
        }
    }

    #[test]
    fn create_collision_consumes_all_gas() {
        let target = create_address(&a(1), 1);
        for taken in [
            Account {
                nonce: 1,
                ..Account::default()
            },
            Account {
                code: Arc::from(&[0u8][..]),
                ..Account::default()
            },
            Account {
                storage: [(w(1), w(1))].into_iter().collect(),
                ..Account::default()
            },
        ] {
            let mut world = WorldState::new();
            world.insert(
                a(1),
                Account {
                    nonce: 1,
                    ..Account::default()
                },
            );
            world.insert(target, taken.clone());
            let r = with_host(&mut world, Revision::Cancun, |h| {
                h.call(&create_msg(a(1), &init_returning(0), 1000))
            });
            assert_eq!((r.status, r.gas_left), (StatusCode::Failure, 0));
            assert_eq!(world.get(&target), Some(&taken));
            assert_eq!(world.get(&a(1)).unwrap().nonce, 2);
        }
        // A balance alone is no collision: the new contract keeps it.
        let mut world = WorldState::new();
        world.insert(
            a(1),
            Account {
                nonce: 1,
                ..Account::default()
            },
        );
        world.insert(
            target,
            Account {
                balance: U256::from(5),
                ..Account::default()
            },
        );
        let r = with_host(&mut world, Revision::Cancun, |h| {
            h.call(&create_msg(a(1), &init_returning(0), 1000))
        });
        assert_eq!(r.status, StatusCode::Success);
        assert_eq!(world.get(&target).unwrap().balance, U256::from(5));
    }

    #[test]
    fn create_with_maximum_nonce_fails_without_consuming_gas() {
        let mut world = WorldState::new();
        world.insert(
            a(1),
            Account {
                nonce: u64::MAX,
                ..Account::default()
            },
        );
        let r = with_host(&mut world, Revision::Cancun, |h| {
            h.call(&create_msg(a(1), &init_returning(0), 1000))
        });
        assert_eq!((r.status, r.gas_left), (StatusCode::Failure, 1000));
        assert_eq!(world.get(&a(1)).unwrap().nonce, u64::MAX);
    }
}
