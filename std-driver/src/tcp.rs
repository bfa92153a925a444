//! Connections and servers over `TcpStream`, with the stream framing.
//!
//! The connection is the same as over UDP (handshake, checks, sequence
//! numbers, heartbeats) with `Transport::Stream`: TCP does the
//! retransmission and congestion control, so seqlink's are off.

use crate::registry::{Registry, ServerEndpoint, Table};
use crate::{core_error, entropy, failed, secret, send_error, Clock, Message};
use seqlink_core::connection::{Connection, ConnectionConfig, State, Transport};
use seqlink_core::endpoint::{ConnectionHandle, Endpoint, EndpointConfig, EndpointEvent, Slot};
use seqlink_core::framing::StreamDecoder;
use seqlink_core::link::{Delivery, SendError, Stats};
use seqlink_core::wire::Codec;
use seqlink_core::PacketType;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

/// The stream flavour of a connection configuration.
fn stream_config(mut config: ConnectionConfig) -> ConnectionConfig {
    config.transport = Transport::Stream;
    config.prefer_crc = false;
    config
}

fn decoder(config: &ConnectionConfig) -> StreamDecoder<Vec<u8>> {
    let codec = Codec::new().with_max_payload(config.link.max_payload);
    let buffer = vec![0u8; codec.max_packet_len()];
    // the buffer is sized for the codec: this cannot fail
    StreamDecoder::new(buffer, codec).unwrap_or_else(|_| unreachable!())
}

/// One TCP stream and its frame decoder.
#[derive(Debug)]
struct Pipe {
    stream: TcpStream,
    decoder: StreamDecoder<Vec<u8>>,
    read: Vec<u8>,
    closed: bool,
}

impl Pipe {
    fn new(stream: TcpStream, config: &ConnectionConfig) -> io::Result<Pipe> {
        stream.set_nodelay(true)?;
        Ok(Pipe { stream, decoder: decoder(config), read: vec![0u8; 64 * 1024], closed: false })
    }

    /// Reads what is available (waiting at most `wait`, or not at all when
    /// the stream is non-blocking) and hands every whole packet to `on_frame`.
    fn pump(&mut self, wait: Option<Duration>, mut on_frame: impl FnMut(&[u8])) -> io::Result<bool> {
        if let Some(wait) = wait {
            self.stream.set_read_timeout(Some(wait.max(Duration::from_millis(1))))?;
        }
        match self.stream.read(&mut self.read) {
            Ok(0) => {
                self.closed = true;
                Ok(false)
            }
            Ok(n) => {
                let mut input = &self.read[..n];
                while let Some(frame) = self.decoder.decode_frame(&mut input) {
                    match frame {
                        Ok(bytes) => on_frame(bytes),
                        Err(_) => {
                            // a length over the maximum: the stream can no longer be delimited
                            self.closed = true;
                            return Ok(false);
                        }
                    }
                }
                Ok(true)
            }
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => Ok(false),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(false),
            Err(_) => {
                self.closed = true;
                Ok(false)
            }
        }
    }
}

/// A client connection over TCP.
#[derive(Debug)]
pub struct TcpConnection {
    pipe: Pipe,
    conn: Connection<Vec<u8>>,
    clock: Clock,
    buf: Vec<u8>,
    message: Vec<u8>,
}

impl TcpConnection {
    /// Connects to `server`, waiting at most `timeout` for TCP and the handshake.
    pub fn connect<A: ToSocketAddrs>(server: A, config: ConnectionConfig, timeout: Duration) -> io::Result<Self> {
        let config = stream_config(config);
        let addr = server.to_socket_addrs()?.next().ok_or_else(|| io::Error::other("no address"))?;
        let stream = TcpStream::connect_timeout(&addr, timeout)?;
        let clock = Clock::new();
        let conn = Connection::connect(config, vec![0u8; config.link.storage_len()], clock.now(), entropy())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("{e:?}")))?;
        let mut me = TcpConnection {
            pipe: Pipe::new(stream, &config)?,
            conn,
            clock,
            buf: vec![0u8; config.max_datagram_len()],
            message: vec![0u8; config.link.max_message_len().max(1 << 16)],
        };
        me.drive(Some(Instant::now() + timeout), |c| c.conn.is_established() || c.conn.is_closed())?;
        match me.conn.state() {
            State::Established => Ok(me),
            State::Failed | State::Closed => Err(failed(me.conn.failure())),
            _ => Err(io::Error::new(io::ErrorKind::TimedOut, "connect timed out")),
        }
    }

    /// Sends a message (waiting out a full send window).
    pub fn send(&mut self, ptype: PacketType, data: &[u8], delivery: Delivery) -> io::Result<()> {
        loop {
            match self.conn.send(ptype, data, delivery) {
                Ok(()) => return self.flush(),
                Err(SendError::WouldBlock) => {
                    self.drive(None, |c| c.conn.link().send_capacity() > 0 || !c.conn.is_established())?;
                }
                Err(e) => return Err(send_error(e, self.conn.failure())),
            }
        }
    }

    /// Waits up to `timeout` for the next message; `Ok(None)` on timeout or after the peer closed.
    pub fn recv(&mut self, timeout: Option<Duration>) -> io::Result<Option<Message>> {
        self.drive(timeout.map(|t| Instant::now() + t), |c| {
            c.conn.next_message_len().is_some() || c.conn.is_closed() || c.conn.link().peer_finished()
        })?;
        match self.conn.recv(&mut self.message).map_err(core_error)? {
            Some(r) => Ok(Some(Message { ptype: r.ptype, data: self.message[..r.len].to_vec(), delivery: r.delivery })),
            None if self.conn.state() == State::Failed => Err(failed(self.conn.failure())),
            None => Ok(None),
        }
    }

    /// Closes gracefully, waiting at most `timeout` until both sides are done
    /// and the linger time has passed.
    pub fn close(&mut self, timeout: Duration) -> io::Result<()> {
        self.conn.close(self.clock.now());
        self.drive(Some(Instant::now() + timeout), |c| matches!(c.conn.state(), State::Closed | State::Failed))?;
        match self.conn.state() {
            State::Linger | State::Closed => Ok(()),
            State::Failed => Err(failed(self.conn.failure())),
            _ => Err(io::Error::new(io::ErrorKind::TimedOut, "close timed out")),
        }
    }

    /// Non-blocking: processes what the stream already holds and the timers
    /// that are due, and writes what is ready. For applications with their own loop.
    pub fn poll(&mut self) -> io::Result<()> {
        self.drive(Some(Instant::now()), |_| false).map(|_| ())
    }

    /// The connection.
    pub fn connection(&mut self) -> &mut Connection<Vec<u8>> {
        &mut self.conn
    }

    /// Link statistics.
    pub fn stats(&self) -> Stats {
        self.conn.stats()
    }

    fn drive(&mut self, deadline: Option<Instant>, mut done: impl FnMut(&mut Self) -> bool) -> io::Result<bool> {
        // first whatever is already waiting, without blocking
        self.pipe.stream.set_nonblocking(true)?;
        loop {
            let (conn, clock) = (&mut self.conn, &self.clock);
            if !self.pipe.pump(None, |frame| conn.handle_datagram(clock.now(), frame))? {
                break;
            }
        }
        self.pipe.stream.set_nonblocking(false)?;
        loop {
            self.flush()?;
            if done(self) {
                return Ok(true);
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Ok(false);
            }
            let wait = crate::wait_time(&self.clock, self.conn.poll_timeout(), deadline, Duration::from_millis(50));
            let (conn, clock) = (&mut self.conn, &self.clock);
            self.pipe.pump(Some(wait), |frame| conn.handle_datagram(clock.now(), frame))?;
            if self.pipe.closed {
                self.conn.transport_closed();
            }
            let now = self.clock.now();
            if self.conn.poll_timeout().is_some_and(|t| now >= t) {
                self.conn.handle_timeout(now);
            }
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        while let Some(n) = self.conn.poll_transmit(self.clock.now(), &mut self.buf).map_err(core_error)? {
            if !self.pipe.closed {
                self.pipe.stream.write_all(&self.buf[..n])?;
            }
        }
        Ok(())
    }
}

/// A server over a TCP listener: every accepted stream is one connection.
#[derive(Debug)]
pub struct TcpServer {
    listener: TcpListener,
    endpoint: ServerEndpoint,
    config: ConnectionConfig,
    pipes: Vec<(SocketAddr, Pipe)>,
    clock: Clock,
    buf: Vec<u8>,
    message: Vec<u8>,
    registry: Registry,
}

impl TcpServer {
    /// Listens on `addr` with room for `max_peers` connections.
    pub fn bind<A: ToSocketAddrs>(addr: A, mut config: EndpointConfig, max_peers: usize) -> io::Result<Self> {
        config.connection = stream_config(config.connection);
        let listener = TcpListener::bind(addr)?;
        listener.set_nonblocking(true)?;
        let len = config.connection.link.storage_len();
        let table: Table = (0..max_peers).map(|_| Slot::new(vec![0u8; len])).collect();
        Ok(TcpServer {
            listener,
            endpoint: Endpoint::new(config, table, secret(), entropy()),
            config: config.connection,
            pipes: Vec::new(),
            clock: Clock::new(),
            buf: vec![0u8; config.connection.max_datagram_len()],
            message: vec![0u8; config.connection.link.max_message_len().max(1 << 16)],
            registry: Registry::default(),
        })
    }

    /// The listening address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Waits up to `timeout` for a new connection.
    pub fn accept(&mut self, timeout: Option<Duration>) -> io::Result<Option<ConnectionHandle>> {
        self.drive(timeout.map(|t| Instant::now() + t), |s| !s.registry.new.is_empty())?;
        Ok(self.registry.new.pop_front())
    }

    /// Waits up to `timeout` for a message on any connection.
    pub fn recv(&mut self, timeout: Option<Duration>) -> io::Result<Option<(ConnectionHandle, Message)>> {
        let mut found = None;
        self.drive(timeout.map(|t| Instant::now() + t), |s| {
            found = s.registry.ready(&mut s.endpoint);
            found.is_some()
        })?;
        Registry::take(&mut self.endpoint, found, &mut self.message)
    }

    /// Sends a message on a connection.
    pub fn send(
        &mut self,
        handle: ConnectionHandle,
        ptype: PacketType,
        data: &[u8],
        delivery: Delivery,
    ) -> io::Result<()> {
        loop {
            match self.endpoint.send(handle, ptype, data, delivery) {
                Ok(()) => return self.flush(),
                Err(SendError::WouldBlock) => {
                    self.drive(None, |s| s.endpoint.connection(handle).is_none_or(|c| c.link().send_capacity() > 0))?;
                }
                Err(e) => {
                    let reason = self.endpoint.connection(handle).and_then(|c| c.failure());
                    return Err(send_error(e, reason));
                }
            }
        }
    }

    /// Starts a graceful close of a connection.
    pub fn close(&mut self, handle: ConnectionHandle) -> io::Result<()> {
        self.endpoint.close(handle, self.clock.now());
        self.flush()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<EndpointEvent<SocketAddr>> {
        self.collect();
        self.registry.events.pop_front()
    }

    /// The endpoint.
    pub fn endpoint(&mut self) -> &mut ServerEndpoint {
        &mut self.endpoint
    }

    /// Runs until `done` holds or `deadline` passes.
    pub fn drive(&mut self, deadline: Option<Instant>, mut done: impl FnMut(&mut Self) -> bool) -> io::Result<bool> {
        loop {
            self.flush()?;
            self.collect();
            if done(self) {
                return Ok(true);
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Ok(false);
            }
            let mut busy = self.accept_streams()?;
            for (addr, pipe) in &mut self.pipes {
                pipe.stream.set_nonblocking(true)?;
                let (endpoint, clock, addr) = (&mut self.endpoint, &self.clock, *addr);
                busy |= pipe.pump(None, |frame| endpoint.handle_datagram(clock.now(), addr, frame))?;
            }
            for (addr, pipe) in &self.pipes {
                if pipe.closed {
                    let handle = self.registry.open.iter().copied().find(|&h| self.endpoint.peer(h) == Some(*addr));
                    if let Some(conn) = handle.and_then(|h| self.endpoint.connection(h)) {
                        conn.transport_closed();
                    }
                }
            }
            self.pipes.retain(|(_, p)| !p.closed);
            let now = self.clock.now();
            if self.endpoint.poll_timeout().is_some_and(|t| now >= t) {
                self.endpoint.handle_timeout(now);
            }
            if !busy {
                std::thread::sleep(Duration::from_millis(1));
            }
        }
    }

    fn accept_streams(&mut self) -> io::Result<bool> {
        let mut any = false;
        loop {
            match self.listener.accept() {
                Ok((stream, addr)) => {
                    self.pipes.push((addr, Pipe::new(stream, &self.config)?));
                    any = true;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(any),
                Err(e) => return Err(e),
            }
        }
    }

    fn collect(&mut self) {
        self.registry.collect(&mut self.endpoint);
    }

    fn flush(&mut self) -> io::Result<()> {
        while let Some((to, n)) = self.endpoint.poll_transmit(self.clock.now(), &mut self.buf).map_err(core_error)? {
            if let Some((_, pipe)) = self.pipes.iter_mut().find(|(a, _)| *a == to) {
                pipe.stream.set_nonblocking(false)?;
                if pipe.stream.write_all(&self.buf[..n]).is_err() {
                    pipe.closed = true;
                }
            }
        }
        Ok(())
    }
}
