//! Shared pieces of ember's command-line tools `evm-run` and `evm-statetest`.

pub mod profile_args;
pub mod runtime_args;
pub mod trace;

use clap::error::ErrorKind;
use clap::Parser;

/// Exit status of a usage error.
pub const EXIT_USAGE: u8 = 2;

/// Parses the process's arguments as `T`. `--help` and `--version` print and exit with status
/// 0; a usage error prints one line naming the option (`TOOL: ...; try --help`) and exits
/// with [`EXIT_USAGE`].
pub fn parse_command_line<T: Parser>(tool: &str) -> T {
    match T::try_parse() {
        Ok(t) => t,
        Err(e) => exit_on(tool, e),
    }
}

/// Prints `e` as [`parse_command_line`] does and exits.
pub fn exit_on(tool: &str, e: clap::Error) -> ! {
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            // A closed stdout leaves nothing better to do.
            let _ = e.print();
            std::process::exit(0)
        }
        _ => {
            eprintln!("{tool}: {}", one_line(&e));
            std::process::exit(i32::from(EXIT_USAGE))
        }
    }
}

/// A clap error as one line: its message up to the first blank line (which ends the part
/// naming the option; the usage and tips follow), lines joined, and a pointer to `--help`.
pub fn one_line(e: &clap::Error) -> String {
    let text = e.render().to_string();
    let message: Vec<&str> = text
        .lines()
        .take_while(|l| !l.trim().is_empty())
        .map(str::trim)
        .collect();
    let message = message.join(" ");
    let message = message.strip_prefix("error: ").unwrap_or(&message);
    format!("{message}; try --help")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Parser, Debug)]
    struct Cli {
        #[arg(long)]
        gas: Option<u64>,
        #[arg(long)]
        json: bool,
        #[arg(required = true)]
        paths: Vec<String>,
    }

    fn error(args: &[&str]) -> String {
        let e = Cli::try_parse_from(std::iter::once("t").chain(args.iter().copied())).unwrap_err();
        one_line(&e)
    }

    #[test]
    fn errors_are_one_line_and_name_the_option() {
        for (args, option) in [
            (&["--nope", "x"][..], "--nope"),
            (&["--gas"], "--gas"),
            (&["--gas", "ten", "x"], "--gas"),
            (&["--json=1", "x"], "--json"),
            (&["--gas", "1", "--gas", "2", "x"], "--gas"),
            (&[], "<PATHS>"),
        ] {
            let line = error(args);
            assert!(!line.contains('\n'), "{line}");
            assert!(line.contains(option), "{args:?}: {line}");
            assert!(line.ends_with("; try --help"), "{line}");
        }
    }
}
