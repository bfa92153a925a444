//! Shared helpers for seqlink cross-crate tests: the network simulator, a
//! link node for it, and the fuzz target bodies.

pub mod bottleneck;
pub mod conn_node;
pub mod fuzz_bodies;
pub mod link_node;
pub mod sim;
