//! Running a case in revm's interpreter (`revm::interpreter::Interpreter::run_plain`) with a
//! minimal host that mirrors [`crate::ember_runner::BenchHost`] exactly.

use crate::outcome::{LogRecord, Outcome};
use crate::suite::{Case, World};
use ember_evm::StatusCode;
use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};
use revm::context_interface::cfg::GasParams;
use revm::context_interface::context::{SStoreResult, SelfDestructResult, StateLoad};
use revm::context_interface::host::LoadError;
use revm::context_interface::journaled_state::AccountInfoLoad;
use revm::context_interface::Host;
use revm::interpreter::instructions::gas_table_spec;
use revm::interpreter::interpreter::{EthInterpreter, ExtBytecode};
use revm::interpreter::{
    instruction_table, CallInput, GasTable, InputsImpl, InstructionResult, InstructionTable,
    Interpreter, InterpreterAction, SharedMemory,
};
use revm::primitives::hardfork::SpecId;
use revm::primitives::{Address, Bytes, Log, StorageKey, StorageValue, B256, U256};
use revm::state::{AccountInfo, Bytecode};
use std::borrow::Cow;
use std::cell::RefCell;
use std::rc::Rc;

/// The revision every benchmark runs at.
pub const SPEC: SpecId = SpecId::LONDON;

fn addr(a: &ember_evm::Address) -> Address {
    Address::from(a.0)
}

fn word(v: &ember_evm::U256) -> U256 {
    U256::from_be_bytes(v.to_be_bytes::<32>())
}

/// Block and transaction values the interpreter may ask for.
struct Env {
    base_fee: U256,
    gas_limit: U256,
    difficulty: U256,
    number: U256,
    timestamp: U256,
    coinbase: Address,
    chain_id: U256,
    gas_price: U256,
    origin: Address,
}

/// The revm counterpart of ember's bench host: same pre-state, same warm set at the start,
/// same storage overlay, logs collected, no block hashes, no nested calls (the interpreter
/// stops with a new-frame action, which the runner reports).
pub struct BenchHost {
    env: Env,
    gas_params: GasParams,
    accounts: HashMap<Address, AccountInfo>,
    /// What an absent account loads as.
    empty: AccountInfo,
    original: HashMap<(Address, StorageKey), StorageValue>,
    storage: HashMap<(Address, StorageKey), StorageValue>,
    /// Warm accounts: the transaction's initial set plus `warmed`.
    warm_accounts: HashSet<Address>,
    /// Accounts warmed during the run, so that a reset removes just these.
    warmed: Vec<Address>,
    warm_slots: HashSet<(Address, StorageKey)>,
    transient: HashMap<(Address, StorageKey), StorageValue>,
    destructed: HashSet<Address>,
    logs: Vec<Log>,
}

impl BenchHost {
    /// A host at the start of the transaction, converted from the engine-neutral world.
    pub fn new(world: &World) -> Self {
        let mut accounts = HashMap::new();
        let mut original = HashMap::new();
        for (a, acc) in &world.accounts {
            let a = addr(a);
            let code = Bytecode::new_legacy(Bytes::copy_from_slice(&acc.code));
            accounts.insert(
                a,
                AccountInfo::new(
                    word(&acc.balance),
                    acc.nonce,
                    B256::from(acc.code_hash.0),
                    code,
                ),
            );
            for (k, v) in &acc.storage {
                original.insert((a, word(k)), word(v));
            }
        }
        let mut warm_accounts: HashSet<Address> =
            [addr(&world.sender), addr(&world.to)].into_iter().collect();
        warm_accounts.extend((1u8..=9).map(|i| {
            let mut a = [0u8; 20];
            a[19] = i;
            Address::from(a)
        }));
        let b = &world.block;
        BenchHost {
            env: Env {
                base_fee: word(&b.base_fee),
                gas_limit: U256::from(b.gas_limit),
                difficulty: word(&b.difficulty),
                number: U256::from(b.number),
                timestamp: U256::from(b.timestamp),
                coinbase: addr(&b.coinbase),
                chain_id: word(&b.chain_id),
                gas_price: word(&world.gas_price),
                origin: addr(&world.sender),
            },
            gas_params: GasParams::new_spec(SPEC),
            accounts,
            empty: AccountInfo::default(),
            original,
            storage: HashMap::new(),
            warm_accounts,
            warmed: Vec::new(),
            warm_slots: HashSet::new(),
            transient: HashMap::new(),
            destructed: HashSet::new(),
            logs: Vec::new(),
        }
    }

    /// Forgets everything the last run did, as [`crate::ember_runner::BenchHost::reset`].
    pub fn reset(&mut self) {
        for a in self.warmed.drain(..) {
            self.warm_accounts.remove(&a);
        }
        self.storage.clear();
        self.warm_slots.clear();
        self.transient.clear();
        self.destructed.clear();
        self.logs.clear();
    }

    /// Marks `a` warm; `Err` when it was cold and the caller asked to skip cold loads.
    fn touch_account(&mut self, a: Address, skip_cold_load: bool) -> Result<bool, LoadError> {
        if self.warm_accounts.contains(&a) {
            return Ok(false);
        }
        if skip_cold_load {
            return Err(LoadError::ColdLoadSkipped);
        }
        self.warm_accounts.insert(a);
        self.warmed.push(a);
        Ok(true)
    }

    fn touch_slot(&mut self, slot: (Address, StorageKey), skip: bool) -> Result<bool, LoadError> {
        if self.warm_slots.contains(&slot) {
            return Ok(false);
        }
        if skip {
            return Err(LoadError::ColdLoadSkipped);
        }
        self.warm_slots.insert(slot);
        Ok(true)
    }

    fn original(&self, slot: &(Address, StorageKey)) -> StorageValue {
        self.original.get(slot).copied().unwrap_or(U256::ZERO)
    }

    fn exists(&self, a: &Address) -> bool {
        self.accounts.get(a).is_some_and(|i| !i.is_empty())
    }
}

impl Host for BenchHost {
    fn basefee(&self) -> U256 {
        self.env.base_fee
    }

    fn blob_gasprice(&self) -> U256 {
        U256::ZERO
    }

    fn gas_limit(&self) -> U256 {
        self.env.gas_limit
    }

    fn difficulty(&self) -> U256 {
        self.env.difficulty
    }

    fn prevrandao(&self) -> Option<U256> {
        // Only read from the Merge on; London reads `difficulty`.
        None
    }

    fn block_number(&self) -> U256 {
        self.env.number
    }

    fn timestamp(&self) -> U256 {
        self.env.timestamp
    }

    fn beneficiary(&self) -> Address {
        self.env.coinbase
    }

    fn slot_num(&self) -> U256 {
        U256::ZERO
    }

    fn chain_id(&self) -> U256 {
        self.env.chain_id
    }

    fn effective_gas_price(&self) -> U256 {
        self.env.gas_price
    }

    fn caller(&self) -> Address {
        self.env.origin
    }

    fn blob_hash(&self, _number: usize) -> Option<U256> {
        None
    }

    fn max_initcode_size(&self) -> usize {
        ember_evm::MAX_INITCODE_SIZE
    }

    fn gas_params(&self) -> &GasParams {
        &self.gas_params
    }

    fn is_amsterdam_eip8037_enabled(&self) -> bool {
        false
    }

    fn block_hash(&mut self, _number: u64) -> Option<B256> {
        Some(B256::ZERO)
    }

    fn selfdestruct(
        &mut self,
        address: Address,
        target: Address,
        skip_cold_load: bool,
    ) -> Result<StateLoad<SelfDestructResult>, LoadError> {
        let is_cold = self.touch_account(target, skip_cold_load)?;
        let had_value = self
            .accounts
            .get(&address)
            .is_some_and(|i| !i.balance.is_zero());
        let data = SelfDestructResult {
            had_value,
            target_exists: self.exists(&target),
            previously_destroyed: !self.destructed.insert(address),
        };
        Ok(StateLoad::new(data, is_cold))
    }

    fn log(&mut self, log: Log) {
        self.logs.push(log);
    }

    fn sstore_skip_cold_load(
        &mut self,
        address: Address,
        key: StorageKey,
        value: StorageValue,
        skip_cold_load: bool,
    ) -> Result<StateLoad<SStoreResult>, LoadError> {
        let slot = (address, key);
        let is_cold = self.touch_slot(slot, skip_cold_load)?;
        let original_value = self.original(&slot);
        let present_value = self.storage.insert(slot, value).unwrap_or(original_value);
        let data = SStoreResult {
            original_value,
            present_value,
            new_value: value,
        };
        Ok(StateLoad::new(data, is_cold))
    }

    fn sload_skip_cold_load(
        &mut self,
        address: Address,
        key: StorageKey,
        skip_cold_load: bool,
    ) -> Result<StateLoad<StorageValue>, LoadError> {
        let slot = (address, key);
        let is_cold = self.touch_slot(slot, skip_cold_load)?;
        let value = match self.storage.get(&slot) {
            Some(v) => *v,
            None => self.original(&slot),
        };
        Ok(StateLoad::new(value, is_cold))
    }

    fn tstore(&mut self, address: Address, key: StorageKey, value: StorageValue) {
        self.transient.insert((address, key), value);
    }

    fn tload(&mut self, address: Address, key: StorageKey) -> StorageValue {
        self.transient
            .get(&(address, key))
            .copied()
            .unwrap_or(U256::ZERO)
    }

    fn load_account_info_skip_cold_load(
        &mut self,
        address: Address,
        _load_code: bool,
        skip_cold_load: bool,
    ) -> Result<AccountInfoLoad<'_>, LoadError> {
        let is_cold = self.touch_account(address, skip_cold_load)?;
        let info = self.accounts.get(&address).unwrap_or(&self.empty);
        Ok(AccountInfoLoad {
            account: Cow::Borrowed(info),
            is_cold,
            is_empty: info.is_empty(),
        })
    }
}

/// How revm's interpreter result reads as an EVMC status.
pub fn status_of(r: InstructionResult) -> StatusCode {
    use InstructionResult as R;
    match r {
        R::Stop | R::Return | R::SelfDestruct => StatusCode::Success,
        R::Revert => StatusCode::Revert,
        R::OutOfGas
        | R::MemoryOOG
        | R::MemoryLimitOOG
        | R::PrecompileOOG
        | R::InvalidOperandOOG
        | R::ReentrancySentryOOG => StatusCode::OutOfGas,
        R::OpcodeNotFound | R::NotActivated => StatusCode::UndefinedInstruction,
        R::InvalidFEOpcode => StatusCode::InvalidInstruction,
        R::InvalidJump => StatusCode::BadJumpDestination,
        R::StackUnderflow => StatusCode::StackUnderflow,
        R::StackOverflow => StatusCode::StackOverflow,
        R::CallNotAllowedInsideStatic | R::StateChangeDuringStaticCall => {
            StatusCode::StaticModeViolation
        }
        R::CallTooDeep => StatusCode::CallDepthExceeded,
        R::OutOfOffset => StatusCode::InvalidMemoryAccess,
        R::OutOfFunds => StatusCode::InsufficientBalance,
        R::FatalExternalError => StatusCode::InternalError,
        _ => StatusCode::Failure,
    }
}

/// One case prepared for revm: the bytecode analysed once, a reusable interpreter and memory
/// buffer (as revm's own frame handling reuses them), a host and the call's inputs.
pub struct RevmRunner {
    host: BenchHost,
    interpreter: Interpreter<EthInterpreter>,
    bytecode: Bytecode,
    inputs: InputsImpl,
    memory: Rc<RefCell<Vec<u8>>>,
    table: InstructionTable<EthInterpreter, BenchHost>,
    gas_table: GasTable,
    gas_limit: u64,
}

impl RevmRunner {
    /// Analyses the contract's code and sets up the host (the untimed part).
    pub fn new(case: Case<'_>) -> Self {
        let world = &case.bench.world;
        RevmRunner {
            host: BenchHost::new(world),
            interpreter: Interpreter::default(),
            bytecode: Bytecode::new_legacy(Bytes::copy_from_slice(world.contract_code())),
            inputs: InputsImpl {
                target_address: addr(&world.to),
                bytecode_address: Some(addr(&world.to)),
                caller_address: addr(&world.sender),
                input: CallInput::Bytes(Bytes::copy_from_slice(&case.input.data)),
                call_value: word(&case.bench.value),
                depth: 0,
            },
            memory: Rc::new(RefCell::new(Vec::with_capacity(4 * 1024))),
            table: instruction_table::<EthInterpreter, BenchHost>(),
            gas_table: gas_table_spec(SPEC),
            // The suite loader rejects negative gas (it parses a u256 into i64).
            gas_limit: case.bench.gas as u64,
        }
    }

    /// The timed part: resets the host, re-initialises the interpreter, runs to the end.
    #[inline]
    pub fn run(&mut self) -> InterpreterAction {
        self.host.reset();
        self.memory.borrow_mut().clear();
        self.interpreter.clear(
            SharedMemory::new_with_buffer(self.memory.clone()),
            ExtBytecode::new(self.bytecode.clone()),
            self.inputs.clone(),
            false,
            SPEC,
            self.gas_limit,
            0,
        );
        self.interpreter
            .run_plain(&self.table, &self.gas_table, &mut self.host)
    }

    /// What the last [`run`](Self::run) (which returned `action`) did, in engine-neutral form.
    pub fn outcome(&self, action: InterpreterAction) -> Outcome {
        let logs = self
            .host
            .logs
            .iter()
            .map(|l| LogRecord {
                address: l.address.0 .0,
                topics: l.data.topics().iter().map(|t| t.0).collect(),
                data: l.data.data.to_vec(),
            })
            .collect();
        let limit = self.gas_limit as i64;
        match action {
            InterpreterAction::Return(r) => {
                let status = status_of(r.result);
                let ok_or_revert = matches!(status, StatusCode::Success | StatusCode::Revert);
                Outcome {
                    status,
                    // An exceptional halt consumes all gas (revm's handler does this one level
                    // up from the interpreter).
                    gas_used: if ok_or_revert {
                        (r.gas.limit() - r.gas.remaining()) as i64
                    } else {
                        limit
                    },
                    gas_refund: if status == StatusCode::Success {
                        r.gas.refunded()
                    } else {
                        0
                    },
                    output: if ok_or_revert {
                        r.output.to_vec()
                    } else {
                        Vec::new()
                    },
                    logs,
                    unsupported: None,
                }
            }
            InterpreterAction::NewFrame(_) => Outcome {
                status: StatusCode::Failure,
                gas_used: limit,
                gas_refund: 0,
                output: Vec::new(),
                logs,
                unsupported: Some(
                    "the contract made a nested call or create, which this harness does not run"
                        .into(),
                ),
            },
        }
    }
}
