//! Connections and servers over `UdpSocket`.

use crate::registry::{Registry, ServerEndpoint, Table};
use crate::{
    close_outcome, connect_outcome, core_error, entropy, recv_outcome, resolve, secret, send_error, wait_time, Clock,
    Impairment, Message,
};
use seqlink_core::connection::{Connection, ConnectionConfig, State};
use seqlink_core::endpoint::{ConnectionHandle, Endpoint, EndpointConfig, EndpointEvent, EndpointStats, Slot};
use seqlink_core::link::{Delivery, SendError, Stats};
use seqlink_core::{Event, PacketType};
use std::collections::VecDeque;
use std::io;
use std::net::{SocketAddr, ToSocketAddrs, UdpSocket};
use std::time::{Duration, Instant};

const POLL_CAP: Duration = Duration::from_millis(50);

fn is_timeout(e: &io::Error) -> bool {
    matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted)
}

/// A client connection over a UDP socket.
#[derive(Debug)]
pub struct UdpConnection {
    socket: UdpSocket,
    peer: SocketAddr,
    conn: Connection<Vec<u8>>,
    clock: Clock,
    buf: Vec<u8>,
    message: Vec<u8>,
    events: VecDeque<Event>,
    impairment: Option<Impairment>,
    nonblocking: bool,
}

impl UdpConnection {
    /// Connects to `server` from an ephemeral local port, waiting at most `timeout`.
    pub fn connect<A: ToSocketAddrs>(server: A, config: ConnectionConfig, timeout: Duration) -> io::Result<Self> {
        let server = resolve(server)?;
        let bind: SocketAddr =
            if server.is_ipv4() { "0.0.0.0:0" } else { "[::]:0" }.parse().map_err(io::Error::other)?;
        Self::connect_with(UdpSocket::bind(bind)?, server, config, timeout, None)
    }

    /// Connects over `socket`, optionally dropping datagrams on purpose (`impairment`).
    pub fn connect_with(
        socket: UdpSocket,
        server: SocketAddr,
        config: ConnectionConfig,
        timeout: Duration,
        impairment: Option<Impairment>,
    ) -> io::Result<Self> {
        let clock = Clock::new();
        let storage = vec![0u8; config.link.storage_len()];
        let conn = Connection::connect(config, storage, clock.now(), entropy())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        let mut me = UdpConnection {
            socket,
            peer: server,
            conn,
            clock,
            buf: vec![0u8; config.max_datagram_len().max(2048)],
            message: vec![0u8; config.link.max_message_len().max(1 << 16)],
            events: VecDeque::new(),
            impairment,
            nonblocking: false,
        };
        let deadline = Instant::now() + timeout;
        me.drive(Some(deadline), |c| c.conn.is_established() || c.conn.is_closed())?;
        connect_outcome(&me.conn).map(|()| me)
    }

    /// Sends a message. In blocking mode a full send window is waited out; in
    /// non-blocking mode it is reported as `WouldBlock`.
    pub fn send(&mut self, ptype: PacketType, data: &[u8], delivery: Delivery) -> io::Result<()> {
        loop {
            match self.conn.send(ptype, data, delivery) {
                Ok(()) => return self.flush(),
                Err(SendError::WouldBlock) if !self.nonblocking => {
                    self.drive(None, |c| c.conn.link().send_capacity() > 0 || !c.conn.is_established())?;
                }
                Err(e) => return Err(send_error(e, self.conn.failure())),
            }
        }
    }

    /// Waits up to `timeout` (forever with `None`; not at all in non-blocking
    /// mode) for the next message. `Ok(None)`: nothing yet, or the peer closed.
    pub fn recv(&mut self, timeout: Option<Duration>) -> io::Result<Option<Message>> {
        if self.nonblocking {
            self.poll()?;
        } else {
            let deadline = timeout.map(|t| Instant::now() + t);
            self.drive(deadline, |c| c.conn.next_message_len().is_some() || c.conn.is_closed() || c.peer_done())?;
        }
        let received = self.conn.recv(&mut self.message).map_err(core_error)?;
        recv_outcome(&self.conn, received.map(|r| Message::read(r, &self.message)))
    }

    fn peer_done(&self) -> bool {
        matches!(self.conn.state(), State::Closing | State::Linger) && self.conn.link().peer_finished()
    }

    /// Closes gracefully and waits (at most `timeout`) until both sides are
    /// done and the linger time has passed (late duplicates are answered meanwhile).
    pub fn close(&mut self, timeout: Duration) -> io::Result<()> {
        self.conn.close(self.clock.now());
        let deadline = Instant::now() + timeout;
        self.drive(Some(deadline), |c| matches!(c.conn.state(), State::Closed | State::Failed))?;
        close_outcome(&self.conn)
    }

    /// Non-blocking: processes every datagram waiting on the socket, the
    /// timers that are due, and sends what is ready.
    pub fn poll(&mut self) -> io::Result<()> {
        self.drain()?;
        self.tick();
        self.flush()
    }

    /// Switches between blocking calls and non-blocking ones (`WouldBlock`, drive with [`UdpConnection::poll`]).
    pub fn set_nonblocking(&mut self, nonblocking: bool) -> io::Result<()> {
        self.nonblocking = nonblocking;
        self.socket.set_nonblocking(nonblocking)
    }

    /// The next event (Connected, Closed, Failed, Writable, ...).
    pub fn poll_event(&mut self) -> Option<Event> {
        self.collect_events();
        self.events.pop_front()
    }

    /// The connection (state, agreement, link, traces).
    pub fn connection(&mut self) -> &mut Connection<Vec<u8>> {
        &mut self.conn
    }

    /// Link statistics.
    pub fn stats(&self) -> Stats {
        self.conn.stats()
    }

    /// The local socket address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.socket.local_addr()
    }

    /// The server's address.
    pub fn peer_addr(&self) -> SocketAddr {
        self.peer
    }

    /// Runs the connection until `done` holds or `deadline` passes; returns whether `done` held.
    pub fn drive(&mut self, deadline: Option<Instant>, mut done: impl FnMut(&mut Self) -> bool) -> io::Result<bool> {
        self.drain()?;
        loop {
            self.tick();
            self.flush()?;
            self.collect_events();
            if done(self) {
                return Ok(true);
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Ok(false);
            }
            let wait = wait_time(&self.clock, self.conn.poll_timeout(), deadline, POLL_CAP);
            self.socket.set_read_timeout(Some(wait))?;
            if self.receive_one()? {
                self.drain()?;
            }
        }
    }

    /// Processes every datagram already waiting on the socket, without waiting.
    fn drain(&mut self) -> io::Result<()> {
        self.socket.set_nonblocking(true)?;
        let result = (|| {
            while self.receive_one()? {}
            Ok(())
        })();
        self.socket.set_nonblocking(self.nonblocking)?;
        result
    }

    fn collect_events(&mut self) {
        while let Some(e) = self.conn.poll_event() {
            self.events.push_back(e);
        }
    }

    fn tick(&mut self) {
        let now = self.clock.now();
        if self.conn.poll_timeout().is_some_and(|t| now >= t) {
            self.conn.handle_timeout(now);
        }
    }

    fn receive_one(&mut self) -> io::Result<bool> {
        match self.socket.recv_from(&mut self.buf) {
            Ok((n, from)) => {
                if from != self.peer {
                    return Ok(true);
                }
                let datagram = &mut self.buf[..n];
                if let Some(imp) = &mut self.impairment {
                    if imp.drop_next() {
                        return Ok(true);
                    }
                    imp.corrupt_next(datagram);
                }
                self.conn.handle_datagram(self.clock.now(), datagram);
                Ok(true)
            }
            Err(e) if is_timeout(&e) || e.kind() == io::ErrorKind::ConnectionRefused => Ok(false),
            Err(e) => Err(e),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        while let Some(n) = self.conn.poll_transmit(self.clock.now(), &mut self.buf).map_err(core_error)? {
            if self.impairment.as_mut().is_some_and(Impairment::drop_next) {
                continue;
            }
            match self.socket.send_to(&self.buf[..n], self.peer) {
                Ok(_) => {}
                Err(e) if is_timeout(&e) => {} // a full socket buffer is a loss; the protocol recovers
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

/// A server: one UDP socket, many connections.
#[derive(Debug)]
pub struct UdpServer {
    socket: UdpSocket,
    endpoint: ServerEndpoint,
    clock: Clock,
    buf: Vec<u8>,
    message: Vec<u8>,
    registry: Registry,
    impairment: Option<Impairment>,
}

impl UdpServer {
    /// Binds `addr` with room for `max_peers` connections.
    pub fn bind<A: ToSocketAddrs>(addr: A, config: EndpointConfig, max_peers: usize) -> io::Result<Self> {
        let socket = UdpSocket::bind(addr)?;
        let len = config.connection.link.storage_len();
        let table: Table = (0..max_peers).map(|_| Slot::new(vec![0u8; len])).collect();
        Ok(UdpServer {
            socket,
            endpoint: Endpoint::new(config, table, secret(), entropy()),
            clock: Clock::new(),
            buf: vec![0u8; config.connection.max_datagram_len().max(2048)],
            message: vec![0u8; config.connection.link.max_message_len().max(1 << 16)],
            registry: Registry::default(),
            impairment: None,
        })
    }

    /// Drops datagrams on purpose (for demos and tests).
    pub fn with_impairment(mut self, impairment: Impairment) -> Self {
        self.impairment = Some(impairment);
        self
    }

    /// The bound address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.socket.local_addr()
    }

    /// Waits up to `timeout` for a new connection.
    pub fn accept(&mut self, timeout: Option<Duration>) -> io::Result<Option<ConnectionHandle>> {
        let deadline = timeout.map(|t| Instant::now() + t);
        self.drive(deadline, |s| !s.registry.new.is_empty())?;
        Ok(self.registry.new.pop_front())
    }

    /// Waits up to `timeout` for a message on any connection.
    pub fn recv(&mut self, timeout: Option<Duration>) -> io::Result<Option<(ConnectionHandle, Message)>> {
        let deadline = timeout.map(|t| Instant::now() + t);
        let mut found = None;
        self.drive(deadline, |s| {
            found = s.registry.ready(&mut s.endpoint);
            found.is_some()
        })?;
        Registry::take(&mut self.endpoint, found, &mut self.message)
    }

    /// Sends a message on a connection (waiting out a full send window).
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
                    self.drive(None, |s| {
                        s.endpoint
                            .connection(handle)
                            .is_none_or(|c| c.link().send_capacity() > 0 || !c.is_established())
                    })?;
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

    /// The next event of the endpoint or of a connection.
    pub fn poll_event(&mut self) -> Option<EndpointEvent<SocketAddr>> {
        self.collect();
        self.registry.events.pop_front()
    }

    /// The endpoint (connections, peers, statistics).
    pub fn endpoint(&mut self) -> &mut ServerEndpoint {
        &mut self.endpoint
    }

    /// Endpoint counters.
    pub fn stats(&self) -> EndpointStats {
        self.endpoint.stats()
    }

    /// Non-blocking: processes waiting datagrams and due timers, sends what is ready.
    pub fn poll(&mut self) -> io::Result<()> {
        self.drain()?;
        self.tick();
        self.flush()?;
        self.collect();
        Ok(())
    }

    /// Runs the server until `done` holds or `deadline` passes; returns whether `done` held.
    pub fn drive(&mut self, deadline: Option<Instant>, mut done: impl FnMut(&mut Self) -> bool) -> io::Result<bool> {
        self.drain()?;
        loop {
            self.tick();
            self.flush()?;
            self.collect();
            if done(self) {
                return Ok(true);
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Ok(false);
            }
            let wait = wait_time(&self.clock, self.endpoint.poll_timeout(), deadline, POLL_CAP);
            self.socket.set_read_timeout(Some(wait))?;
            if self.receive_one()? {
                self.drain()?;
            }
        }
    }

    /// Processes the datagrams already waiting (a bounded burst), answering between them.
    fn drain(&mut self) -> io::Result<()> {
        self.socket.set_nonblocking(true)?;
        let result = (|| {
            for _ in 0..256 {
                if !self.receive_one()? {
                    break;
                }
                self.flush()?;
            }
            Ok(())
        })();
        self.socket.set_nonblocking(false)?;
        result
    }

    fn collect(&mut self) {
        self.registry.collect(&mut self.endpoint);
    }

    fn tick(&mut self) {
        let now = self.clock.now();
        if self.endpoint.poll_timeout().is_some_and(|t| now >= t) {
            self.endpoint.handle_timeout(now);
        }
    }

    fn receive_one(&mut self) -> io::Result<bool> {
        match self.socket.recv_from(&mut self.buf) {
            Ok((n, from)) => {
                let datagram = &mut self.buf[..n];
                if let Some(imp) = &mut self.impairment {
                    if imp.drop_next() {
                        return Ok(true);
                    }
                    imp.corrupt_next(datagram);
                }
                self.endpoint.handle_datagram(self.clock.now(), from, datagram);
                Ok(true)
            }
            Err(e) if is_timeout(&e) || e.kind() == io::ErrorKind::ConnectionRefused => Ok(false),
            Err(e) => Err(e),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        while let Some((to, n)) = self.endpoint.poll_transmit(self.clock.now(), &mut self.buf).map_err(core_error)? {
            if self.impairment.as_mut().is_some_and(Impairment::drop_next) {
                continue;
            }
            match self.socket.send_to(&self.buf[..n], to) {
                Ok(_) => {}
                Err(e) if is_timeout(&e) || e.kind() == io::ErrorKind::ConnectionRefused => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}
