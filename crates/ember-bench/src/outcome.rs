//! What an engine's run of a case did, in a form every engine's run can be compared in.

use ember_evm::{to_hex, StatusCode};

/// One emitted log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogRecord {
    /// The account that logged.
    pub address: [u8; 20],
    /// The topics.
    pub topics: Vec<[u8; 32]>,
    /// The data.
    pub data: Vec<u8>,
}

/// The observable result of running a case.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// How the call ended, in EVMC terms.
    pub status: StatusCode,
    /// Gas given minus gas left (all of it after an exceptional halt).
    pub gas_used: i64,
    /// The refund counter after a successful call, else 0.
    pub gas_refund: i64,
    /// RETURN or REVERT data.
    pub output: Vec<u8>,
    /// The logs, in order.
    pub logs: Vec<LogRecord>,
    /// Set when the run needed something the harness does not provide (nested calls).
    pub unsupported: Option<String>,
}

/// Shortens hex for a mismatch message: the first and last 32 bytes of long data.
fn short_hex(bytes: &[u8]) -> String {
    if bytes.len() <= 64 {
        format!("0x{}", to_hex(bytes))
    } else {
        format!(
            "0x{}..{} ({} bytes)",
            to_hex(&bytes[..32]),
            to_hex(&bytes[bytes.len() - 32..]),
            bytes.len()
        )
    }
}

/// The fields in which two engines' outcomes differ, as `field: A=… B=…` lines, where `A` and
/// `B` are the engines' names as given with their outcomes.
pub fn differences((a_name, a): (&str, &Outcome), (b_name, b): (&str, &Outcome)) -> Vec<String> {
    let mut out = Vec::new();
    if a.status != b.status {
        out.push(format!(
            "status: {a_name}={} {b_name}={}",
            a.status.name(),
            b.status.name()
        ));
    }
    if a.gas_used != b.gas_used {
        out.push(format!(
            "gas used: {a_name}={} {b_name}={}",
            a.gas_used, b.gas_used
        ));
    }
    if a.gas_refund != b.gas_refund {
        out.push(format!(
            "gas refund: {a_name}={} {b_name}={}",
            a.gas_refund, b.gas_refund
        ));
    }
    if a.output != b.output {
        out.push(format!(
            "output: {a_name}={} {b_name}={}",
            short_hex(&a.output),
            short_hex(&b.output)
        ));
    }
    if a.logs != b.logs {
        out.push(format!(
            "logs: {a_name} has {} log(s), {b_name} has {} (first difference at index {})",
            a.logs.len(),
            b.logs.len(),
            a.logs
                .iter()
                .zip(&b.logs)
                .position(|(x, y)| x != y)
                .unwrap_or(a.logs.len().min(b.logs.len()))
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Outcome {
        Outcome {
            status: StatusCode::Success,
            gas_used: 100,
            gas_refund: 0,
            output: vec![1, 2, 3],
            logs: vec![],
            unsupported: None,
        }
    }

    #[test]
    fn equal_outcomes_have_no_differences() {
        assert!(differences(("interp", &base()), ("revm", &base())).is_empty());
    }

    #[test]
    fn every_field_is_compared() {
        let mut other = base();
        other.status = StatusCode::Revert;
        other.gas_used = 101;
        other.gas_refund = 4800;
        other.output = vec![9; 100];
        other.logs = vec![LogRecord {
            address: [0; 20],
            topics: vec![],
            data: vec![],
        }];
        let d = differences(("jit", &base()), ("interp", &other));
        assert_eq!(d.len(), 5, "{d:?}");
        assert_eq!(d[0], "status: jit=success interp=revert");
        assert_eq!(d[1], "gas used: jit=100 interp=101");
        assert_eq!(d[2], "gas refund: jit=0 interp=4800");
        assert!(d[3].starts_with("output: jit=0x010203 interp=0x0909"));
        assert!(d[3].ends_with("(100 bytes)"));
        assert_eq!(
            d[4],
            "logs: jit has 0 log(s), interp has 1 (first difference at index 0)"
        );
    }
}
