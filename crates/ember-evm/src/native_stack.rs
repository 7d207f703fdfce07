//! Native stack for nested frames.
//!
//! Every EVM call level costs native stack: the interpreter's own frame, the host's call path
//! and, in compiled code, the compiled function's frame. A 1024-deep call chain needs more
//! than many threads have (Rust spawns threads with 2 MiB). So every frame checks the stack
//! left before it runs and, where it runs low, continues on a fresh segment (the `stacker`
//! crate, as rustc does): no call depth can overflow a thread's stack.

/// Stack a frame must find free before it runs, besides its own compiled frame if any: more
/// than one call level uses before the next level checks (interpreter, host call path,
/// precompiles), with a wide margin.
pub const RED_ZONE: usize = 256 * 1024;

/// Size of a fresh segment. It is mapped on demand, so only the pages used cost memory.
pub const SEGMENT: usize = 4 * 1024 * 1024;

/// Whether at least [`RED_ZONE`] + `frame_bytes` of native stack are free here. Costs a
/// thread-local read and a comparison.
#[inline(always)]
pub fn has_room(frame_bytes: usize) -> bool {
    stacker::remaining_stack().is_some_and(|left| left >= RED_ZONE.saturating_add(frame_bytes))
}

/// Runs `f` on a fresh segment with room for `frame_bytes` and far more: the slow path of
/// [`with_stack`], kept out of line so that hot callers stay as they were.
#[cold]
#[inline(never)]
pub fn on_new_segment<R>(frame_bytes: usize, f: impl FnOnce() -> R) -> R {
    let need = RED_ZONE.saturating_add(frame_bytes);
    stacker::grow(SEGMENT.max(need.saturating_mul(2)), f)
}

/// Runs `f` with at least [`RED_ZONE`] + `frame_bytes` of native stack free, on a new segment
/// if the current one has less.
#[inline]
pub fn with_stack<R>(frame_bytes: usize, f: impl FnOnce() -> R) -> R {
    if has_room(frame_bytes) {
        f()
    } else {
        on_new_segment(frame_bytes, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Recurses `depth` times, each level holding `N` bytes of stack.
    fn deep<const N: usize>(depth: usize) -> usize {
        with_stack(0, || {
            let buf = std::hint::black_box([depth as u8; N]);
            if depth == 0 {
                buf[0] as usize
            } else {
                deep::<N>(depth - 1) + 1 + buf[N - 1] as usize - depth % 256
            }
        })
    }

    #[test]
    fn deep_recursion_outgrows_a_small_thread_stack() {
        // 2000 levels of 16 KiB each is 32 MiB, far past the 256 KiB thread.
        let r = std::thread::Builder::new()
            .stack_size(256 * 1024)
            .spawn(|| deep::<16384>(2000))
            .unwrap()
            .join()
            .unwrap();
        assert_eq!(r, 2000);
    }
}
