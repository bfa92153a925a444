//! The basic profile: seed 000 exactly (no handshake, no retransmission;
//! sequence numbers from 0 each way, in-order or discard, optional ACKs and
//! NACKs), for peers that speak only it. Over TCP, feed the bytes through a
//! `SeqlinkStreamDecoder` and each result to `seqlink_basic_receive_packet`
//! or `seqlink_basic_receive_error`; over datagrams, `seqlink_basic_receive`.
//! A session is plain data (no tail) but lives in memory like every object:
//! `seqlink_basic_session_size`/`_init`, or `_new`/`_free`. Not thread-safe.

use crate::codec::{SeqlinkCodec, SeqlinkPacket};
use crate::object::{free, get, make, size_with_tail, Memory, Opaque};
use crate::ptr::{bytes, bytes_mut, check_out, input, put};
use crate::records::SeqlinkBasicStats;
use crate::status::{guard, ready, Outcome, Status, SEQLINK_OK};
use core::ffi::{c_int, c_void};
use seqlink_core::{BasicConfig, BasicSession, Error, OutOfOrder, PacketRepr, PacketType, Seq};

/// Out-of-order packets: discard and count them.
pub const SEQLINK_OUT_OF_ORDER_DISCARD: u8 = 0;
/// Out-of-order and corrupt packets: discard, count, and send a NACK naming the expected number.
pub const SEQLINK_OUT_OF_ORDER_NACK: u8 = 1;

/// Outcome: the next packet in order, the application's (`packet`).
pub const SEQLINK_BASIC_DELIVER: u8 = 1;
/// Outcome: an in-order ACK or NACK (`packet.ptype`; the number it names in `named`).
pub const SEQLINK_BASIC_CONTROL: u8 = 2;
/// Outcome: damaged, discarded (`error` is its code).
pub const SEQLINK_BASIC_CORRUPT: u8 = 3;
/// Outcome: not the expected sequence number, discarded (`expected`, `packet.seq`).
pub const SEQLINK_BASIC_OUT_OF_SEQUENCE: u8 = 4;

/// Settings of the basic profile; start from `seqlink_basic_config_default()`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeqlinkBasicConfig {
    /// Packet checks and limits (seed 000's by default).
    pub codec: SeqlinkCodec,
    /// `SEQLINK_OUT_OF_ORDER_*`.
    pub out_of_order: u8,
    /// Acknowledge every packet processed with an ACK.
    pub acks: bool,
}

/// What the session made of a received packet.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeqlinkBasicOutcome {
    /// `SEQLINK_BASIC_*`.
    pub kind: u8,
    /// The packet (deliver, control, out of sequence); its payload points
    /// into the bytes given (or the decoder's buffer).
    pub packet: SeqlinkPacket,
    /// For a control packet: the sequence number its payload names.
    pub named: u32,
    /// For an out-of-sequence packet: the number expected.
    pub expected: u32,
    /// For a corrupt packet: its error code (1..=19).
    pub error: u8,
}

/// A basic-profile (seed 000) session: opaque, in caller memory or from
/// `_new`; ended by `_free`. One thread at a time.
pub struct SeqlinkBasicSession {
    _opaque: [u8; 0],
}

impl Opaque for SeqlinkBasicSession {
    type Inner = BasicSession;
    const MAGIC: u32 = 0x5351_0030;
}

fn config_of(config: *const SeqlinkBasicConfig) -> Result<BasicConfig, Status> {
    let c = input(config)?;
    let out_of_order = match c.out_of_order {
        SEQLINK_OUT_OF_ORDER_DISCARD => OutOfOrder::Discard,
        SEQLINK_OUT_OF_ORDER_NACK => OutOfOrder::Nack,
        _ => return Err(Status::INVALID),
    };
    Ok(BasicConfig { codec: c.codec.to_core()?, out_of_order, acks: c.acks })
}

fn session_size() -> Result<usize, Status> {
    size_with_tail::<SeqlinkBasicSession>(0).ok_or(Status::INVALID)
}

fn make_session(memory: Memory, config: *const SeqlinkBasicConfig, out: *mut *mut SeqlinkBasicSession) -> Outcome {
    let config = config_of(config)?;
    make(memory, session_size()?, out, |_| Ok(BasicSession::new(config)))
}

/// An error of the given code, for a session that only counts it.
fn error_of(code: u8) -> Result<Error, Status> {
    Ok(match code {
        1 => Error::Truncated { needed: 0, available: 0 },
        2 => Error::LengthMismatch { declared: 0, actual: 0 },
        3 => Error::BadChecksum { received: 0, computed: 0 },
        4 => Error::PayloadTooLarge { len: 0, max: 0 },
        5 => Error::BufferTooSmall { needed: 0, available: 0 },
        6 => Error::BadFrame,
        7 => Error::Malformed,
        8 => Error::FrameTooLong { max: 0 },
        _ => return Err(Status::INVALID),
    })
}

fn judge(
    session: &mut BasicSession,
    packet: Result<PacketRepr<'_>, Error>,
    outcome: *mut SeqlinkBasicOutcome,
) -> Outcome {
    use seqlink_core::Outcome as Judged;
    let empty = SeqlinkPacket { seq: 0, ptype: 0, payload: [].as_ptr(), payload_len: 0 };
    let mut out = SeqlinkBasicOutcome { kind: 0, packet: empty, named: 0, expected: 0, error: 0 };
    match session.receive(packet) {
        Judged::Deliver(p) => {
            out.kind = SEQLINK_BASIC_DELIVER;
            out.packet = SeqlinkPacket::from_core(&p);
        }
        Judged::Control { ptype, seq } => {
            out.kind = SEQLINK_BASIC_CONTROL;
            out.packet.ptype = ptype.0;
            out.named = seq.0;
        }
        Judged::Corrupt(e) => {
            out.kind = SEQLINK_BASIC_CORRUPT;
            out.error = e.code();
        }
        Judged::OutOfSequence { expected, got } => {
            out.kind = SEQLINK_BASIC_OUT_OF_SEQUENCE;
            out.expected = expected.0;
            out.packet.seq = got.0;
        }
    }
    put(outcome, out).and(Ok(SEQLINK_OK))
}

/// Seed 000's settings: its codec, discard out-of-order packets, no ACKs.
#[no_mangle]
pub extern "C" fn seqlink_basic_config_default() -> SeqlinkBasicConfig {
    let c = BasicConfig::default();
    SeqlinkBasicConfig {
        codec: SeqlinkCodec::from_core(&c.codec),
        out_of_order: SEQLINK_OUT_OF_ORDER_DISCARD,
        acks: c.acks,
    }
}

/// Bytes of memory a session needs, into `*size`.
#[no_mangle]
pub extern "C" fn seqlink_basic_session_size(size: *mut usize) -> c_int {
    guard(|| put(size, session_size()?).and(Ok(SEQLINK_OK)))
}

/// Makes a session in the caller's memory (aligned to `SEQLINK_ALIGN`, at
/// least `_size`'s) into `*session`.
#[no_mangle]
pub extern "C" fn seqlink_basic_session_init(
    mem: *mut c_void,
    mem_len: usize,
    config: *const SeqlinkBasicConfig,
    session: *mut *mut SeqlinkBasicSession,
) -> c_int {
    guard(|| make_session(Memory::Caller(mem, mem_len), config, session))
}

/// Allocates a session into `*session`; end it with `seqlink_basic_session_free`.
#[no_mangle]
pub extern "C" fn seqlink_basic_session_new(
    config: *const SeqlinkBasicConfig,
    session: *mut *mut SeqlinkBasicSession,
) -> c_int {
    guard(|| make_session(Memory::Allocated, config, session))
}

/// Ends a session. Null is a no-op.
#[no_mangle]
pub extern "C" fn seqlink_basic_session_free(session: *mut SeqlinkBasicSession) -> c_int {
    guard(|| free(session).and(Ok(SEQLINK_OK)))
}

/// Writes the next packet (the next sequence number) into `out` and its
/// length into `*written`. Returns as `seqlink_encode`.
#[no_mangle]
pub extern "C" fn seqlink_basic_encode(
    session: *mut SeqlinkBasicSession,
    ptype: u8,
    payload: *const u8,
    payload_len: usize,
    out: *mut u8,
    out_len: usize,
    written: *mut usize,
) -> c_int {
    guard(|| {
        let session = get(session)?;
        let payload = bytes(payload, payload_len)?;
        check_out(written)?;
        let n = session.encode(PacketType(ptype), payload, bytes_mut(out, out_len)?)?;
        put(written, n).and(Ok(SEQLINK_OK))
    })
}

/// Decodes one packet of `len` bytes (a datagram) and judges it into
/// `*outcome`. Returns 0 (a damaged packet is an outcome, not an error).
#[no_mangle]
pub extern "C" fn seqlink_basic_receive(
    session: *mut SeqlinkBasicSession,
    data: *const u8,
    len: usize,
    outcome: *mut SeqlinkBasicOutcome,
) -> c_int {
    guard(|| {
        let session = get(session)?;
        let data = bytes(data, len)?;
        check_out(outcome)?;
        let codec = *session.codec();
        judge(session, PacketRepr::decode(data, &codec), outcome)
    })
}

/// Judges a packet a decoder returned into `*outcome`.
#[no_mangle]
pub extern "C" fn seqlink_basic_receive_packet(
    session: *mut SeqlinkBasicSession,
    packet: *const SeqlinkPacket,
    outcome: *mut SeqlinkBasicOutcome,
) -> c_int {
    guard(|| {
        let session = get(session)?;
        let p = input(packet)?;
        let payload = bytes(p.payload, p.payload_len)?;
        check_out(outcome)?;
        judge(session, Ok(PacketRepr::new(Seq(p.seq), PacketType(p.ptype), payload)), outcome)
    })
}

/// Counts a packet a decoder failed with (its return value or code,
/// 1..=19 either sign) and judges it into `*outcome` (corrupt; a NACK
/// follows with `SEQLINK_OUT_OF_ORDER_NACK`). -SEQLINK_E_INVALID for other codes.
#[no_mangle]
pub extern "C" fn seqlink_basic_receive_error(
    session: *mut SeqlinkBasicSession,
    error: c_int,
    outcome: *mut SeqlinkBasicOutcome,
) -> c_int {
    guard(|| {
        let session = get(session)?;
        let code = u8::try_from(error.unsigned_abs()).map_err(|_| Status::INVALID)?;
        let e = error_of(code)?;
        check_out(outcome)?;
        judge(session, Err(e), outcome)
    })
}

/// Writes the next ACK or NACK to send into `out` and its length into
/// `*written`: 1 with one, 0 when none is due.
#[no_mangle]
pub extern "C" fn seqlink_basic_poll_control(
    session: *mut SeqlinkBasicSession,
    out: *mut u8,
    out_len: usize,
    written: *mut usize,
) -> c_int {
    guard(|| {
        let session = get(session)?;
        let out = bytes_mut(out, out_len)?;
        check_out(written)?;
        match session.poll_control(out)? {
            Some(n) => put(written, n).and(ready(true)),
            None => ready(false),
        }
    })
}

/// The sequence number the next received packet must carry, into `*seq`.
#[no_mangle]
pub extern "C" fn seqlink_basic_expected(session: *mut SeqlinkBasicSession, seq: *mut u32) -> c_int {
    guard(|| {
        let session = get(session)?;
        put(seq, session.expected().0).and(Ok(SEQLINK_OK))
    })
}

/// The statistics (seed 000 section 5) into `*stats`.
#[no_mangle]
pub extern "C" fn seqlink_basic_stats(session: *mut SeqlinkBasicSession, stats: *mut SeqlinkBasicStats) -> c_int {
    guard(|| {
        let session = get(session)?;
        put(stats, SeqlinkBasicStats::from_core(&session.stats())).and(Ok(SEQLINK_OK))
    })
}
