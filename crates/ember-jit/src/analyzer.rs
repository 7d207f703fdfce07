//! The suitability analyzer: one linear pass over the code decides, before any LLVM work,
//! whether a contract is worth compiling and cannot blow up compile time. A rejected contract
//! runs in the interpreter for good, with the [`Rejection`] kept as the reason.
//!
//! The gates bound compile cost, measured against code shape with the crate's
//! `compile_scaling` example; `--tier jit` and tiered execution apply the same bounds.

use ember_evm::opcodes::{self as op, immediate_size, op_table};
use ember_evm::Revision;
use std::fmt;

/// Thresholds of the analyzer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AnalyzerLimits {
    /// Code shorter than this is not worth compiling (calls into native code cost more than
    /// they save).
    pub min_code_size: usize,
    /// Code longer than this is not compiled (EIP-3860's 48 KiB initcode limit in both tiers).
    pub max_code_size: usize,
    /// Most instructions in the whole contract.
    pub max_instructions: usize,
    /// Most basic blocks.
    pub max_blocks: usize,
    /// Most instructions in one basic block.
    pub max_block_instructions: usize,
    /// Longest run of SHL/SHR/SAR/SIGNEXTEND (DUP, SWAP and PUSH do not break a run): long
    /// chains of 256-bit shifts make LLVM's register allocation super-linear.
    pub max_shift_run: usize,
    /// Most JUMPDESTs per 1000 instructions, checked once there are at least
    /// [`AnalyzerLimits::dense_jumpdest_floor`] of them.
    pub max_jumpdests_per_mille: usize,
    /// How many JUMPDESTs a contract may have before density matters.
    pub dense_jumpdest_floor: usize,
}

impl Default for AnalyzerLimits {
    /// The gates for tiered execution: the cost bounds of [`AnalyzerLimits::compile_everything`]
    /// (both tiers refuse exactly the same code for its compile cost), and tiny contracts
    /// skipped because entering native code costs more than it saves there.
    fn default() -> Self {
        AnalyzerLimits {
            min_code_size: 64,
            ..AnalyzerLimits::compile_everything()
        }
    }
}

impl AnalyzerLimits {
    /// The gates for `--tier jit`: every contract whose compile cost is bounded, however
    /// small. Initcode may be up to 48 KiB (EIP-3860), so the size limit covers it.
    ///
    /// The bounds follow the compiler's measured cost (`compile_scaling` example): emission
    /// grows about linearly in instructions and blocks and super-linearly in the length of
    /// the longest block and of 256-bit shift chains; at these bounds a compile takes a few
    /// seconds at most on one core, in a background worker. Every contract of the
    /// evm-benchmarks main set is inside them.
    pub fn compile_everything() -> Self {
        AnalyzerLimits {
            min_code_size: 0,
            max_code_size: ember_evm::MAX_INITCODE_SIZE,
            max_instructions: 40_000,
            max_blocks: 10_000,
            max_block_instructions: 8_000,
            max_shift_run: 2_000,
            max_jumpdests_per_mille: 500,
            dense_jumpdest_floor: 2_000,
        }
    }
}

/// Why the analyzer keeps a contract in the interpreter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rejection {
    /// Below [`AnalyzerLimits::min_code_size`].
    TooSmall {
        /// Code size in bytes.
        size: usize,
        /// The limit.
        min: usize,
    },
    /// Above [`AnalyzerLimits::max_code_size`].
    TooLarge {
        /// Code size in bytes.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// More reachable instructions than [`AnalyzerLimits::max_instructions`].
    TooManyInstructions {
        /// Reachable instructions.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// More reachable blocks than [`AnalyzerLimits::max_blocks`].
    TooManyBlocks {
        /// Reachable basic blocks.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// A block longer than [`AnalyzerLimits::max_block_instructions`].
    BlockTooLarge {
        /// Instructions in the longest block.
        instructions: usize,
        /// The limit.
        max: usize,
    },
    /// A shift run longer than [`AnalyzerLimits::max_shift_run`].
    LongShiftRun {
        /// Length of the longest run.
        length: usize,
        /// The limit.
        max: usize,
    },
    /// More JUMPDESTs than [`AnalyzerLimits::max_jumpdests_per_mille`] allows.
    DenseJumpdests {
        /// JUMPDESTs in the code.
        jumpdests: usize,
        /// Instructions in the code.
        instructions: usize,
    },
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rejection::TooSmall { size, min } => {
                write!(f, "code of {size} bytes is below the {min}-byte minimum")
            }
            Rejection::TooLarge { size, max } => {
                write!(f, "code of {size} bytes is over the {max}-byte limit")
            }
            Rejection::TooManyInstructions { count, max } => {
                write!(f, "{count} instructions, more than {max}")
            }
            Rejection::TooManyBlocks { count, max } => {
                write!(f, "{count} basic blocks, more than {max}")
            }
            Rejection::BlockTooLarge { instructions, max } => {
                write!(
                    f,
                    "a basic block of {instructions} instructions, more than {max}"
                )
            }
            Rejection::LongShiftRun { length, max } => {
                write!(
                    f,
                    "a run of {length} shift/SIGNEXTEND instructions, more than {max}"
                )
            }
            Rejection::DenseJumpdests {
                jumpdests,
                instructions,
            } => write!(
                f,
                "{jumpdests} JUMPDESTs in {instructions} instructions is too jumpdest-dense"
            ),
        }
    }
}

/// What the pass measured about a contract. Counts cover the blocks the compiler emits:
/// the first, every JUMPDEST, and every block the previous one falls into (code after a
/// terminator that is not a JUMPDEST can never run and costs nothing to compile).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CodeShape {
    /// Code size in bytes.
    pub size: usize,
    /// Reachable instructions.
    pub instructions: usize,
    /// Reachable basic blocks.
    pub blocks: usize,
    /// Instructions in the longest reachable block.
    pub max_block_instructions: usize,
    /// JUMPDESTs anywhere in the code.
    pub jumpdests: usize,
    /// The longest run of SHL/SHR/SAR/SIGNEXTEND in reachable code.
    pub max_shift_run: usize,
}

/// Measures `code` in one pass. Block boundaries follow
/// [`ember_evm::CodeAnalysis::basic_blocks`]: a block starts at pc 0, at every JUMPDEST and
/// after every instruction that ends control flow or is undefined at `rev`.
pub fn measure(code: &[u8], rev: Revision) -> CodeShape {
    let table = op_table(rev);
    let mut s = CodeShape {
        size: code.len(),
        ..CodeShape::default()
    };
    // The current block: its length, and whether it is emitted.
    let mut block_len = 0usize;
    let mut reachable = true;
    let mut prev_terminates = false;
    let mut run = 0usize;
    let mut pc = 0;
    while pc < code.len() {
        let opc = code[pc];
        if opc == op::JUMPDEST {
            s.jumpdests += 1;
        }
        if block_len == 0 {
            // A new block starts here.
            reachable = pc == 0 || opc == op::JUMPDEST || !prev_terminates;
            if reachable {
                s.blocks += 1;
            }
        } else if opc == op::JUMPDEST {
            // A JUMPDEST splits the block; the previous part falls through into it.
            s.blocks += 1;
            block_len = 0;
            reachable = true;
        }
        block_len += 1;
        if reachable {
            s.instructions += 1;
            s.max_block_instructions = s.max_block_instructions.max(block_len);
            match opc {
                op::SHL | op::SHR | op::SAR | op::SIGNEXTEND => {
                    run += 1;
                    s.max_shift_run = s.max_shift_run.max(run);
                }
                op::DUP1..=op::DUP16 | op::SWAP1..=op::SWAP16 | op::PUSH0..=op::PUSH32 => {}
                _ => run = 0,
            }
        }
        let undefined = table[opc as usize].gas < 0;
        let ends = undefined
            || matches!(
                opc,
                op::JUMP
                    | op::JUMPI
                    | op::STOP
                    | op::RETURN
                    | op::REVERT
                    | op::INVALID
                    | op::SELFDESTRUCT
            );
        pc += 1 + immediate_size(opc);
        if ends {
            prev_terminates = opc != op::JUMPI;
            block_len = 0;
        }
    }
    s.blocks = s.blocks.max(1);
    s
}

/// Decides whether `code` should be compiled for `rev` under `limits`.
pub fn analyze(
    code: &[u8],
    rev: Revision,
    limits: &AnalyzerLimits,
) -> Result<CodeShape, Rejection> {
    let size = code.len();
    if size < limits.min_code_size {
        return Err(Rejection::TooSmall {
            size,
            min: limits.min_code_size,
        });
    }
    if size > limits.max_code_size {
        return Err(Rejection::TooLarge {
            size,
            max: limits.max_code_size,
        });
    }
    let s = measure(code, rev);
    if s.instructions > limits.max_instructions {
        return Err(Rejection::TooManyInstructions {
            count: s.instructions,
            max: limits.max_instructions,
        });
    }
    if s.blocks > limits.max_blocks {
        return Err(Rejection::TooManyBlocks {
            count: s.blocks,
            max: limits.max_blocks,
        });
    }
    if s.max_block_instructions > limits.max_block_instructions {
        return Err(Rejection::BlockTooLarge {
            instructions: s.max_block_instructions,
            max: limits.max_block_instructions,
        });
    }
    if s.max_shift_run > limits.max_shift_run {
        return Err(Rejection::LongShiftRun {
            length: s.max_shift_run,
            max: limits.max_shift_run,
        });
    }
    if s.jumpdests >= limits.dense_jumpdest_floor
        && s.jumpdests * 1000 > s.instructions * limits.max_jumpdests_per_mille
    {
        return Err(Rejection::DenseJumpdests {
            jumpdests: s.jumpdests,
            instructions: s.instructions,
        });
    }
    Ok(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ember_evm::CodeAnalysis;

    #[test]
    fn block_count_matches_the_reachable_blocks_of_the_interpreters_analysis() {
        let programs: [&[u8]; 6] = [
            &[],
            &[0x60, 1, 0x60, 9, 0x56, 0xfe, 0x5b, 0x50, 0x00],
            &[0x5b, 0x5b, 0x5b, 0x00, 0x00],
            // PUSH0 undefined at Paris ends a block; trailing truncated PUSH2.
            &[0x5f, 0x60, 0x01, 0x57, 0x61, 0x01],
            &[0x0c, 0x0d, 0x5b, 0x1b, 0x1b],
            // JUMPI falls through; STOP does not.
            &[0x60, 1, 0x60, 0, 0x57, 0x01, 0x00, 0x01, 0x01, 0x5b, 0x00],
        ];
        for code in programs {
            for rev in [Revision::Paris, Revision::Cancun] {
                let blocks = CodeAnalysis::new(code).basic_blocks(rev);
                let reachable: Vec<_> = (0..blocks.len())
                    .filter(|&i| {
                        i == 0
                            || code.get(blocks[i].start) == Some(&0x5b)
                            || !blocks[i - 1].terminates
                    })
                    .collect();
                let s = measure(code, rev);
                assert_eq!(s.blocks, reachable.len(), "{code:02x?} at {rev:?}");
                let instructions: u32 = reachable.iter().map(|&i| blocks[i].instructions).sum();
                let undefined = reachable.iter().filter(|&&i| blocks[i].undefined).count();
                // `BasicBlock::instructions` leaves out a block's final undefined opcode.
                assert_eq!(
                    s.instructions,
                    instructions as usize + undefined,
                    "{code:02x?} at {rev:?}"
                );
            }
        }
        // Everything after the first STOP is dead.
        let dead = [0x00u8; 100];
        assert_eq!(measure(&dead, Revision::Cancun).instructions, 1);
    }

    #[test]
    fn shift_runs_are_not_broken_by_stack_shuffles() {
        // SHL DUP1 SHR SWAP1 PUSH1 1 SAR ADD SHL
        let code = [0x1b, 0x80, 0x1c, 0x90, 0x60, 1, 0x1d, 0x01, 0x1b];
        let s = measure(&code, Revision::Cancun);
        assert_eq!(s.max_shift_run, 3);
        assert_eq!(s.instructions, 8);
    }

    #[test]
    fn each_gate_rejects_with_its_reason() {
        let everything = AnalyzerLimits::compile_everything();
        let tiny = [0x00u8; 10];
        assert_eq!(
            analyze(&tiny, Revision::Cancun, &AnalyzerLimits::default()),
            Err(Rejection::TooSmall { size: 10, min: 64 })
        );
        assert!(analyze(&tiny, Revision::Cancun, &everything).is_ok());

        let big = vec![0x5bu8; everything.max_code_size + 1];
        assert!(matches!(
            analyze(&big, Revision::Cancun, &everything),
            Err(Rejection::TooLarge { .. })
        ));

        let shifts = vec![0x1bu8; 3000];
        assert_eq!(
            analyze(&shifts, Revision::Cancun, &everything),
            Err(Rejection::LongShiftRun {
                length: 3000,
                max: 2000
            })
        );

        let dense: Vec<u8> = [0x5b, 0x5b, 0x50].repeat(2000);
        let r = analyze(&dense, Revision::Cancun, &everything);
        assert_eq!(
            r,
            Err(Rejection::DenseJumpdests {
                jumpdests: 4000,
                instructions: 6000
            })
        );
        assert!(r.unwrap_err().to_string().contains("jumpdest-dense"));

        let limits = AnalyzerLimits {
            max_blocks: 2,
            ..everything.clone()
        };
        let three = [0x5b, 0x5b, 0x5b];
        assert_eq!(
            analyze(&three, Revision::Cancun, &limits),
            Err(Rejection::TooManyBlocks { count: 3, max: 2 })
        );
        let limits = AnalyzerLimits {
            max_block_instructions: 3,
            ..everything.clone()
        };
        assert!(matches!(
            analyze(&[0x01; 4], Revision::Cancun, &limits),
            Err(Rejection::BlockTooLarge {
                instructions: 4,
                ..
            })
        ));
        let limits = AnalyzerLimits {
            max_instructions: 3,
            ..everything
        };
        assert!(matches!(
            analyze(&[0x01; 4], Revision::Cancun, &limits),
            Err(Rejection::TooManyInstructions { count: 4, .. })
        ));
    }
}
