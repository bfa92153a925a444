//! Events a link or connection reports to the application, and per-packet
//! trace records for logs, traces and pcap writers.

use core::fmt;

use crate::error::UNKNOWN_CODE;
use crate::seq::Seq;
use crate::wire::handshake::ErrorCode;
use crate::wire::PacketType;

/// Why a link or connection failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum FailReason {
    /// The peer stopped answering: a packet was retransmitted `max_retries`
    /// times without acknowledgement, or as many heartbeat pings went unanswered.
    DeadPeer {
        /// The packet that was never acknowledged (after unanswered pings:
        /// this side's next sequence number).
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
    /// The peer reset or aborted the connection (a RESET, or an ERR_MSG after the handshake).
    Reset {
        /// The peer's error code.
        code: ErrorCode,
    },
    /// The peer broke the protocol (for example agreed to parameters it was not offered).
    ProtocolViolation,
}

impl FailReason {
    /// The stable code of this kind of failure (60..=79, see [`crate::describe`]).
    pub const fn code(&self) -> u8 {
        match self {
            FailReason::DeadPeer { .. } => 60,
            FailReason::IdleTimeout => 61,
            FailReason::ConnectTimeout => 62,
            FailReason::CloseTimeout => 63,
            FailReason::Refused { .. } => 64,
            FailReason::Reset { .. } => 65,
            FailReason::ProtocolViolation => 66,
        }
    }

    /// A short constant description.
    pub const fn as_str(&self) -> &'static str {
        FailReason::text(self.code())
    }

    pub(crate) const fn text(code: u8) -> &'static str {
        match code {
            60 => "dead peer: retransmissions exhausted",
            61 => "idle timeout: the peer went silent",
            62 => "connect timeout: no answer to the handshake",
            63 => "close timeout",
            64 => "refused by the peer",
            65 => "reset by the peer",
            66 => "protocol violation by the peer",
            _ => UNKNOWN_CODE,
        }
    }

    /// The packet never acknowledged (or, after unanswered pings, the next
    /// sequence number), for [`FailReason::DeadPeer`].
    pub const fn seq(&self) -> Option<Seq> {
        match self {
            FailReason::DeadPeer { seq } => Some(*seq),
            _ => None,
        }
    }

    /// The peer's error code, for [`FailReason::Refused`] and [`FailReason::Reset`].
    pub const fn peer_code(&self) -> Option<ErrorCode> {
        match self {
            FailReason::Refused { code } | FailReason::Reset { code } => Some(*code),
            _ => None,
        }
    }
}

/// The description ([`FailReason::as_str`]), with the packet or the peer's code where there is one.
impl fmt::Display for FailReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())?;
        match *self {
            FailReason::DeadPeer { seq } => write!(f, " (packet {seq})"),
            FailReason::Refused { code } | FailReason::Reset { code } => {
                write!(f, " (peer code {}: {})", code.code(), code.as_str())
            }
            _ => Ok(()),
        }
    }
}

impl core::error::Error for FailReason {}

/// Something the application should know about.
///
/// For bindings: [`Event::kind`] is a plain `#[repr(u8)]` kind, and
/// [`EventRecord`] flattens an event to a C struct of plain fields.
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

impl Event {
    /// The kind of event, without its fields.
    pub const fn kind(&self) -> EventKind {
        match self {
            Event::Connected => EventKind::Connected,
            Event::Closed => EventKind::Closed,
            Event::Writable => EventKind::Writable,
            Event::MessageDropped { .. } => EventKind::MessageDropped,
            Event::Failed(_) => EventKind::Failed,
        }
    }

    /// The stable code of the kind (80..=99, see [`crate::describe`]).
    pub const fn code(&self) -> u8 {
        self.kind().code()
    }

    /// A short constant description of the kind.
    pub const fn as_str(&self) -> &'static str {
        self.kind().as_str()
    }

    /// Why it failed, for [`Event::Failed`].
    pub const fn fail_reason(&self) -> Option<FailReason> {
        match self {
            Event::Failed(reason) => Some(*reason),
            _ => None,
        }
    }

    /// The fragments the dropped message declared, for [`Event::MessageDropped`].
    pub const fn fragments(&self) -> Option<u16> {
        match self {
            Event::MessageDropped { fragments } => Some(*fragments),
            _ => None,
        }
    }
}

/// The kind's description ([`Event::as_str`]), with the fragments or the failure.
impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())?;
        match self {
            Event::MessageDropped { fragments } => write!(f, " ({fragments} fragments)"),
            Event::Failed(reason) => write!(f, ": {reason}"),
            _ => Ok(()),
        }
    }
}

/// The kind of an [`Event`], as a stable code (80..=99, see [`crate::describe`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(u8)]
#[non_exhaustive]
pub enum EventKind {
    /// [`Event::Connected`].
    Connected = 80,
    /// [`Event::Closed`].
    Closed = 81,
    /// [`Event::Writable`].
    Writable = 82,
    /// [`Event::MessageDropped`].
    MessageDropped = 83,
    /// [`Event::Failed`].
    Failed = 84,
    /// A server refused a peer's handshake (`EndpointEvent::Refused`); no connection.
    PeerRefused = 85,
}

impl EventKind {
    /// The stable code (80..=99).
    pub const fn code(&self) -> u8 {
        *self as u8
    }

    /// A short constant description.
    pub const fn as_str(&self) -> &'static str {
        EventKind::text(self.code())
    }

    pub(crate) const fn text(code: u8) -> &'static str {
        match code {
            80 => "connected",
            81 => "closed",
            82 => "writable: room in the send window",
            83 => "message dropped: too large for this receiver",
            84 => "failed",
            85 => "a server refused a peer's handshake",
            _ => UNKNOWN_CODE,
        }
    }
}

/// An [`Event`] flattened to plain fields, laid out as the C struct
///
/// ```c
/// struct seqlink_event {
///     uint8_t  kind;       /* EventKind code 80..=99; 0: no event */
///     uint8_t  reason;     /* Failed: FailReason code 60..=79, else 0 */
///     uint8_t  peer_code;  /* Failed, Refused or Reset: the peer's ErrorCode byte, else 0 */
///     uint16_t fragments;  /* MessageDropped: fragments declared, else 0 */
///     uint32_t seq;        /* Failed, DeadPeer: FailReason::seq, else 0 */
/// };
/// ```
///
/// Fields a kind does not have are 0; [`EventRecord::NONE`] (the default,
/// kind 0) stands for "no event".
///
/// ```
/// use seqlink_core::event::{Event, EventRecord, FailReason};
/// use seqlink_core::Seq;
///
/// let record = EventRecord::from(Event::Failed(FailReason::DeadPeer { seq: Seq(7) }));
/// assert_eq!((record.kind, record.reason, record.peer_code, record.seq), (84, 60, 0, 7));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(C)]
pub struct EventRecord {
    /// The event's kind: [`Event::code`] (80..=99); 0 for no event.
    pub kind: u8,
    /// For a failure: [`FailReason::code`] (60..=79); else 0.
    pub reason: u8,
    /// For a failure the peer caused (refused, reset): its [`ErrorCode::code`]; else 0.
    pub peer_code: u8,
    /// For a dropped message: the fragments it declared; else 0.
    pub fragments: u16,
    /// For a dead peer: [`FailReason::seq`]; else 0.
    pub seq: u32,
}

impl EventRecord {
    /// No event: every field 0.
    pub const NONE: EventRecord = EventRecord { kind: 0, reason: 0, peer_code: 0, fragments: 0, seq: 0 };

    /// The record of `event`.
    pub const fn new(event: &Event) -> EventRecord {
        let mut record = EventRecord::NONE;
        record.kind = event.code();
        if let Some(n) = event.fragments() {
            record.fragments = n;
        }
        if let Some(reason) = event.fail_reason() {
            record.reason = reason.code();
            if let Some(code) = reason.peer_code() {
                record.peer_code = code.code();
            }
            if let Some(seq) = reason.seq() {
                record.seq = seq.0;
            }
        }
        record
    }
}

impl From<Event> for EventRecord {
    fn from(event: Event) -> EventRecord {
        EventRecord::new(&event)
    }
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
