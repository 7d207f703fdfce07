//! A one-line progress display on stderr, shown only when stderr is a terminal.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// Counters the workers bump; read by the display thread.
#[derive(Default)]
pub struct Counters {
    pub files: AtomicUsize,
    pub cases: AtomicUsize,
    pub failed: AtomicUsize,
}

/// Redraws the progress line a few times a second until dropped.
pub struct Progress {
    pub counters: Arc<Counters>,
    stop: Arc<(Mutex<bool>, Condvar)>,
    thread: Option<JoinHandle<()>>,
}

impl Progress {
    /// Starts the display if `enabled` and stderr is a terminal; otherwise only counts.
    pub fn start(total_files: usize, enabled: bool) -> Self {
        let counters = Arc::new(Counters::default());
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let thread = (enabled && std::io::stderr().is_terminal()).then(|| {
            let (counters, stop) = (Arc::clone(&counters), Arc::clone(&stop));
            std::thread::spawn(move || {
                let mut last = String::new();
                let (lock, cvar) = &*stop;
                let mut stopped = lock.lock().unwrap_or_else(|e| e.into_inner());
                while !*stopped {
                    let line = format!(
                        "\r[{}/{} files] {} cases, {} failed",
                        counters.files.load(Ordering::Relaxed),
                        total_files,
                        counters.cases.load(Ordering::Relaxed),
                        counters.failed.load(Ordering::Relaxed),
                    );
                    if line != last {
                        let _ = std::io::stderr().write_all(line.as_bytes());
                        last = line;
                    }
                    stopped = cvar
                        .wait_timeout(stopped, Duration::from_millis(200))
                        .unwrap_or_else(|e| e.into_inner())
                        .0;
                }
                if !last.is_empty() {
                    // Erase the line so the report starts on a clean one.
                    let _ = std::io::stderr().write_all(b"\r\x1b[2K");
                }
            })
        });
        Progress {
            counters,
            stop,
            thread,
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        let (lock, cvar) = &*self.stop;
        *lock.lock().unwrap_or_else(|e| e.into_inner()) = true;
        cvar.notify_all();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
