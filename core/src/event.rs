//! Events a link or connection reports to the application, and per-packet
//! trace records for logs, traces and pcap writers.

use crate::seq::Seq;
use crate::wire::handshake::ErrorCode;
use crate::wire::PacketType;

/// Why a link or connection failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum FailReason {
    /// A packet was retransmitted `max_retries` times without acknowledgement.
    DeadPeer {
        /// The packet that was never acknowledged.
        seq: Seq,
    },
    /// Nothing arrived from the peer for the idle timeout.
    IdleTimeout,
    /// The handshake did not complete in time.
    ConnectTimeout,
    /// The close did not complete in time.
    CloseTimeout,
    /// The peer refused the connection with an ERR_MSG (reason text: `Connection::error_reason`).
    Refused {
        /// The peer's error code.
        code: ErrorCode,
    },
    /// The peer reset or aborted the connection.
    Reset {
        /// The peer's error code.
        code: ErrorCode,
    },
    /// The peer broke the protocol (for example agreed to parameters it was not offered).
    ProtocolViolation,
}

impl FailReason {
    /// A short constant description.
    pub const fn as_str(&self) -> &'static str {
        match self {
            FailReason::DeadPeer { .. } => "dead peer: retransmissions exhausted",
            FailReason::IdleTimeout => "idle timeout: the peer went silent",
            FailReason::ConnectTimeout => "connect timeout: no answer to the handshake",
            FailReason::CloseTimeout => "close timeout",
            FailReason::Refused { .. } => "refused by the peer",
            FailReason::Reset { .. } => "reset by the peer",
            FailReason::ProtocolViolation => "protocol violation by the peer",
        }
    }
}

/// Something the application should know about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum Event {
    /// The handshake completed: messages can flow.
    Connected,
    /// The connection closed gracefully: everything sent both ways was delivered.
    Closed,
    /// A send that failed with `WouldBlock` can now be retried: acknowledgements freed room.
    Writable,
    /// A received message was dropped because it exceeds what this receiver can hold.
    MessageDropped {
        /// Fragments the message declared.
        fragments: u16,
    },
    /// The link or connection failed; nothing more is sent or delivered.
    Failed(FailReason),
}

/// What happened to a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(u8)]
pub enum TraceKind {
    /// Sent for the first time.
    Sent = 0,
    /// Received and valid.
    Received = 1,
    /// Sent again.
    Retransmitted = 2,
    /// Received again: already had it.
    Duplicate = 3,
    /// Failed the integrity check or was malformed.
    Corrupt = 4,
    /// Valid but dropped (outside the receive window, stale unreliable packet, ...).
    Dropped = 5,
}

impl TraceKind {
    /// The label of trace lines (`SEND`, `RECV`, `RETX`, `DUP`, `CORRUPT`, `DROP`).
    pub const fn label(self) -> &'static str {
        match self {
            TraceKind::Sent => "SEND",
            TraceKind::Received => "RECV",
            TraceKind::Retransmitted => "RETX",
            TraceKind::Duplicate => "DUP",
            TraceKind::Corrupt => "CORRUPT",
            TraceKind::Dropped => "DROP",
        }
    }

    const fn from_u8(v: u8) -> TraceKind {
        match v {
            0 => TraceKind::Sent,
            1 => TraceKind::Received,
            2 => TraceKind::Retransmitted,
            3 => TraceKind::Duplicate,
            4 => TraceKind::Corrupt,
            _ => TraceKind::Dropped,
        }
    }
}

/// One packet event. Recorded into a bounded ring in the link's storage
/// (no allocation) and drained with `poll_trace`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct TraceEvent {
    /// When, in the caller's milliseconds.
    pub time_ms: u64,
    /// What happened.
    pub kind: TraceKind,
    /// The packet's sequence number (0 for corrupt packets).
    pub seq: Seq,
    /// The packet's type on the wire.
    pub ptype: PacketType,
    /// Bytes on the wire.
    pub len: u32,
}

/// Bytes one trace record takes in the link's storage.
pub(crate) const TRACE_RECORD_LEN: usize = 18;

impl TraceEvent {
    pub(crate) fn encode(&self) -> [u8; TRACE_RECORD_LEN] {
        let mut out = [0u8; TRACE_RECORD_LEN];
        let t = self.time_ms.to_le_bytes();
        let s = self.seq.0.to_le_bytes();
        let l = self.len.to_le_bytes();
        for (dst, src) in out.iter_mut().zip(t.iter().chain(&s).chain(&l).chain(&[self.kind as u8, self.ptype.0])) {
            *dst = *src;
        }
        out
    }

    pub(crate) fn decode(b: &[u8]) -> TraceEvent {
        let mut r = [0u8; TRACE_RECORD_LEN];
        for (dst, src) in r.iter_mut().zip(b) {
            *dst = *src;
        }
        let [t0, t1, t2, t3, t4, t5, t6, t7, s0, s1, s2, s3, l0, l1, l2, l3, kind, ptype] = r;
        TraceEvent {
            time_ms: u64::from_le_bytes([t0, t1, t2, t3, t4, t5, t6, t7]),
            seq: Seq(u32::from_le_bytes([s0, s1, s2, s3])),
            len: u32::from_le_bytes([l0, l1, l2, l3]),
            kind: TraceKind::from_u8(kind),
            ptype: PacketType(ptype),
        }
    }
}
