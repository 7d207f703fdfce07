//! The compile pool: a fixed number of worker threads, started on the first request, taking
//! jobs from a bounded priority queue (the hottest contract first).
//!
//! - A request is accepted only for an entry that is still `cold`; the entry becomes `queued`
//!   under the queue's lock in the same step, so one key never has two jobs, and an entry
//!   is marked only once its job is really in the queue.
//! - A full queue drops the request (counted); the entry stays `cold` and may ask again.
//! - A tier-up request (see `lifecycle.rs`) names the published version it is to replace and
//!   changes no state: its entry stays `compiled`, and the version's own flag keeps it from
//!   being asked twice. First compiles are taken before any tier-up.
//! - Jobs hold the entry by `Arc`: eviction removes an entry from the store but cannot free
//!   what a worker is compiling (eviction never takes a queued or compiling entry anyway).
//! - What a compile produces is published (or the rejection recorded) by the runtime's
//!   [`Core`], within the code cache's budget.
//! - Shutdown cancels the queued jobs (their entries go back to `cold`), then waits for the
//!   running ones for at most a timeout, then detaches the workers still busy: a stuck LLVM
//!   compile must not keep the process from exiting. A detached worker finishes its job into
//!   an entry nobody reads and exits.

use crate::backend::Backend;
use crate::lifecycle::Core;
use crate::state::ContractState;
use crate::store::{Entry, Version};
use std::cmp::Ordering as CmpOrdering;
use std::collections::BinaryHeap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Stack of a compile worker: LLVM recurses over large functions.
const WORKER_STACK: usize = 16 << 20;

/// One compile request.
struct Job<C> {
    /// Gas within the window when the contract was found hot.
    priority: u64,
    /// Arrival order, for first-come-first-served among equals.
    seq: u64,
    entry: Arc<Entry<C>>,
    /// For a tier-up, the version to replace (not kept alive by the queue).
    replaces: Option<Weak<Version<C>>>,
}

impl<C> PartialEq for Job<C> {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == CmpOrdering::Equal
    }
}

impl<C> Eq for Job<C> {}

impl<C> PartialOrd for Job<C> {
    fn partial_cmp(&self, other: &Self) -> Option<CmpOrdering> {
        Some(self.cmp(other))
    }
}

impl<C> Ord for Job<C> {
    /// The greatest job (taken first) is a first compile before a tier-up (a contract still
    /// interpreted gains more), then has the highest priority, then the earliest arrival.
    fn cmp(&self, other: &Self) -> CmpOrdering {
        let first = |j: &Self| j.replaces.is_none();
        first(self)
            .cmp(&first(other))
            .then_with(|| self.priority.cmp(&other.priority))
            .then_with(|| other.seq.cmp(&self.seq))
    }
}

/// What the queue's lock guards.
struct Queue<C> {
    jobs: BinaryHeap<Job<C>>,
    next_seq: u64,
    /// Jobs being compiled now.
    running: usize,
    /// Worker threads that have not exited.
    live: usize,
    shutdown: bool,
}

/// Totals of the pool.
#[derive(Debug, Default)]
pub struct PoolCounters {
    pub queued: AtomicU64,
    pub dropped: AtomicU64,
    pub cancelled: AtomicU64,
}

struct Shared<B: Backend> {
    core: Arc<Core<B>>,
    queue: Mutex<Queue<B::Code>>,
    /// Signalled when a job arrives or shutdown begins.
    work: Condvar,
    /// Signalled when a job finishes or a worker exits.
    progress: Condvar,
    counters: PoolCounters,
}

impl<B: Backend> Shared<B> {
    fn lock(&self) -> MutexGuard<'_, Queue<B::Code>> {
        // The queue is consistent at every unlock (no code that can panic runs under the
        // lock), so a poisoned lock is still usable.
        self.queue.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// What became of a compile request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Submit {
    /// In the queue; the entry is `queued`.
    Queued,
    /// The entry is not `cold` (already queued, compiling, done, or evicted).
    NotCold,
    /// The queue is full, or the pool is shut down or could not start a worker.
    Dropped,
}

/// How a shutdown went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShutdownReport {
    /// Queued jobs cancelled.
    pub cancelled: u64,
    /// Workers still compiling at the timeout, left to finish on their own.
    pub detached: usize,
}

/// The compile pool.
pub struct Pool<B: Backend> {
    shared: Arc<Shared<B>>,
    workers: usize,
    bound: usize,
    started: AtomicBool,
    handles: Mutex<Vec<JoinHandle<()>>>,
}

impl<B: Backend> Pool<B> {
    /// A pool of `workers` threads (at least one; started on the first request) and a queue
    /// of at most `bound` jobs (at least one).
    pub fn new(core: Arc<Core<B>>, workers: usize, bound: usize) -> Self {
        Pool {
            shared: Arc::new(Shared {
                core,
                queue: Mutex::new(Queue {
                    jobs: BinaryHeap::new(),
                    next_seq: 0,
                    running: 0,
                    live: 0,
                    shutdown: false,
                }),
                work: Condvar::new(),
                progress: Condvar::new(),
                counters: PoolCounters::default(),
            }),
            workers: workers.max(1),
            bound: bound.max(1),
            started: AtomicBool::new(false),
            handles: Mutex::new(Vec::new()),
        }
    }

    /// The pool's totals.
    pub fn counters(&self) -> &PoolCounters {
        &self.shared.counters
    }

    /// The number of worker threads (started or to be started).
    pub fn workers(&self) -> usize {
        self.workers
    }

    /// Jobs waiting now.
    pub fn pending(&self) -> usize {
        self.shared.lock().jobs.len()
    }

    /// Asks for `entry` to be compiled, ahead of requests with a lower `priority`.
    pub fn submit(&self, entry: &Arc<Entry<B::Code>>, priority: u64) -> Submit {
        if entry.state() != ContractState::Cold {
            return Submit::NotCold;
        }
        self.start_workers();
        let counters = &self.shared.counters;
        let q = self.shared.lock();
        if q.shutdown || q.live == 0 || q.jobs.len() >= self.bound {
            counters.dropped.fetch_add(1, Ordering::Relaxed);
            return Submit::Dropped;
        }
        // Under the lock, so no worker or other submitter sees the entry queued without
        // its job; eviction (the only other way out of `cold`) may win the race.
        if entry
            .state
            .transition(ContractState::Cold, ContractState::Queued)
            .is_err()
        {
            return Submit::NotCold;
        }
        self.push(q, entry, priority, None);
        Submit::Queued
    }

    /// Asks for `entry` to be compiled again at the tier-up level, to replace `version` (its
    /// published version, whose tier-up the caller has claimed). `NotCold` is never returned.
    pub fn submit_tier_up(
        &self,
        entry: &Arc<Entry<B::Code>>,
        version: &Arc<Version<B::Code>>,
        priority: u64,
    ) -> Submit {
        self.start_workers();
        let q = self.shared.lock();
        if q.shutdown || q.live == 0 || q.jobs.len() >= self.bound {
            self.shared.counters.dropped.fetch_add(1, Ordering::Relaxed);
            return Submit::Dropped;
        }
        self.push(q, entry, priority, Some(Arc::downgrade(version)));
        Submit::Queued
    }

    /// Queues a job and wakes a worker.
    fn push(
        &self,
        mut q: MutexGuard<'_, Queue<B::Code>>,
        entry: &Arc<Entry<B::Code>>,
        priority: u64,
        replaces: Option<Weak<Version<B::Code>>>,
    ) {
        let seq = q.next_seq;
        q.next_seq += 1;
        q.jobs.push(Job {
            priority,
            seq,
            entry: Arc::clone(entry),
            replaces,
        });
        self.shared.counters.queued.fetch_add(1, Ordering::Relaxed);
        drop(q);
        self.shared.work.notify_one();
    }

    /// Starts the workers, once. A worker that cannot be started is left out; with none,
    /// every request is dropped.
    fn start_workers(&self) {
        if self.started.load(Ordering::Acquire) {
            return;
        }
        let mut handles = self.handles.lock().unwrap_or_else(|e| e.into_inner());
        if self.started.load(Ordering::Acquire) {
            return;
        }
        for i in 0..self.workers {
            let shared = Arc::clone(&self.shared);
            // Counted before the thread runs, so that it is never seen exiting uncounted.
            shared.lock().live += 1;
            let spawned = std::thread::Builder::new()
                .name(format!("ember-jit-{i}"))
                .stack_size(WORKER_STACK)
                .spawn(move || work(&shared, i as u32));
            match spawned {
                Ok(h) => handles.push(h),
                Err(_) => {
                    self.shared.lock().live -= 1;
                    break;
                }
            }
        }
        self.started.store(true, Ordering::Release);
    }

    /// Waits until no job is queued or running, for at most `timeout`. Returns whether the
    /// pool went idle.
    pub fn wait_idle(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut q = self.shared.lock();
        while !(q.jobs.is_empty() && q.running == 0) {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            q = self
                .shared
                .progress
                .wait_timeout(q, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        true
    }

    /// Cancels the queued jobs, waits up to `timeout` for the running ones, and detaches the
    /// workers still busy then. Later requests are dropped. Idempotent.
    pub fn shutdown(&self, timeout: Duration) -> ShutdownReport {
        let deadline = Instant::now() + timeout;
        let mut q = self.shared.lock();
        q.shutdown = true;
        let mut cancelled = 0;
        for job in q.jobs.drain() {
            // Back to cold: the contract keeps running in the interpreter. (A tier-up's
            // contract keeps running its published version.)
            if job.replaces.is_none() {
                let _ = job
                    .entry
                    .state
                    .transition(ContractState::Queued, ContractState::Cold);
            }
            cancelled += 1;
        }
        self.shared
            .counters
            .cancelled
            .fetch_add(cancelled, Ordering::Relaxed);
        self.shared.work.notify_all();
        while q.live > 0 {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            q = self
                .shared
                .progress
                .wait_timeout(q, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        let detached = q.live;
        drop(q);
        let handles = std::mem::take(&mut *self.handles.lock().unwrap_or_else(|e| e.into_inner()));
        if detached == 0 {
            // Every worker has left its loop; joining only waits for its last instructions.
            for h in handles {
                let _ = h.join();
            }
        }
        // Otherwise the handles are dropped, which detaches the threads.
        ShutdownReport {
            cancelled,
            detached,
        }
    }
}

/// A worker: takes the best job, compiles it, publishes the outcome, until shutdown.
fn work<B: Backend>(shared: &Shared<B>, index: u32) {
    loop {
        let job = {
            let mut q = shared.lock();
            loop {
                if q.shutdown {
                    break None;
                }
                if let Some(job) = q.jobs.pop() {
                    q.running += 1;
                    break Some(job);
                }
                q = shared.work.wait(q).unwrap_or_else(|e| e.into_inner());
            }
        };
        let Some(job) = job else { break };
        match &job.replaces {
            None => shared.core.compile(&job.entry, index),
            Some(old) => shared.core.tier_up(&job.entry, old, index),
        }
        drop(job);
        shared.lock().running -= 1;
        shared.progress.notify_all();
    }
    shared.lock().live -= 1;
    shared.progress.notify_all();
}
