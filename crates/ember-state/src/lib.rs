//! ember-state: an in-memory world state that implements ember's `Host`, full transaction
//! execution for every revision, precompiles, the state root and logs hash, and the
//! state-test file model and runner.
