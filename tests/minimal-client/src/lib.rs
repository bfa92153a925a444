//! Nothing but the dependency: the tests (`tests/interop.rs`,
//! `tests/firmware_echo.rs`) drive a seqlink-core client built with no
//! optional feature against the full-featured `full_peer` server of the
//! main workspace.
#![no_std]
