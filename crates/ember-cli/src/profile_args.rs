//! The profiler's options, shared by `evm-run` and `evm-statetest`: `--profile` (the text
//! table), `--profile-json FILE`, `--profile-trace FILE` (Chrome trace-event JSON, for
//! Perfetto or chrome://tracing) and `--profile-svg FILE` (the timeline as a picture). The two
//! timeline files need the runtime's timeline, which the options switch on. They report
//! ember's own runtime, so they exclude the tool's `--vm` option (whose id must be `vm`).

use clap::Args;
use ember_runtime::{ProfileReport, RuntimeConfig};
use std::path::PathBuf;

/// What the profiler options ask for.
#[derive(Args, Clone, Debug, Default, PartialEq, Eq)]
#[group(id = "profiling", multiple = true)]
#[command(next_help_heading = "Profiling")]
pub struct ProfileOptions {
    /// Print the profiler's table: time per contract and tier, compile time, side exits,
    /// versions
    #[arg(id = "profile", long = "profile", conflicts_with = "vm")]
    pub table: bool,
    /// Write the profiler's report as JSON
    #[arg(
        id = "profile-json",
        long = "profile-json",
        value_name = "FILE",
        conflicts_with = "vm"
    )]
    pub json: Option<PathBuf>,
    /// Write the timeline of tier transitions, tier events and compile jobs as a Chrome
    /// trace-event file (Perfetto, chrome://tracing)
    #[arg(
        id = "profile-trace",
        long = "profile-trace",
        value_name = "FILE",
        conflicts_with = "vm"
    )]
    pub trace: Option<PathBuf>,
    /// Write the same timeline as an SVG picture
    #[arg(
        id = "profile-svg",
        long = "profile-svg",
        value_name = "FILE",
        conflicts_with = "vm"
    )]
    pub svg: Option<PathBuf>,
}

impl ProfileOptions {
    /// Whether any profiler output was asked for (for "excludes --vm" errors).
    pub fn any(&self) -> bool {
        self.table || self.json.is_some() || self.trace.is_some() || self.svg.is_some()
    }

    /// Switches the runtime's timeline on when a timeline file is asked for.
    pub fn configure(&self, config: &mut RuntimeConfig) {
        if self.trace.is_some() || self.svg.is_some() {
            config
                .set("profile.timeline", "1")
                .expect("a valid setting");
        }
    }

    /// Writes the files asked for; the first failure is returned as a one-line message.
    pub fn write_files(&self, report: &ProfileReport) -> Result<(), String> {
        let write = |path: &Option<PathBuf>, flag: &str, text: String| match path {
            Some(p) => std::fs::write(p, text).map_err(|e| format!("{flag} {}: {e}", p.display())),
            None => Ok(()),
        };
        write(&self.json, "--profile-json", report.to_json().to_string())?;
        write(
            &self.trace,
            "--profile-trace",
            report.to_chrome_trace().to_string(),
        )?;
        write(&self.svg, "--profile-svg", report.to_svg())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        profile: ProfileOptions,
        #[arg(long)]
        vm: Option<String>,
    }

    fn parse(a: &[&str]) -> ProfileOptions {
        Cli::parse_from(std::iter::once("t").chain(a.iter().copied())).profile
    }

    #[test]
    fn options_and_the_timeline_they_need() {
        assert!(!parse(&[]).any());
        let table = parse(&["--profile"]);
        assert!(table.any() && table.table);
        let mut c = RuntimeConfig::default();
        table.configure(&mut c);
        assert!(!c.timeline(), "the table needs no timeline");
        let files = parse(&["--profile-trace", "t.json", "--profile-svg=t.svg"]);
        assert_eq!(files.trace, Some(PathBuf::from("t.json")));
        assert_eq!(files.svg, Some(PathBuf::from("t.svg")));
        files.configure(&mut c);
        assert!(c.timeline());
        assert_eq!(
            parse(&["--profile-json", "p.json"]).json,
            Some(PathBuf::from("p.json"))
        );
    }

    #[test]
    fn unwritable_files_are_one_line_errors() {
        let o = parse(&["--profile-svg", "/nonexistent-dir/x.svg"]);
        let e = o.write_files(&ProfileReport::default()).unwrap_err();
        assert!(
            e.starts_with("--profile-svg /nonexistent-dir/x.svg: "),
            "{e}"
        );
    }
}
