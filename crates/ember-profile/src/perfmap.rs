//! Announcing compiled code to Linux `perf` with a perf map file.
//!
//! `perf` looks up addresses in anonymous executable memory of process PID in
//! `/tmp/perf-PID.map`, a text file of lines `START SIZE NAME` (START and SIZE in hex without
//! `0x`, NAME the rest of the line), written by the process itself. With one line per compiled
//! contract version, `perf record` + `perf report` on a process running ember show time in
//! compiled contracts by name ([`symbol_name`]) instead of as unknown addresses. The file is
//! only appended to; entries of freed code stay (perf keeps the last mapping that covers an
//! address, so code placed later at the same address is named by its own, later line).

use ember_evm::{to_hex, B256};
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

/// An open perf map, shared by every thread that publishes code.
#[derive(Debug)]
pub struct PerfMap {
    file: Mutex<File>,
    path: PathBuf,
}

impl PerfMap {
    /// Opens (creating it if needed) `/tmp/perf-PID.map` of this process for appending.
    pub fn open_for_this_process() -> io::Result<PerfMap> {
        PerfMap::open(format!("/tmp/perf-{}.map", std::process::id()))
    }

    /// Opens (creating it if needed) the map file at `path` for appending. On Linux a symbolic
    /// link there is refused (another user could otherwise point a predictable `/tmp` name at
    /// a file of ours).
    pub fn open(path: impl Into<PathBuf>) -> io::Result<PerfMap> {
        let path = path.into();
        let mut options = OpenOptions::new();
        options.create(true).append(true);
        #[cfg(target_os = "linux")]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.custom_flags(libc::O_NOFOLLOW);
        }
        let file = options.open(&path)?;
        Ok(PerfMap {
            file: Mutex::new(file),
            path,
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Announces `len` bytes of code at `start` named `name`: one line, written with one
    /// `write` call while holding the map's lock, so lines from different threads never
    /// interleave. An empty range or a name with a line break is refused.
    pub fn add(&self, start: usize, len: usize, name: &str) -> io::Result<()> {
        if len == 0 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "perf map: empty code range",
            ));
        }
        if name.is_empty() || name.contains(['\n', '\r']) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("perf map: bad symbol name {name:?}"),
            ));
        }
        let line = format!("{start:x} {len:x} {name}\n");
        let mut file = self.file.lock().unwrap_or_else(PoisonError::into_inner);
        file.write_all(line.as_bytes())
    }
}

/// The symbol of one compiled version of a contract: `ember:<first 8 bytes of the code hash
/// in hex>:v<version>`.
pub fn symbol_name(code_hash: &B256, version: u32) -> String {
    format!("ember:{}:v{version}", to_hex(&code_hash.0[..8]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    /// A fresh path in the temporary directory, removed on drop.
    struct TempPath(PathBuf);

    impl TempPath {
        fn new(tag: &str) -> Self {
            let p = std::env::temp_dir().join(format!(
                "ember-profile-{}-{tag}-{}.map",
                std::process::id(),
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_nanos())
            ));
            TempPath(p)
        }
    }

    impl Drop for TempPath {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }

    #[test]
    fn symbol_names_carry_the_hash_prefix_and_version() {
        let mut h = [0u8; 32];
        h[..8].copy_from_slice(&[0xde, 0xad, 0xbe, 0xef, 0x00, 0x01, 0x02, 0x03]);
        h[8] = 0xff;
        assert_eq!(symbol_name(&B256(h), 3), "ember:deadbeef00010203:v3");
    }

    #[test]
    fn lines_are_hex_without_prefix_and_appended() {
        let tmp = TempPath::new("lines");
        std::fs::write(&tmp.0, "1000 10 existing\n").unwrap();
        let map = PerfMap::open(&tmp.0).unwrap();
        assert_eq!(map.path(), tmp.0);
        map.add(0x7f00_dead_0000, 0x1a2b, "ember:0011223344556677:v1")
            .unwrap();
        map.add(0x10, 1, "a name with spaces").unwrap();
        let text = std::fs::read_to_string(&tmp.0).unwrap();
        assert_eq!(
            text,
            "1000 10 existing\n7f00dead0000 1a2b ember:0011223344556677:v1\n10 1 a name with spaces\n"
        );
    }

    #[test]
    fn bad_entries_are_refused_and_write_nothing() {
        let tmp = TempPath::new("bad");
        let map = PerfMap::open(&tmp.0).unwrap();
        for (len, name) in [(0, "x"), (4, "two\nlines"), (4, "cr\r"), (4, "")] {
            let e = map.add(0x1000, len, name).unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::InvalidInput, "{name:?}");
        }
        assert_eq!(std::fs::read_to_string(&tmp.0).unwrap(), "");
    }

    #[test]
    fn threads_write_whole_lines() {
        let tmp = TempPath::new("threads");
        let map = Arc::new(PerfMap::open(&tmp.0).unwrap());
        std::thread::scope(|s| {
            for t in 0..4usize {
                let map = &map;
                s.spawn(move || {
                    for i in 0..500usize {
                        map.add(t << 20 | i << 8, 0x100, &format!("t{t}:{i}"))
                            .unwrap();
                    }
                });
            }
        });
        let text = std::fs::read_to_string(&tmp.0).unwrap();
        let mut seen = std::collections::HashSet::new();
        for line in text.lines() {
            let parts: Vec<&str> = line.split(' ').collect();
            assert_eq!(parts.len(), 3, "{line:?}");
            let start = usize::from_str_radix(parts[0], 16).unwrap();
            assert_eq!(parts[1], "100");
            assert_eq!(
                parts[2],
                format!("t{}:{}", start >> 20, (start >> 8) & 0xfff)
            );
            assert!(seen.insert(start));
        }
        assert_eq!(seen.len(), 2000);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_symbolic_link_is_refused() {
        let target = TempPath::new("target");
        let link = TempPath::new("link");
        std::fs::write(&target.0, "").unwrap();
        std::os::unix::fs::symlink(&target.0, &link.0).unwrap();
        assert!(PerfMap::open(&link.0).is_err());
    }

    #[test]
    fn the_process_map_is_named_by_pid() {
        // Opening creates the file; remove it again unless it was there before.
        let path = PathBuf::from(format!("/tmp/perf-{}.map", std::process::id()));
        let existed = path.exists();
        match PerfMap::open_for_this_process() {
            Ok(map) => assert_eq!(map.path(), path),
            Err(e) => {
                eprintln!("skipped: /tmp is not writable here ({e})");
                return;
            }
        }
        if !existed {
            let _ = std::fs::remove_file(&path);
        }
    }
}
