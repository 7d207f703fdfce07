//! The optional event timeline: what ran where and when, tier events and compile jobs, in
//! bounded rings.
//!
//! The runtime creates a [`Timeline`] when asked to and passes it to [`crate::timing::frame`]
//! for every frame (it is off otherwise: nothing is recorded and nothing is paid). Records:
//!
//! - **spans**: a (thread, unit, tier) ran from `start_ns` to `end_ns` (exclusive time, as the
//!   counters see it: a caller's span stops where its callee's starts);
//! - **events**: tier decisions and side exits ([`EventKind`]), at a time, on a thread;
//! - **compile jobs**: a compile worker compiled a unit from `start_ns` to `end_ns`.
//!
//! **Aggregation.** Each thread keeps a small table of *open* spans and events. A new span of a
//! (unit, tier) that already has an open span, starting less than the merge gap
//! ([`TimelineConfig::merge_gap_ns`]) after it ended, extends it and increments its `count`;
//! so does a repeated event of the same (unit, kind) within the gap. Because the table holds
//! several keys, A→B→A→B alternation merges too: a loop alternating between units or tiers many
//! times per millisecond yields one span per (unit, tier) with the number of pieces it stands
//! for. An open record is closed when the gap to its key's next record is exceeded, when its
//! end is a gap older than a new record on the thread, or when the table is full (the one that
//! ended first goes).
//!
//! **Bounds and cost.** Closed records are pushed, in batches, into the shared rings (spans,
//! events and compile jobs, each of [`TimelineConfig::capacity`]); when a ring is full its
//! oldest record is dropped and counted. Recording takes the thread's own buffer lock
//! (uncontended but for [`Timeline::snapshot`]) and, once per batch, the rings' lock. A thread's
//! buffer is flushed when the thread exits or records into another timeline;
//! [`Timeline::snapshot`] sees every thread's open records too. Locks are always taken in the
//! order registry of threads, thread buffers, rings. All times are nanoseconds since the
//! timeline was created, on [`crate::timing::now_ns`]'s clock (a thread's manual clock, in
//! tests, must start where the timeline's creator's did).

use crate::timing::now_ns;
use crate::{Tier, UnitId};
use std::cell::RefCell;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};

/// Open spans (and, separately, open events) a thread keeps for merging.
const OPEN: usize = 8;
/// Closed records a thread collects before taking the rings' lock.
const BATCH: usize = 64;

/// Sizes and the merge threshold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimelineConfig {
    /// The most records each ring (spans, events, compile jobs) keeps; 0 keeps none (every
    /// record is counted as dropped).
    pub capacity: usize,
    /// Pieces of the same (thread, unit, tier) closer than this are merged into one span (and
    /// repeated events alike); 0 merges nothing.
    pub merge_gap_ns: u64,
}

impl Default for TimelineConfig {
    /// 65,536 records per ring (about 3 MiB of spans at most), a 50 µs merge gap.
    fn default() -> Self {
        TimelineConfig {
            capacity: 1 << 16,
            merge_gap_ns: 50_000,
        }
    }
}

/// A (thread, unit, tier) ran from `start_ns` to `end_ns`, in `count` merged pieces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    /// The thread's number in this timeline (see [`ThreadInfo`]).
    pub thread: u32,
    /// The unit that ran.
    pub unit: UnitId,
    /// The tier it ran in.
    pub tier: Tier,
    /// Start, in ns since the timeline was created.
    pub start_ns: u64,
    /// End (of the last merged piece).
    pub end_ns: u64,
    /// Pieces merged into this span (1 if none were).
    pub count: u64,
}

/// What happened to a unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventKind {
    /// The profiler found it hot.
    Hot,
    /// A compile was queued.
    Queued,
    /// A compiled version was published.
    Compiled,
    /// The compiler refused it: it stays in the interpreter.
    Rejected,
    /// Its compiled code was evicted from the code cache.
    Evicted,
    /// Compiled code handed over to the interpreter at `pc`.
    SideExit {
        /// The pc of the instruction the interpreter resumed at.
        pc: u32,
    },
    /// Its compiled code was invalidated (a speculation failed).
    Invalidated,
    /// A finished compile was thrown away instead of published.
    Discarded,
    /// A version compiled at a higher optimisation level replaced the published one.
    TieredUp,
}

impl EventKind {
    /// `hot`, `queued`, `compiled`, `rejected`, `evicted`, `sideExit`, `invalidated`,
    /// `discarded` or `tieredUp`.
    pub fn name(self) -> &'static str {
        match self {
            EventKind::Hot => "hot",
            EventKind::Queued => "queued",
            EventKind::Compiled => "compiled",
            EventKind::Rejected => "rejected",
            EventKind::Evicted => "evicted",
            EventKind::SideExit { .. } => "sideExit",
            EventKind::Invalidated => "invalidated",
            EventKind::Discarded => "discarded",
            EventKind::TieredUp => "tieredUp",
        }
    }
}

/// `count` events of one kind for one unit on one thread, from `first_ns` to `last_ns`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Event {
    /// The thread's number in this timeline.
    pub thread: u32,
    /// The unit it happened to.
    pub unit: UnitId,
    /// What happened.
    pub kind: EventKind,
    /// When it first happened, in ns since the timeline was created.
    pub first_ns: u64,
    /// When it last happened (of the merged ones).
    pub last_ns: u64,
    /// Events merged into this one (1 if none were).
    pub count: u64,
}

/// A compile worker compiled `unit` from `start_ns` to `end_ns`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CompileJob {
    /// The worker's number, as the runtime gave it.
    pub worker: u32,
    /// The unit compiled.
    pub unit: UnitId,
    /// Start, in ns since the timeline was created.
    pub start_ns: u64,
    /// End.
    pub end_ns: u64,
    /// Whether it produced code.
    pub ok: bool,
}

/// A thread that recorded into the timeline.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ThreadInfo {
    /// Its number in the timeline (in order of first record, from 0).
    pub id: u32,
    /// Its name, if it has one.
    pub name: Option<String>,
}

/// Records dropped because a ring was full (or the timeline was used by a thread that was
/// exiting).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Dropped {
    /// Spans dropped.
    pub spans: u64,
    /// Events dropped.
    pub events: u64,
    /// Compile jobs dropped.
    pub compile_jobs: u64,
}

impl Dropped {
    /// All dropped records.
    pub fn total(&self) -> u64 {
        self.spans
            .saturating_add(self.events)
            .saturating_add(self.compile_jobs)
    }
}

/// Everything a timeline holds at one moment, sorted by start time.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TimelineSnapshot {
    /// Spans, by start time.
    pub spans: Vec<Span>,
    /// Events, by time.
    pub events: Vec<Event>,
    /// Compile jobs, by start time.
    pub compile_jobs: Vec<CompileJob>,
    /// Every thread that recorded.
    pub threads: Vec<ThreadInfo>,
    /// Records dropped by full rings.
    pub dropped: Dropped,
    /// Time since the timeline was created.
    pub elapsed_ns: u64,
    /// The merge gap it was configured with.
    pub merge_gap_ns: u64,
}

/// The timeline: cheap to clone (a shared handle), usable from any thread.
#[derive(Clone)]
pub struct Timeline {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Timeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Timeline")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

struct Inner {
    config: TimelineConfig,
    origin_ns: u64,
    rings: Mutex<Rings>,
    threads: Mutex<Threads>,
}

#[derive(Default)]
struct Threads {
    /// The buffers of the threads that recorded and have not exited (or moved to another
    /// timeline).
    live: Vec<Arc<Mutex<ThreadBuf>>>,
    /// Every thread that ever recorded.
    info: Vec<ThreadInfo>,
}

struct Ring<T> {
    items: VecDeque<T>,
    capacity: usize,
    dropped: u64,
}

impl<T> Ring<T> {
    fn new(capacity: usize) -> Self {
        Ring {
            items: VecDeque::new(),
            capacity,
            dropped: 0,
        }
    }

    fn push(&mut self, item: T) {
        if self.capacity == 0 {
            self.dropped += 1;
            return;
        }
        if self.items.len() == self.capacity {
            self.items.pop_front();
            self.dropped += 1;
        }
        self.items.push_back(item);
    }
}

struct Rings {
    spans: Ring<Span>,
    events: Ring<Event>,
    jobs: Ring<CompileJob>,
}

/// One thread's open and recently closed records.
struct ThreadBuf {
    thread: u32,
    open_spans: [Option<Span>; OPEN],
    open_events: [Option<Event>; OPEN],
    closed_spans: Vec<Span>,
    closed_events: Vec<Event>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Nothing panics while holding these locks; if something did, the data is still
    // consistent record by record.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A record that can be merged with a later one of the same key.
trait Mergeable: Copy {
    fn same_key(&self, other: &Self) -> bool;
    fn start(&self) -> u64;
    fn end(&self) -> u64;
    /// Takes `later` (same key, within the gap) into `self`.
    fn absorb(&mut self, later: &Self);
}

impl Mergeable for Span {
    fn same_key(&self, o: &Self) -> bool {
        self.unit == o.unit && self.tier == o.tier
    }
    fn start(&self) -> u64 {
        self.start_ns
    }
    fn end(&self) -> u64 {
        self.end_ns
    }
    fn absorb(&mut self, later: &Self) {
        self.end_ns = self.end_ns.max(later.end_ns);
        self.count = self.count.saturating_add(later.count);
    }
}

impl Mergeable for Event {
    fn same_key(&self, o: &Self) -> bool {
        self.unit == o.unit && self.kind == o.kind
    }
    fn start(&self) -> u64 {
        self.first_ns
    }
    fn end(&self) -> u64 {
        self.last_ns
    }
    fn absorb(&mut self, later: &Self) {
        self.last_ns = self.last_ns.max(later.last_ns);
        self.count = self.count.saturating_add(later.count);
    }
}

/// Merges `rec` into the open table, or opens it; closed records go to `closed`.
fn record<T: Mergeable>(open: &mut [Option<T>; OPEN], closed: &mut Vec<T>, rec: T, gap: u64) {
    let mut free = None;
    // The open record that ended first: (index, end).
    let mut first_ended: Option<(usize, u64)> = None;
    for (i, slot) in open.iter_mut().enumerate() {
        let Some(o) = slot else {
            free = Some(i);
            continue;
        };
        let distance = rec.start().saturating_sub(o.end());
        if o.same_key(&rec) {
            if distance < gap {
                o.absorb(&rec);
            } else {
                closed.push(*o);
                *o = rec;
            }
            return;
        }
        if distance >= gap {
            // Nothing later on this thread can merge with it any more.
            closed.push(*o);
            *slot = None;
            free = Some(i);
        } else if first_ended.is_none_or(|(_, end)| o.end() < end) {
            first_ended = Some((i, o.end()));
        }
    }
    let i = match free {
        Some(i) => i,
        None => {
            // Full: the record that ended first makes room (with no free slot, every slot
            // was considered for it).
            let (i, _) = first_ended.unwrap_or((0, 0));
            if let Some(o) = open[i].take() {
                closed.push(o);
            }
            i
        }
    };
    open[i] = Some(rec);
}

impl ThreadBuf {
    fn new(thread: u32) -> Self {
        ThreadBuf {
            thread,
            open_spans: [None; OPEN],
            open_events: [None; OPEN],
            closed_spans: Vec::new(),
            closed_events: Vec::new(),
        }
    }

    /// Moves the closed records into the rings.
    fn flush_closed(&mut self, rings: &mut Rings) {
        for s in self.closed_spans.drain(..) {
            rings.spans.push(s);
        }
        for e in self.closed_events.drain(..) {
            rings.events.push(e);
        }
    }

    fn full(&self) -> bool {
        self.closed_spans.len() + self.closed_events.len() >= BATCH
    }

    /// Closes everything (the thread is leaving this timeline).
    fn close_all(&mut self, rings: &mut Rings) {
        self.flush_closed(rings);
        let mut spans: Vec<Span> = self
            .open_spans
            .iter_mut()
            .filter_map(Option::take)
            .collect();
        spans.sort_by_key(|s| s.end_ns);
        for s in spans {
            rings.spans.push(s);
        }
        let mut events: Vec<Event> = self
            .open_events
            .iter_mut()
            .filter_map(Option::take)
            .collect();
        events.sort_by_key(|e| e.last_ns);
        for e in events {
            rings.events.push(e);
        }
    }
}

/// This thread's buffer in the timeline it last recorded into.
struct Slot {
    /// Weak, so that a thread that outlives the timeline does not keep its rings alive; while
    /// the slot holds it, the allocation (and so its address, used to recognise the
    /// timeline) cannot be reused.
    timeline: Weak<Inner>,
    buf: Arc<Mutex<ThreadBuf>>,
}

impl Drop for Slot {
    /// The thread exits or moves to another timeline: its records go to the rings.
    fn drop(&mut self) {
        let Some(inner) = self.timeline.upgrade() else {
            return;
        };
        // Under the registry's lock, so that a snapshot sees the records either in the
        // buffer or in the rings, never in both.
        let mut threads = lock(&inner.threads);
        threads.live.retain(|b| !Arc::ptr_eq(b, &self.buf));
        lock(&self.buf).close_all(&mut lock(&inner.rings));
    }
}

thread_local! {
    static SLOT: RefCell<Option<Slot>> = const { RefCell::new(None) };
}

impl Timeline {
    /// An empty timeline starting now.
    pub fn new(config: TimelineConfig) -> Self {
        Timeline {
            inner: Arc::new(Inner {
                config,
                origin_ns: now_ns(),
                rings: Mutex::new(Rings {
                    spans: Ring::new(config.capacity),
                    events: Ring::new(config.capacity),
                    jobs: Ring::new(config.capacity),
                }),
                threads: Mutex::new(Threads::default()),
            }),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &TimelineConfig {
        &self.inner.config
    }

    fn rel(&self, ns: u64) -> u64 {
        ns.saturating_sub(self.inner.origin_ns)
    }

    /// Runs `f` on this thread's buffer, registering the thread on first use. Returns `None`
    /// when the thread is exiting and has no buffer any more.
    fn with_buf(&self, f: impl FnOnce(&mut ThreadBuf, &Inner)) -> Option<()> {
        SLOT.try_with(|slot| {
            let mut slot = slot.borrow_mut();
            let mine = slot
                .as_ref()
                .is_some_and(|s| std::ptr::eq(s.timeline.as_ptr(), Arc::as_ptr(&self.inner)));
            if !mine {
                // Dropping the old slot flushes it into its own timeline.
                *slot = Some(self.register());
            }
            let s = slot.as_ref()?;
            f(&mut lock(&s.buf), &self.inner);
            Some(())
        })
        .ok()
        .flatten()
    }

    fn register(&self) -> Slot {
        let mut threads = lock(&self.inner.threads);
        let id = u32::try_from(threads.info.len()).unwrap_or(u32::MAX);
        threads.info.push(ThreadInfo {
            id,
            name: std::thread::current().name().map(str::to_owned),
        });
        let buf = Arc::new(Mutex::new(ThreadBuf::new(id)));
        threads.live.push(Arc::clone(&buf));
        Slot {
            timeline: Arc::downgrade(&self.inner),
            buf,
        }
    }

    /// Records that `unit` ran in `tier` from `start` to `end` (clock readings) on this
    /// thread. Called by the accounting at every transition.
    pub(crate) fn span(&self, unit: UnitId, tier: Tier, start: u64, end: u64) {
        let (start_ns, end_ns) = (self.rel(start), self.rel(end));
        let gap = self.inner.config.merge_gap_ns;
        let recorded = self.with_buf(|buf, inner| {
            let span = Span {
                thread: buf.thread,
                unit,
                tier,
                start_ns,
                end_ns,
                count: 1,
            };
            record(&mut buf.open_spans, &mut buf.closed_spans, span, gap);
            if buf.full() {
                buf.flush_closed(&mut lock(&inner.rings));
            }
        });
        if recorded.is_none() {
            lock(&self.inner.rings).spans.dropped += 1;
        }
    }

    /// Records `kind` for `unit` on this thread, now.
    pub fn event(&self, unit: UnitId, kind: EventKind) {
        self.event_at(unit, kind, now_ns());
    }

    /// Records `kind` for `unit` on this thread at `at` (a clock reading).
    pub(crate) fn event_at(&self, unit: UnitId, kind: EventKind, at: u64) {
        let at = self.rel(at);
        let gap = self.inner.config.merge_gap_ns;
        let recorded = self.with_buf(|buf, inner| {
            let event = Event {
                thread: buf.thread,
                unit,
                kind,
                first_ns: at,
                last_ns: at,
                count: 1,
            };
            record(&mut buf.open_events, &mut buf.closed_events, event, gap);
            if buf.full() {
                buf.flush_closed(&mut lock(&inner.rings));
            }
        });
        if recorded.is_none() {
            lock(&self.inner.rings).events.dropped += 1;
        }
    }

    /// Records a compile of `unit` by compile worker `worker` from `start_ns` to `end_ns`
    /// (readings of [`crate::timing::now_ns`]; an end before the start is taken as the
    /// start); `ok` if it produced code. Compile jobs are few: they go straight to their ring.
    pub fn compile_job(&self, worker: u32, unit: UnitId, start_ns: u64, end_ns: u64, ok: bool) {
        let job = CompileJob {
            worker,
            unit,
            start_ns: self.rel(start_ns),
            end_ns: self.rel(end_ns.max(start_ns)),
            ok,
        };
        lock(&self.inner.rings).jobs.push(job);
    }

    /// Everything recorded so far, every thread's open records included, sorted by start
    /// time. Recording continues meanwhile (threads wait for their buffer while it is read).
    pub fn snapshot(&self) -> TimelineSnapshot {
        let inner = &*self.inner;
        let (mut spans, mut events, mut compile_jobs, threads, dropped) = {
            // Locks in the one order used everywhere (registry, buffers, rings), all held
            // until the rings are copied: a record cannot move from a buffer to the rings in
            // between and be seen twice.
            let threads = lock(&inner.threads);
            let mut bufs: Vec<MutexGuard<'_, ThreadBuf>> =
                threads.live.iter().map(|b| lock(b)).collect();
            let mut rings = lock(&inner.rings);
            let mut spans: Vec<Span> = Vec::new();
            let mut events: Vec<Event> = Vec::new();
            for buf in &mut bufs {
                buf.flush_closed(&mut rings);
                spans.extend(buf.open_spans.iter().flatten());
                events.extend(buf.open_events.iter().flatten());
            }
            spans.extend(&rings.spans.items);
            events.extend(&rings.events.items);
            let jobs: Vec<CompileJob> = rings.jobs.items.iter().copied().collect();
            let dropped = Dropped {
                spans: rings.spans.dropped,
                events: rings.events.dropped,
                compile_jobs: rings.jobs.dropped,
            };
            (spans, events, jobs, threads.info.clone(), dropped)
        };
        spans.sort_by_key(|s| (s.start_ns, s.thread, s.unit, s.tier, s.end_ns));
        events.sort_by_key(|e| (e.first_ns, e.thread, e.unit, e.kind, e.last_ns));
        compile_jobs.sort_by_key(|j| (j.start_ns, j.worker, j.unit, j.end_ns));
        TimelineSnapshot {
            spans,
            events,
            compile_jobs,
            threads,
            dropped,
            elapsed_ns: self.rel(now_ns()),
            merge_gap_ns: inner.config.merge_gap_ns,
        }
    }
}

#[cfg(test)]
mod tests;
