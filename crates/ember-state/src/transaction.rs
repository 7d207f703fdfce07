//! Transactions: intrinsic gas, validation, fees, EIP-7702 authorizations, and running a
//! transaction or a bare message against the state.

use crate::block::{BlockEnv, GAS_PER_BLOB};
use crate::error::TxError;
use crate::host::{create_address, StateHost};
use crate::journal::TxState;
use crate::logs::Log;
use crate::rlp;
use crate::world::WorldState;
use ember_evm::{
    delegation_designator, keccak256, parse_delegation, Address, CallKind, ExecResult, Host,
    Message, Revision, StatusCode, Tracer, TxContext, Vm, B256, FLAG_DELEGATED, MAX_INITCODE_SIZE,
    U256,
};
use std::sync::Arc;

/// One EIP-2930 access list entry.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AccessListItem {
    /// An account to warm.
    pub address: Address,
    /// Slots of that account to warm.
    pub storage_keys: Vec<B256>,
}

/// One EIP-7702 authorization tuple.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Authorization {
    /// The chain the authorization is for; 0 means any.
    pub chain_id: U256,
    /// The delegate; zero clears the authority's delegation.
    pub address: Address,
    /// The authority's nonce the authorization is valid at.
    pub nonce: u64,
    /// Signature: the parity of the curve point's y (0 or 1).
    pub y_parity: U256,
    /// Signature: r.
    pub r: U256,
    /// Signature: s (at most n/2).
    pub s: U256,
    /// The authority, when known in advance (fixtures give it); otherwise it is recovered.
    pub signer: Option<Address>,
}

/// secp256k1's group order n.
const SECP256K1_N: U256 = U256::from_limbs([
    0xbfd2_5e8c_d036_4141,
    0xbaae_dce6_af48_a03b,
    0xffff_ffff_ffff_fffe,
    0xffff_ffff_ffff_ffff,
]);

impl Authorization {
    /// The hash the authority signs: keccak256(0x05 ‖ rlp([chain_id, address, nonce])).
    pub fn signing_hash(&self) -> B256 {
        let mut payload = Vec::with_capacity(64);
        rlp::encode_u256_to(&mut payload, &self.chain_id);
        rlp::encode_bytes_to(&mut payload, &self.address.0);
        rlp::encode_u64_to(&mut payload, self.nonce);
        let mut msg = vec![0x05];
        msg.extend(rlp::encode_list(&payload));
        keccak256(&msg)
    }

    /// The authority, or `None` if the signature is invalid: `y_parity` must be 0 or 1,
    /// `0 < r < n` and `0 < s ≤ n/2`. Uses `signer` when given, else recovers the key.
    pub fn authority(&self) -> Option<Address> {
        let half_n = SECP256K1_N >> 1;
        if self.y_parity > U256::from(1)
            || self.r.is_zero()
            || self.r >= SECP256K1_N
            || self.s.is_zero()
            || self.s > half_n
        {
            return None;
        }
        if let Some(signer) = self.signer {
            return Some(signer);
        }
        self.recover()
    }

    /// Recovers the signer's address from the signature.
    fn recover(&self) -> Option<Address> {
        use k256::ecdsa::{RecoveryId, Signature, VerifyingKey};
        let r: [u8; 32] = self.r.to_be_bytes();
        let s: [u8; 32] = self.s.to_be_bytes();
        let sig = Signature::from_scalars(r, s).ok()?;
        let recid = RecoveryId::from_byte(self.y_parity.to::<u8>())?;
        let key = VerifyingKey::recover_from_prehash(&self.signing_hash().0, &sig, recid).ok()?;
        let point = key.to_encoded_point(false);
        let h = keccak256(&point.as_bytes()[1..]);
        let mut a = [0u8; 20];
        a.copy_from_slice(&h.0[12..]);
        Some(Address(a))
    }
}

/// A transaction, already decoded and with its sender known.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Transaction {
    /// 0 legacy, 1 EIP-2930, 2 EIP-1559, 3 EIP-4844 blob, 4 EIP-7702 set-code.
    pub tx_type: u8,
    /// The account that signed and pays.
    pub sender: Address,
    /// The recipient; `None` creates a contract.
    pub to: Option<Address>,
    /// Must equal the sender's nonce.
    pub nonce: u64,
    /// Gas the sender buys.
    pub gas_limit: u64,
    /// The gas price of types 0 and 1.
    pub gas_price: U256,
    /// The fee cap of types 2, 3 and 4.
    pub max_fee_per_gas: U256,
    /// The priority fee cap of types 2, 3 and 4.
    pub max_priority_fee_per_gas: U256,
    /// Wei transferred to the recipient (or the new contract).
    pub value: U256,
    /// Call data, or the init code of a create.
    pub data: Vec<u8>,
    /// EIP-2930 accounts and slots warmed up front (types 1 to 4).
    pub access_list: Vec<AccessListItem>,
    /// EIP-4844 versioned blob hashes (type 3).
    pub blob_hashes: Vec<B256>,
    /// EIP-4844 blob fee cap (type 3).
    pub max_fee_per_blob_gas: U256,
    /// EIP-7702 authorizations (type 4).
    pub authorization_list: Vec<Authorization>,
}

impl Transaction {
    /// `(max_fee_per_gas, max_priority_fee_per_gas)`; both are the gas price for types 0/1.
    fn fee_caps(&self) -> (U256, U256) {
        if self.tx_type >= 2 {
            (self.max_fee_per_gas, self.max_priority_fee_per_gas)
        } else {
            (self.gas_price, self.gas_price)
        }
    }

    /// The blob gas this transaction consumes.
    pub fn blob_gas(&self) -> u64 {
        (self.blob_hashes.len() as u64).saturating_mul(GAS_PER_BLOB)
    }
}

/// The result of an executed (valid) transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TxOutcome {
    /// How the transaction's top frame ended.
    pub status: StatusCode,
    /// Gas charged to the sender, after refunds and the EIP-7623 floor.
    pub gas_used: u64,
    /// Logs of the transaction (none if its top frame failed).
    pub logs: Vec<Log>,
    /// Return or revert data of the top frame.
    pub output: Vec<u8>,
    /// The created contract of a successful create transaction.
    pub create_address: Option<Address>,
}

/// Per-transaction gas cap from Osaka (EIP-7825).
pub const MAX_TX_GAS_LIMIT: u64 = 1 << 24;
/// Most blobs in one transaction from Osaka (EIP-7594).
pub const MAX_TX_BLOBS: usize = 6;

const TX_BASE_COST: u64 = 21_000;
const TX_CREATE_COST: u64 = 32_000;
const ACCESS_LIST_ADDRESS_COST: u64 = 2_400;
const ACCESS_LIST_STORAGE_KEY_COST: u64 = 1_900;
/// EIP-7702 `PER_EMPTY_ACCOUNT_COST`, charged per authorization.
const PER_EMPTY_ACCOUNT_COST: u64 = 25_000;
/// EIP-7702 `PER_AUTH_BASE_COST`.
const PER_AUTH_BASE_COST: u64 = 12_500;

/// Calldata tokens: zero bytes count 1, other bytes 4 from Istanbul (EIP-2028), 17 before.
fn data_tokens(data: &[u8], rev: Revision) -> u64 {
    let zeros = data.iter().filter(|b| **b == 0).count() as u64;
    let nonzeros = data.len() as u64 - zeros;
    let k = if rev >= Revision::Istanbul { 4 } else { 17 };
    zeros.saturating_add(nonzeros.saturating_mul(k))
}

/// The gas a transaction pays before any code runs: 21000, +32000 for a create (from
/// Homestead), 4 per calldata token, access list entries, 25000 per authorization and, for
/// a create from Shanghai, 2 per init code word.
pub fn intrinsic_gas(tx: &Transaction, rev: Revision) -> u64 {
    let is_create = tx.to.is_none();
    let mut gas = TX_BASE_COST;
    if is_create && rev >= Revision::Homestead {
        gas += TX_CREATE_COST;
    }
    gas = gas.saturating_add(data_tokens(&tx.data, rev).saturating_mul(4));
    for item in &tx.access_list {
        gas = gas.saturating_add(ACCESS_LIST_ADDRESS_COST);
        gas = gas.saturating_add(
            (item.storage_keys.len() as u64).saturating_mul(ACCESS_LIST_STORAGE_KEY_COST),
        );
    }
    gas = gas.saturating_add(
        (tx.authorization_list.len() as u64).saturating_mul(PER_EMPTY_ACCOUNT_COST),
    );
    if is_create && rev >= Revision::Shanghai {
        gas = gas.saturating_add((tx.data.len() as u64).div_ceil(32).saturating_mul(2));
    }
    gas
}

/// The EIP-7623 minimum gas a transaction is charged, `21000 + 10 · tokens`, from Prague;
/// zero before.
pub fn floor_data_gas(tx: &Transaction, rev: Revision) -> u64 {
    if rev < Revision::Prague {
        return 0;
    }
    TX_BASE_COST.saturating_add(data_tokens(&tx.data, rev).saturating_mul(10))
}

/// What validation computed for execution.
struct Validated {
    intrinsic: u64,
    floor: u64,
    effective_gas_price: U256,
    priority_gas_price: U256,
    blob_fee: U256,
}

/// Checks the transaction against the state and block, in the order evmone uses.
fn validate(
    state: &WorldState,
    block: &BlockEnv,
    tx: &Transaction,
    rev: Revision,
) -> Result<Validated, TxError> {
    let blob_base_fee = block.blob_base_fee(rev);
    match tx.tx_type {
        0..=2 => {}
        3 => {
            if rev < Revision::Cancun {
                return Err(TxError::TypeNotSupported { tx_type: 3 });
            }
            if tx.to.is_none() {
                return Err(TxError::CreateBlobTx);
            }
            if tx.blob_hashes.is_empty() {
                return Err(TxError::EmptyBlobHashes);
            }
            if rev >= Revision::Osaka && tx.blob_hashes.len() > MAX_TX_BLOBS {
                return Err(TxError::BlobCountExceeded {
                    count: tx.blob_hashes.len(),
                    max: MAX_TX_BLOBS,
                });
            }
            if tx.max_fee_per_blob_gas < blob_base_fee {
                return Err(TxError::InsufficientMaxFeePerBlobGas);
            }
            if let Some(index) = tx.blob_hashes.iter().position(|h| h.0[0] != 0x01) {
                return Err(TxError::InvalidBlobHashVersion { index });
            }
            let available = block.blob_schedule(rev).map_or(0, |s| s.max_blob_gas());
            if tx.blob_gas() > available {
                return Err(TxError::BlobGasLimitExceeded {
                    blob_gas: tx.blob_gas(),
                    available,
                });
            }
        }
        4 => {
            if rev < Revision::Prague {
                return Err(TxError::TypeNotSupported { tx_type: 4 });
            }
            if tx.to.is_none() {
                return Err(TxError::CreateSetCodeTx);
            }
            if tx.authorization_list.is_empty() {
                return Err(TxError::EmptyAuthorizationList);
            }
        }
        other => return Err(TxError::TypeNotSupported { tx_type: other }),
    }
    let (max_fee, max_priority) = tx.fee_caps();
    if tx.tx_type >= 2 {
        if rev < Revision::London {
            return Err(TxError::TypeNotSupported {
                tx_type: tx.tx_type,
            });
        }
        if max_priority > max_fee {
            return Err(TxError::PriorityGreaterThanMaxFee);
        }
    }
    if tx.tx_type >= 1 && rev < Revision::Berlin {
        return Err(TxError::TypeNotSupported {
            tx_type: tx.tx_type,
        });
    }

    if rev >= Revision::Osaka && tx.gas_limit > MAX_TX_GAS_LIMIT {
        return Err(TxError::GasLimitExceedsMaximum {
            gas_limit: tx.gas_limit,
            max: MAX_TX_GAS_LIMIT,
        });
    }
    if tx.gas_limit > block.gas_limit {
        return Err(TxError::GasAllowanceExceeded {
            gas_limit: tx.gas_limit,
            available: block.gas_limit,
        });
    }
    let base_fee = if rev >= Revision::London {
        block.base_fee
    } else {
        U256::ZERO
    };
    if max_fee < base_fee {
        return Err(TxError::InsufficientMaxFeePerGas);
    }

    let sender = state.get(&tx.sender);
    if let Some(acc) = sender {
        if !acc.code.is_empty() && parse_delegation(&acc.code).is_none() {
            return Err(TxError::SenderNotEoa);
        }
    }
    let nonce = sender.map_or(0, |a| a.nonce);
    if nonce == u64::MAX {
        return Err(TxError::NonceIsMax);
    }
    if nonce < tx.nonce {
        return Err(TxError::NonceTooHigh {
            expected: nonce,
            got: tx.nonce,
        });
    }
    if nonce > tx.nonce {
        return Err(TxError::NonceTooLow {
            expected: nonce,
            got: tx.nonce,
        });
    }
    if rev >= Revision::Shanghai && tx.to.is_none() && tx.data.len() > MAX_INITCODE_SIZE {
        return Err(TxError::InitcodeSizeExceeded {
            size: tx.data.len(),
            max: MAX_INITCODE_SIZE,
        });
    }

    // gas_limit · max_fee + value (+ blob_gas · max_blob_fee) must not exceed the balance;
    // any overflow of 256 bits exceeds every balance.
    let max_cost = U256::from(tx.gas_limit)
        .checked_mul(max_fee)
        .and_then(|c| c.checked_add(tx.value))
        .and_then(|c| {
            if tx.tx_type == 3 {
                U256::from(tx.blob_gas())
                    .checked_mul(tx.max_fee_per_blob_gas)
                    .and_then(|b| c.checked_add(b))
            } else {
                Some(c)
            }
        });
    let balance = sender.map_or(U256::ZERO, |a| a.balance);
    if max_cost.is_none_or(|c| c > balance) {
        return Err(TxError::InsufficientFunds);
    }

    let intrinsic = intrinsic_gas(tx, rev);
    let floor = floor_data_gas(tx, rev);
    if tx.gas_limit < intrinsic {
        return Err(TxError::IntrinsicGasTooLow {
            gas_limit: tx.gas_limit,
            intrinsic,
        });
    }
    if tx.gas_limit < floor {
        return Err(TxError::IntrinsicGasBelowFloor {
            gas_limit: tx.gas_limit,
            floor,
        });
    }

    let priority_gas_price = max_priority.min(max_fee - base_fee);
    let blob_fee = if tx.tx_type == 3 {
        // Fits: it is at most blob_gas · max_fee_per_blob_gas, checked above.
        U256::from(tx.blob_gas()).saturating_mul(blob_base_fee)
    } else {
        U256::ZERO
    };
    Ok(Validated {
        intrinsic,
        floor,
        effective_gas_price: base_fee + priority_gas_price,
        priority_gas_price,
        blob_fee,
    })
}

/// The EVMC transaction context for `origin` paying `gas_price`.
fn tx_context(
    block: &BlockEnv,
    rev: Revision,
    origin: Address,
    gas_price: U256,
    blob_hashes: &[B256],
) -> TxContext {
    TxContext {
        gas_price,
        origin,
        coinbase: block.coinbase,
        block_number: i64::try_from(block.number).unwrap_or(i64::MAX),
        timestamp: i64::try_from(block.timestamp).unwrap_or(i64::MAX),
        gas_limit: i64::try_from(block.gas_limit).unwrap_or(i64::MAX),
        prev_randao: block.prev_randao,
        chain_id: block.chain_id,
        base_fee: block.base_fee,
        blob_base_fee: block.blob_base_fee(rev),
        blob_hashes: blob_hashes.to_vec(),
    }
}

/// Applies the EIP-7702 authorization list; returns the refund for authorities that
/// already existed. Invalid authorizations are skipped.
fn apply_authorizations(host: &mut StateHost<'_, '_>, block: &BlockEnv, tx: &Transaction) -> i64 {
    let mut refund = 0i64;
    for auth in &tx.authorization_list {
        if !auth.chain_id.is_zero() && auth.chain_id != block.chain_id {
            continue;
        }
        if auth.nonce == u64::MAX {
            continue;
        }
        let Some(authority) = auth.authority() else {
            continue;
        };
        host.access_account(&authority);
        host.tx.touch(&authority);
        let (exists, nonce, code_ok) = match host.tx.account(&authority) {
            None => (false, 0, true),
            Some(a) => (
                !a.is_empty(),
                a.nonce,
                a.code.is_empty() || parse_delegation(&a.code).is_some(),
            ),
        };
        if !code_ok || nonce != auth.nonce {
            continue;
        }
        if exists {
            refund += (PER_EMPTY_ACCOUNT_COST - PER_AUTH_BASE_COST) as i64;
        }
        if auth.address == Address::ZERO {
            if host.tx.code(&authority).is_some_and(|c| !c.is_empty()) {
                host.tx.set_code(&authority, Arc::from(&[][..]));
            }
        } else {
            host.tx
                .set_code(&authority, Arc::from(delegation_designator(&auth.address)));
        }
        host.tx.set_nonce(&authority, nonce + 1);
    }
    refund
}

/// Validates and executes one transaction. On `Err` the state is untouched. On `Ok` the
/// state is final: fees paid, the coinbase credited with the priority fee, refunds applied
/// (capped at 1/2, or 1/5 from London), selfdestructs applied (EIP-6780 from Cancun) and,
/// from Spurious Dragon, touched empty accounts deleted (EIP-161, with the RIPEMD quirk).
pub fn transact(
    state: &mut WorldState,
    block: &BlockEnv,
    tx: &Transaction,
    rev: Revision,
    vm: &dyn Vm,
    tracer: Option<&mut dyn Tracer>,
) -> Result<TxOutcome, TxError> {
    let v = validate(state, block, tx, rev)?;

    let mut txs = TxState::new(state);
    let nonce = txs.nonce(&tx.sender);
    txs.set_nonce(&tx.sender, nonce + 1);
    let prepaid = U256::from(tx.gas_limit) * v.effective_gas_price;
    let balance = txs.balance(&tx.sender);
    txs.set_balance(
        &tx.sender,
        balance.saturating_sub(prepaid).saturating_sub(v.blob_fee),
    );

    let ctx = tx_context(
        block,
        rev,
        tx.sender,
        v.effective_gas_price,
        &tx.blob_hashes,
    );
    let tracer = tracer.map(|t| t as &mut dyn Tracer);
    let mut host = StateHost::new(txs, rev, vm, block, ctx, tracer);

    let recipient = tx.to.unwrap_or_else(|| create_address(&tx.sender, nonce));
    if rev >= Revision::Berlin {
        host.access_account(&tx.sender);
        host.access_account(&recipient);
        for item in &tx.access_list {
            host.access_account(&item.address);
            for key in &item.storage_keys {
                host.access_storage(&item.address, key);
            }
        }
        if rev >= Revision::Shanghai {
            host.access_account(&block.coinbase);
        }
    }
    let delegation_refund = apply_authorizations(&mut host, block, tx);

    let mut flags = 0;
    let mut code_address = recipient;
    if rev >= Revision::Prague && tx.to.is_some() {
        if let Some(delegate) = host.tx.code(&recipient).and_then(|c| parse_delegation(c)) {
            code_address = delegate;
            flags |= FLAG_DELEGATED;
            host.access_account(&delegate);
        }
    }
    let exec_gas = tx.gas_limit - v.intrinsic;
    let msg = Message {
        kind: if tx.to.is_some() {
            CallKind::Call
        } else {
            CallKind::Create
        },
        flags,
        depth: 0,
        gas: i64::try_from(exec_gas).unwrap_or(i64::MAX),
        recipient,
        sender: tx.sender,
        input: &tx.data,
        value: tx.value,
        create2_salt: B256::ZERO,
        code_address,
    };
    let result = host.call(&msg);

    let success = result.status == StatusCode::Success;
    let gas_left = match result.status {
        StatusCode::Success | StatusCode::Revert => {
            u64::try_from(result.gas_left).unwrap_or(0).min(exec_gas)
        }
        _ => 0,
    };
    let gas_used_before_refund = tx.gas_limit - gas_left;
    let quotient = if rev >= Revision::London { 5 } else { 2 };
    let frame_refund = if success { result.gas_refund.max(0) } else { 0 };
    let refund = u64::try_from(frame_refund.saturating_add(delegation_refund))
        .unwrap_or(0)
        .min(gas_used_before_refund / quotient);
    let gas_used = (gas_used_before_refund - refund).max(v.floor);

    host.tx.add_balance(
        &tx.sender,
        U256::from(tx.gas_limit - gas_used) * v.effective_gas_price,
    );
    host.tx.touch(&block.coinbase);
    host.tx
        .add_balance(&block.coinbase, U256::from(gas_used) * v.priority_gas_price);

    let logs = host.tx.finish(rev);
    Ok(TxOutcome {
        status: result.status,
        gas_used,
        logs,
        output: result.output,
        create_address: if success && tx.to.is_none() {
            result.create_address
        } else {
            None
        },
    })
}

/// Credits `reward` to the coinbase at the end of a block (the yellow paper's block
/// finalisation). The credit creates the coinbase if it does not exist; before Spurious Dragon
/// an account that ends up empty this way is still an account, in the state and its root.
/// From Spurious Dragon the credit touches the coinbase (EIP-161), so an empty coinbase is
/// deleted, even one already in the state. State tests end every case with a zero reward,
/// whether the transaction was valid or rejected (as geth's and evmone's runners do).
pub fn reward_coinbase(state: &mut WorldState, rev: Revision, coinbase: &Address, reward: U256) {
    let mut txs = TxState::new(state);
    txs.touch(coinbase);
    txs.add_balance(coinbase, reward);
    txs.finish(rev);
}

/// Runs one message (no transaction validation, no intrinsic gas, no fees) against the
/// state: `msg.recipient`'s code, or `msg.input` as init code for a create, executes with
/// `msg.gas`. The sender and recipient are warm. A depth-0 create bumps the sender's nonce
/// first, as a transaction would, so the new address derives from the nonce before the
/// bump. State changes are kept if the call succeeds and undone (nonce bump included)
/// otherwise; selfdestructs and EIP-161 deletions apply as at the end of a transaction.
/// Returns the frame's result and its logs.
pub fn run_message(
    state: &mut WorldState,
    block: &BlockEnv,
    rev: Revision,
    vm: &dyn Vm,
    msg: &Message<'_>,
    tracer: Option<&mut dyn Tracer>,
) -> (ExecResult, Vec<Log>) {
    let ctx = tx_context(block, rev, msg.sender, U256::ZERO, &[]);
    let tracer = tracer.map(|t| t as &mut dyn Tracer);
    let mut host = StateHost::new(TxState::new(state), rev, vm, block, ctx, tracer);
    let start = host.tx.checkpoint();
    if msg.kind.is_create() && msg.depth == 0 {
        let nonce = host.tx.nonce(&msg.sender);
        if nonce == u64::MAX {
            return (
                ExecResult::failure(StatusCode::Failure),
                host.tx.finish(rev),
            );
        }
        host.tx.set_nonce(&msg.sender, nonce + 1);
    }
    host.access_account(&msg.sender);
    if !msg.kind.is_create() {
        host.access_account(&msg.recipient);
    }
    let result = host.call(msg);
    if result.status != StatusCode::Success {
        host.tx.rollback(start);
    }
    let logs = host.tx.finish(rev);
    (result, logs)
}

#[cfg(test)]
mod tests;
