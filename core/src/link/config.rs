//! Link configuration and the layout of the storage the caller provides.

use crate::congestion::CongestionControl;
use crate::event::TRACE_RECORD_LEN;
use crate::integrity::Integrity;
use crate::rtt::Timing;
use crate::seq::Seq;
use crate::wire::data::{EXTENDED_MIN_LEN, FRAGMENT_HEADER_LEN};
use crate::wire::Codec;

/// The largest send or receive window, in packets (the SACK bitmap covers it).
pub const MAX_WINDOW: u16 = 256;
/// The windows of [`LinkConfig::new`], in packets: 256 x 1200 B is about
/// 300 kB in flight, 15 MB/s at 20 ms RTT or 6 MB/s at 50 ms.
pub const DEFAULT_WINDOW: u16 = 256;
/// [`LinkConfig::redundancy`] of [`LinkConfig::new`]: each datagram of a
/// thin stream carries the packet before it again (`docs/BENCHMARKS.md`).
pub(crate) const DEFAULT_REDUNDANCY: u8 = 1;
/// The smallest maximum payload a link accepts: room for the extended data
/// header, a fragment header and a useful amount of data.
pub const MIN_PAYLOAD: u16 = 64;

/// Fast retransmissions (SACK- or NACK-driven) of one packet at most; its
/// retransmission timer still resends it after that.
#[cfg(feature = "fast-recovery")]
pub(crate) const MAX_FAST_RESENDS: u8 = 5;
/// Bytes of per-slot bookkeeping in the send window: the base, then (with
/// `fast-recovery`) 6 bytes of fast retransmit bookkeeping.
pub(crate) const SEND_META_LEN: usize = SEND_META_BASE_LEN + if cfg!(feature = "fast-recovery") { 6 } else { 0 };
/// Bytes of send slot bookkeeping every build keeps.
pub(crate) const SEND_META_BASE_LEN: usize = 18;
/// Bytes of per-slot bookkeeping in the receive window.
pub(crate) const RECV_META_LEN: usize = 10;
/// Bytes of per-slot bookkeeping in the unreliable queues.
pub(crate) const UNRELIABLE_META_LEN: usize = 4;

/// Everything a link needs to know, chosen at run time.
///
/// ```
/// use seqlink_core::link::LinkConfig;
/// let config = LinkConfig::new().with_window(32).with_max_payload(1200);
/// assert!(config.validate().is_ok());
/// // the bytes of storage the caller provides for it
/// assert!(config.storage_len() > 2 * 32 * 1200);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct LinkConfig {
    /// Largest packet payload, both directions (`MIN_PAYLOAD..=65535`).
    pub max_payload: u16,
    /// Packets this side keeps unacknowledged or queued (1..=256; 1 is stop-and-wait).
    pub send_window: u16,
    /// Packets this side buffers for reordering and unread delivery (1..=256).
    pub recv_window: u16,
    /// The peer's receive window assumed until its first acknowledgement.
    pub peer_recv_window: u16,
    /// Unreliable messages queued each way (0 disables unreliable delivery).
    pub unreliable_slots: u8,
    /// Packet trace records kept until read with `poll_trace` (0: no tracing).
    pub trace_slots: u16,
    /// Retransmission and acknowledgement timing.
    pub timing: Timing,
    /// The congestion controller: loss-tolerant (with pacing) by default, NewReno, or off
    /// (fixed-rate links, like KCP's `nc`). Taken as off without the
    /// `congestion` feature.
    pub congestion_control: CongestionControl,
    /// Retransmissions, NACKs and the retransmission timer (on by default;
    /// off over a reliable byte stream such as TCP, where nothing is lost).
    pub retransmit: bool,
    /// Coalesced datagrams (`docs/PROTOCOL.md` 4.1), both ways: data
    /// packets already queued ride in the datagram of the packet before
    /// them, up to [`LinkConfig::max_datagram_len`], and a datagram may
    /// carry several packets. Both sides must agree: off in
    /// [`LinkConfig::new`]; a connection sets it from its handshake (both
    /// sides offer it over datagrams, whatever this field says). Taken as
    /// off without the `coalescing` feature: one packet per datagram both
    /// ways, and a datagram longer than its packet is `LengthMismatch`.
    pub coalesce: bool,
    /// With `coalesce`, the longest new data may wait to share a datagram,
    /// ms (0, the default: only what is queued when a datagram goes out is
    /// packed). This side's choice; nothing of it is on the wire. Taken as
    /// 0 without the `coalescing` feature.
    pub coalesce_wait_ms: u16,
    /// With `coalesce`, how many earlier packets a datagram that carries
    /// new reliable data may carry again as copies when it has room left
    /// (redundant bundling, `docs/PROTOCOL.md` 6.8.1): a lost datagram of a
    /// thin stream is then repaired by the next one instead of a resend
    /// one RTT later. 0 turns it off. This side's choice; a receiver takes
    /// the copies as duplicates. Taken as 0 without the `coalescing` feature.
    pub redundancy: u8,
    /// Integrity check of every packet.
    pub integrity: Integrity,
    /// Value folded into every check but never sent (the connection id).
    pub pseudo_header: u32,
    /// Sequence number of this side's first reliable packet.
    pub initial_send_seq: Seq,
    /// Sequence number of the peer's first reliable packet.
    pub initial_recv_seq: Seq,
}

/// Why a configuration or storage was refused.
///
/// Each kind has a stable [`code`](ConfigError::code) (40..=59, see
/// [`crate::describe`]) and a constant description ([`ConfigError::as_str`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum ConfigError {
    /// A window is 0 or above [`MAX_WINDOW`].
    Window,
    /// `max_payload` is below [`MIN_PAYLOAD`].
    Payload,
    /// A handshake extension is longer than the connection keeps (32 bytes).
    Extension,
    /// The storage is smaller than [`LinkConfig::storage_len`].
    Storage {
        /// Bytes needed.
        needed: usize,
        /// Bytes given.
        available: usize,
    },
}

impl ConfigError {
    /// The stable code of this kind of refusal (40..=59, see [`crate::describe`]).
    pub const fn code(&self) -> u8 {
        match self {
            ConfigError::Window => 40,
            ConfigError::Payload => 41,
            ConfigError::Extension => 42,
            ConfigError::Storage { .. } => 43,
        }
    }

    /// A short constant description.
    pub const fn as_str(&self) -> &'static str {
        ConfigError::text(self.code())
    }

    pub(crate) const fn text(code: u8) -> &'static str {
        match code {
            40 => "bad window: 0 or above the maximum",
            41 => "max_payload below the minimum",
            42 => "handshake extension longer than 32 bytes",
            43 => "storage smaller than the configuration needs",
            _ => crate::error::UNKNOWN_CODE,
        }
    }
}

/// The description ([`ConfigError::as_str`]), with the sizes for [`ConfigError::Storage`].
impl core::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())?;
        match *self {
            ConfigError::Storage { needed, available } => write!(f, " (need {needed} bytes, have {available})"),
            _ => Ok(()),
        }
    }
}

impl core::error::Error for ConfigError {}

impl LinkConfig {
    /// Defaults for UDP on a LAN or the Internet: 1200-byte payloads,
    /// 256-packet windows, the low-latency timing ([`Timing::low_latency`]:
    /// 30 ms minimum RTO, 5 ms ACK delay), loss-tolerant congestion control,
    /// 8 unreliable slots, a redundancy of 1 (used once coalescing is
    /// agreed). Real congestion still slows the sender (the
    /// controller reacts to queues, `docs/PROTOCOL.md` 6.7); for the
    /// conservative RFC 6298-style timers use [`LinkConfig::standard`].
    pub const fn new() -> LinkConfig {
        LinkConfig {
            max_payload: 1200,
            send_window: DEFAULT_WINDOW,
            recv_window: DEFAULT_WINDOW,
            peer_recv_window: DEFAULT_WINDOW,
            unreliable_slots: 8,
            trace_slots: 0,
            timing: Timing::low_latency(),
            congestion_control: CongestionControl::LossTolerant,
            retransmit: true,
            coalesce: false,
            coalesce_wait_ms: 0,
            redundancy: DEFAULT_REDUNDANCY,
            integrity: Integrity::InternetChecksum,
            pseudo_header: 0,
            initial_send_seq: Seq(0),
            initial_recv_seq: Seq(0),
        }
    }

    /// Same, with the low-latency timing profile ([`Timing::low_latency`],
    /// which [`LinkConfig::new`] has too).
    pub const fn low_latency() -> LinkConfig {
        let mut c = LinkConfig::new();
        c.timing = Timing::low_latency();
        c
    }

    /// Same, with the conservative timing profile ([`Timing::standard`]:
    /// 1 s initial and 100 ms minimum RTO, 20 ms ACK delay, doubling backoff).
    pub const fn standard() -> LinkConfig {
        let mut c = LinkConfig::new();
        c.timing = Timing::standard();
        c
    }

    /// Sets all three windows (send, receive, and the peer's assumed one).
    pub const fn with_window(mut self, window: u16) -> LinkConfig {
        self.send_window = window;
        self.recv_window = window;
        self.peer_recv_window = window;
        self
    }

    /// Sets the maximum payload.
    pub const fn with_max_payload(mut self, max_payload: u16) -> LinkConfig {
        self.max_payload = max_payload;
        self
    }

    /// Sets the initial sequence numbers of both directions.
    pub const fn with_initial_seqs(mut self, send: Seq, recv: Seq) -> LinkConfig {
        self.initial_send_seq = send;
        self.initial_recv_seq = recv;
        self
    }

    /// Checks the windows and payload bounds.
    pub const fn validate(&self) -> Result<(), ConfigError> {
        if self.send_window == 0
            || self.send_window > MAX_WINDOW
            || self.recv_window == 0
            || self.recv_window > MAX_WINDOW
            || self.peer_recv_window == 0
        {
            return Err(ConfigError::Window);
        }
        if self.max_payload < MIN_PAYLOAD {
            return Err(ConfigError::Payload);
        }
        Ok(())
    }

    /// The codec every packet of this link is checked with.
    pub const fn codec(&self) -> Codec {
        Codec { max_payload: self.max_payload, integrity: self.integrity, pseudo_header: self.pseudo_header }
    }

    /// Bytes of data one fragment carries.
    pub const fn fragment_data_len(&self) -> usize {
        self.max_payload as usize - EXTENDED_MIN_LEN - FRAGMENT_HEADER_LEN
    }

    /// Longest unreliable message (it must fit one packet).
    pub const fn max_unreliable_len(&self) -> usize {
        self.max_payload as usize - EXTENDED_MIN_LEN
    }

    /// Longest reliable message this side can send: as many fragments as the
    /// smaller of its send window and the peer's receive window.
    pub const fn max_message_len(&self) -> usize {
        let w = if self.send_window < self.peer_recv_window { self.send_window } else { self.peer_recv_window };
        if w <= 1 || !cfg!(feature = "fragmentation") {
            self.max_payload as usize
        } else {
            w as usize * self.fragment_data_len()
        }
    }

    /// Unreliable slots in use: `unreliable_slots`, or 0 without the `unreliable` feature.
    pub(crate) const fn unreliable_slots_used(&self) -> u8 {
        if cfg!(feature = "unreliable") {
            self.unreliable_slots
        } else {
            0
        }
    }

    /// Trace records kept: `trace_slots`, or 0 without the `trace` feature.
    pub(crate) const fn trace_slots_used(&self) -> u16 {
        if cfg!(feature = "trace") {
            self.trace_slots
        } else {
            0
        }
    }

    /// Bytes of storage a link with this configuration needs.
    pub const fn storage_len(&self) -> usize {
        Layout::of(self).total
    }

    /// Largest datagram the link emits; `poll_transmit` needs a buffer this large.
    pub const fn max_datagram_len(&self) -> usize {
        self.codec().max_packet_len()
    }
}

impl Default for LinkConfig {
    fn default() -> LinkConfig {
        LinkConfig::new()
    }
}

/// Where each region lives in the caller's storage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Layout {
    pub send_slot: usize,
    pub recv_at: usize,
    pub recv_slot: usize,
    pub unrel_send_at: usize,
    pub unrel_recv_at: usize,
    pub unrel_slot: usize,
    pub trace_at: usize,
    pub total: usize,
}

impl Layout {
    pub(crate) const fn of(c: &LinkConfig) -> Layout {
        let payload = c.max_payload as usize;
        let send_slot = SEND_META_LEN + payload;
        let recv_slot = RECV_META_LEN + payload;
        let unrel_slot = UNRELIABLE_META_LEN + payload;
        let recv_at = send_slot * c.send_window as usize;
        let unrel_send_at = recv_at + recv_slot * c.recv_window as usize;
        let unrel_recv_at = unrel_send_at + unrel_slot * c.unreliable_slots_used() as usize;
        let trace_at = unrel_recv_at + unrel_slot * c.unreliable_slots_used() as usize;
        let total = trace_at + TRACE_RECORD_LEN * c.trace_slots_used() as usize;
        Layout { send_slot, recv_at, recv_slot, unrel_send_at, unrel_recv_at, unrel_slot, trace_at, total }
    }
}
