//! The OpenAI and Anthropic fronts, providers, translation between them, and model routing with fallback.
//!
//! This crate is being built; nothing is public yet. See the workspace README for its status.
