//! The policy layers, written once against agent-gateway-core's seam: auth, authorize, quota, budget, run budget, guardrail and audit.
//!
//! This crate is being built; nothing is public yet. See the workspace README for its status.
