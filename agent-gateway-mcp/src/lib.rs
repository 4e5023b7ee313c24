//! The MCP front (both protocol eras), upstream connectors and federation of many MCP servers behind one endpoint.
//!
//! This crate is being built; nothing is public yet. See the workspace README for its status.
