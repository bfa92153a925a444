//! A server endpoint: one socket's worth of connections from many peers.
//!
//! The endpoint demultiplexes datagrams by peer address into a bounded table
//! of connections whose storage the caller provides: a table of [`Slot`]s,
//! each with its own link storage ([`Endpoint::new`]), or vacant slots and
//! one byte arena of [`EndpointConfig::storage_len`] bytes that the endpoint
//! cuts into one part per slot ([`Endpoint::with_arena`]). It keeps no
//! state for a peer until the peer proves it receives at its address: a SYN
//! is answered with a SYN_ACK carrying a stateless cookie (SipHash-2-4 of the
//! peer's address, the time of the answer and the agreed parameters, keyed by a
//! secret), and only a HANDSHAKE_ACK that echoes a valid cookie creates a
//! connection. Before that proof the endpoint never sends a peer more bytes
//! than it received from it (over datagrams; a stream cannot be spoofed).
//!
//! Admission happens at that proof. With [`EndpointConfig::auto_accept`] (the
//! default) the connection is created at once. Without it, the proven
//! handshake waits in a bounded queue ([`MAX_PENDING_HANDSHAKES`], one entry
//! per peer; a HANDSHAKE_ACK that finds the queue full is dropped and the
//! client retransmits it) until the application takes it from
//! [`Endpoint::poll_incoming`] and decides: [`Endpoint::accept_incoming`]
//! creates the connection, [`Endpoint::refuse`] answers with an ERR_MSG whose
//! code the client's connection fails with (`Refused { code }`). A waiting
//! handshake lives as long as its cookie (a cookie lifetime after the
//! SYN_ACK); undecided by then it is dropped. Nothing is kept before the
//! cookie proof, so spoofed SYNs cannot fill the queue.
//!
//! What the application must do: poll [`Endpoint::poll_event`] and read each
//! connection's messages ([`Endpoint::recv`]). A finished connection keeps
//! its slot until its events are read and its messages drained (or until
//! [`Endpoint::release`]); then it leaves the table and the accept queue.
//! [`Endpoint::accept`] is optional: the accept queue holds every connection
//! of the table not yet accepted (save those [`Endpoint::accept_incoming`]
//! created, whose handles it returned), oldest first, with no limit of its
//! own, so an application that learns of connections from their `Connected`
//! events never needs it.
//!
//! ```
//! use seqlink_core::connection::{Connection, ConnectionConfig};
//! use seqlink_core::endpoint::{Endpoint, EndpointConfig, Slot};
//! use seqlink_core::{Delivery, Event, PacketType};
//!
//! let config = ConnectionConfig::new();
//! let len = config.link.storage_len();
//! let slots: Vec<Slot<u32, Vec<u8>>> = (0..4).map(|_| Slot::new(vec![0u8; len])).collect();
//! let mut server = Endpoint::new(EndpointConfig::new(config), slots, [7; 16], 42);
//! let mut client = Connection::connect(config, vec![0u8; len], 0, 1234).unwrap();
//!
//! let mut buf = vec![0u8; config.max_datagram_len()];
//! for now in 0..5 {
//!     while let Some(n) = client.poll_transmit(now, &mut buf).unwrap() {
//!         server.handle_datagram(now, 1, &buf[..n]); // the client's address is 1
//!     }
//!     while let Some((_to, n)) = server.poll_transmit(now, &mut buf).unwrap() {
//!         client.handle_datagram(now, &buf[..n]);
//!     }
//! }
//! assert_eq!(client.poll_event(), Some(Event::Connected));
//! let handle = server.accept().unwrap();
//! assert_eq!(server.peer(handle), Some(1));
//! ```
//!
//! The same endpoint over one arena, with the application deciding who may connect:
//!
//! ```
//! use seqlink_core::connection::{Connection, ConnectionConfig, State};
//! use seqlink_core::endpoint::{ArenaSlot, Endpoint, EndpointConfig, Slot};
//! use seqlink_core::wire::handshake::ErrorCode;
//! use seqlink_core::FailReason;
//!
//! let mut config = EndpointConfig::new(ConnectionConfig::new());
//! config.auto_accept = false;
//! let mut arena = vec![0u8; config.storage_len(4)];
//! let slots: [ArenaSlot<'_, u32>; 4] = [const { Slot::vacant() }; 4];
//! let mut server = Endpoint::with_arena(config, slots, &mut arena, [7; 16], 42).unwrap();
//! let len = config.connection.storage_len();
//! let mut client = Connection::connect(config.connection, vec![0u8; len], 0, 1234).unwrap();
//!
//! let mut buf = vec![0u8; config.connection.max_datagram_len()];
//! for now in 0..5 {
//!     while let Some(n) = client.poll_transmit(now, &mut buf).unwrap() {
//!         server.handle_datagram(now, 1, &buf[..n]);
//!     }
//!     while let Some((_to, n)) = server.poll_transmit(now, &mut buf).unwrap() {
//!         client.handle_datagram(now, &buf[..n]);
//!     }
//!     while let Some(incoming) = server.poll_incoming() {
//!         // accept_incoming(incoming.ticket(), now) would create the connection
//!         server.refuse(incoming.ticket(), ErrorCode::Refused).unwrap();
//!     }
//! }
//! assert_eq!(client.state(), State::Failed);
//! assert_eq!(client.failure(), Some(FailReason::Refused { code: ErrorCode::Refused }));
//! ```

mod admission;
mod events;
mod input;
mod output;

use crate::connection::{Connection, ConnectionConfig, State, Transport};
use crate::entropy::splitmix;
use crate::error::Error;
use crate::event::{Event, EventKind, EventRecord};
use crate::integrity::Integrity;
use crate::link::{ConfigError, Delivery, Received, SendError, MAX_WINDOW, MIN_PAYLOAD};
use crate::seq::Seq;
use crate::wire::control::{ErrRepr, ResetRepr, RESET_LEN};
use crate::wire::handshake::{
    Agreement, ErrorCode, HandshakeAckRepr, Params, SynAckRepr, SynRepr, CONNECTION_EXTENSION, FLAG_COALESCE, FLAG_CRC,
    FLAG_CRC_SUPPORTED, PROTOCOL_VERSION, SYN_ACK_FIXED_LEN,
};
use crate::wire::pseudo::{pseudo_sum, recover_pseudo_sum};
use crate::wire::{Codec, Packet, PacketRepr, PacketType, HEADER_LEN};
use core::hash::{Hash, Hasher};
use siphasher::sip::SipHasher24;

/// Endpoint settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct EndpointConfig {
    /// Settings and limits of every connection.
    pub connection: ConnectionConfig,
    /// Connections at most (at most the number of slots).
    pub max_connections: u16,
    /// How long a cookie stays valid after the SYN_ACK that carried it,
    /// milliseconds (at most 2^31 - 1).
    pub cookie_lifetime_ms: u32,
    /// RESETs sent per second at most, to peers the endpoint does not know.
    pub resets_per_second: u16,
    /// Create a connection as soon as a handshake proves its cookie (the
    /// default). When `false`, proven handshakes wait in a bounded queue for
    /// the application's decision: [`Endpoint::poll_incoming`], then
    /// [`Endpoint::accept_incoming`] or [`Endpoint::refuse`].
    pub auto_accept: bool,
}

impl EndpointConfig {
    /// Defaults around `connection`: as many connections as slots, 10 s
    /// cookies, 50 RESETs/s, automatic acceptance.
    pub const fn new(connection: ConnectionConfig) -> EndpointConfig {
        EndpointConfig {
            connection,
            max_connections: u16::MAX,
            cookie_lifetime_ms: 10_000,
            resets_per_second: 50,
            auto_accept: true,
        }
    }

    /// Bytes of the one arena [`Endpoint::with_arena`] needs for the link
    /// storage of `max_peers` connections (at most `max_connections` count).
    pub const fn storage_len(&self, max_peers: usize) -> usize {
        let peers = if max_peers < self.max_connections as usize { max_peers } else { self.max_connections as usize };
        peers.saturating_mul(self.connection.storage_len())
    }
}

/// One entry of the connection table, with the storage its connection uses.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Slot<A, S> {
    storage: Option<S>,
    conn: Option<(A, Connection<S>)>,
    generation: u16,
    /// When the endpoint answered the SYN its connection came from (its clock).
    answered_at: u64,
    /// Its place in the accept queue; `None` once accepted.
    queued: Option<u64>,
}

impl<A, S> Slot<A, S> {
    /// A free slot with link storage for one connection.
    pub const fn new(storage: S) -> Slot<A, S> {
        Slot { storage: Some(storage), conn: None, generation: 0, answered_at: 0, queued: None }
    }

    /// A free slot without storage: [`Endpoint::with_arena`] gives it a part of its arena.
    pub const fn vacant() -> Slot<A, S> {
        Slot { storage: None, conn: None, generation: 0, answered_at: 0, queued: None }
    }
}

/// A slot whose link storage is a part of one arena ([`Endpoint::with_arena`]).
pub type ArenaSlot<'a, A> = Slot<A, &'a mut [u8]>;

/// Names a connection of an endpoint; stale once its slot is reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ConnectionHandle {
    index: u16,
    generation: u16,
}

impl ConnectionHandle {
    /// The slot index (stable while the connection lives).
    pub const fn index(&self) -> usize {
        self.index as usize
    }

    /// The handle as one number (for bindings): generation in the high half,
    /// index in the low half.
    ///
    /// ```
    /// use seqlink_core::ConnectionHandle;
    /// let handle = ConnectionHandle::from_bits(0x0002_0005);
    /// assert_eq!((handle.index(), handle.to_bits()), (5, 0x0002_0005));
    /// ```
    pub const fn to_bits(self) -> u32 {
        (self.generation as u32) << 16 | self.index as u32
    }

    /// The handle [`ConnectionHandle::to_bits`] gave. Any number is safe: one
    /// that names no live connection is refused as a stale handle would be.
    pub const fn from_bits(bits: u32) -> ConnectionHandle {
        ConnectionHandle { index: bits as u16, generation: (bits >> 16) as u16 }
    }
}

/// Names a proven handshake waiting for the application's decision
/// ([`Endpoint::poll_incoming`]); stale once decided, expired or replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct IncomingTicket {
    index: u16,
    generation: u16,
}

impl IncomingTicket {
    /// The ticket as one number (for bindings): generation in the high half,
    /// index in the low half.
    pub const fn to_bits(self) -> u32 {
        (self.generation as u32) << 16 | self.index as u32
    }

    /// The ticket [`IncomingTicket::to_bits`] gave. Any number is safe: one
    /// that names no waiting handshake is refused as stale.
    pub const fn from_bits(bits: u32) -> IncomingTicket {
        IncomingTicket { index: bits as u16, generation: (bits >> 16) as u16 }
    }
}

/// A handshake whose cookie the peer proved, waiting to be accepted
/// ([`Endpoint::accept_incoming`]) or refused ([`Endpoint::refuse`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Incoming<A> {
    ticket: IncomingTicket,
    peer: A,
    params: Params,
    extension: [u8; CONNECTION_EXTENSION],
    extension_len: u8,
}

impl<A: Copy> Incoming<A> {
    /// What to pass to [`Endpoint::accept_incoming`] or [`Endpoint::refuse`].
    pub const fn ticket(&self) -> IncomingTicket {
        self.ticket
    }

    /// The peer's address.
    pub const fn peer(&self) -> A {
        self.peer
    }

    /// The parameters the handshake agreed on.
    pub const fn params(&self) -> Params {
        self.params
    }

    /// The extension bytes of the peer's HANDSHAKE_ACK (at most 32 kept).
    pub fn extension(&self) -> &[u8] {
        self.extension.get(..usize::from(self.extension_len)).unwrap_or(&[])
    }
}

/// Why [`Endpoint::accept_incoming`] or [`Endpoint::refuse`] did nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(u8)]
pub enum AdmissionError {
    /// The ticket names no waiting handshake: already decided, expired, or
    /// replaced by a newer handshake of the same peer.
    StaleTicket = 1,
    /// The connection table is full; the handshake keeps waiting (refuse it,
    /// or accept it once a connection has left).
    Full = 2,
}

impl AdmissionError {
    /// The stable code (`docs/PROTOCOL.md` section 9.1).
    pub const fn code(&self) -> u8 {
        match self {
            AdmissionError::StaleTicket => 100,
            AdmissionError::Full => 101,
        }
    }

    /// A short constant description.
    pub const fn as_str(&self) -> &'static str {
        AdmissionError::text(self.code())
    }

    pub(crate) const fn text(code: u8) -> &'static str {
        match code {
            100 => "stale ticket: the handshake was decided, expired or replaced",
            101 => "connection table full: the handshake keeps waiting",
            _ => crate::error::UNKNOWN_CODE,
        }
    }
}

impl core::fmt::Display for AdmissionError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A proven handshake kept until the application decides: enough to create
/// its connection later.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct PendingHandshake<A> {
    peer: A,
    agreement: Agreement,
    extension: [u8; CONNECTION_EXTENSION],
    extension_len: u8,
    /// When the endpoint answered the SYN (its clock).
    answered_at: u64,
    /// Its place in the queue (older first).
    order: u64,
    /// The HANDSHAKE_ACK's size: a refusal is no larger.
    received: u16,
    /// Already returned by `poll_incoming`.
    surfaced: bool,
}

impl<A> PendingHandshake<A> {
    fn extension(&self) -> &[u8] {
        self.extension.get(..usize::from(self.extension_len)).unwrap_or(&[])
    }
}

/// One place of the pending queue; its generation makes old tickets stale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct PendingEntry<A> {
    generation: u16,
    handshake: Option<PendingHandshake<A>>,
}

/// Something the endpoint reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum EndpointEvent<A> {
    /// An event of one connection.
    Connection(ConnectionHandle, Event),
    /// A peer's handshake was refused with an ERR_MSG.
    Refused {
        /// The peer.
        peer: A,
        /// Why.
        code: ErrorCode,
    },
}

impl<A: Copy> EndpointEvent<A> {
    /// The connection the event belongs to, if any.
    pub fn handle(&self) -> Option<ConnectionHandle> {
        match self {
            EndpointEvent::Connection(handle, _) => Some(*handle),
            EndpointEvent::Refused { .. } => None,
        }
    }

    /// The peer of a refusal (a connection's peer is [`Endpoint::peer`]).
    pub fn refused_peer(&self) -> Option<A> {
        match self {
            EndpointEvent::Connection(..) => None,
            EndpointEvent::Refused { peer, .. } => Some(*peer),
        }
    }

    /// The event as plain fields: a connection's [`EventRecord`], or kind
    /// [`EventKind::PeerRefused`] with the code sent to the peer in `peer_code`.
    pub fn record(&self) -> EventRecord {
        match self {
            EndpointEvent::Connection(_, event) => EventRecord::new(event),
            EndpointEvent::Refused { code, .. } => {
                EventRecord { kind: EventKind::PeerRefused.code(), peer_code: code.code(), ..EventRecord::NONE }
            }
        }
    }
}

/// Endpoint counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(C)]
pub struct EndpointStats {
    /// SYNs answered with a SYN_ACK.
    pub syn_acks_sent: u64,
    /// Handshakes refused with an ERR_MSG.
    pub refused: u64,
    /// HANDSHAKE_ACKs with an invalid or expired cookie.
    pub bad_cookies: u64,
    /// HANDSHAKE_ACKs of connections that already finished, or not newer than
    /// the live connection of their address (replays), ignored.
    pub replays: u64,
    /// Connections created.
    pub accepted: u64,
    /// Proven handshakes put in the pending queue (`auto_accept` off).
    pub incoming_queued: u64,
    /// Proven handshakes dropped because the pending queue was full (the
    /// client retransmits its HANDSHAKE_ACK).
    pub incoming_dropped: u64,
    /// Waiting handshakes dropped undecided when their cookies expired.
    pub incoming_expired: u64,
    /// RESETs sent to peers of unknown connections.
    pub resets_sent: u64,
    /// Answers not sent because they would exceed what the peer sent (no amplification), or rate limits.
    pub suppressed: u64,
    /// Datagrams that were not seqlink packets of any known connection.
    pub dropped: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Response {
    SynAck(Agreement),
    Err(ErrorCode),
    /// A RESET for an unknown connection: the answered packet's pseudo-header sum and sequence number.
    Reset {
        token: u16,
        seq: Seq,
    },
}

const RESPONSES: usize = 16;
/// Cookies of the most recently finished connections, refused if replayed.
const RETIRED: usize = 64;
const REFUSALS: usize = 8;
/// Proven handshakes waiting for the application at most (`auto_accept` off).
pub const MAX_PENDING_HANDSHAKES: usize = 16;

/// A server endpoint over peer addresses `A`, link storage `S` and a slot
/// table `T`. See the module documentation for what the application must
/// poll and drain.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Endpoint<A, S, T> {
    config: EndpointConfig,
    slots: T,
    secret: [u8; 16],
    entropy: u64,
    responses: [Option<(A, Response, u16)>; RESPONSES],
    /// The accept queue position of the next connection created.
    next_ticket: u64,
    refusals: [Option<(A, ErrorCode)>; REFUSALS],
    pending: [PendingEntry<A>; MAX_PENDING_HANDSHAKES],
    /// The pending queue position of the next handshake queued.
    next_pending: u64,
    retired: [u64; RETIRED],
    retired_next: usize,
    cursor: usize,
    event_cursor: usize,
    reset_budget: u16,
    reset_epoch: u64,
    stats: EndpointStats,
    _storage: core::marker::PhantomData<S>,
}

impl<'a, A, T> Endpoint<A, &'a mut [u8], T>
where
    A: Copy + Eq + Hash,
    T: AsRef<[ArenaSlot<'a, A>]> + AsMut<[ArenaSlot<'a, A>]>,
{
    /// An endpoint whose connections keep their link storage in one `arena`
    /// of [`EndpointConfig::storage_len`] bytes for as many peers as `slots`
    /// (at most `max_connections`), which are cut from it in order. The slots
    /// are those of [`Slot::vacant`]; any storage they had is replaced.
    /// `secret` and `entropy` as for [`Endpoint::new`].
    pub fn with_arena(
        config: EndpointConfig,
        mut slots: T,
        arena: &'a mut [u8],
        secret: [u8; 16],
        entropy: u64,
    ) -> Result<Endpoint<A, &'a mut [u8], T>, ConfigError> {
        let peers = slots.as_ref().len();
        let needed = config.storage_len(peers);
        if arena.len() < needed {
            return Err(ConfigError::Storage { needed, available: arena.len() });
        }
        let per_connection = config.connection.storage_len();
        let mut rest = arena;
        for (index, slot) in slots.as_mut().iter_mut().enumerate() {
            slot.conn = None;
            slot.storage = None;
            if index < usize::from(config.max_connections) {
                // never fails: the arena holds `needed` bytes
                if let Some((part, tail)) = core::mem::take(&mut rest).split_at_mut_checked(per_connection) {
                    slot.storage = Some(part);
                    rest = tail;
                }
            }
        }
        Ok(Endpoint::new(config, slots, secret, entropy))
    }
}

impl<A, S, T> Endpoint<A, S, T>
where
    A: Copy + Eq + Hash,
    S: AsMut<[u8]>,
    T: AsRef<[Slot<A, S>]> + AsMut<[Slot<A, S>]>,
{
    /// An endpoint over `slots`. `secret` keys the cookies (keep it secret,
    /// random per process); `entropy` seeds the server's connection ids and
    /// initial sequence numbers.
    pub fn new(config: EndpointConfig, slots: T, secret: [u8; 16], entropy: u64) -> Endpoint<A, S, T> {
        Endpoint {
            config,
            slots,
            secret,
            entropy,
            responses: [None; RESPONSES],
            next_ticket: 0,
            refusals: [None; REFUSALS],
            pending: [PendingEntry { generation: 0, handshake: None }; MAX_PENDING_HANDSHAKES],
            next_pending: 0,
            retired: [0; RETIRED],
            retired_next: 0,
            cursor: 0,
            event_cursor: 0,
            reset_budget: config.resets_per_second,
            reset_epoch: 0,
            stats: EndpointStats::default(),
            _storage: core::marker::PhantomData,
        }
    }

    /// Counters.
    pub fn stats(&self) -> EndpointStats {
        self.stats
    }

    /// Connections in the table (any state).
    pub fn connection_count(&self) -> usize {
        self.slots.as_ref().iter().filter(|s| s.conn.is_some()).count()
    }

    fn capacity(&self) -> usize {
        self.slots.as_ref().len().min(usize::from(self.config.max_connections))
    }

    fn find(&mut self, peer: &A) -> Option<usize> {
        self.slots.as_mut().iter().position(|s| s.conn.as_ref().is_some_and(|(a, _)| a == peer))
    }

    fn handle_of(&mut self, index: usize) -> ConnectionHandle {
        let generation = self.slots.as_mut().get(index).map_or(0, |s| s.generation);
        ConnectionHandle { index: index as u16, generation }
    }

    fn slot(&mut self, handle: ConnectionHandle) -> Option<&mut (A, Connection<S>)> {
        let slot = self.slots.as_mut().get_mut(handle.index())?;
        if slot.generation != handle.generation {
            return None;
        }
        slot.conn.as_mut()
    }

    /// The connection behind `handle`.
    pub fn connection(&mut self, handle: ConnectionHandle) -> Option<&mut Connection<S>> {
        self.slot(handle).map(|(_, c)| c)
    }

    /// The peer address of `handle`.
    pub fn peer(&mut self, handle: ConnectionHandle) -> Option<A> {
        self.slot(handle).map(|(a, _)| *a)
    }

    /// The oldest connection in the table the application has not accepted
    /// yet (it may have finished since: its events say so).
    ///
    /// Calling it is optional: every connection in the table is in the accept
    /// queue until accepted or freed (except those of
    /// [`Endpoint::accept_incoming`], which returned their handles), the queue
    /// has no limit of its own, and a connection's `Connected` event carries
    /// its handle too.
    pub fn accept(&mut self) -> Option<ConnectionHandle> {
        let (index, _) = self
            .slots
            .as_ref()
            .iter()
            .enumerate()
            .filter_map(|(index, s)| s.conn.as_ref().and(s.queued).map(|ticket| (index, ticket)))
            .min_by_key(|&(_, ticket)| ticket)?;
        if let Some(slot) = self.slots.as_mut().get_mut(index) {
            slot.queued = None;
        }
        Some(self.handle_of(index))
    }

    /// Sends a message on a connection ([`SendError::UnknownHandle`] if there is none).
    pub fn send(
        &mut self,
        handle: ConnectionHandle,
        ptype: PacketType,
        message: &[u8],
        delivery: Delivery,
    ) -> Result<(), SendError> {
        match self.connection(handle) {
            Some(c) => c.send(ptype, message, delivery),
            None => Err(SendError::UnknownHandle),
        }
    }

    /// Reads the next message of a connection.
    pub fn recv(&mut self, handle: ConnectionHandle, buf: &mut [u8]) -> Result<Option<Received>, Error> {
        match self.connection(handle) {
            Some(c) => c.recv(buf),
            None => Ok(None),
        }
    }

    /// Starts a graceful close of a connection.
    pub fn close(&mut self, handle: ConnectionHandle, now: u64) {
        if let Some(c) = self.connection(handle) {
            c.close(now);
        }
    }

    /// Forgets a connection now (whatever its state); its slot is free again.
    pub fn release(&mut self, handle: ConnectionHandle) {
        if self.slot(handle).is_some() {
            self.free(handle.index());
        }
    }

    /// Remembers a finished handshake's cookie: its replays are ignored.
    fn retire(&mut self, cookie: u64) {
        if let Some(entry) = self.retired.get_mut(self.retired_next % RETIRED) {
            *entry = cookie;
        }
        self.retired_next = self.retired_next.wrapping_add(1);
    }

    fn free(&mut self, index: usize) {
        let Some(slot) = self.slots.as_mut().get_mut(index) else { return };
        let Some((_, conn)) = slot.conn.take() else { return };
        let cookie = conn.agreement().map(|a| a.cookie);
        slot.storage = Some(conn.into_storage());
        slot.generation = slot.generation.wrapping_add(1);
        slot.queued = None;
        if let Some(cookie) = cookie {
            // A replayed HANDSHAKE_ACK (a network duplicate) must not
            // bring the connection back with its old sequence numbers.
            self.retire(cookie);
        }
    }
}

fn min_nonzero(a: u32, b: u32) -> u32 {
    match (a, b) {
        (0, x) | (x, 0) => x,
        (a, b) => a.min(b),
    }
}
