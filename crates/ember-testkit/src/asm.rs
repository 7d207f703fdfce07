//! A small assembler, so test programs are written as readable mnemonics.

use ember_evm::U256;
use std::collections::HashMap;

/// Assembles whitespace-separated mnemonics into bytecode, for readable tests.
///
/// `PUSHn x` takes a decimal or `0x` hex immediate (any width up to n bytes); `:name` emits a
/// JUMPDEST and names its pc; `&name` emits `PUSH2 <pc of name>`; `0x..` alone emits raw
/// bytes.
pub fn assemble(src: &str) -> Result<Vec<u8>, String> {
    assemble_labelled(src).map(|(code, _)| code)
}

/// Assembles like [`assemble`] and also returns the pc of every `:name` label.
pub fn assemble_labelled(src: &str) -> Result<(Vec<u8>, HashMap<String, usize>), String> {
    let ops: HashMap<&str, u8> = (0..=255u8)
        .filter_map(|op| ember_evm::opcodes::name(op).map(|n| (n, op)))
        .collect();
    let mut labels = HashMap::new();
    let mut code = Vec::new();
    let mut fixups = Vec::new();
    let mut tokens = src.split_whitespace();
    while let Some(tok) = tokens.next() {
        if let Some(name) = tok.strip_prefix(':') {
            if labels.insert(name, code.len()).is_some() {
                return Err(format!("label {name} defined twice"));
            }
            code.push(ember_evm::opcodes::JUMPDEST);
        } else if let Some(name) = tok.strip_prefix('&') {
            code.push(ember_evm::opcodes::PUSH2);
            fixups.push((code.len(), name));
            code.extend_from_slice(&[0, 0]);
        } else if let Some(hex) = tok.strip_prefix("0x") {
            code.extend(ember_evm::parse_hex(hex).map_err(|e| format!("{tok}: {e}"))?);
        } else {
            let op = *ops
                .get(tok.to_ascii_uppercase().as_str())
                .ok_or_else(|| format!("unknown mnemonic {tok}"))?;
            code.push(op);
            let n = ember_evm::opcodes::immediate_size(op);
            if n > 0 {
                let imm = tokens
                    .next()
                    .ok_or_else(|| format!("{tok} needs an immediate"))?;
                let v = match imm.strip_prefix("0x") {
                    Some(h) => U256::from_str_radix(h, 16),
                    None => U256::from_str_radix(imm, 10),
                }
                .map_err(|e| format!("{imm}: {e}"))?;
                if v.bit_len() > 8 * n {
                    return Err(format!("{imm} does not fit {tok}"));
                }
                code.extend_from_slice(&v.to_be_bytes::<32>()[32 - n..]);
            }
        }
    }
    for (at, name) in fixups {
        let pc = *labels
            .get(name)
            .ok_or_else(|| format!("undefined label {name}"))?;
        let pc = u16::try_from(pc).map_err(|_| format!("label {name} beyond 64 KiB"))?;
        code[at..at + 2].copy_from_slice(&pc.to_be_bytes());
    }
    let labels = labels
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    Ok((code, labels))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assembler_encodes_pushes_labels_and_raw_bytes() {
        let code = assemble("PUSH1 0x20 &end JUMP 0xfe :end push2 258 STOP").unwrap();
        assert_eq!(
            code,
            [0x60, 0x20, 0x61, 0, 7, 0x56, 0xfe, 0x5b, 0x61, 1, 2, 0x00]
        );
        assert!(assemble("PUSH1 256").is_err());
        assert!(assemble("&nowhere").is_err());
        assert!(assemble("FROB").is_err());
        assert!(assemble("PUSH1").is_err());
        assert!(assemble(":a :a").is_err());
        let (_, labels) = assemble_labelled("PUSH1 1 :a STOP :b").unwrap();
        assert_eq!((labels["a"], labels["b"]), (2, 4));
    }
}
