//! What a [`super::TinyClient`] proposes and how long it waits.

use crate::rtt::Timing;

/// A tiny client's settings. The window and the maximum payload are the
/// client's const generics (`W`, `P`): they size its [`super::TinyWindow`]
/// and are what it proposes in the handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct TinyConfig {
    /// Retransmission timers and the retry limit (`docs/PROTOCOL.md` 6.6);
    /// `fast_resend` and `nack_interval` are not used (the client keeps them as 0).
    pub timing: Timing,
    /// Heartbeat interval when idle, milliseconds, proposed (0: no preference).
    pub heartbeat_ms: u32,
    /// Silence after which the connection fails, milliseconds, proposed (0: no preference).
    pub idle_timeout_ms: u32,
    /// Time the handshake may take, milliseconds.
    pub connect_timeout_ms: u32,
    /// Time a graceful close may take, milliseconds.
    pub close_timeout_ms: u32,
    /// Time a closed connection keeps acknowledging late duplicates, milliseconds.
    pub linger_ms: u32,
}

impl TinyConfig {
    /// The defaults of `ConnectionConfig::new()`: the low-latency timers,
    /// heartbeats every 1 s, a 10 s idle timeout, 10 s to connect, 30 s to
    /// close, 2 s of linger.
    pub const fn new() -> TinyConfig {
        TinyConfig {
            timing: Timing::low_latency(),
            heartbeat_ms: 1_000,
            idle_timeout_ms: 10_000,
            connect_timeout_ms: 10_000,
            close_timeout_ms: 30_000,
            linger_ms: 2_000,
        }
    }
}

impl Default for TinyConfig {
    fn default() -> TinyConfig {
        TinyConfig::new()
    }
}
