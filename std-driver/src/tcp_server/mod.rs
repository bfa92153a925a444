//! A server over a TCP listener: every accepted stream is one peer, a
//! seqlink connection or a basic-profile (seed 000) peer ([`Profiles`]).
//!
//! The server never waits on one peer: its streams are non-blocking, each
//! peer's output is buffered, and the server sleeps in poll(2) until the
//! listener or a stream is ready or a timer is due. The buffer is bounded
//! ([`TcpServer::with_max_buffered`]): a peer that does not read until its
//! buffer would overflow is disconnected (a seqlink connection fails with a
//! reset, a basic peer is closed). Back-pressure instead would need the
//! endpoint to hold back one connection's packets, which it cannot.

mod basic;
mod stream;

pub use basic::{BasicEvent, BasicPeer, Profiles};

use self::basic::BasicPeers;
use self::stream::{Outbox, PeerStream, Role};
use crate::readiness::{self, PollFd, PollFlags};
use crate::registry::{admission_error, Registry, ServerEndpoint, Table};
use crate::tcp::stream_config;
use crate::{core_error, entropy, secret, send_error, send_room_grew, wait_time, Clock, Message};
use seqlink_core::ErrorCode;
use seqlink_core::StreamDecoder;
use seqlink_core::{BasicConfig, BasicStats};
use seqlink_core::{Codec, Packet, PacketType};
use seqlink_core::{ConnectionHandle, Endpoint, EndpointConfig, EndpointEvent, Incoming, IncomingTicket, Slot};
use seqlink_core::{Delivery, SendError};
use std::collections::VecDeque;
use std::io;
use std::net::{SocketAddr, TcpListener, ToSocketAddrs};
use std::time::{Duration, Instant};

const POLL_CAP: Duration = Duration::from_millis(50);
/// Reads of one stream per wake-up at most, so that a busy peer cannot starve the others.
const READS_PER_WAKE: usize = 4;
const READ_CHUNK: usize = 64 * 1024;

/// Names a peer of a [`TcpServer`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TcpPeer {
    /// A seqlink connection of the server's endpoint.
    Seqlink(ConnectionHandle),
    /// A basic-profile (seed 000) peer.
    Basic(BasicPeer),
}

impl From<ConnectionHandle> for TcpPeer {
    fn from(handle: ConnectionHandle) -> TcpPeer {
        TcpPeer::Seqlink(handle)
    }
}

impl From<BasicPeer> for TcpPeer {
    fn from(peer: BasicPeer) -> TcpPeer {
        TcpPeer::Basic(peer)
    }
}

/// How each kind of stream is framed.
#[derive(Debug, Clone, Copy)]
struct Codecs {
    seqlink: Codec,
    basic: Codec,
    /// Until the first packet: room for either kind's largest.
    undecided: Codec,
    /// Decoder buffer length (the largest packet of the three).
    buffer: usize,
}

impl Codecs {
    fn new(seqlink_max_payload: u16, basic: Codec) -> Codecs {
        let seqlink = Codec::new().with_max_payload(seqlink_max_payload);
        let undecided = Codec::new().with_max_payload(seqlink_max_payload.max(basic.max_payload));
        let buffer = seqlink.max_packet_len().max(basic.max_packet_len()).max(undecided.max_packet_len());
        Codecs { seqlink, basic, undecided, buffer }
    }
}

/// What a received packet asks of its stream.
enum After {
    Continue,
    /// The stream's kind is known now: frame the rest with this codec.
    Reframe(Codec),
    Disconnect,
}

/// What handling a packet needs besides its stream.
struct Input<'a> {
    endpoint: &'a mut ServerEndpoint,
    basic: &'a mut BasicPeers,
    codecs: Codecs,
    now: u64,
    max_peers: usize,
    max_buffered: usize,
}

impl Input<'_> {
    fn packet(&mut self, role: &mut Role, addr: SocketAddr, out: &mut Outbox, packet: &[u8]) -> After {
        let syn = Packet::new_unchecked(packet).packet_type() == PacketType::SYN;
        match *role {
            Role::Seqlink(_) => {
                self.endpoint.handle_datagram(self.now, addr, packet);
                After::Continue
            }
            Role::Undecided { .. } if syn => self.seqlink(role, addr, packet),
            Role::Basic { peer, by_silence: true } if syn && self.basic.nothing_received(peer) => {
                // a seqlink client slower than the silence allowed
                self.basic.ended(peer);
                self.seqlink(role, addr, packet)
            }
            Role::Undecided { .. } => match self.basic.open(addr, self.max_peers) {
                Some(peer) => {
                    *role = Role::Basic { peer, by_silence: false };
                    match self.basic.receive(peer, packet, out, self.max_buffered) {
                        true => After::Reframe(self.codecs.basic),
                        false => After::Disconnect,
                    }
                }
                None => After::Disconnect,
            },
            Role::Basic { peer, .. } => match self.basic.receive(peer, packet, out, self.max_buffered) {
                true => After::Continue,
                false => After::Disconnect,
            },
        }
    }

    fn seqlink(&mut self, role: &mut Role, addr: SocketAddr, packet: &[u8]) -> After {
        *role = Role::Seqlink(None);
        self.endpoint.handle_datagram(self.now, addr, packet);
        After::Reframe(self.codecs.seqlink)
    }
}

/// A server over a TCP listener: seqlink clients and basic-profile (seed 000)
/// clients, each stream one peer ([`TcpPeer`]). The application reads and
/// writes both kinds the same way: [`TcpServer::accept`],
/// [`TcpServer::recv`], [`TcpServer::send`], [`TcpServer::close`].
#[derive(Debug)]
pub struct TcpServer {
    listener: TcpListener,
    endpoint: ServerEndpoint,
    registry: Registry,
    basic: BasicPeers,
    streams: Vec<PeerStream>,
    new: VecDeque<TcpPeer>,
    profiles: Profiles,
    codecs: Codecs,
    seqlink_max_payload: u16,
    max_peers: usize,
    max_buffered: usize,
    clock: Clock,
    read: Vec<u8>,
    buf: Vec<u8>,
    message: Vec<u8>,
    basic_first: bool,
}

impl TcpServer {
    /// Listens on `addr` with room for `max_peers` seqlink connections and as
    /// many basic-profile peers. Clients of both kinds are served
    /// ([`Profiles::default`]); basic peers get [`BasicConfig::default`]
    /// (no ACKs, out-of-order packets discarded).
    pub fn bind<A: ToSocketAddrs>(addr: A, mut config: EndpointConfig, max_peers: usize) -> io::Result<Self> {
        config.connection = stream_config(config.connection);
        let listener = TcpListener::bind(addr)?;
        listener.set_nonblocking(true)?;
        let connection = config.connection;
        let table: Table = (0..max_peers).map(|_| Slot::new(vec![0u8; connection.link.storage_len()])).collect();
        let basic = BasicConfig::default();
        let codecs = Codecs::new(connection.link.max_payload, basic.codec);
        Ok(TcpServer {
            listener,
            endpoint: Endpoint::new(config, table, secret(), entropy()),
            registry: Registry::default(),
            basic: BasicPeers::new(basic),
            streams: Vec::new(),
            new: VecDeque::new(),
            profiles: Profiles::default(),
            codecs,
            seqlink_max_payload: connection.link.max_payload,
            max_peers,
            max_buffered: usize::from(connection.link.send_window) * connection.max_datagram_len() + (1 << 20),
            clock: Clock::new(),
            read: vec![0u8; READ_CHUNK],
            buf: vec![0u8; connection.max_datagram_len().max(codecs.basic.max_packet_len())],
            message: vec![0u8; connection.link.max_message_len().max(1 << 16)],
            basic_first: false,
        })
    }

    /// Chooses which kinds of clients are served, and the basic profile's
    /// settings (ACKs, NACKs, limits). Call before serving.
    pub fn with_profiles(mut self, profiles: Profiles, basic: BasicConfig) -> Self {
        self.profiles = profiles;
        self.basic.config = basic;
        self.codecs = Codecs::new(self.seqlink_max_payload, basic.codec);
        let len = self.buf.len().max(basic.codec.max_packet_len());
        self.buf.resize(len, 0);
        self
    }

    /// Bounds each peer's buffered output to `bytes` (by default a full send
    /// window of the largest packets plus 1 MiB). A peer whose output would
    /// exceed it is disconnected.
    pub fn with_max_buffered(mut self, bytes: usize) -> Self {
        self.max_buffered = bytes;
        self
    }

    /// The listening address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Waits up to `timeout` for a new peer (a seqlink connection once its
    /// handshake completed, a basic peer once recognised).
    pub fn accept(&mut self, timeout: Option<Duration>) -> io::Result<Option<TcpPeer>> {
        self.drive(timeout.map(|t| Instant::now() + t), |s| !s.new.is_empty())?;
        Ok(self.new.pop_front())
    }

    /// Waits up to `timeout` for a seqlink handshake waiting for the
    /// application's decision (only with [`EndpointConfig::auto_accept`] off).
    pub fn incoming(&mut self, timeout: Option<Duration>) -> io::Result<Option<Incoming<SocketAddr>>> {
        let mut found = None;
        self.drive(timeout.map(|t| Instant::now() + t), |s| {
            found = s.endpoint.poll_incoming();
            found.is_some()
        })?;
        Ok(found)
    }

    /// Accepts a waiting handshake: its connection is created and confirmed
    /// (it is not handed out by [`TcpServer::accept`] again).
    pub fn accept_incoming(&mut self, ticket: IncomingTicket) -> io::Result<TcpPeer> {
        let handle = self.endpoint.accept_incoming(ticket, self.clock.now()).map_err(admission_error)?;
        self.registry.admit(handle);
        self.tie(handle);
        self.flush()?;
        Ok(TcpPeer::Seqlink(handle))
    }

    /// Refuses a waiting handshake: the client fails with `Refused { code }`.
    pub fn refuse(&mut self, ticket: IncomingTicket, code: ErrorCode) -> io::Result<()> {
        self.endpoint.refuse(ticket, code).map_err(admission_error)?;
        self.flush()
    }

    /// Waits up to `timeout` for a message from any peer. A basic peer's
    /// messages are every packet it sends in order except ACK, NACK and
    /// HEARTBEAT, with [`Delivery::Reliable`].
    pub fn recv(&mut self, timeout: Option<Duration>) -> io::Result<Option<(TcpPeer, Message)>> {
        let mut found = None;
        self.drive(timeout.map(|t| Instant::now() + t), |s| {
            found = s.ready();
            found.is_some()
        })?;
        match found {
            Some(TcpPeer::Seqlink(handle)) => Ok(Registry::take(&mut self.endpoint, Some(handle), &mut self.message)?
                .map(|(handle, message)| (TcpPeer::Seqlink(handle), message))),
            Some(TcpPeer::Basic(peer)) => Ok(self.basic.take(peer).map(|message| (TcpPeer::Basic(peer), message))),
            None => Ok(None),
        }
    }

    /// A peer with a message waiting, alternating between the two kinds.
    fn ready(&mut self) -> Option<TcpPeer> {
        self.basic_first = !self.basic_first;
        let basic = self.basic.ready().map(TcpPeer::Basic);
        if self.basic_first && basic.is_some() {
            return basic;
        }
        self.registry.ready(&mut self.endpoint).map(TcpPeer::Seqlink).or(basic)
    }

    /// Sends a message to a peer. For a seqlink connection a full send window
    /// is waited out (see [`TcpServer::try_send`]). A basic peer's message is
    /// its next seed 000 packet whatever `delivery` says; ACK and NACK are
    /// the profile's and refused. Fails if the peer is disconnected, now
    /// because its output buffer overflowed or earlier.
    pub fn send(
        &mut self,
        peer: impl Into<TcpPeer>,
        ptype: PacketType,
        data: &[u8],
        delivery: Delivery,
    ) -> io::Result<()> {
        self.send_or_wait(peer.into(), ptype, data, delivery, true)
    }

    /// Like [`TcpServer::send`], but a full send window fails with `WouldBlock` instead of being waited out.
    pub fn try_send(
        &mut self,
        peer: impl Into<TcpPeer>,
        ptype: PacketType,
        data: &[u8],
        delivery: Delivery,
    ) -> io::Result<()> {
        self.send_or_wait(peer.into(), ptype, data, delivery, false)
    }

    fn send_or_wait(
        &mut self,
        peer: TcpPeer,
        ptype: PacketType,
        data: &[u8],
        delivery: Delivery,
        wait: bool,
    ) -> io::Result<()> {
        let handle = match peer {
            TcpPeer::Seqlink(handle) => handle,
            TcpPeer::Basic(peer) => return self.send_basic(peer, ptype, data),
        };
        loop {
            match self.endpoint.send(handle, ptype, data, delivery) {
                Ok(()) => return self.flush(),
                Err(SendError::WouldBlock) if wait => {
                    let room = self.endpoint.connection(handle).map_or(0, |c| c.link().send_capacity());
                    self.drive(None, |s| s.endpoint.connection(handle).is_none_or(|c| send_room_grew(c, room)))?;
                }
                Err(e) => {
                    let reason = self.endpoint.connection(handle).and_then(|c| c.failure());
                    return Err(send_error(e, reason));
                }
            }
        }
    }

    fn send_basic(&mut self, peer: BasicPeer, ptype: PacketType, data: &[u8]) -> io::Result<()> {
        let stream = self.streams.iter_mut().find(|s| !s.ended && s.role.is_basic(peer));
        let Some(stream) = stream else {
            return Err(io::Error::new(io::ErrorKind::NotConnected, "the basic peer is closed"));
        };
        let n = self.basic.encode(peer, ptype, data, &mut self.buf)?;
        if !stream.out.push(self.buf.get(..n).unwrap_or_default(), self.max_buffered) {
            stream.disconnect();
            self.basic.ended(peer);
            return Err(io::Error::new(io::ErrorKind::ConnectionAborted, "the peer did not read: disconnected"));
        }
        stream.write();
        Ok(())
    }

    /// Closes a peer: a seqlink connection gracefully (close handshake); a
    /// basic peer's stream once what was sent to it is written.
    pub fn close(&mut self, peer: impl Into<TcpPeer>) -> io::Result<()> {
        match peer.into() {
            TcpPeer::Seqlink(handle) => {
                self.endpoint.close(handle, self.clock.now());
                self.flush()
            }
            TcpPeer::Basic(peer) => {
                self.basic.close(peer);
                if let Some(stream) = self.streams.iter_mut().find(|s| s.role.is_basic(peer)) {
                    stream.finishing = true;
                }
                Ok(())
            }
        }
    }

    /// Whether a peer is connected and not closed.
    pub fn is_open(&mut self, peer: impl Into<TcpPeer>) -> bool {
        match peer.into() {
            TcpPeer::Seqlink(handle) => self.endpoint.is_open(handle),
            TcpPeer::Basic(peer) => self.basic.is_open(peer),
        }
    }

    /// A peer's address.
    pub fn peer_addr(&mut self, peer: impl Into<TcpPeer>) -> Option<SocketAddr> {
        match peer.into() {
            TcpPeer::Seqlink(handle) => self.endpoint.peer(handle),
            TcpPeer::Basic(peer) => self.basic.addr(peer),
        }
    }

    /// A basic peer's seed 000 statistics (while it is known).
    pub fn basic_stats(&self, peer: BasicPeer) -> Option<BasicStats> {
        self.basic.stats(peer)
    }

    /// The next event of the endpoint or of a seqlink connection.
    pub fn poll_event(&mut self) -> Option<EndpointEvent<SocketAddr>> {
        self.collect();
        self.registry.events.pop_front()
    }

    /// The next event of a basic peer.
    pub fn poll_basic_event(&mut self) -> Option<BasicEvent> {
        self.basic.events.pop_front()
    }

    /// The endpoint of the seqlink connections.
    pub fn endpoint(&mut self) -> &mut ServerEndpoint {
        &mut self.endpoint
    }

    /// Runs until `done` holds or `deadline` passes; returns whether `done` held.
    pub fn drive(&mut self, deadline: Option<Instant>, mut done: impl FnMut(&mut Self) -> bool) -> io::Result<bool> {
        let mut wait = Duration::ZERO;
        loop {
            self.serve(wait)?;
            if done(self) {
                return Ok(true);
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Ok(false);
            }
            wait = wait_time(&self.clock, self.next_timer(), deadline, POLL_CAP);
        }
    }

    /// Waits up to `wait` for readiness, then does everything that is due.
    fn serve(&mut self, wait: Duration) -> io::Result<()> {
        self.flush()?;
        let (listener, ready) = self.wait_ready(wait)?;
        if listener {
            self.accept_streams()?;
        }
        for (index, revents) in ready {
            if let Some(stream) = self.streams.get_mut(index) {
                if readiness::writable(revents) {
                    stream.blocked = false;
                    stream.write();
                }
            }
            if readiness::readable(revents) {
                self.read_stream(index);
            }
        }
        let now = self.clock.now();
        if self.endpoint.poll_timeout().is_some_and(|t| now >= t) {
            self.endpoint.handle_timeout(now);
        }
        self.detect_silence(now);
        self.flush()?;
        self.reap();
        Ok(())
    }

    /// Polls the listener and the streams with something to do; returns
    /// whether the listener is ready and the readiness of each stream index.
    fn wait_ready(&self, wait: Duration) -> io::Result<(bool, Vec<(usize, PollFlags)>)> {
        let mut fds = vec![PollFd::new(&self.listener, PollFlags::IN)];
        let mut watched = Vec::new();
        for (index, stream) in self.streams.iter().enumerate() {
            let mut flags = PollFlags::empty();
            let wants_input = match stream.role {
                Role::Basic { peer, .. } => self.basic.wants_input(peer),
                _ => true,
            };
            if !stream.ended && wants_input {
                flags |= PollFlags::IN;
            }
            if stream.blocked && !stream.out.is_empty() {
                flags |= PollFlags::OUT;
            }
            if !flags.is_empty() {
                fds.push(PollFd::new(&stream.stream, flags));
                watched.push(index);
            }
        }
        readiness::wait(&mut fds, wait)?;
        let listener = fds.first().is_some_and(|fd| !fd.revents().is_empty());
        let ready = watched
            .into_iter()
            .zip(fds.iter().skip(1).map(PollFd::revents))
            .filter(|(_, revents)| !revents.is_empty())
            .collect();
        Ok((listener, ready))
    }

    fn next_timer(&self) -> Option<u64> {
        let silence = match self.profiles {
            Profiles::Detect { silence_ms } => self
                .streams
                .iter()
                .filter_map(|s| match s.role {
                    Role::Undecided { since } => Some(since + u64::from(silence_ms)),
                    _ => None,
                })
                .min(),
            _ => None,
        };
        match (self.endpoint.poll_timeout(), silence) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn accept_streams(&mut self) -> io::Result<()> {
        loop {
            let (stream, addr) = match self.listener.accept() {
                Ok(accepted) => accepted,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if matches!(e.kind(), io::ErrorKind::Interrupted | io::ErrorKind::ConnectionAborted) => continue,
                Err(e) => return Err(e),
            };
            let (role, codec) = match self.profiles {
                Profiles::SeqlinkOnly => (Role::Seqlink(None), self.codecs.seqlink),
                Profiles::Detect { .. } => (Role::Undecided { since: self.clock.now() }, self.codecs.undecided),
                Profiles::BasicOnly => match self.basic.open(addr, self.max_peers) {
                    Some(peer) => (Role::Basic { peer, by_silence: false }, self.codecs.basic),
                    None => continue, // full: the stream is dropped
                },
            };
            let decoder = StreamDecoder::new(vec![0u8; self.codecs.buffer], codec).map_err(core_error)?;
            self.streams.push(PeerStream::new(addr, stream, decoder, role)?);
        }
    }

    /// Reads a ready stream and handles its packets.
    fn read_stream(&mut self, index: usize) {
        let Some(stream) = self.streams.get_mut(index) else { return };
        let mut input = Input {
            endpoint: &mut self.endpoint,
            basic: &mut self.basic,
            codecs: self.codecs,
            now: self.clock.now(),
            max_peers: self.max_peers,
            max_buffered: self.max_buffered,
        };
        for _ in 0..READS_PER_WAKE {
            if let Role::Basic { peer, .. } = stream.role {
                if !input.basic.wants_input(peer) {
                    return;
                }
            }
            let Some(n) = stream.read(&mut self.read) else { return };
            let mut bytes = self.read.get(..n).unwrap_or_default();
            while let Some(frame) = stream.decoder.decode_frame(&mut bytes) {
                let after = match frame {
                    Ok(packet) => input.packet(&mut stream.role, stream.addr, &mut stream.out, packet),
                    // a length over the maximum: the stream can no longer be delimited
                    Err(_) => After::Disconnect,
                };
                match after {
                    After::Continue => {}
                    After::Reframe(codec) => {
                        // the buffer is sized for every codec: this cannot fail
                        let _ = stream.decoder.set_codec(codec);
                    }
                    After::Disconnect => {
                        stream.disconnect();
                        return;
                    }
                }
            }
            if n < self.read.len() {
                return;
            }
        }
    }

    /// Streams silent since `silence_ms` are basic peers (waiting for the server to speak first).
    fn detect_silence(&mut self, now: u64) {
        let Profiles::Detect { silence_ms } = self.profiles else { return };
        for stream in &mut self.streams {
            if let Role::Undecided { since } = stream.role {
                if now >= since + u64::from(silence_ms) {
                    match self.basic.open(stream.addr, self.max_peers) {
                        Some(peer) => {
                            stream.role = Role::Basic { peer, by_silence: true };
                            let _ = stream.decoder.set_codec(self.codecs.basic);
                        }
                        None => stream.disconnect(),
                    }
                }
            }
        }
    }

    /// Moves the endpoint's packets to their streams' buffers (disconnecting
    /// a stream whose buffer overflows) and writes what the streams take.
    fn flush(&mut self) -> io::Result<()> {
        let now = self.clock.now();
        while let Some((to, n)) = self.endpoint.poll_transmit(now, &mut self.buf).map_err(core_error)? {
            let packet = self.buf.get(..n).unwrap_or_default();
            if let Some(stream) = self.streams.iter_mut().find(|s| s.addr == to && s.is_seqlink() && !s.ended) {
                if !stream.out.push(packet, self.max_buffered) {
                    stream.disconnect();
                }
            }
        }
        self.streams.iter_mut().for_each(PeerStream::write);
        Ok(())
    }

    /// Takes new connections and events from the endpoint and ties new
    /// connections to their streams.
    fn collect(&mut self) {
        self.registry.collect(&mut self.endpoint);
        while let Some(handle) = self.registry.new.pop_front() {
            self.tie(handle);
            self.new.push_back(TcpPeer::Seqlink(handle));
        }
        while let Some(peer) = self.basic.opened.pop_front() {
            self.new.push_back(TcpPeer::Basic(peer));
        }
    }

    /// Ties a new connection to the stream of its peer.
    fn tie(&mut self, handle: ConnectionHandle) {
        if let Some(addr) = self.endpoint.peer(handle) {
            if let Some(s) = self.streams.iter_mut().find(|s| s.addr == addr && s.role == Role::Seqlink(None)) {
                s.role = Role::Seqlink(Some(handle));
            }
        }
    }

    /// Drops the streams that are over, telling their peers' state.
    fn reap(&mut self) {
        self.collect();
        for stream in &mut self.streams {
            if let Role::Seqlink(Some(handle)) = stream.role {
                if self.endpoint.connection(handle).is_none() {
                    stream.finishing = true; // the connection finished and was released
                }
            }
            if stream.finishing && stream.out.is_empty() {
                stream.finish();
            }
            if !stream.ended {
                continue;
            }
            match stream.role {
                Role::Seqlink(Some(handle)) => {
                    if let Some(conn) = self.endpoint.connection(handle) {
                        conn.transport_closed();
                    }
                }
                Role::Basic { peer, .. } => self.basic.ended(peer),
                Role::Seqlink(None) | Role::Undecided { .. } => {}
            }
        }
        self.streams.retain(|s| !s.ended);
    }
}
