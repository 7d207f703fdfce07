//! The settings of an ember VM instance, changed through EVMC's `set_option`.
//!
//! Known options:
//!
//! | name | values | meaning |
//! |---|---|---|
//! | `tier` | `interp` | run every frame in the interpreter |
//!
//! The JIT tiers `jit` and `auto` are recognised but refused (`INVALID_VALUE`) until the
//! runtime with the compiled tiers lands; the JIT thresholds and profiler settings will be
//! added here then. Options are set through `&self` (EVMC allows `set_option` on a VM that
//! other threads are using), so each new setting is an atomic or sits behind a lock.

use std::fmt;

/// An execution tier, as named by the `tier` option.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tier {
    /// The interpreter only.
    Interp,
    /// Compile every contract to native code.
    Jit,
    /// Interpret, and compile contracts the profiler finds hot.
    Auto,
}

impl Tier {
    /// The tier with this option value (`interp`, `jit`, `auto`).
    pub fn from_name(name: &str) -> Option<Tier> {
        match name {
            "interp" => Some(Tier::Interp),
            "jit" => Some(Tier::Jit),
            "auto" => Some(Tier::Auto),
            _ => None,
        }
    }

    /// Whether this build can run the tier.
    pub fn is_available(self) -> bool {
        self == Tier::Interp
    }
}

/// Why `set_option` refused an option.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OptionError {
    /// No option has this name (`EVMC_SET_OPTION_INVALID_NAME`).
    UnknownName(String),
    /// The option exists but the value is not valid for it (`EVMC_SET_OPTION_INVALID_VALUE`).
    InvalidValue {
        name: String,
        value: String,
        reason: &'static str,
    },
}

impl fmt::Display for OptionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OptionError::UnknownName(name) => write!(f, "unknown option {name:?}"),
            OptionError::InvalidValue {
                name,
                value,
                reason,
            } => {
                write!(f, "invalid value {value:?} for option {name:?}: {reason}")
            }
        }
    }
}

impl std::error::Error for OptionError {}

/// The settings of one VM instance. It has no state yet: the only accepted setting,
/// `tier=interp`, is what the VM does anyway.
#[derive(Debug, Default)]
pub struct Options {}

impl Options {
    /// Applies one `name=value` option.
    pub fn set(&self, name: &str, value: &str) -> Result<(), OptionError> {
        match name {
            "tier" => {
                let invalid = |reason| OptionError::InvalidValue {
                    name: name.to_owned(),
                    value: value.to_owned(),
                    reason,
                };
                let tier = Tier::from_name(value).ok_or(invalid("expected interp, jit or auto"))?;
                if tier.is_available() {
                    Ok(())
                } else {
                    Err(invalid("the JIT tiers are not available in this build yet"))
                }
            }
            _ => Err(OptionError::UnknownName(name.to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tier_option() {
        let o = Options::default();
        assert_eq!(o.set("tier", "interp"), Ok(()));
        for v in ["jit", "auto", "", "Interp", "fast"] {
            assert!(
                matches!(o.set("tier", v), Err(OptionError::InvalidValue { .. })),
                "tier={v}"
            );
        }
    }

    #[test]
    fn unknown_option() {
        let o = Options::default();
        assert_eq!(
            o.set("verbose", "1"),
            Err(OptionError::UnknownName("verbose".into()))
        );
        assert_eq!(o.set("", ""), Err(OptionError::UnknownName(String::new())));
    }

    #[test]
    fn errors_explain_themselves() {
        let e = Options::default().set("tier", "jit").unwrap_err();
        assert!(e.to_string().contains("not available"), "{e}");
    }
}
