use super::*;
use std::cell::RefCell;

#[test]
fn median_of_odd_and_even_counts() {
    assert_eq!(median(&mut []), None);
    assert_eq!(median(&mut [5.0]), Some(5.0));
    assert_eq!(median(&mut [9.0, 1.0, 5.0]), Some(5.0));
    assert_eq!(median(&mut [4.0, 1.0, 3.0, 2.0]), Some(2.5));
}

#[test]
fn geometric_mean_of_ratios() {
    assert_eq!(geometric_mean(&[]), None);
    // (2 * 8)^(1/2) = 4; (0.5 * 2)^(1/2) = 1.
    assert!((geometric_mean(&[2.0, 8.0]).unwrap() - 4.0).abs() < 1e-12);
    assert!((geometric_mean(&[0.5, 2.0]).unwrap() - 1.0).abs() < 1e-12);
}

#[test]
fn batches_aim_at_the_sample_target() {
    assert_eq!(batch_size(Duration::from_millis(50), SAMPLE_TARGET), 1);
    assert_eq!(batch_size(SAMPLE_TARGET, SAMPLE_TARGET), 1);
    assert_eq!(batch_size(Duration::from_micros(2), SAMPLE_TARGET), 100);
    assert_eq!(
        batch_size(Duration::ZERO, SAMPLE_TARGET),
        SAMPLE_TARGET.as_nanos() as u64
    );
}

/// The engines' runs in order, with consecutive runs of one engine (a batch, or samples
/// of the last engine still sampling) merged into one entry.
fn runs(log: &RefCell<Vec<usize>>) -> Vec<usize> {
    let mut out = log.borrow().clone();
    out.dedup();
    out
}

#[test]
fn sample_count_cap_is_respected_and_every_engine_runs() {
    let (mut na, mut nb, mut nc) = (0u64, 0u64, 0u64);
    let plan = Plan {
        clock: Clock::Wall,
        min_time: Duration::from_secs(3600),
        max_samples: 3,
        sample: SAMPLE_TARGET,
    };
    let [ta, tb, tc] = measure(
        &plan,
        Duration::ZERO,
        [
            &mut || {
                na += 1;
                std::thread::sleep(Duration::from_micros(300));
            },
            &mut || nb += 1,
            &mut || nc += 1,
        ],
    );
    assert_eq!((ta.samples, tb.samples, tc.samples), (3, 3, 3));
    // The sleeping engine is not batched; one warm-up run plus 3 samples of 1 run.
    assert_eq!(ta.batch, 1);
    assert_eq!(na, 4);
    assert_eq!(nb, 1 + 3 * tb.batch);
    assert_eq!(nc, 1 + 3 * tc.batch);
    assert!(ta.median_ns >= 300_000.0);
}

#[test]
fn samples_of_the_engines_alternate() {
    let log = RefCell::new(Vec::new());
    let plan = Plan {
        clock: Clock::Wall,
        min_time: Duration::from_secs(3600),
        max_samples: 3,
        sample: SAMPLE_TARGET,
    };
    let [ta, tb, tc] = measure(
        &plan,
        Duration::ZERO,
        [
            &mut || log.borrow_mut().push(0),
            &mut || log.borrow_mut().push(1),
            &mut || log.borrow_mut().push(2),
        ],
    );
    assert_eq!((ta.samples, tb.samples, tc.samples), (3, 3, 3));
    // One warm-up round, then three rounds of samples.
    assert_eq!(runs(&log), [0, 1, 2].repeat(4));
}

#[cfg(unix)]
#[test]
fn an_engine_that_is_done_stops_while_the_others_go_on() {
    let log = RefCell::new(Vec::new());
    let plan = Plan {
        clock: Clock::ThreadCpu,
        min_time: Duration::from_millis(1),
        max_samples: 4,
        sample: SAMPLE_TARGET,
    };
    // The first engine spends 2 ms of CPU per run, so its first sample meets `min_time`;
    // the second does nothing and stops at `max_samples`, far below 1 ms of samples.
    let [slow, fast] = measure(
        &plan,
        Duration::ZERO,
        [
            &mut || {
                log.borrow_mut().push(0);
                let start = thread_cpu_time().unwrap();
                while thread_cpu_time().unwrap() - start < Duration::from_millis(2) {}
            },
            &mut || log.borrow_mut().push(1),
        ],
    );
    assert_eq!((slow.samples, fast.samples), (1, 4));
    assert_eq!(slow.batch, 1);
    assert!(slow.median_ns >= 2e6);
    // Warm-up round, first sample round, then the fast engine alone.
    assert_eq!(runs(&log), [0, 1, 0, 1]);
    assert_eq!(log.borrow().iter().filter(|&&e| e == 0).count(), 2);
}

#[test]
fn zero_time_budget_still_takes_one_sample_each() {
    for clock in [Clock::Wall, Clock::ThreadCpu] {
        let plan = Plan {
            clock,
            min_time: Duration::ZERO,
            max_samples: 1000,
            sample: SAMPLE_TARGET,
        };
        let [ta, tb] = measure(&plan, Duration::ZERO, [&mut || {}, &mut || {}]);
        assert_eq!((ta.samples, tb.samples), (1, 1));
        let [t] = measure(&plan, Duration::ZERO, [&mut || {}]);
        assert_eq!(t.samples, 1);
    }
}

#[cfg(unix)]
#[test]
fn thread_cpu_time_counts_work_but_not_sleep() {
    assert!(Clock::ThreadCpu.is_available());
    let start = thread_cpu_time().unwrap();
    // Spin until 5 ms of CPU time have been used (bounded by 10 s of wall time).
    let wall = Instant::now();
    let mut x = 0u64;
    while thread_cpu_time().unwrap() - start < Duration::from_millis(5) {
        x = std::hint::black_box(x.wrapping_add(1));
        assert!(
            wall.elapsed() < Duration::from_secs(10),
            "the CPU clock does not advance"
        );
    }
    let before = thread_cpu_time().unwrap();
    std::thread::sleep(Duration::from_millis(50));
    let slept = thread_cpu_time().unwrap() - before;
    assert!(
        slept < Duration::from_millis(25),
        "sleeping used {slept:?} of CPU"
    );
}
