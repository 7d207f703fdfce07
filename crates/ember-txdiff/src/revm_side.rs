//! Running a case through revm's mainnet handler on an in-memory database.

use crate::{gen::Case, to_revm_u256, Ending, Outcome, Status};
use ember_evm::{Address, B256, U256};
use ember_state::{Account, Log};
use revm::context::{BlockEnv, TxEnv};
use revm::context_interface::block::BlobExcessGasAndPrice;
use revm::context_interface::either::Either;
use revm::context_interface::result::{ExecutionResult, Output};
use revm::context_interface::transaction::{
    AccessList, AccessListItem, Authorization, RecoveredAuthority, RecoveredAuthorization,
};
use revm::database::{CacheDB, EmptyDB};
use revm::primitives::{self as rp, Bytes, TxKind};
use revm::state::{AccountInfo, Bytecode};
use revm::{Context, ExecuteEvm, MainBuilder, MainContext};
use std::sync::Arc;

fn addr(a: &Address) -> rp::Address {
    rp::Address::from(a.0)
}

fn b256(w: &B256) -> rp::B256 {
    rp::B256::from(w.0)
}

fn from_revm_u256(v: &rp::U256) -> U256 {
    U256::from_be_bytes(v.to_be_bytes::<32>())
}

fn u128_of(v: &U256) -> u128 {
    v.to::<u128>()
}

/// Runs `case` in revm; `None` if revm has no spec for the revision (Constantinople, whose
/// EIP-1283 revm does not implement).
pub fn run(case: &Case) -> Option<Outcome> {
    let spec = crate::spec(case.rev)?;
    let mut db = CacheDB::new(EmptyDB::default());
    for (a, acc) in &case.pre {
        let code = Bytecode::new_raw(Bytes::copy_from_slice(&acc.code));
        db.insert_account_info(
            addr(a),
            AccountInfo::from_bytecode(code).with_balance_nonce(acc),
        );
        for (k, v) in &acc.storage {
            db.insert_account_storage(addr(a), k.to_word().into_revm(), v.to_word().into_revm())
                .expect("an in-memory database accepts storage");
        }
    }
    let b = &case.block;
    let block = BlockEnv {
        number: rp::U256::from(b.number),
        beneficiary: addr(&b.coinbase),
        timestamp: rp::U256::from(b.timestamp),
        gas_limit: b.gas_limit,
        basefee: b.base_fee.to::<u64>(),
        difficulty: rp::U256::from_be_bytes(b.prev_randao.0),
        prevrandao: (case.rev >= ember_evm::Revision::Paris).then(|| b256(&b.prev_randao)),
        blob_excess_gas_and_price: (case.rev >= ember_evm::Revision::Cancun)
            .then(|| BlobExcessGasAndPrice::new_with_spec(b.excess_blob_gas, spec)),
        ..BlockEnv::default()
    };
    let t = &case.tx;
    let (gas_price, priority) = if t.tx_type >= 2 {
        (
            u128_of(&t.max_fee_per_gas),
            Some(u128_of(&t.max_priority_fee_per_gas)),
        )
    } else {
        (u128_of(&t.gas_price), None)
    };
    let tx = TxEnv {
        tx_type: t.tx_type,
        caller: addr(&t.sender),
        gas_limit: t.gas_limit,
        gas_price,
        kind: match t.to {
            Some(to) => TxKind::Call(addr(&to)),
            None => TxKind::Create,
        },
        value: to_revm_u256(&t.value),
        data: Bytes::copy_from_slice(&t.data),
        nonce: t.nonce,
        chain_id: (t.tx_type >= 1).then_some(1),
        access_list: AccessList(
            t.access_list
                .iter()
                .map(|i| AccessListItem {
                    address: addr(&i.address),
                    storage_keys: i.storage_keys.iter().map(b256).collect(),
                })
                .collect(),
        ),
        gas_priority_fee: priority,
        blob_hashes: t.blob_hashes.iter().map(b256).collect(),
        max_fee_per_blob_gas: u128_of(&t.max_fee_per_blob_gas),
        authorization_list: t
            .authorization_list
            .iter()
            .map(|a| {
                let inner = Authorization {
                    chain_id: to_revm_u256(&a.chain_id),
                    address: addr(&a.address),
                    nonce: a.nonce,
                };
                let authority = a.signer.map_or(RecoveredAuthority::Invalid, |s| {
                    RecoveredAuthority::Valid(addr(&s))
                });
                Either::Right(RecoveredAuthorization::new_unchecked(inner, authority))
            })
            .collect(),
    };
    let mut evm = Context::mainnet()
        .with_db(db)
        .modify_cfg_chained(|c| {
            c.set_spec_and_mainnet_gas_params(spec);
            c.chain_id = 1;
        })
        .with_block(block)
        .build_mainnet();
    // revm's state changes, applied to the pre-state as a client commits them: a
    // selfdestructed account goes; from Spurious Dragon a touched account that is empty goes
    // (EIP-161 d, revm's `State` database does the same with its state-clear flag); before
    // it, a touched account is kept even if empty.
    let mut post: crate::PostState = case.pre.iter().cloned().collect();
    let ending = match evm.transact(tx) {
        Err(_) => Ending::Rejected,
        Ok(r) => {
            let clear_empty = case.rev >= ember_evm::Revision::SpuriousDragon;
            for (a, acc) in &r.state {
                let a = Address(a.0 .0);
                if !acc.is_touched() {
                    continue;
                }
                if acc.is_selfdestructed() || (clear_empty && acc.is_empty()) {
                    post.remove(&a);
                    continue;
                }
                let entry = post.entry(a).or_default();
                if acc.is_created() {
                    entry.storage.clear();
                }
                entry.nonce = acc.info.nonce;
                entry.balance = from_revm_u256(&acc.info.balance);
                if let Some(code) = &acc.info.code {
                    entry.code = Arc::from(code.original_bytes().to_vec());
                }
                for (k, slot) in &acc.storage {
                    let key = B256(k.to_be_bytes::<32>());
                    if slot.present_value.is_zero() {
                        entry.storage.remove(&key);
                    } else {
                        entry
                            .storage
                            .insert(key, B256(slot.present_value.to_be_bytes::<32>()));
                    }
                }
            }
            let gas_used = r.result.gas().tx_gas_used();
            match r.result {
                // A create's output is its deployed code, which the post-state compares;
                // ember reports no output for a create.
                ExecutionResult::Success { logs, output, .. } => Ending::Ran {
                    status: Status::Success,
                    gas_used,
                    output: match output {
                        Output::Call(o) => o.to_vec(),
                        Output::Create(..) => Vec::new(),
                    },
                    logs: logs.iter().map(log).collect(),
                },
                ExecutionResult::Revert { output, .. } => Ending::Ran {
                    status: Status::Revert,
                    gas_used,
                    output: output.to_vec(),
                    logs: Vec::new(),
                },
                ExecutionResult::Halt { .. } => Ending::Ran {
                    status: Status::Halt,
                    gas_used,
                    output: Vec::new(),
                    logs: Vec::new(),
                },
            }
        }
    };
    Some(Outcome { ending, post })
}

fn log(l: &rp::Log) -> Log {
    Log {
        address: Address(l.address.0 .0),
        topics: l.data.topics().iter().map(|t| B256(t.0)).collect(),
        data: l.data.data.to_vec(),
    }
}

/// Conversions of ember words to revm's.
trait IntoRevm {
    fn into_revm(self) -> rp::U256;
}

impl IntoRevm for U256 {
    fn into_revm(self) -> rp::U256 {
        to_revm_u256(&self)
    }
}

/// Sets an account's balance and nonce on revm's account info.
trait WithBalanceNonce {
    fn with_balance_nonce(self, acc: &Account) -> Self;
}

impl WithBalanceNonce for AccountInfo {
    fn with_balance_nonce(mut self, acc: &Account) -> Self {
        self.balance = to_revm_u256(&acc.balance);
        self.nonce = acc.nonce;
        self
    }
}
