//! A one-line progress display on stderr for the long runs of the bench binaries: redrawn in
//! place while a terminal watches, absent otherwise, so that logs and CI output stay clean.

use std::fmt::Arguments;
use std::io::{IsTerminal, Write};

/// Erases the current terminal line and returns the cursor to its start.
const ERASE_LINE: &[u8] = b"\r\x1b[2K";

/// A progress line on a writer (stderr in the binaries). Every [`Progress::show`] replaces
/// the line; [`Progress::clear`] (and dropping) erases it, so that whatever is printed next
/// starts on a clean line.
pub struct Progress<W: Write> {
    /// `None` when progress is not shown.
    out: Option<W>,
    /// Whether a line is on screen.
    drawn: bool,
}

impl Progress<std::io::Stderr> {
    /// Progress on stderr, shown only when stderr is a terminal.
    pub fn stderr() -> Self {
        let err = std::io::stderr();
        let shown = err.is_terminal();
        Progress::to(shown.then_some(err))
    }
}

impl<W: Write> Progress<W> {
    /// Progress written to `out`, or nowhere when `out` is `None`.
    pub fn to(out: Option<W>) -> Self {
        Progress { out, drawn: false }
    }

    /// Replaces the progress line with `line`.
    pub fn show(&mut self, line: Arguments<'_>) {
        if let Some(out) = &mut self.out {
            // A closed or failing stderr only loses the display.
            let _ = out.write_all(ERASE_LINE);
            let _ = out.write_fmt(line);
            let _ = out.flush();
            self.drawn = true;
        }
    }

    /// Erases the progress line, if one is shown.
    pub fn clear(&mut self) {
        if let (Some(out), true) = (&mut self.out, self.drawn) {
            let _ = out.write_all(ERASE_LINE);
            let _ = out.flush();
            self.drawn = false;
        }
    }
}

impl<W: Write> Drop for Progress<W> {
    fn drop(&mut self) {
        self.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shown_lines_replace_each_other_and_are_erased_at_the_end() {
        let mut buf = Vec::new();
        {
            let mut p = Progress::to(Some(&mut buf));
            p.show(format_args!("[1/2] a"));
            p.show(format_args!("[2/2] b"));
        }
        assert_eq!(buf, b"\r\x1b[2K[1/2] a\r\x1b[2K[2/2] b\r\x1b[2K");
    }

    #[test]
    fn clearing_twice_or_with_nothing_shown_writes_nothing_more() {
        let mut buf = Vec::new();
        {
            let mut p = Progress::to(Some(&mut buf));
            p.clear();
            p.show(format_args!("x"));
            p.clear();
            p.clear();
        }
        assert_eq!(buf, b"\r\x1b[2Kx\r\x1b[2K");
    }

    #[test]
    fn hidden_progress_writes_nothing() {
        let mut p: Progress<Vec<u8>> = Progress::to(None);
        p.show(format_args!("x"));
        p.clear();
        assert!(p.out.is_none() && !p.drawn);
    }
}
