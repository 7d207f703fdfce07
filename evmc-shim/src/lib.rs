//! ember as an EVMC ABI 12 VM.
