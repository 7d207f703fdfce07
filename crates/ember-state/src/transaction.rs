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
mod tests {
    use super::*;
    use crate::account::Account;
    use ember_evm::{Interpreter, ALL_REVISIONS};

    fn a(n: u8) -> Address {
        let mut x = [0u8; 20];
        x[0] = 0xee;
        x[19] = n;
        Address(x)
    }

    const SENDER: u8 = 1;
    const COINBASE: u8 = 0xcb;
    const ETHER: u64 = 1_000_000_000_000_000_000;

    fn block() -> BlockEnv {
        BlockEnv {
            number: 1,
            gas_limit: 30_000_000,
            coinbase: a(COINBASE),
            base_fee: U256::from(7),
            chain_id: U256::from(1),
            ..BlockEnv::default()
        }
    }

    fn world() -> WorldState {
        let mut w = WorldState::new();
        w.insert(
            a(SENDER),
            Account {
                balance: U256::from(ETHER),
                ..Account::default()
            },
        );
        w
    }

    fn legacy(to: Option<Address>, data: &[u8]) -> Transaction {
        Transaction {
            sender: a(SENDER),
            to,
            gas_limit: 100_000,
            gas_price: U256::from(10),
            data: data.to_vec(),
            ..Transaction::default()
        }
    }

    #[test]
    fn intrinsic_gas_per_revision() {
        use Revision::*;
        let call = legacy(Some(a(2)), &[]);
        for rev in ALL_REVISIONS {
            assert_eq!(intrinsic_gas(&call, rev), 21_000, "{rev}");
        }
        // One zero byte (4) and one non-zero byte: 68 before Istanbul (EIP-2028), 16 after.
        let data = legacy(Some(a(2)), &[0, 1]);
        assert_eq!(intrinsic_gas(&data, Petersburg), 21_000 + 4 + 68);
        assert_eq!(intrinsic_gas(&data, Istanbul), 21_000 + 4 + 16);
        // A create pays 32000 from Homestead, and 2 per init code word from Shanghai.
        let create = legacy(None, &[1; 33]);
        assert_eq!(intrinsic_gas(&create, Frontier), 21_000 + 33 * 68);
        assert_eq!(intrinsic_gas(&create, Homestead), 53_000 + 33 * 68);
        assert_eq!(intrinsic_gas(&create, Paris), 53_000 + 33 * 16);
        assert_eq!(intrinsic_gas(&create, Shanghai), 53_000 + 33 * 16 + 2 * 2);
        // Access list entries and authorizations.
        let mut tx = legacy(Some(a(2)), &[]);
        tx.access_list = vec![
            AccessListItem {
                address: a(3),
                storage_keys: vec![B256::ZERO, B256([1; 32])],
            },
            AccessListItem {
                address: a(4),
                storage_keys: vec![],
            },
        ];
        tx.authorization_list = vec![Authorization::default(), Authorization::default()];
        assert_eq!(
            intrinsic_gas(&tx, Prague),
            21_000 + 2 * 2_400 + 2 * 1_900 + 2 * 25_000
        );
    }

    #[test]
    fn calldata_floor_from_prague() {
        let tx = legacy(Some(a(2)), &[0, 0, 5, 5]);
        assert_eq!(floor_data_gas(&tx, Revision::Cancun), 0);
        // Tokens: 2 zero bytes + 4 per non-zero byte = 10; floor = 21000 + 10 · 10.
        assert_eq!(floor_data_gas(&tx, Revision::Prague), 21_100);
        assert_eq!(intrinsic_gas(&tx, Revision::Prague), 21_000 + 40);
        // A limit between intrinsic gas and the floor is invalid.
        let tx = Transaction {
            gas_limit: 21_050,
            ..tx
        };
        let mut w = world();
        let err = transact(&mut w, &block(), &tx, Revision::Prague, &Interpreter, None);
        assert_eq!(
            err,
            Err(TxError::IntrinsicGasBelowFloor {
                gas_limit: 21_050,
                floor: 21_100
            })
        );
    }

    /// Asserts that `tx` is rejected with `want` in `rev` and that the state is untouched.
    fn assert_rejected(
        mut state: WorldState,
        block: &BlockEnv,
        tx: &Transaction,
        rev: Revision,
        want: TxError,
    ) {
        let root = state.state_root();
        let got = transact(&mut state, block, tx, rev, &Interpreter, None);
        assert_eq!(got, Err(want), "{rev}");
        assert_eq!(state.state_root(), root);
    }

    #[test]
    fn validation_rejects_invalid_transactions() {
        use Revision::*;
        let b = block();
        let ok = legacy(Some(a(2)), &[]);
        let dynamic = Transaction {
            tx_type: 2,
            max_fee_per_gas: U256::from(10),
            max_priority_fee_per_gas: U256::from(1),
            ..ok.clone()
        };
        assert_rejected(
            world(),
            &b,
            &dynamic,
            Berlin,
            TxError::TypeNotSupported { tx_type: 2 },
        );
        let typed = Transaction {
            tx_type: 1,
            ..ok.clone()
        };
        assert_rejected(
            world(),
            &b,
            &typed,
            Istanbul,
            TxError::TypeNotSupported { tx_type: 1 },
        );
        let unknown = Transaction {
            tx_type: 5,
            ..ok.clone()
        };
        assert_rejected(
            world(),
            &b,
            &unknown,
            Osaka,
            TxError::TypeNotSupported { tx_type: 5 },
        );
        let tip = Transaction {
            max_priority_fee_per_gas: U256::from(11),
            ..dynamic.clone()
        };
        assert_rejected(
            world(),
            &b,
            &tip,
            London,
            TxError::PriorityGreaterThanMaxFee,
        );
        let cheap = Transaction {
            gas_price: U256::from(6),
            ..ok.clone()
        };
        assert_rejected(
            world(),
            &b,
            &cheap,
            London,
            TxError::InsufficientMaxFeePerGas,
        );
        let big = Transaction {
            gas_limit: 30_000_001,
            ..ok.clone()
        };
        assert_rejected(
            world(),
            &b,
            &big,
            Cancun,
            TxError::GasAllowanceExceeded {
                gas_limit: 30_000_001,
                available: 30_000_000,
            },
        );
        let capped = Transaction {
            gas_limit: (1 << 24) + 1,
            ..ok.clone()
        };
        assert_rejected(
            world(),
            &b,
            &capped,
            Osaka,
            TxError::GasLimitExceedsMaximum {
                gas_limit: (1 << 24) + 1,
                max: 1 << 24,
            },
        );
        let early = Transaction {
            nonce: 1,
            ..ok.clone()
        };
        assert_rejected(
            world(),
            &b,
            &early,
            Cancun,
            TxError::NonceTooHigh {
                expected: 0,
                got: 1,
            },
        );
        let mut used = world();
        used.insert(
            a(SENDER),
            Account {
                nonce: 3,
                balance: U256::from(ETHER),
                ..Account::default()
            },
        );
        assert_rejected(
            used,
            &b,
            &ok,
            Cancun,
            TxError::NonceTooLow {
                expected: 3,
                got: 0,
            },
        );
        let mut maxed = world();
        maxed.insert(
            a(SENDER),
            Account {
                nonce: u64::MAX,
                balance: U256::from(ETHER),
                ..Account::default()
            },
        );
        let at_max = Transaction {
            nonce: u64::MAX,
            ..ok.clone()
        };
        assert_rejected(maxed, &b, &at_max, Cancun, TxError::NonceIsMax);
        let mut contract = world();
        contract.insert(
            a(SENDER),
            Account {
                balance: U256::from(ETHER),
                code: Arc::from(&[0u8][..]),
                ..Account::default()
            },
        );
        assert_rejected(contract, &b, &ok, Cancun, TxError::SenderNotEoa);
        let huge_init = legacy(None, &vec![0; MAX_INITCODE_SIZE + 1]);
        let huge_init = Transaction {
            gas_limit: 10_000_000,
            ..huge_init
        };
        assert_rejected(
            world(),
            &b,
            &huge_init,
            Shanghai,
            TxError::InitcodeSizeExceeded {
                size: MAX_INITCODE_SIZE + 1,
                max: MAX_INITCODE_SIZE,
            },
        );
        let rich = Transaction {
            value: U256::from(ETHER),
            ..ok.clone()
        };
        assert_rejected(world(), &b, &rich, Cancun, TxError::InsufficientFunds);
        // gas_limit · gas_price overflows 256 bits: reported as missing funds, no panic.
        let overflow = Transaction {
            gas_price: U256::MAX,
            ..ok.clone()
        };
        assert_rejected(world(), &b, &overflow, Cancun, TxError::InsufficientFunds);
        let short = Transaction {
            gas_limit: 20_999,
            ..ok.clone()
        };
        assert_rejected(
            world(),
            &b,
            &short,
            Cancun,
            TxError::IntrinsicGasTooLow {
                gas_limit: 20_999,
                intrinsic: 21_000,
            },
        );
    }

    #[test]
    fn blob_and_set_code_transactions_are_validated() {
        use Revision::*;
        let b = block();
        let mut hash = [0u8; 32];
        hash[0] = 1;
        let blob = Transaction {
            tx_type: 3,
            max_fee_per_gas: U256::from(10),
            blob_hashes: vec![B256(hash)],
            max_fee_per_blob_gas: U256::from(1),
            ..legacy(Some(a(2)), &[])
        };
        assert_rejected(
            world(),
            &b,
            &blob,
            Shanghai,
            TxError::TypeNotSupported { tx_type: 3 },
        );
        assert_rejected(
            world(),
            &b,
            &Transaction {
                to: None,
                ..blob.clone()
            },
            Cancun,
            TxError::CreateBlobTx,
        );
        let none = Transaction {
            blob_hashes: vec![],
            ..blob.clone()
        };
        assert_rejected(world(), &b, &none, Cancun, TxError::EmptyBlobHashes);
        let seven = Transaction {
            blob_hashes: vec![B256(hash); 7],
            ..blob.clone()
        };
        assert_rejected(
            world(),
            &b,
            &seven,
            Osaka,
            TxError::BlobCountExceeded { count: 7, max: 6 },
        );
        assert_rejected(
            world(),
            &b,
            &seven,
            Cancun,
            TxError::BlobGasLimitExceeded {
                blob_gas: 7 << 17,
                available: 6 << 17,
            },
        );
        let bad_version = Transaction {
            blob_hashes: vec![B256(hash), B256::ZERO],
            ..blob.clone()
        };
        assert_rejected(
            world(),
            &b,
            &bad_version,
            Cancun,
            TxError::InvalidBlobHashVersion { index: 1 },
        );
        // Excess blob gas of 10M makes the blob base fee e^(10M/3338477) ≈ 19.
        let busy = BlockEnv {
            excess_blob_gas: 10_000_000,
            ..b.clone()
        };
        assert_rejected(
            world(),
            &busy,
            &blob,
            Cancun,
            TxError::InsufficientMaxFeePerBlobGas,
        );

        let set_code = Transaction {
            tx_type: 4,
            max_fee_per_gas: U256::from(10),
            authorization_list: vec![Authorization::default()],
            ..legacy(Some(a(2)), &[])
        };
        assert_rejected(
            world(),
            &b,
            &set_code,
            Cancun,
            TxError::TypeNotSupported { tx_type: 4 },
        );
        let create = Transaction {
            to: None,
            ..set_code.clone()
        };
        assert_rejected(world(), &b, &create, Prague, TxError::CreateSetCodeTx);
        let empty = Transaction {
            authorization_list: vec![],
            ..set_code
        };
        assert_rejected(world(), &b, &empty, Prague, TxError::EmptyAuthorizationList);
    }

    #[test]
    fn value_transfer_pays_base_fee_and_tip() {
        let tx = Transaction {
            tx_type: 2,
            max_fee_per_gas: U256::from(10),
            max_priority_fee_per_gas: U256::from(2),
            value: U256::from(1000),
            ..legacy(Some(a(2)), &[])
        };
        let mut w = world();
        let out = transact(&mut w, &block(), &tx, Revision::Cancun, &Interpreter, None).unwrap();
        assert_eq!((out.status, out.gas_used), (StatusCode::Success, 21_000));
        // Effective price 7 + 2: the sender pays 21000 · 9 + 1000; the coinbase gets the
        // 21000 · 2 tip; the base fee is burned.
        let sender = w.get(&a(SENDER)).unwrap();
        assert_eq!(sender.balance, U256::from(ETHER - 21_000 * 9 - 1000));
        assert_eq!(sender.nonce, 1);
        assert_eq!(w.get(&a(2)).unwrap().balance, U256::from(1000));
        assert_eq!(w.get(&a(COINBASE)).unwrap().balance, U256::from(21_000 * 2));
    }

    #[test]
    fn zero_fee_leaves_no_empty_coinbase_from_spurious_dragon() {
        let tx = Transaction {
            gas_price: U256::ZERO,
            ..legacy(Some(a(2)), &[])
        };
        let b = BlockEnv {
            base_fee: U256::ZERO,
            ..block()
        };
        for (rev, kept) in [
            (Revision::TangerineWhistle, true),
            (Revision::SpuriousDragon, false),
        ] {
            let mut w = world();
            transact(&mut w, &b, &tx, rev, &Interpreter, None).unwrap();
            assert_eq!(w.get(&a(COINBASE)).is_some(), kept, "coinbase in {rev}");
            assert_eq!(w.get(&a(2)).is_some(), kept, "recipient in {rev}");
        }
    }

    #[test]
    fn refund_is_capped_by_revision() {
        // PUSH1 0 PUSH1 1 SSTORE STOP clears slot 1 (which holds 1).
        let code: Arc<[u8]> = Arc::from(&[0x60, 0x00, 0x60, 0x01, 0x55, 0x00][..]);
        let mut slot = [0u8; 32];
        slot[31] = 1;
        let contract = Account {
            nonce: 1,
            code,
            storage: [(B256(slot), B256(slot))].into_iter().collect(),
            ..Account::default()
        };
        let tx = legacy(Some(a(2)), &[]);
        let b = BlockEnv {
            base_fee: U256::ZERO,
            ..block()
        };
        // Gas before refund: 21000 + 3 + 3 + SSTORE (cold 2100 + reset 2900) = 26006.
        // London: refund 4800 (under 26006 / 5) → 21206. Berlin: refund 15000, capped at
        // 26006 / 2 = 13003 → 13003.
        for (rev, used) in [(Revision::London, 21_206), (Revision::Berlin, 13_003)] {
            let mut w = world();
            w.insert(a(2), contract.clone());
            let out = transact(&mut w, &b, &tx, rev, &Interpreter, None).unwrap();
            assert_eq!(out.gas_used, used, "{rev}");
            assert!(w.get(&a(2)).unwrap().storage.is_empty());
        }
    }

    #[test]
    fn create_transaction_deploys_at_the_nonce_address() {
        // Init code returning the one-byte runtime 0x00 (STOP).
        let init = [0x60, 0x01, 0x60, 0x00, 0xf3];
        let tx = Transaction {
            gas_limit: 200_000,
            ..legacy(None, &init)
        };
        let mut w = world();
        let out = transact(&mut w, &block(), &tx, Revision::Cancun, &Interpreter, None).unwrap();
        let addr = create_address(&a(SENDER), 0);
        assert_eq!(out.create_address, Some(addr));
        // 53000 + 4 non-zero bytes · 16 + 1 zero byte · 4 + 1 word · 2 + 9 execution + 200
        // deposit.
        assert_eq!(out.gas_used, 53_000 + 64 + 4 + 2 + 9 + 200);
        assert_eq!(&*w.get(&addr).unwrap().code, &[0x00]);
        assert_eq!(w.get(&a(SENDER)).unwrap().nonce, 1);
    }

    #[test]
    fn authorizations_delegate_and_refund_existing_authorities() {
        let authority = a(0x42);
        let delegate = a(0x43);
        let auth = |nonce| Authorization {
            chain_id: U256::from(1),
            address: delegate,
            nonce,
            y_parity: U256::ZERO,
            r: U256::from(1),
            s: U256::from(1),
            signer: Some(authority),
        };
        let tx = Transaction {
            tx_type: 4,
            max_fee_per_gas: U256::from(10),
            authorization_list: vec![auth(0)],
            ..legacy(Some(a(2)), &[])
        };
        let b = BlockEnv {
            base_fee: U256::ZERO,
            ..block()
        };
        // New authority: 21000 + 25000, no refund.
        let mut w = world();
        let out = transact(&mut w, &b, &tx, Revision::Prague, &Interpreter, None).unwrap();
        assert_eq!(out.gas_used, 46_000);
        let acc = w.get(&authority).unwrap();
        assert_eq!(acc.nonce, 1);
        assert_eq!(parse_delegation(&acc.code), Some(delegate));
        // Existing authority: 12500 back, under the cap 46000 / 5 = 9200 → refund 9200.
        let mut w = world();
        w.insert(
            authority,
            Account {
                balance: U256::from(1),
                ..Account::default()
            },
        );
        let out = transact(&mut w, &b, &tx, Revision::Prague, &Interpreter, None).unwrap();
        assert_eq!(out.gas_used, 46_000 - 9_200);
        // A wrong nonce, chain id or a high s skips the authorization but not the transaction.
        let high_s = Authorization {
            s: SECP256K1_N - U256::from(1),
            ..auth(0)
        };
        let other_chain = Authorization {
            chain_id: U256::from(5),
            ..auth(0)
        };
        for bad in [auth(1), high_s, other_chain] {
            let mut w = world();
            let tx = Transaction {
                authorization_list: vec![bad],
                ..tx.clone()
            };
            let out = transact(&mut w, &b, &tx, Revision::Prague, &Interpreter, None).unwrap();
            assert_eq!(out.status, StatusCode::Success);
            assert!(w.get(&authority).is_none_or(|acc| acc.code.is_empty()));
        }
        // Address zero clears a delegation.
        let mut w = world();
        w.insert(
            authority,
            Account {
                code: Arc::from(delegation_designator(&delegate)),
                ..Account::default()
            },
        );
        let clear = Authorization {
            address: Address::ZERO,
            ..auth(0)
        };
        let tx = Transaction {
            authorization_list: vec![clear],
            ..tx
        };
        transact(&mut w, &b, &tx, Revision::Prague, &Interpreter, None).unwrap();
        let acc = w.get(&authority).unwrap();
        assert!(acc.code.is_empty());
        assert_eq!(acc.nonce, 1);
    }

    #[test]
    fn calls_to_a_delegated_account_run_the_delegate_code() {
        // The delegate stores 1 at slot 0: PUSH1 1 PUSH1 0 SSTORE STOP. Storage changes land
        // in the delegating account.
        let delegate = a(0x43);
        let mut w = world();
        w.insert(
            delegate,
            Account {
                code: Arc::from(&[0x60, 0x01, 0x60, 0x00, 0x55, 0x00][..]),
                ..Account::default()
            },
        );
        w.insert(
            a(2),
            Account {
                nonce: 1,
                code: Arc::from(delegation_designator(&delegate)),
                ..Account::default()
            },
        );
        let tx = Transaction {
            gas_price: U256::from(10),
            ..legacy(Some(a(2)), &[])
        };
        let out = transact(&mut w, &block(), &tx, Revision::Prague, &Interpreter, None).unwrap();
        assert_eq!(out.status, StatusCode::Success);
        assert_eq!(w.get(&a(2)).unwrap().storage.len(), 1);
        assert!(w.get(&delegate).unwrap().storage.is_empty());
    }

    #[test]
    fn authority_is_recovered_when_no_signer_is_given() {
        use k256::ecdsa::SigningKey;
        let key = SigningKey::from_slice(&[0x11; 32]).unwrap();
        let point = key.verifying_key().to_encoded_point(false);
        let want = Address(
            keccak256(&point.as_bytes()[1..]).0[12..]
                .try_into()
                .unwrap(),
        );
        let mut auth = Authorization {
            chain_id: U256::from(1),
            address: a(9),
            nonce: 3,
            ..Authorization::default()
        };
        let (sig, recid) = key
            .sign_prehash_recoverable(&auth.signing_hash().0)
            .unwrap();
        // k256 signs with a low s, as EIP-7702 requires.
        assert!(sig.normalize_s().is_none());
        auth.r = U256::from_be_slice(&sig.r().to_bytes());
        auth.s = U256::from_be_slice(&sig.s().to_bytes());
        auth.y_parity = U256::from(recid.is_y_odd() as u8);
        assert_eq!(auth.authority(), Some(want));
        auth.y_parity = U256::from(2);
        assert_eq!(auth.authority(), None);
    }

    #[test]
    fn run_message_keeps_success_and_undoes_failure() {
        // Slot 0 := 1, then STOP (success) or REVERT (failure).
        let store_then = |last: &[u8]| -> Arc<[u8]> {
            let mut c = vec![0x60, 0x01, 0x60, 0x00, 0x55];
            c.extend_from_slice(last);
            c.into()
        };
        for (tail, kept) in [(&[0x00][..], true), (&[0x60, 0x00, 0x80, 0xfd][..], false)] {
            let mut w = world();
            w.insert(
                a(2),
                Account {
                    code: store_then(tail),
                    ..Account::default()
                },
            );
            let msg = Message::call(a(SENDER), a(2), &[], 100_000);
            let (r, logs) =
                run_message(&mut w, &block(), Revision::Cancun, &Interpreter, &msg, None);
            assert!(logs.is_empty());
            assert_eq!(r.status == StatusCode::Success, kept);
            assert_eq!(w.get(&a(2)).unwrap().storage.len() == 1, kept);
        }
    }
}
