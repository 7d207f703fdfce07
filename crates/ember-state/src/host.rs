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
mod tests;
