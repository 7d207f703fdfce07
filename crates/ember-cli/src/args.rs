//! A small command-line parser shared by ember's tools: `--name value`, `--name=value`,
//! boolean `--flag`s and positional arguments, with one-line errors for anything else.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

/// An option a tool accepts.
#[derive(Clone, Copy, Debug)]
pub struct Opt {
    /// The spelling, with its dashes (`--gas`, `-j`).
    pub name: &'static str,
    /// Whether it takes a value.
    pub takes_value: bool,
}

/// An option that takes a value.
pub const fn value(name: &'static str) -> Opt {
    Opt {
        name,
        takes_value: true,
    }
}

/// A boolean flag.
pub const fn flag(name: &'static str) -> Opt {
    Opt {
        name,
        takes_value: false,
    }
}

/// A usage error: the message is one line, meant for stderr, and the tool exits with status 2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageError(pub String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// Parsed arguments.
#[derive(Debug, Default)]
pub struct Args {
    values: HashMap<&'static str, Vec<String>>,
    flags: Vec<&'static str>,
    /// Arguments that are not options, in order.
    pub positional: Vec<String>,
}

impl Args {
    /// Parses `argv` (without the program name) against `opts`.
    pub fn parse<I: IntoIterator<Item = String>>(
        argv: I,
        opts: &[Opt],
    ) -> Result<Args, UsageError> {
        let mut args = Args::default();
        let mut it = argv.into_iter();
        while let Some(a) = it.next() {
            if a == "--" {
                args.positional.extend(it.by_ref());
                break;
            }
            if !a.starts_with('-') || a == "-" {
                args.positional.push(a);
                continue;
            }
            let (name, inline) = match a.split_once('=') {
                Some((n, v)) => (n.to_string(), Some(v.to_string())),
                None => (a.clone(), None),
            };
            let opt = opts
                .iter()
                .find(|o| o.name == name)
                .ok_or_else(|| UsageError(format!("unknown option {name}")))?;
            if opt.takes_value {
                let v = match inline {
                    Some(v) => v,
                    None => it
                        .next()
                        .ok_or_else(|| UsageError(format!("{name} needs a value")))?,
                };
                args.values.entry(opt.name).or_default().push(v);
            } else {
                if inline.is_some() {
                    return Err(UsageError(format!("{name} takes no value")));
                }
                args.flags.push(opt.name);
            }
        }
        Ok(args)
    }

    /// Whether a boolean flag was given.
    pub fn flag(&self, name: &str) -> bool {
        self.flags.contains(&name)
    }

    /// The value of an option given at most once.
    pub fn value(&self, name: &str) -> Result<Option<&str>, UsageError> {
        match self.values.get(name).map(Vec::as_slice) {
            None | Some([]) => Ok(None),
            Some([v]) => Ok(Some(v)),
            Some(_) => Err(UsageError(format!("{name} given more than once"))),
        }
    }

    /// Every value of an option that may repeat.
    pub fn values(&self, name: &str) -> &[String] {
        self.values.get(name).map(Vec::as_slice).unwrap_or(&[])
    }

    /// The value of an option parsed as `T`, with a one-line error naming the option.
    pub fn parsed<T: FromStr>(&self, name: &str) -> Result<Option<T>, UsageError> {
        match self.value(name)? {
            None => Ok(None),
            Some(v) => v
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| UsageError(format!("{name}: invalid value {v:?}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPTS: &[Opt] = &[value("--gas"), flag("--json"), value("-j")];

    fn parse(a: &[&str]) -> Result<Args, UsageError> {
        Args::parse(a.iter().map(|s| s.to_string()), OPTS)
    }

    #[test]
    fn values_flags_and_positionals() {
        let a = parse(&["x.json", "--gas=10", "--json", "-j", "4", "--", "--literal"]).unwrap();
        assert_eq!(a.parsed::<u64>("--gas").unwrap(), Some(10));
        assert_eq!(a.parsed::<usize>("-j").unwrap(), Some(4));
        assert!(a.flag("--json"));
        assert_eq!(a.positional, vec!["x.json", "--literal"]);
    }

    #[test]
    fn errors_are_one_line_and_name_the_option() {
        assert_eq!(parse(&["--nope"]).unwrap_err().0, "unknown option --nope");
        assert_eq!(parse(&["--gas"]).unwrap_err().0, "--gas needs a value");
        assert_eq!(parse(&["--json=1"]).unwrap_err().0, "--json takes no value");
        let a = parse(&["--gas", "ten"]).unwrap();
        assert_eq!(
            a.parsed::<u64>("--gas").unwrap_err().0,
            "--gas: invalid value \"ten\""
        );
        let a = parse(&["--gas", "1", "--gas", "2"]).unwrap();
        assert!(a.value("--gas").is_err());
    }
}
