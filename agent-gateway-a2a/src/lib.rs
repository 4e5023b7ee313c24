//! The A2A front (spec 1.0 and 0.3, JSON-RPC and HTTP+JSON), the agent registry and cards, and task affinity.
//!
//! This crate is being built; nothing is public yet. See the workspace README for its status.
