//! The firmware example's application: a device that keeps a seqlink client
//! connection to a host peer over any UDP stack that implements
//! [`embedded_nal::UdpClientStack`] (smoltcp, W5500, ESP-AT, or `std` on the host).
//!
//! The device connects to the peer, echoes every [`ECHO`] message back
//! unchanged, closes gracefully when the peer sends [`CLOSE`] (and connects
//! again), closes and stops for good on [`STOP`], and reconnects with a
//! growing back-off after any failure. Heartbeats and their answers are the
//! core's: the device only drives its timers.
//!
//! [`SerialStack`] carries the same device over a serial line (COBS frames,
//! no IP stack). [`TinyEchoDevice`] is the same device on the small
//! [`TinyClient`] engine instead of a full `Connection` (see [`Engine`]).
//!
//! Everything is caller-owned and sized at build time: the connection's
//! storage and the datagram and message buffers are slices the caller gives
//! (statics on a firmware), and the queues are `heapless`.
//!
//! ```
//! use seqlink_fw_app::{device_config, Buffers, EchoDevice, Report};
//! use core::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
//!
//! const CONFIG: seqlink_core::ConnectionConfig = device_config();
//! let mut storage = [0u8; CONFIG.storage_len()];
//! let mut tx = [0u8; CONFIG.max_datagram_len()];
//! let mut rx = [0u8; CONFIG.max_datagram_len()];
//! let peer = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::new(10, 0, 2, 2), 7700));
//! let buffers = Buffers { storage: storage.as_mut_slice(), tx: &mut tx, rx: &mut rx };
//! let device = EchoDevice::<std_embedded_nal::Stack>::new(CONFIG, peer, buffers, 42);
//! assert!(device.is_ok());
//! ```
#![no_std]
#![deny(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod device;
mod engine;
mod outbox;
pub mod serial;

pub use device::{Buffers, EchoDevice, Phase, RetryPolicy};
pub use engine::Engine;
pub use outbox::{Outbox, OUTBOX_SLOTS};
pub use serial::{ByteLine, SerialStack};

use seqlink_core::{ConnectionConfig, FailReason, LinkConfig, PacketType, TinyClient, TinyConfig, TinyWindow};

/// A message the device sends back unchanged.
pub const ECHO: PacketType = PacketType(64);
/// The peer asks the device to close gracefully, then connect again.
pub const CLOSE: PacketType = PacketType(65);
/// The peer asks the device to close gracefully and stop.
pub const STOP: PacketType = PacketType(66);

/// Longest message the device echoes (one packet: no fragmentation needed).
pub const MAX_MESSAGE_LEN: usize = 128;

/// The device's connection settings: window 8, payloads of
/// [`MAX_MESSAGE_LEN`], no unreliable or trace slots, a 1 s heartbeat and a
/// 5 s idle timeout (a dead peer is noticed in seconds).
pub const fn device_config() -> ConnectionConfig {
    let mut link = LinkConfig::new().with_window(8).with_max_payload(MAX_MESSAGE_LEN as u16);
    link.unreliable_slots = 0;
    link.trace_slots = 0;
    let mut config = ConnectionConfig::new().with_link(link);
    config.heartbeat_ms = 1_000;
    config.idle_timeout_ms = 5_000;
    config.connect_timeout_ms = 3_000;
    config.close_timeout_ms = 5_000;
    config
}

/// The tiny device's window: as [`device_config`]'s, 8 packets each way.
pub const TINY_WINDOW: usize = 8;

/// The tiny client engine of [`TinyEchoDevice`]: a window of
/// [`TINY_WINDOW`] packets of up to [`MAX_MESSAGE_LEN`] bytes each way (the
/// longest echo fits one packet).
pub type TinyDeviceClient<'a> = TinyClient<'a, TINY_WINDOW, MAX_MESSAGE_LEN>;

/// The window storage a [`TinyEchoDevice`] runs on (a `static` on a firmware).
pub type TinyDeviceWindow = TinyWindow<TINY_WINDOW, MAX_MESSAGE_LEN>;

/// The echo device on the tiny client engine: built with [`tiny_config`]
/// and [`Buffers`] whose storage is a `&mut` [`TinyDeviceWindow`], and
/// datagram buffers of `TinyDeviceClient::MAX_DATAGRAM_LEN` bytes.
pub type TinyEchoDevice<'a, N> = EchoDevice<'a, N, TinyDeviceClient<'a>>;

/// The tiny device's settings: [`device_config`]'s timers (a 1 s heartbeat,
/// a 5 s idle timeout, 3 s to connect, 5 s to close, 2 s of linger).
pub const fn tiny_config() -> TinyConfig {
    let mut config = TinyConfig::new();
    config.heartbeat_ms = 1_000;
    config.idle_timeout_ms = 5_000;
    config.connect_timeout_ms = 3_000;
    config.close_timeout_ms = 5_000;
    config
}

/// What the device tells its owner (to log, or to test), oldest first from
/// [`EchoDevice::poll_report`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Report {
    /// A connection attempt started (the `attempt`-th since the device started, from 1).
    Connecting {
        /// Attempts so far, this one included.
        attempt: u32,
    },
    /// The handshake completed.
    Connected,
    /// The peer asked for a close (`stop`: and for the device to stop).
    CloseRequested {
        /// Whether the device stops after this close.
        stop: bool,
    },
    /// The connection closed gracefully after `echoed` echoes.
    Closed {
        /// Messages echoed on this connection.
        echoed: u32,
    },
    /// The connection failed; the device retries after `retry_in_ms`.
    Failed {
        /// Why.
        reason: FailReason,
        /// Back-off before the next attempt, milliseconds.
        retry_in_ms: u32,
    },
    /// A message could not be echoed (not an echo, or the connection ended
    /// first); it was dropped. A message longer than [`MAX_MESSAGE_LEN`] is
    /// reported with type 0 and its length, and the device aborts that
    /// connection (the peer broke the echo protocol) and connects again.
    Dropped {
        /// Its type.
        ptype: u8,
        /// Its length.
        len: usize,
    },
    /// The socket could not be opened or used; the device retries later.
    SocketError,
    /// The device stopped for good (after a [`STOP`]).
    Stopped,
}
