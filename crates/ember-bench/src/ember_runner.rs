//! Running a case in ember's interpreter or compiled code, with a minimal in-crate [`Host`].

use crate::outcome::{LogRecord, Outcome};
use crate::suite::{Case, World};
use ember_evm::{
    execute_analyzed, AccessStatus, Address, CallKind, CodeAnalysis, ExecResult, Host, Message,
    Revision, StatusCode, StorageStatus, TxContext, B256, U256,
};
use ember_jit::{CompileError, CompiledContract, JitConfig, OptLevel};
use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};

/// The revision every benchmark runs at.
pub const REVISION: Revision = Revision::London;

/// The precompile addresses of London (0x01..=0x09), warm from the start of a transaction.
fn london_precompiles() -> impl Iterator<Item = Address> {
    (1u8..=9).map(|i| {
        let mut a = [0u8; 20];
        a[19] = i;
        Address(a)
    })
}

/// A host for compute-bound benchmarks: the pre-state accounts read-only, storage writes in a
/// map over the pre-state storage, EIP-2929 warm/cold tracking, logs collected, and no nested
/// calls (a CALL or CREATE reaching the host is recorded and fails).
pub struct BenchHost<'w> {
    world: &'w World,
    tx: TxContext,
    /// Slots written during the run.
    storage: HashMap<(Address, B256), B256>,
    /// Warm accounts: the transaction's initial set plus `warmed`.
    warm_accounts: HashSet<Address>,
    /// Accounts warmed during the run, so that a reset removes just these.
    warmed: Vec<Address>,
    warm_slots: HashSet<(Address, B256)>,
    transient: HashMap<(Address, B256), B256>,
    destructed: HashSet<Address>,
    logs: Vec<LogRecord>,
    nested_calls: u32,
}

impl<'w> BenchHost<'w> {
    /// A host at the start of the transaction.
    pub fn new(world: &'w World) -> Self {
        let tx = TxContext {
            gas_price: world.gas_price,
            origin: world.sender,
            coinbase: world.block.coinbase,
            block_number: world.block.number as i64,
            timestamp: world.block.timestamp as i64,
            gas_limit: world.block.gas_limit as i64,
            // Before the Merge the PREVRANDAO slot carries DIFFICULTY.
            prev_randao: B256::from_word(world.block.difficulty),
            chain_id: world.block.chain_id,
            base_fee: world.block.base_fee,
            blob_base_fee: U256::ZERO,
            blob_hashes: Vec::new(),
        };
        BenchHost {
            world,
            tx,
            storage: HashMap::new(),
            warm_accounts: [world.sender, world.to]
                .into_iter()
                .chain(london_precompiles())
                .collect(),
            warmed: Vec::new(),
            warm_slots: HashSet::new(),
            transient: HashMap::new(),
            destructed: HashSet::new(),
            logs: Vec::new(),
            nested_calls: 0,
        }
    }

    /// Forgets everything the last run did: writes, warm sets, logs. The sender, the contract
    /// and the precompiles stay warm (EIP-2929). Cheap when the run touched little, as
    /// compute-bound benchmarks do: clearing an empty map does nothing.
    pub fn reset(&mut self) {
        for a in self.warmed.drain(..) {
            self.warm_accounts.remove(&a);
        }
        self.storage.clear();
        self.warm_slots.clear();
        self.transient.clear();
        self.destructed.clear();
        self.logs.clear();
        self.nested_calls = 0;
    }

    fn original(&self, addr: &Address, key: &B256) -> B256 {
        self.world
            .accounts
            .get(addr)
            .and_then(|a| a.storage.get(&key.to_word()))
            .map_or(B256::ZERO, |v| B256::from_word(*v))
    }
}

impl Host for BenchHost<'_> {
    fn account_exists(&mut self, addr: &Address) -> bool {
        self.world.accounts.get(addr).is_some_and(|a| !a.is_empty())
    }

    fn get_storage(&mut self, addr: &Address, key: &B256) -> B256 {
        match self.storage.get(&(*addr, *key)) {
            Some(v) => *v,
            None => self.original(addr, key),
        }
    }

    fn set_storage(&mut self, addr: &Address, key: &B256, value: &B256) -> StorageStatus {
        let original = self.original(addr, key);
        let current = self
            .storage
            .insert((*addr, *key), *value)
            .unwrap_or(original);
        StorageStatus::classify(&original, &current, value)
    }

    fn get_balance(&mut self, addr: &Address) -> U256 {
        self.world
            .accounts
            .get(addr)
            .map_or(U256::ZERO, |a| a.balance)
    }

    fn get_code_size(&mut self, addr: &Address) -> usize {
        self.world.accounts.get(addr).map_or(0, |a| a.code.len())
    }

    fn get_code_hash(&mut self, addr: &Address) -> B256 {
        self.world.code_hash(addr)
    }

    fn copy_code(&mut self, addr: &Address, offset: usize, buf: &mut [u8]) -> usize {
        let code = self.world.accounts.get(addr).map_or(&[][..], |a| &a.code);
        let src = code.get(offset..).unwrap_or(&[]);
        let n = src.len().min(buf.len());
        buf[..n].copy_from_slice(&src[..n]);
        n
    }

    fn selfdestruct(&mut self, addr: &Address, _beneficiary: &Address) -> bool {
        self.destructed.insert(*addr)
    }

    fn call(&mut self, _msg: &Message<'_>) -> ExecResult {
        self.nested_calls += 1;
        ExecResult::failure(StatusCode::Failure)
    }

    fn get_tx_context(&mut self) -> TxContext {
        self.tx.clone()
    }

    fn get_block_hash(&mut self, _number: i64) -> B256 {
        B256::ZERO
    }

    fn emit_log(&mut self, addr: &Address, data: &[u8], topics: &[B256]) {
        self.logs.push(LogRecord {
            address: addr.0,
            topics: topics.iter().map(|t| t.0).collect(),
            data: data.to_vec(),
        });
    }

    fn access_account(&mut self, addr: &Address) -> AccessStatus {
        if self.warm_accounts.insert(*addr) {
            self.warmed.push(*addr);
            AccessStatus::Cold
        } else {
            AccessStatus::Warm
        }
    }

    fn access_storage(&mut self, addr: &Address, key: &B256) -> AccessStatus {
        if self.warm_slots.insert((*addr, *key)) {
            AccessStatus::Cold
        } else {
            AccessStatus::Warm
        }
    }

    fn get_transient_storage(&mut self, addr: &Address, key: &B256) -> B256 {
        self.transient
            .get(&(*addr, *key))
            .copied()
            .unwrap_or(B256::ZERO)
    }

    fn set_transient_storage(&mut self, addr: &Address, key: &B256, value: &B256) {
        self.transient.insert((*addr, *key), *value);
    }
}

/// One of ember's tiers, ready to run the case's contract: the work done once per case (code
/// analysis, compilation) is already behind it.
pub trait Tier {
    /// Runs the frame `msg` of the contract to the end at [`REVISION`].
    fn execute(&self, host: &mut BenchHost<'_>, msg: &Message<'_>) -> ExecResult;
}

/// The interpreter over the code's cached analysis.
impl Tier for CodeAnalysis {
    #[inline]
    fn execute(&self, host: &mut BenchHost<'_>, msg: &Message<'_>) -> ExecResult {
        execute_analyzed(host, REVISION, msg, self)
    }
}

/// Compiled code (which side-exits to the interpreter where it must).
impl Tier for CompiledContract {
    #[inline]
    fn execute(&self, host: &mut BenchHost<'_>, msg: &Message<'_>) -> ExecResult {
        CompiledContract::execute(self, host, msg)
    }
}

/// Compiles the case's contract for [`REVISION`] at `opt_level`, with every analyzer gate that
/// only saves compile time lifted (`--tier jit`'s configuration). Not timed.
pub fn compile(case: Case<'_>, opt_level: OptLevel) -> Result<CompiledContract, CompileError> {
    ember_jit::compile(
        case.bench.world.contract_code(),
        REVISION,
        &JitConfig {
            opt_level,
            ..JitConfig::compile_everything()
        },
    )
}

/// One case prepared for one of ember's tiers: the tier (interpreter over the analysed code by
/// default, or compiled code), a host, and the call's parameters.
pub struct EmberRunner<'a, T = CodeAnalysis> {
    tier: T,
    host: BenchHost<'a>,
    case: Case<'a>,
}

impl<'a> EmberRunner<'a> {
    /// Analyses the contract's code for the interpreter and sets up the host (the untimed
    /// part).
    pub fn new(case: Case<'a>) -> Self {
        Self::with_tier(case, CodeAnalysis::new(case.bench.world.contract_code()))
    }
}

impl<'a, T: Tier> EmberRunner<'a, T> {
    /// Runs the case in `tier`, which must have been prepared from the case's contract code,
    /// with a fresh host.
    pub fn with_tier(case: Case<'a>, tier: T) -> Self {
        EmberRunner {
            tier,
            host: BenchHost::new(&case.bench.world),
            case,
        }
    }

    /// The tier the case runs in.
    pub fn tier(&self) -> &T {
        &self.tier
    }

    /// The timed part: resets the host and runs the call to the end.
    #[inline]
    pub fn run(&mut self) -> ExecResult {
        self.host.reset();
        let world = &self.case.bench.world;
        let msg = Message {
            kind: CallKind::Call,
            flags: 0,
            depth: 0,
            gas: self.case.bench.gas,
            recipient: world.to,
            sender: world.sender,
            input: &self.case.input.data,
            value: self.case.bench.value,
            create2_salt: B256::ZERO,
            code_address: world.to,
        };
        self.tier.execute(&mut self.host, &msg)
    }

    /// What the last [`run`](Self::run) (which returned `r`) did, in engine-neutral form.
    pub fn outcome(&self, r: ExecResult) -> Outcome {
        let gas = self.case.bench.gas;
        Outcome {
            status: r.status,
            gas_used: gas - r.gas_left,
            gas_refund: if r.status == StatusCode::Success {
                r.gas_refund
            } else {
                0
            },
            output: r.output,
            logs: self.host.logs.clone(),
            unsupported: (self.host.nested_calls > 0).then(|| {
                format!(
                    "the contract made {} nested call(s) or create(s), which this harness does not run",
                    self.host.nested_calls
                )
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::suite::{Account, BlockEnv};

    fn world_with(code: Vec<u8>, storage: &[(u64, u64)]) -> World {
        let to = Address([0xcc; 20]);
        let sender = Address([0xaa; 20]);
        let mut accounts = HashMap::new();
        accounts.insert(
            sender,
            Account {
                balance: U256::from(1_000_000u64),
                nonce: 0,
                code: Vec::new(),
                code_hash: ember_evm::EMPTY_CODE_HASH,
                storage: HashMap::new(),
            },
        );
        accounts.insert(
            to,
            Account {
                balance: U256::ZERO,
                nonce: 1,
                code_hash: ember_evm::keccak256(&code),
                code,
                storage: storage
                    .iter()
                    .map(|&(k, v)| (U256::from(k), U256::from(v)))
                    .collect(),
            },
        );
        World {
            accounts,
            block: BlockEnv::default(),
            sender,
            to,
            gas_price: U256::from(1),
        }
    }

    fn key(n: u8) -> B256 {
        let mut b = [0u8; 32];
        b[31] = n;
        B256(b)
    }

    #[test]
    fn warm_set_starts_with_sender_contract_and_precompiles_and_resets() {
        let world = world_with(vec![0x00], &[]);
        let mut host = BenchHost::new(&world);
        assert_eq!(host.access_account(&world.sender), AccessStatus::Warm);
        assert_eq!(host.access_account(&world.to), AccessStatus::Warm);
        let mut p9 = [0u8; 20];
        p9[19] = 9;
        assert_eq!(host.access_account(&Address(p9)), AccessStatus::Warm);
        let mut p10 = [0u8; 20];
        p10[19] = 10;
        assert_eq!(host.access_account(&Address(p10)), AccessStatus::Cold);
        assert_eq!(host.access_account(&Address(p10)), AccessStatus::Warm);
        assert_eq!(host.access_storage(&world.to, &key(1)), AccessStatus::Cold);
        assert_eq!(host.access_storage(&world.to, &key(1)), AccessStatus::Warm);
        host.reset();
        assert_eq!(host.access_account(&world.sender), AccessStatus::Warm);
        assert_eq!(host.access_account(&Address(p9)), AccessStatus::Warm);
        assert_eq!(host.access_account(&Address(p10)), AccessStatus::Cold);
        assert_eq!(host.access_storage(&world.to, &key(1)), AccessStatus::Cold);
    }

    #[test]
    fn storage_writes_overlay_the_pre_state_and_classify_against_it() {
        let world = world_with(vec![0x00], &[(1, 5)]);
        let mut host = BenchHost::new(&world);
        let to = world.to;
        assert_eq!(host.get_storage(&to, &key(1)), key(5));
        assert_eq!(host.get_storage(&to, &key(2)), B256::ZERO);
        // 5 -> 5 -> 0, then 5 -> 0 -> 5.
        assert_eq!(
            host.set_storage(&to, &key(1), &B256::ZERO),
            StorageStatus::Deleted
        );
        assert_eq!(
            host.set_storage(&to, &key(1), &key(5)),
            StorageStatus::DeletedRestored
        );
        // 0 -> 0 -> 7.
        assert_eq!(
            host.set_storage(&to, &key(2), &key(7)),
            StorageStatus::Added
        );
        assert_eq!(host.get_storage(&to, &key(2)), key(7));
        host.reset();
        assert_eq!(host.get_storage(&to, &key(2)), B256::ZERO);
    }

    #[test]
    fn accounts_code_and_nested_calls() {
        let world = world_with(vec![0x60, 0x01, 0x00], &[]);
        let mut host = BenchHost::new(&world);
        assert!(host.account_exists(&world.sender));
        assert!(!host.account_exists(&Address([1; 20])));
        assert_eq!(host.get_code_size(&world.to), 3);
        let mut buf = [0xffu8; 4];
        assert_eq!(host.copy_code(&world.to, 1, &mut buf), 2);
        assert_eq!(&buf[..2], &[0x01, 0x00]);
        assert_eq!(host.copy_code(&world.to, 100, &mut buf), 0);
        assert_eq!(host.get_code_hash(&Address([1; 20])), B256::ZERO);
        assert!(host.selfdestruct(&world.to, &world.sender));
        assert!(!host.selfdestruct(&world.to, &world.sender));
        let msg = Message {
            kind: CallKind::Call,
            flags: 0,
            depth: 1,
            gas: 0,
            recipient: world.to,
            sender: world.to,
            input: &[],
            value: U256::ZERO,
            create2_salt: B256::ZERO,
            code_address: world.to,
        };
        assert_eq!(host.call(&msg).status, StatusCode::Failure);
        assert_eq!(host.nested_calls, 1);
    }
}
