//! Shared pieces of ember's command-line tools.
