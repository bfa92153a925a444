//! Shared helpers for seqlink cross-crate tests: the network simulator, a
//! link node for it, a node held up now and then, and the fuzz target bodies.

pub mod bottleneck;
pub mod conn_node;
pub mod fuzz_bodies;
pub mod link_node;
pub mod preempted;
pub mod sim;
