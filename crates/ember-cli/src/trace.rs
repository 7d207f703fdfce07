//! EIP-3155 instruction traces: one JSON object per executed instruction, in the format geth's
//! and evmone's tracers print, so traces can be diffed against theirs.

use ember_evm::{opcodes, to_hex, ExecResult, StatusCode, TraceStep, Tracer};
use std::fmt::Write as _;
use std::io::Write;

/// Writes EIP-3155 lines to a writer (usually stderr).
///
/// A step's line is held back until the next step or the end of its frame, so that the
/// instruction that failed a frame carries the `error` field.
pub struct Eip3155Tracer<W: Write> {
    out: W,
    pending: Option<String>,
}

impl<W: Write> Eip3155Tracer<W> {
    /// A tracer writing to `out`.
    pub fn new(out: W) -> Self {
        Eip3155Tracer { out, pending: None }
    }

    fn flush_pending(&mut self, error: Option<StatusCode>) {
        if let Some(mut line) = self.pending.take() {
            if let Some(e) = error {
                let _ = write!(line, ",\"error\":\"{}\"", e.name());
            }
            line.push('}');
            // A broken pipe on stderr must not stop execution; the trace is best effort.
            let _ = writeln!(self.out, "{line}");
        }
    }

    /// Writes the closing summary line: output, gas used and the error, if any.
    pub fn summary(&mut self, output: &[u8], gas_used: u64, status: StatusCode) {
        self.flush_pending(None);
        let mut line = format!(
            "{{\"output\":\"{}\",\"gasUsed\":\"0x{gas_used:x}\"",
            to_hex(output)
        );
        if status != StatusCode::Success {
            let _ = write!(line, ",\"error\":\"{}\"", status.name());
        }
        line.push('}');
        let _ = writeln!(self.out, "{line}");
        let _ = self.out.flush();
    }

    /// Writes the case's final line, the state root after the transaction (the pre-state root
    /// if it was rejected), as `{"stateRoot": "0x…"}` like geth's `evm statetest` and evmone,
    /// which differential tools (goevmlab) read to compare engines.
    pub fn state_root(&mut self, root: &impl std::fmt::Display) {
        self.flush_pending(None);
        let _ = writeln!(self.out, "{{\"stateRoot\": \"{root}\"}}");
        let _ = self.out.flush();
    }

    /// Flushes any held-back line and gives back the writer.
    pub fn into_inner(mut self) -> W {
        self.flush_pending(None);
        let _ = self.out.flush();
        self.out
    }
}

impl<W: Write> Tracer for Eip3155Tracer<W> {
    fn step(&mut self, s: &TraceStep<'_>) {
        self.flush_pending(None);
        let mut line = String::with_capacity(128 + s.stack.len() * 20);
        let _ = write!(
            line,
            "{{\"pc\":{},\"op\":{},\"gas\":\"0x{:x}\",\"gasCost\":\"0x{:x}\",\"memSize\":{},\"stack\":[",
            s.pc, s.op, s.gas, s.gas_cost, s.mem_size
        );
        for (i, v) in s.stack.iter().enumerate() {
            if i > 0 {
                line.push(',');
            }
            let _ = write!(line, "\"{v:#x}\"");
        }
        let _ = write!(
            line,
            "],\"depth\":{},\"refund\":{},\"opName\":\"{}\"",
            s.depth + 1,
            s.refund,
            opcodes::display_name(s.op)
        );
        self.pending = Some(line);
    }

    fn frame_end(&mut self, _depth: i32, _gas_limit: i64, result: &ExecResult) {
        let failed = !matches!(result.status, StatusCode::Success | StatusCode::Revert);
        self.flush_pending(failed.then_some(result.status));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ember_evm::{ExecResult, U256};

    fn step<'a>(pc: usize, op: u8, gas: i64, stack: &'a [U256]) -> TraceStep<'a> {
        TraceStep {
            pc,
            op,
            gas,
            gas_cost: 3,
            mem_size: 0,
            stack,
            return_data: &[],
            depth: 0,
            refund: 0,
        }
    }

    #[test]
    fn lines_follow_eip3155_and_the_failing_step_carries_the_error() {
        let mut t = Eip3155Tracer::new(Vec::new());
        t.step(&step(0, 0x60, 100, &[]));
        t.step(&step(2, 0x01, 97, &[U256::from(42)]));
        t.frame_end(0, 100, &ExecResult::failure(StatusCode::StackUnderflow));
        t.summary(&[0xab], 100, StatusCode::StackUnderflow);
        let text = String::from_utf8(t.into_inner()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            r#"{"pc":0,"op":96,"gas":"0x64","gasCost":"0x3","memSize":0,"stack":[],"depth":1,"refund":0,"opName":"PUSH1"}"#
        );
        assert_eq!(
            lines[1],
            r#"{"pc":2,"op":1,"gas":"0x61","gasCost":"0x3","memSize":0,"stack":["0x2a"],"depth":1,"refund":0,"opName":"ADD","error":"stack underflow"}"#
        );
        assert_eq!(
            lines[2],
            r#"{"output":"ab","gasUsed":"0x64","error":"stack underflow"}"#
        );
        assert_eq!(lines.len(), 3);
    }
}
