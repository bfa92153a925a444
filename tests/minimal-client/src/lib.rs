//! Nothing but the dependency: the test (`tests/interop.rs`) drives a
//! seqlink-core client built with no optional feature against the
//! full-featured `full_peer` server of the main workspace.
#![no_std]
