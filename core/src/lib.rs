//! # seqlink-core
//!
//! The sans-IO, `no_std`, allocation-free core of seqlink: typed, checksummed,
//! sequenced packets for microcontrollers, C programs and Python tools.
//!
//! This crate never touches sockets or clocks. It turns bytes into checked
//! packets and packets into bytes, in buffers the caller owns.
//!
//! | module | what it holds |
//! |---|---|
//! | [`wire`] | the 9-byte header of seed 000: [`wire::Packet`] view, [`wire::PacketRepr`], [`wire::PacketType`], [`wire::Codec`]; coalesced datagrams ([`wire::CoalescedPackets`]) |
//! | [`checksum`] | RFC 1071 Internet checksum, RFC 1624 updates, split-buffer sums; SIMD on x86-64 |
//! | [`integrity`] | integrity modes: Internet checksum (default) or CRC-32C |
//! | [`framing`] | datagram, byte-stream, serial (COBS) and length-prefixed framings |
//! | [`seq`] | RFC 1982 serial-number arithmetic ([`Seq`]) |
//! | [`link`] | the reliability engine: windows, ACK/SACK/NACK, retransmission, fragmentation |
//! | [`rtt`], [`congestion`] | RFC 6298 timers; loss-tolerant and NewReno congestion control |
//! | [`event`] | events and per-packet trace records |
//! | [`connection`] | handshake, negotiation, heartbeats, graceful close around a link |
//! | [`endpoint`] | a server: many peers, stateless cookies, a bounded connection table |
//! | [`basic`] | the basic profile: seed 000 exactly (no handshake, in-order or discard) |
//! | [`tiny`] | [`TinyClient`]: a client engine for the smallest parts (about 6 KB of flash), the same protocol without what `docs/PROTOCOL.md` 6.9 lets a peer leave out |
//!
//! The wire protocol is specified in `docs/PROTOCOL.md`.
//!
//! ```
//! use seqlink_core::framing::{decode_datagram, encode_datagram};
//! use seqlink_core::wire::{Codec, PacketRepr, PacketType};
//! use seqlink_core::Seq;
//!
//! let codec = Codec::new();
//! let mut datagram = [0u8; 64];
//! let n = encode_datagram(&PacketRepr::new(Seq(41), PacketType::MSG_RESULT, b"HIT"), &codec, &mut datagram)?;
//! let packet = decode_datagram(&datagram[..n], &codec)?;
//! assert_eq!((packet.seq, packet.ptype, packet.payload), (Seq(41), PacketType::MSG_RESULT, &b"HIT"[..]));
//! # Ok::<(), seqlink_core::Error>(())
//! ```
//!
//! ## Stable codes
//!
//! Every error kind and event kind has a stable `u8` code, unique across the
//! crate, and a constant description: [`Error`], [`link::SendError`],
//! [`link::ConfigError`], [`FailReason`] and [`Event`] each have `code()` and
//! `as_str()`, and [`describe`] gives the description of any code (C's
//! `strerror`). [`EventRecord`] flattens an event to a `#[repr(C)]` struct of
//! plain fields. The codes are part of the API from v1 on: they never change
//! meaning and are never reused. `docs/PROTOCOL.md` section 9 lists them.
//!
//! ## Features
//! All but `defmt` are on by default; a small firmware client turns default
//! features off and picks what it needs (`docs/BENCHMARKS.md` lists the flash
//! each one costs). Code behind an off feature is not linked.
//! * `crc32c`: the CRC-32C integrity mode.
//! * `endpoint`: the server [`endpoint`] (stateless cookies, pulls `siphasher`).
//! * `unreliable`: unreliable-sequenced delivery; without it
//!   `LinkConfig::unreliable_slots` is taken as 0.
//! * `trace`: the packet trace ring; without it `LinkConfig::trace_slots` is taken as 0.
//! * `fragmentation`: messages longer than one packet; without it a message
//!   must fit one packet and a fragmented message from the peer is dropped
//!   (`Event::MessageDropped`).
//! * `stats`: the [`link::Stats`] counters of packets and bytes sent and
//!   received, retransmissions, timeouts and corrupt packets (32-bit,
//!   wrapping); without it every counter reads 0.
//! * `full-stats` (implies `stats`): every [`link::Stats`] counter, 64-bit;
//!   without it only those of `stats` are counted, the others read 0.
//! * `peer-details`: the peer's handshake extension and ERR_MSG reason text
//!   kept for `Connection::peer_extension` and `Connection::error_reason`
//!   (82 bytes of connection state); without it both read as empty.
//! * `congestion`: congestion control ([`LinkConfig::congestion_control`]);
//!   without it every mode is taken as `Off`: the send window and the
//!   peer's window alone limit the flight.
//! * `fast-recovery`: SACK, NACK and fast retransmit; without it the
//!   receiver sends cumulative ACKs only and the sender ignores SACK bits
//!   and NACKs and repairs every loss by its retransmission timer (it still
//!   interoperates with a full peer: `docs/PROTOCOL.md` 6.9). The learned
//!   reordering window, which only delays fast retransmit and NACKs, goes
//!   with it.
//! * `coalescing`: coalesced datagrams (`docs/PROTOCOL.md` 4.1, 6.8);
//!   without it a connection never offers or agrees to them (handshake flag
//!   0x04), so each datagram carries one packet both ways, and
//!   [`LinkConfig::coalesce`], `coalesce_wait_ms` and `redundancy` are
//!   taken as off, 0 and 0.
//! * `defmt`: `defmt::Format` for the public types.
#![no_std]
#![cfg_attr(
    not(test),
    deny(clippy::indexing_slicing, clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::todo)
)]

pub mod basic;
mod bytes;
pub mod checksum;
pub mod congestion;
pub mod connection;
#[cfg(feature = "endpoint")]
pub mod endpoint;
mod entropy;
mod error;
pub mod event;
pub mod framing;
pub mod integrity;
pub mod link;
pub mod rtt;
pub mod seq;
pub mod tiny;
pub mod wire;

// One face: everything an application or a binding needs, from the root.
pub use basic::{BasicConfig, BasicSession, BasicStats, OutOfOrder, Outcome};
pub use congestion::CongestionControl;
pub use connection::{Connection, ConnectionConfig, Role, State, Transport};
#[cfg(feature = "endpoint")]
pub use endpoint::{
    AdmissionError, ArenaSlot, ConnectionHandle, Endpoint, EndpointConfig, EndpointEvent, EndpointStats, Incoming,
    IncomingTicket, Slot,
};
pub use error::{describe, Error};
pub use event::{Event, EventKind, EventRecord, FailReason, TraceEvent, TraceKind};
pub use framing::{LengthPrefixedDecoder, SerialDecoder, StreamDecoder};
pub use integrity::Integrity;
pub use link::{ConfigError, Delivery, Link, LinkConfig, Received, SendError, Stats};
pub use rtt::Timing;
pub use seq::Seq;
pub use tiny::{TinyClient, TinyConfig, TinyWindow};
pub use wire::handshake::{Agreement, ErrorCode, Params};
pub use wire::{CoalescedPackets, Codec, Packet, PacketRepr, PacketType};
