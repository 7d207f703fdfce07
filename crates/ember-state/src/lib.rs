//! ember-state: an in-memory world state that implements ember's `Host`, full transaction
//! execution for every revision, precompiles, the state root and logs hash, and the
//! state-test file model and runner.
//!
//! ```no_run
//! use ember_state::{transact, Account, BlockEnv, Transaction, WorldState};
//! use ember_evm::{Address, Revision, U256};
//!
//! let mut state = WorldState::new();
//! let sender = Address([1; 20]);
//! state.insert(sender, Account { balance: U256::from(10u64.pow(18)), ..Account::default() });
//! let block = BlockEnv { gas_limit: 30_000_000, chain_id: U256::from(1), ..BlockEnv::default() };
//! let tx = Transaction {
//!     sender,
//!     to: Some(Address([2; 20])),
//!     gas_limit: 21_000,
//!     gas_price: U256::from(1),
//!     ..Transaction::default()
//! };
//! let outcome = transact(&mut state, &block, &tx, Revision::Cancun, &ember_evm::Interpreter, None);
//! println!("{:?} root {}", outcome.map(|o| o.gas_used), state.state_root());
//! ```

mod account;
mod block;
mod error;
mod host;
mod journal;
mod logs;
mod precompiles;
mod rlp;
mod transaction;
mod trie;
mod world;

pub mod statetest;

pub use account::Account;
pub use block::{fake_exponential, BlobSchedule, BlockEnv, GAS_PER_BLOB};
pub use error::{TxError, EXCEPTION_NAMES};
pub use host::{create2_address, create_address};
pub use logs::{logs_hash, Log};
pub use precompiles::{is_precompile, run_precompile};
pub use transaction::{
    floor_data_gas, intrinsic_gas, reward_coinbase, run_message, transact, AccessListItem,
    Authorization, Transaction, TxOutcome, MAX_TX_BLOBS, MAX_TX_GAS_LIMIT,
};
pub use trie::EMPTY_TRIE_ROOT;
pub use world::{storage_root, WorldState};
