//! What an engine's run of a case did, in a form both engines can be compared in.

use ember_evm::{to_hex, StatusCode};

/// One emitted log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogRecord {
    pub address: [u8; 20],
    pub topics: Vec<[u8; 32]>,
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

/// The fields in which `ember` and `revm` differ, as `field: ember=… revm=…` lines.
pub fn differences(ember: &Outcome, revm: &Outcome) -> Vec<String> {
    let mut out = Vec::new();
    if ember.status != revm.status {
        out.push(format!(
            "status: ember={} revm={}",
            ember.status.name(),
            revm.status.name()
        ));
    }
    if ember.gas_used != revm.gas_used {
        out.push(format!(
            "gas used: ember={} revm={}",
            ember.gas_used, revm.gas_used
        ));
    }
    if ember.gas_refund != revm.gas_refund {
        out.push(format!(
            "gas refund: ember={} revm={}",
            ember.gas_refund, revm.gas_refund
        ));
    }
    if ember.output != revm.output {
        out.push(format!(
            "output: ember={} revm={}",
            short_hex(&ember.output),
            short_hex(&revm.output)
        ));
    }
    if ember.logs != revm.logs {
        out.push(format!(
            "logs: ember has {} log(s), revm has {} (first difference at index {})",
            ember.logs.len(),
            revm.logs.len(),
            ember
                .logs
                .iter()
                .zip(&revm.logs)
                .position(|(a, b)| a != b)
                .unwrap_or(ember.logs.len().min(revm.logs.len()))
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
        assert!(differences(&base(), &base()).is_empty());
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
        let d = differences(&base(), &other);
        assert_eq!(d.len(), 5, "{d:?}");
        assert_eq!(d[0], "status: ember=success revm=revert");
        assert_eq!(d[1], "gas used: ember=100 revm=101");
        assert_eq!(d[2], "gas refund: ember=0 revm=4800");
        assert!(d[3].starts_with("output: ember=0x010203 revm=0x0909"));
        assert!(d[3].ends_with("(100 bytes)"));
        assert_eq!(
            d[4],
            "logs: ember has 0 log(s), revm has 1 (first difference at index 0)"
        );
    }
}
