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

use crate::connection::{Connection, ConnectionConfig, State, Transport};
use crate::entropy::splitmix;
use crate::error::Error;
use crate::event::Event;
use crate::integrity::Integrity;
use crate::link::{ConfigError, Delivery, Received, SendError, MAX_WINDOW, MIN_PAYLOAD};
use crate::seq::Seq;
use crate::wire::control::{ErrRepr, ResetRepr, RESET_LEN};
use crate::wire::handshake::{
    Agreement, ErrorCode, HandshakeAckRepr, Params, SynAckRepr, SynRepr, CONNECTION_EXTENSION, FLAG_CRC,
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
}

/// Names a proven handshake waiting for the application's decision
/// ([`Endpoint::poll_incoming`]); stale once decided, expired or replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct IncomingTicket {
    index: u16,
    generation: u16,
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

    // ---- input -------------------------------------------------------------------

    /// Feeds one datagram received from `from`.
    pub fn handle_datagram(&mut self, now: u64, from: A, datagram: &[u8]) {
        let existing = self.find(&from);
        // Only handshake packets are checked without a connection id: look at
        // the type first, so that a connection's packets are checked once.
        let ptype = Packet::new_unchecked(datagram).packet_type();
        if ptype == PacketType::SYN || ptype == PacketType::HANDSHAKE_ACK {
            let unbound = Codec::new().with_max_payload(self.config.connection.unbound_max_payload());
            if let Ok(packet) = PacketRepr::decode(datagram, &unbound) {
                match packet.ptype {
                    PacketType::SYN => return self.on_syn(now, from, &packet, datagram.len(), existing.is_some()),
                    _ => return self.on_handshake_ack(now, from, &packet, existing),
                }
            }
        }
        match existing {
            Some(index) => {
                if let Some(Some((_, conn))) = self.slots.as_mut().get_mut(index).map(|s| s.conn.as_mut()) {
                    conn.handle_datagram(now, datagram);
                }
            }
            None => self.on_unknown(now, from, datagram),
        }
    }

    fn on_unknown(&mut self, now: u64, from: A, datagram: &[u8]) {
        self.stats.dropped += 1;
        // A packet of a connection we do not have: tell the peer, proving it
        // with the pseudo-header sum recovered from the packet's checksum.
        if self.config.connection.link.integrity != Integrity::InternetChecksum
            || datagram.len() < HEADER_LEN + RESET_LEN
        {
            return;
        }
        let Some(token) = recover_pseudo_sum(datagram) else { return };
        let Ok(packet) = Packet::new_checked(datagram) else { return };
        let seq = packet.seq();
        if token == 0 || token == 0xffff {
            return; // not bound to any connection: not ours to reset
        }
        if now / 1000 != self.reset_epoch {
            self.reset_epoch = now / 1000;
            self.reset_budget = self.config.resets_per_second;
        }
        if self.reset_budget == 0 {
            self.stats.suppressed += 1;
            return;
        }
        self.reset_budget -= 1;
        self.respond(from, Response::Reset { token, seq }, datagram.len());
    }

    fn on_syn(&mut self, now: u64, from: A, packet: &PacketRepr<'_>, received: usize, known: bool) {
        let Ok(syn) = SynRepr::parse(packet.payload) else {
            self.stats.dropped += 1;
            return;
        };
        let limits = self.config.connection.proposal();
        let short = received < self.min_syn_len();
        let refusal = if syn.version != PROTOCOL_VERSION {
            Some(ErrorCode::VersionMismatch)
        } else if short && !self.over_stream() {
            // Over datagrams the SYN_ACK would amplify: no answer at all.
            self.stats.suppressed += 1;
            return;
        } else if short {
            Some(ErrorCode::ProtocolViolation)
        } else if syn.params.max_payload < MIN_PAYLOAD || syn.params.window == 0 {
            Some(ErrorCode::BadParameters)
        } else if !known && self.connection_count() >= self.capacity() {
            Some(ErrorCode::ServerFull)
        } else {
            None
        };
        if let Some(code) = refusal {
            return self.send_refusal(from, code, received);
        }
        // Over a stream the framing must not change mid-stream: never CRC-32C there.
        let server_crc = Integrity::from_u8(1).is_some() && !self.over_stream();
        let crc = server_crc
            && syn.flags & FLAG_CRC_SUPPORTED != 0
            && (syn.flags & FLAG_CRC != 0 || self.config.connection.prefer_crc);
        let params = Params {
            max_payload: syn.params.max_payload.min(limits.max_payload),
            window: syn.params.window.min(limits.window).min(MAX_WINDOW),
            heartbeat_ms: min_nonzero(syn.params.heartbeat_ms, limits.heartbeat_ms),
            idle_timeout_ms: min_nonzero(syn.params.idle_timeout_ms, limits.idle_timeout_ms),
        };
        let (server_id, server_isn) = self.fresh_ids(syn.client_id);
        let mut agreement = Agreement {
            version: PROTOCOL_VERSION,
            flags: if crc { FLAG_CRC } else { 0 },
            client_id: syn.client_id,
            client_isn: syn.isn,
            server_id,
            server_isn,
            params,
            cookie_time: now as u32,
            cookie: 0,
        };
        agreement.cookie = self.cookie(&from, &agreement);
        self.respond(from, Response::SynAck(agreement), received);
    }

    fn on_handshake_ack(&mut self, now: u64, from: A, packet: &PacketRepr<'_>, existing: Option<usize>) {
        let Ok(ack) = HandshakeAckRepr::parse(packet.payload) else {
            self.stats.dropped += 1;
            return;
        };
        let a = ack.agreement;
        let answered_at = self.answered_at(now, a.cookie_time);
        let (Some(answered_at), true) =
            (answered_at, a.version == PROTOCOL_VERSION && self.cookie(&from, &a) == a.cookie)
        else {
            self.stats.bad_cookies += 1;
            return;
        };
        if let Some(slot) = existing.and_then(|index| self.slots.as_mut().get_mut(index)) {
            if let Some((_, conn)) = slot.conn.as_mut() {
                if conn.agreement() == Some(&a) {
                    // our confirmation was lost: confirm again
                    conn.confirm();
                    return;
                }
                // Only a handshake the endpoint answered after the live one's,
                // by another client, proves that the peer restarted; an older
                // one is a late duplicate and must not replace a live connection.
                let newer = answered_at > slot.answered_at;
                if !newer || conn.agreement().is_some_and(|live| live.client_id == a.client_id) {
                    self.stats.replays += 1;
                    return;
                }
            }
        }
        if self.retired.contains(&a.cookie) {
            self.stats.replays += 1;
            return;
        }
        let received = packet.payload.len() + HEADER_LEN;
        // A full server refuses a handshake that would need a new slot.
        if existing.is_none() && self.connection_count() >= self.capacity() {
            return self.send_refusal(from, ErrorCode::ServerFull, received);
        }
        if !self.config.auto_accept {
            return self.queue_incoming(now, from, &a, ack.extension, answered_at, received);
        }
        if self.create(now, from, &a, ack.extension, answered_at).is_none() {
            self.send_refusal(from, ErrorCode::ServerFull, received);
        }
    }

    /// Creates the connection of a proven handshake (replacing a live one of
    /// the same peer: it restarted) and puts it in the accept queue.
    fn create(&mut self, now: u64, peer: A, a: &Agreement, extension: &[u8], answered_at: u64) -> Option<usize> {
        if let Some(index) = self.find(&peer) {
            // the peer restarted: its old connection is gone
            self.free(index);
        }
        let free = self.slots.as_mut().iter().position(|s| s.conn.is_none() && s.storage.is_some());
        let (Some(index), false) = (free, self.connection_count() >= self.capacity()) else { return None };
        let config = self.config.connection;
        let ticket = self.next_ticket;
        let slot = self.slots.as_mut().get_mut(index)?;
        let storage = slot.storage.take()?;
        match Connection::accept(config, storage, now, a, extension) {
            Ok(conn) => {
                slot.conn = Some((peer, conn));
                slot.answered_at = answered_at;
                slot.queued = Some(ticket);
                self.next_ticket += 1;
                self.stats.accepted += 1;
                Some(index)
            }
            Err(_) => {
                self.stats.dropped += 1; // storage too small: cannot happen with one config
                None
            }
        }
    }

    // ---- admission -----------------------------------------------------------------

    /// Keeps a proven handshake for the application's decision: once per
    /// peer, newest handshake only, within the queue's bound.
    fn queue_incoming(
        &mut self,
        now: u64,
        peer: A,
        a: &Agreement,
        extension: &[u8],
        answered_at: u64,
        received: usize,
    ) {
        self.expire_incoming(now);
        let same_peer = self.pending.iter_mut().find(|e| e.handshake.is_some_and(|h| h.peer == peer));
        let place = match same_peer {
            Some(entry) => match entry.handshake {
                // a retransmission of the waiting handshake: absorbed
                Some(h) if h.agreement == *a => return,
                // the same rule as for a live connection: only a later handshake
                // of another client (the peer restarted) replaces the waiting one
                Some(h) if answered_at > h.answered_at && h.agreement.client_id != a.client_id => entry,
                _ => {
                    self.stats.replays += 1;
                    return;
                }
            },
            None => match self.pending.iter_mut().find(|e| e.handshake.is_none()) {
                Some(entry) => entry,
                None => {
                    self.stats.incoming_dropped += 1;
                    return;
                }
            },
        };
        let mut kept = [0u8; CONNECTION_EXTENSION];
        let n = extension.len().min(CONNECTION_EXTENSION);
        if let (Some(dst), Some(src)) = (kept.get_mut(..n), extension.get(..n)) {
            dst.copy_from_slice(src);
        }
        if place.handshake.is_some() {
            place.generation = place.generation.wrapping_add(1); // the replaced one's ticket is stale
        }
        place.handshake = Some(PendingHandshake {
            peer,
            agreement: *a,
            extension: kept,
            extension_len: n as u8,
            answered_at,
            order: self.next_pending,
            received: received.min(usize::from(u16::MAX)) as u16,
            surfaced: false,
        });
        self.next_pending += 1;
        self.stats.incoming_queued += 1;
    }

    /// Drops the waiting handshakes whose cookies expired: none of their
    /// HANDSHAKE_ACKs would be valid now, so the client must start again.
    fn expire_incoming(&mut self, now: u64) {
        let lifetime = u64::from(self.config.cookie_lifetime_ms.clamp(1, i32::MAX as u32));
        for entry in self.pending.iter_mut() {
            if entry.handshake.is_some_and(|h| now.saturating_sub(h.answered_at) >= lifetime) {
                entry.handshake = None;
                entry.generation = entry.generation.wrapping_add(1);
                self.stats.incoming_expired += 1;
            }
        }
    }

    /// Handshakes waiting for the application's decision.
    pub fn incoming_count(&self) -> usize {
        self.pending.iter().filter(|e| e.handshake.is_some()).count()
    }

    /// The oldest proven handshake the application has not seen yet
    /// (`auto_accept` off). Decide with [`Endpoint::accept_incoming`] or
    /// [`Endpoint::refuse`]; undecided, it is dropped when its cookie expires.
    pub fn poll_incoming(&mut self) -> Option<Incoming<A>> {
        let (index, entry) = self
            .pending
            .iter_mut()
            .enumerate()
            .filter(|(_, e)| e.handshake.is_some_and(|h| !h.surfaced))
            .min_by_key(|(_, e)| e.handshake.map_or(u64::MAX, |h| h.order))?;
        let handshake = entry.handshake.as_mut()?;
        handshake.surfaced = true;
        Some(Incoming {
            ticket: IncomingTicket { index: index as u16, generation: entry.generation },
            peer: handshake.peer,
            params: handshake.agreement.params,
            extension: handshake.extension,
            extension_len: handshake.extension_len,
        })
    }

    fn take_incoming(&mut self, ticket: IncomingTicket) -> Result<PendingHandshake<A>, AdmissionError> {
        let entry = self.pending.get_mut(usize::from(ticket.index)).ok_or(AdmissionError::StaleTicket)?;
        if entry.generation != ticket.generation {
            return Err(AdmissionError::StaleTicket);
        }
        let handshake = entry.handshake.take().ok_or(AdmissionError::StaleTicket)?;
        entry.generation = entry.generation.wrapping_add(1);
        Ok(handshake)
    }

    /// Accepts a waiting handshake: its connection is created now (it
    /// replaces a live connection of the same peer, which restarted) and
    /// confirmed to the client. The connection does not enter the accept
    /// queue: its handle is returned here.
    pub fn accept_incoming(&mut self, ticket: IncomingTicket, now: u64) -> Result<ConnectionHandle, AdmissionError> {
        self.expire_incoming(now);
        let Some(Some(waiting)) = self.pending.get(usize::from(ticket.index)).map(|e| e.handshake) else {
            return Err(AdmissionError::StaleTicket);
        };
        let replaced = usize::from(self.find(&waiting.peer).is_some());
        if self.connection_count() - replaced >= self.capacity() {
            return Err(AdmissionError::Full);
        }
        let h = self.take_incoming(ticket)?;
        let index = self.create(now, h.peer, &h.agreement, h.extension(), h.answered_at).ok_or(AdmissionError::Full)?;
        if let Some(slot) = self.slots.as_mut().get_mut(index) {
            slot.queued = None;
        }
        Ok(self.handle_of(index))
    }

    /// Refuses a waiting handshake: the client gets an ERR_MSG with `code`
    /// (usually [`ErrorCode::Refused`]) and fails with `Refused { code }`.
    /// Its late duplicates are ignored as replays.
    pub fn refuse(&mut self, ticket: IncomingTicket, code: ErrorCode) -> Result<(), AdmissionError> {
        let h = self.take_incoming(ticket)?;
        self.retire(h.agreement.cookie);
        self.send_refusal(h.peer, code, usize::from(h.received));
        Ok(())
    }

    fn send_refusal(&mut self, peer: A, code: ErrorCode, received: usize) {
        self.stats.refused += 1;
        if let Some(entry) = self.refusals.iter_mut().find(|e| e.is_none()) {
            *entry = Some((peer, code));
        }
        self.respond(peer, Response::Err(code), received);
    }

    /// Queues an answer of at most `limit` bytes (over datagrams: what the
    /// peer sent; a stream cannot be spoofed, so there is no limit).
    fn respond(&mut self, peer: A, response: Response, limit: usize) {
        let limit = if self.over_stream() { u16::MAX } else { limit.min(usize::from(u16::MAX)) as u16 };
        match self.responses.iter_mut().find(|r| r.is_none()) {
            Some(entry) => *entry = Some((peer, response, limit)),
            None => self.stats.suppressed += 1,
        }
    }

    fn over_stream(&self) -> bool {
        self.config.connection.transport == Transport::Stream
    }

    /// The smallest SYN answered: as large as the SYN_ACK, so that the answer never amplifies.
    fn min_syn_len(&self) -> usize {
        HEADER_LEN + SYN_ACK_FIXED_LEN + self.config.connection.extension().len()
    }

    /// When the endpoint answered the SYN whose SYN_ACK carried `cookie_time`
    /// (its clock in milliseconds, modulo 2^32), if that was less than a
    /// cookie lifetime ago.
    fn answered_at(&self, now: u64, cookie_time: u32) -> Option<u64> {
        let lifetime = self.config.cookie_lifetime_ms.clamp(1, i32::MAX as u32);
        let age = (now as u32).wrapping_sub(cookie_time);
        (age < lifetime).then(|| now.saturating_sub(u64::from(age)))
    }

    fn cookie(&self, peer: &A, a: &Agreement) -> u64 {
        let mut h = SipHasher24::new_with_key(&self.secret);
        peer.hash(&mut h);
        h.write(&[a.version, a.flags]);
        for v in [a.client_id, a.client_isn, a.server_id, a.server_isn, a.params.heartbeat_ms, a.params.idle_timeout_ms]
        {
            h.write(&v.to_be_bytes());
        }
        h.write(&a.params.max_payload.to_be_bytes());
        h.write(&a.params.window.to_be_bytes());
        h.write(&a.cookie_time.to_be_bytes());
        h.finish()
    }

    /// A server id whose connection id changes every checksum (its
    /// pseudo-header sum is neither 0 nor 0xffff), and an initial sequence number.
    fn fresh_ids(&mut self, client_id: u32) -> (u32, u32) {
        loop {
            let server_id = splitmix(&mut self.entropy) as u32;
            let sum = pseudo_sum(client_id ^ server_id);
            if sum != 0 && sum != 0xffff {
                return (server_id, splitmix(&mut self.entropy) as u32);
            }
        }
    }

    // ---- output ------------------------------------------------------------------

    /// Writes the next datagram to send and its destination; `buf` must hold
    /// [`ConnectionConfig::max_datagram_len`] bytes.
    pub fn poll_transmit(&mut self, now: u64, buf: &mut [u8]) -> Result<Option<(A, usize)>, Error> {
        self.collect_all();
        while let Some((peer, response, limit)) = self.responses.first_mut().and_then(Option::take) {
            self.responses.rotate_left(1);
            if let Some(n) = self.write_response(response, buf, usize::from(limit))? {
                if n <= usize::from(limit) {
                    match response {
                        Response::SynAck(_) => self.stats.syn_acks_sent += 1,
                        Response::Reset { .. } => self.stats.resets_sent += 1,
                        Response::Err(_) => {}
                    }
                    return Ok(Some((peer, n)));
                }
                self.stats.suppressed += 1;
            }
        }
        let count = self.slots.as_mut().len();
        for step in 0..count {
            let index = (self.cursor + step) % count;
            let Some(Some((peer, conn))) = self.slots.as_mut().get_mut(index).map(|s| s.conn.as_mut()) else {
                continue;
            };
            let peer = *peer;
            if let Some(n) = conn.poll_transmit(now, buf)? {
                self.cursor = index;
                return Ok(Some((peer, n)));
            }
            self.collect(index);
        }
        Ok(None)
    }

    fn write_response(&self, response: Response, buf: &mut [u8], limit: usize) -> Result<Option<usize>, Error> {
        let codec = Codec::new().with_max_payload(self.config.connection.unbound_max_payload());
        let mut payload = [0u8; SYN_ACK_FIXED_LEN + CONNECTION_EXTENSION];
        let extension = self.config.connection.extension();
        let (ptype, len, seq) = match response {
            Response::SynAck(agreement) => {
                (PacketType::SYN_ACK, SynAckRepr { agreement, extension }.emit(&mut payload)?, Seq(0))
            }
            Response::Err(code) => {
                let reason = match code {
                    ErrorCode::VersionMismatch => "unsupported version: server speaks v1",
                    ErrorCode::BadParameters => "max payload below 64 or zero window",
                    ErrorCode::ServerFull => "server full",
                    ErrorCode::ProtocolViolation => "SYN too short: pad it to the SYN_ACK's size",
                    _ => code.as_str(),
                };
                // cut the reason so that the answer is no larger than what the peer sent
                let room = limit.saturating_sub(HEADER_LEN).min(payload.len());
                let Some(out) = payload.get_mut(..room) else { return Ok(None) };
                let err = ErrRepr { code, reason: reason.as_bytes() }.fitted(out.len());
                // no room for even the code (never for a parsed SYN): an empty ERR_MSG
                (PacketType::ERR_MSG, err.emit(out).unwrap_or(0), Seq(0))
            }
            Response::Reset { token, seq } => {
                let reset = ResetRepr { code: ErrorCode::UnknownConnection, token };
                // the answered packet's number: the peer checks it is one it sent
                (PacketType::RESET, reset.emit(&mut payload)?, seq)
            }
        };
        let payload = payload.get(..len).unwrap_or(&[]);
        Ok(Some(PacketRepr::new(seq, ptype, payload).emit(buf, &codec)?))
    }

    /// Frees the slot of a finished connection once its events were read and
    /// its messages drained.
    fn collect_all(&mut self) {
        for index in 0..self.slots.as_ref().len() {
            self.collect(index);
        }
    }

    fn collect(&mut self, index: usize) {
        let done = match self.slots.as_mut().get_mut(index).and_then(|s| s.conn.as_mut()) {
            Some((_, conn)) => conn.is_closed() && !conn.has_events() && conn.next_message_len().is_none(),
            None => false,
        };
        if done {
            self.free(index);
        }
    }

    // ---- timers and events ------------------------------------------------------

    /// The earliest deadline of any connection. Answers to handshakes are no
    /// timers: they leave through the next [`Endpoint::poll_transmit`].
    pub fn poll_timeout(&self) -> Option<u64> {
        self.slots.as_ref().iter().filter_map(|s| s.conn.as_ref().and_then(|(_, c)| c.poll_timeout())).min()
    }

    /// Processes the timers that expired by `now` in every connection, and
    /// drops the waiting handshakes whose cookies expired.
    pub fn handle_timeout(&mut self, now: u64) {
        self.expire_incoming(now);
        for index in 0..self.slots.as_mut().len() {
            if let Some(Some((_, conn))) = self.slots.as_mut().get_mut(index).map(|s| s.conn.as_mut()) {
                if conn.poll_timeout().is_some_and(|t| now >= t) {
                    conn.handle_timeout(now);
                }
            }
            self.collect(index);
        }
    }

    /// The next event of the endpoint or of any connection.
    pub fn poll_event(&mut self) -> Option<EndpointEvent<A>> {
        if let Some((peer, code)) = self.refusals.first_mut().and_then(Option::take) {
            self.refusals.rotate_left(1);
            return Some(EndpointEvent::Refused { peer, code });
        }
        let count = self.slots.as_mut().len();
        for step in 0..count {
            let index = (self.event_cursor + step) % count;
            let handle = self.handle_of(index);
            if let Some((_, conn)) = self.slot(handle) {
                if let Some(event) = conn.poll_event() {
                    self.event_cursor = index;
                    return Some(EndpointEvent::Connection(handle, event));
                }
            }
        }
        self.collect_all();
        None
    }

    /// Whether a connection is in the table and not finished.
    pub fn is_open(&mut self, handle: ConnectionHandle) -> bool {
        self.connection(handle).is_some_and(|c| !matches!(c.state(), State::Closed | State::Failed))
    }
}

fn min_nonzero(a: u32, b: u32) -> u32 {
    match (a, b) {
        (0, x) | (x, 0) => x,
        (a, b) => a.min(b),
    }
}
