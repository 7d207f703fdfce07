//! The profiler's options, shared by `evm-run` and `evm-statetest`: `--profile` (the text
//! table), `--profile-json FILE`, `--profile-trace FILE` (Chrome trace-event JSON, for
//! Perfetto or chrome://tracing) and `--profile-svg FILE` (the timeline as a picture). The two
//! timeline files need the runtime's timeline, which the options switch on.

use crate::args::{flag, value, Args, Opt, UsageError};
use ember_runtime::{ProfileReport, RuntimeConfig};
use std::path::PathBuf;

/// The profiler options, for [`Args::parse`].
pub const PROFILE_OPTS: &[Opt] = &[
    flag("--profile"),
    value("--profile-json"),
    value("--profile-trace"),
    value("--profile-svg"),
];

/// Help text for the profiler options (each line indented by two spaces).
pub const PROFILE_HELP: &str = "\
  --profile              print the profiler's table: time per contract and tier, compile
                         time, side exits, versions
  --profile-json FILE    write the profiler's report as JSON
  --profile-trace FILE   write the timeline of tier transitions, tier events and compile jobs
                         as a Chrome trace-event file (Perfetto, chrome://tracing)
  --profile-svg FILE     write the same timeline as an SVG picture";

/// What the profiler options ask for.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProfileOptions {
    /// Print the text table.
    pub table: bool,
    pub json: Option<PathBuf>,
    pub trace: Option<PathBuf>,
    pub svg: Option<PathBuf>,
}

impl ProfileOptions {
    /// The options given in `args`.
    pub fn from_args(args: &Args) -> Result<ProfileOptions, UsageError> {
        let path = |name: &str| -> Result<Option<PathBuf>, UsageError> {
            Ok(args.value(name)?.map(PathBuf::from))
        };
        Ok(ProfileOptions {
            table: args.flag("--profile"),
            json: path("--profile-json")?,
            trace: path("--profile-trace")?,
            svg: path("--profile-svg")?,
        })
    }

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

    fn parse(a: &[&str]) -> ProfileOptions {
        let args = Args::parse(a.iter().map(|s| s.to_string()), PROFILE_OPTS).unwrap();
        ProfileOptions::from_args(&args).unwrap()
    }

    #[test]
    fn options_and_the_timeline_they_need() {
        assert!(!parse(&[]).any());
        let table = parse(&["--profile"]);
        assert!(table.any() && table.table);
        let mut c = RuntimeConfig::default();
        table.configure(&mut c);
        assert!(!c.timeline(), "the table needs no timeline");
        let files = parse(&["--profile-trace", "t.json", "--profile-svg", "t.svg"]);
        assert_eq!(files.trace, Some(PathBuf::from("t.json")));
        files.configure(&mut c);
        assert!(c.timeline());
        for (flag, _) in [
            ("--profile-json", 0),
            ("--profile-trace", 0),
            ("--profile-svg", 0),
        ] {
            assert!(PROFILE_HELP.contains(flag));
        }
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
