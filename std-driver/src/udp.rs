//! Connections and servers over `UdpSocket`.

use crate::event_loop::EventLoop;
use crate::observe::{Observer, Tap};
use crate::registry::{admission_error, Registry, ServerEndpoint, Table};
use crate::udp_io::UdpIo;
use crate::{
    close_outcome, connect_outcome, core_error, entropy, recv_outcome, resolve, secret, send_error, send_room_grew,
    Clock, Impairment, Message,
};
use seqlink_core::ErrorCode;
use seqlink_core::{Connection, ConnectionConfig, State};
use seqlink_core::{
    ConnectionHandle, Endpoint, EndpointConfig, EndpointEvent, EndpointStats, Incoming, IncomingTicket, Slot,
};
use seqlink_core::{Delivery, SendError, Stats};
use seqlink_core::{Event, PacketType};
use std::collections::VecDeque;
use std::io;
use std::net::{SocketAddr, ToSocketAddrs, UdpSocket};
use std::time::{Duration, Instant};

/// A client connection over a UDP socket.
#[derive(Debug)]
pub struct UdpConnection {
    io: UdpIo,
    peer: SocketAddr,
    conn: Connection<Vec<u8>>,
    clock: Clock,
    message: Vec<u8>,
    events: VecDeque<Event>,
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
        Self::connect_observed(socket, server, config, timeout, impairment, None)
    }

    /// Like [`UdpConnection::connect_with`], with `observer` watching every
    /// datagram and trace record from the first SYN on.
    pub fn connect_observed(
        socket: UdpSocket,
        server: SocketAddr,
        config: ConnectionConfig,
        timeout: Duration,
        impairment: Option<Impairment>,
        observer: Option<Box<dyn Observer>>,
    ) -> io::Result<Self> {
        let clock = Clock::new();
        let storage = vec![0u8; config.link.storage_len()];
        let conn = Connection::connect(config, storage, clock.now(), entropy())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        let mut io = UdpIo::new(socket, config.max_datagram_len(), impairment)?;
        io.connect(server)?;
        io.tap = Tap(observer);
        let mut me = UdpConnection {
            io,
            peer: server,
            conn,
            clock,
            message: vec![0u8; config.link.max_message_len().max(1 << 16)],
            events: VecDeque::new(),
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
                Ok(()) => return self.send_ready(),
                Err(SendError::WouldBlock) if !self.nonblocking => {
                    let room = self.conn.link().send_capacity();
                    self.drive(None, |c| send_room_grew(&c.conn, room))?;
                }
                Err(e) => return Err(send_error(e, self.conn.failure())),
            }
        }
    }

    /// Waits up to `timeout` (forever with `None`; not at all in non-blocking
    /// mode) for the next message. `Ok(None)`: nothing yet, or the peer closed.
    /// A message already waiting is returned without touching the socket.
    pub fn recv(&mut self, timeout: Option<Duration>) -> io::Result<Option<Message>> {
        if self.conn.next_message_len().is_none() {
            if self.nonblocking {
                self.poll()?;
            } else {
                let deadline = timeout.map(|t| Instant::now() + t);
                self.drive(deadline, |c| c.conn.next_message_len().is_some() || c.conn.is_closed() || c.peer_done())?;
            }
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
    /// timers that are due, and sends what is ready. Messages queued with
    /// `connection().send(..)` since the last call leave together (on Linux
    /// in one system call per run of equal-length datagrams).
    pub fn poll(&mut self) -> io::Result<()> {
        self.turn()
    }

    /// Switches between blocking calls and non-blocking ones (`WouldBlock`,
    /// drive with [`UdpConnection::poll`]). The socket itself is always
    /// non-blocking; blocking calls wait on its readiness.
    pub fn set_nonblocking(&mut self, nonblocking: bool) -> io::Result<()> {
        self.nonblocking = nonblocking;
        Ok(())
    }

    /// Sets the socket's kernel receive and send buffer sizes in bytes (`None` keeps one as it is).
    pub fn set_socket_buffers(&mut self, recv: Option<usize>, send: Option<usize>) -> io::Result<()> {
        self.io.set_buffer_sizes(recv, send)
    }

    /// The socket's kernel receive and send buffer sizes in bytes.
    pub fn socket_buffers(&self) -> io::Result<(usize, usize)> {
        self.io.buffer_sizes()
    }

    /// The next event (Connected, Closed, Failed, Writable, ...).
    pub fn poll_event(&mut self) -> Option<Event> {
        self.collect();
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
        self.io.socket().local_addr()
    }

    /// The server's address.
    pub fn peer_addr(&self) -> SocketAddr {
        self.peer
    }

    /// Runs the connection until `done` holds or `deadline` passes; returns whether `done` held.
    pub fn drive(&mut self, deadline: Option<Instant>, done: impl FnMut(&mut Self) -> bool) -> io::Result<bool> {
        self.run(deadline, done)
    }
}

impl EventLoop for UdpConnection {
    fn receive(&mut self) -> io::Result<()> {
        let (conn, clock, peer) = (&mut self.conn, &self.clock, self.peer);
        self.io.receive_all(|from, datagram, tap| {
            if from == peer {
                conn.handle_datagram(clock.now(), datagram);
                tap.traces(datagram, || conn.poll_trace());
            }
        })?;
        Ok(())
    }

    fn next_timer(&self) -> Option<u64> {
        self.conn.poll_timeout()
    }

    fn run_timers(&mut self, now: u64) {
        self.conn.handle_timeout(now);
    }

    /// A full socket buffer keeps the datagrams for the next call instead of
    /// losing them; those ready together go out in one call per run.
    fn send_ready(&mut self) -> io::Result<()> {
        if !self.io.send_pending()? {
            return Ok(());
        }
        while let Some(n) = self.conn.poll_transmit(self.clock.now(), self.io.room()).map_err(core_error)? {
            let conn = &mut self.conn;
            self.io.tap.traces(self.io.tx.get(self.io.written(n)).unwrap_or_default(), || conn.poll_trace());
            if !self.io.queue(self.peer, n)? {
                return Ok(());
            }
        }
        self.io.flush()?;
        Ok(())
    }

    fn collect(&mut self) {
        while let Some(e) = self.conn.poll_event() {
            self.events.push_back(e);
        }
    }

    fn wait(&mut self, timeout: Duration) -> io::Result<bool> {
        self.io.wait(timeout)
    }

    fn clock(&self) -> &Clock {
        &self.clock
    }
}

/// A server: one UDP socket, many connections.
#[derive(Debug)]
pub struct UdpServer {
    io: UdpIo,
    endpoint: ServerEndpoint,
    clock: Clock,
    message: Vec<u8>,
    registry: Registry,
}

impl UdpServer {
    /// Binds `addr` with room for `max_peers` connections.
    pub fn bind<A: ToSocketAddrs>(addr: A, config: EndpointConfig, max_peers: usize) -> io::Result<Self> {
        let socket = UdpSocket::bind(addr)?;
        let len = config.connection.link.storage_len();
        let table: Table = (0..max_peers).map(|_| Slot::new(vec![0u8; len])).collect();
        Ok(UdpServer {
            io: UdpIo::new(socket, config.connection.max_datagram_len(), None)?,
            endpoint: Endpoint::new(config, table, secret(), entropy()),
            clock: Clock::new(),
            message: vec![0u8; config.connection.link.max_message_len().max(1 << 16)],
            registry: Registry::default(),
        })
    }

    /// Drops datagrams on purpose (for demos and tests).
    pub fn with_impairment(mut self, impairment: Impairment) -> Self {
        self.io.set_impairment(Some(impairment));
        self
    }

    /// Lets `observer` watch every datagram, impairment and trace record from now on.
    pub fn with_observer(mut self, observer: Box<dyn Observer>) -> Self {
        self.io.tap = Tap(Some(observer));
        self
    }

    /// Sets the socket's kernel receive and send buffer sizes in bytes (`None` keeps one as it is).
    pub fn set_socket_buffers(&mut self, recv: Option<usize>, send: Option<usize>) -> io::Result<()> {
        self.io.set_buffer_sizes(recv, send)
    }

    /// The socket's kernel receive and send buffer sizes in bytes.
    pub fn socket_buffers(&self) -> io::Result<(usize, usize)> {
        self.io.buffer_sizes()
    }

    /// The bound address.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.socket().local_addr()
    }

    /// Waits up to `timeout` for a new connection.
    pub fn accept(&mut self, timeout: Option<Duration>) -> io::Result<Option<ConnectionHandle>> {
        let deadline = timeout.map(|t| Instant::now() + t);
        self.drive(deadline, |s| !s.registry.new.is_empty())?;
        Ok(self.registry.new.pop_front())
    }

    /// Waits up to `timeout` for a handshake waiting for the application's
    /// decision (only with [`EndpointConfig::auto_accept`] off).
    pub fn incoming(&mut self, timeout: Option<Duration>) -> io::Result<Option<Incoming<SocketAddr>>> {
        let deadline = timeout.map(|t| Instant::now() + t);
        let mut found = None;
        self.drive(deadline, |s| {
            found = s.endpoint.poll_incoming();
            found.is_some()
        })?;
        Ok(found)
    }

    /// Accepts a waiting handshake: its connection is created and confirmed
    /// (it is not handed out by [`UdpServer::accept`] again).
    pub fn accept_incoming(&mut self, ticket: IncomingTicket) -> io::Result<ConnectionHandle> {
        let handle = self.endpoint.accept_incoming(ticket, self.clock.now()).map_err(admission_error)?;
        self.registry.admit(handle);
        self.send_ready()?;
        Ok(handle)
    }

    /// Refuses a waiting handshake: the client fails with `Refused { code }`.
    pub fn refuse(&mut self, ticket: IncomingTicket, code: ErrorCode) -> io::Result<()> {
        self.endpoint.refuse(ticket, code).map_err(admission_error)?;
        self.send_ready()
    }

    /// Waits up to `timeout` for a message on any connection. A message
    /// already waiting is returned without touching the socket.
    pub fn recv(&mut self, timeout: Option<Duration>) -> io::Result<Option<(ConnectionHandle, Message)>> {
        let mut found = self.registry.ready(&mut self.endpoint);
        if found.is_none() {
            let deadline = timeout.map(|t| Instant::now() + t);
            self.drive(deadline, |s| {
                found = s.registry.ready(&mut s.endpoint);
                found.is_some()
            })?;
        }
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
                Ok(()) => return self.send_ready(),
                Err(SendError::WouldBlock) => {
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

    /// Starts a graceful close of a connection.
    pub fn close(&mut self, handle: ConnectionHandle) -> io::Result<()> {
        self.endpoint.close(handle, self.clock.now());
        self.send_ready()
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
        self.turn()
    }

    /// Runs the server until `done` holds or `deadline` passes; returns whether `done` held.
    pub fn drive(&mut self, deadline: Option<Instant>, done: impl FnMut(&mut Self) -> bool) -> io::Result<bool> {
        self.run(deadline, done)
    }
}

impl EventLoop for UdpServer {
    fn receive(&mut self) -> io::Result<()> {
        let (endpoint, clock, registry) = (&mut self.endpoint, &self.clock, &mut self.registry);
        self.io.receive_all(|from, datagram, tap| {
            endpoint.handle_datagram(clock.now(), from, datagram);
            if tap.is_active() {
                // a connection this datagram created traces from its first packet on
                registry.collect(endpoint);
                drain_traces(tap, endpoint, &registry.open, datagram);
            }
        })?;
        Ok(())
    }

    fn next_timer(&self) -> Option<u64> {
        self.endpoint.poll_timeout()
    }

    fn run_timers(&mut self, now: u64) {
        self.endpoint.handle_timeout(now);
    }

    /// A full socket buffer keeps the datagrams for the next call instead of
    /// losing them; those ready together go out in one call per run.
    fn send_ready(&mut self) -> io::Result<()> {
        if !self.io.send_pending()? {
            return Ok(());
        }
        while let Some((to, n)) = self.endpoint.poll_transmit(self.clock.now(), self.io.room()).map_err(core_error)? {
            let datagram = self.io.tx.get(self.io.written(n)).unwrap_or_default();
            drain_traces(&mut self.io.tap, &mut self.endpoint, &self.registry.open, datagram);
            if !self.io.queue(to, n)? {
                return Ok(());
            }
        }
        self.io.flush()?;
        Ok(())
    }

    fn collect(&mut self) {
        self.registry.collect(&mut self.endpoint);
    }

    fn wait(&mut self, timeout: Duration) -> io::Result<bool> {
        self.io.wait(timeout)
    }

    fn clock(&self) -> &Clock {
        &self.clock
    }
}

/// Hands the trace records of the server's open connections, with `datagram`, to the tap.
fn drain_traces(tap: &mut Tap, endpoint: &mut ServerEndpoint, open: &[ConnectionHandle], datagram: &[u8]) {
    for &handle in open {
        if let Some(conn) = endpoint.connection(handle) {
            tap.traces(datagram, || conn.poll_trace());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::thread;

    const T: Duration = Duration::from_secs(10);
    /// Long enough for datagrams sent on loopback to be waiting in the socket.
    const SETTLE: Duration = Duration::from_millis(50);

    /// Takes three messages that all arrived before the first call: the
    /// first call reads the socket, the others only take what the core holds.
    fn take_three(recv: &mut dyn FnMut() -> Message, reads: &dyn Fn() -> u64) -> (Vec<Vec<u8>>, u64) {
        let mut got = vec![recv().data];
        let after_first = reads();
        got.push(recv().data);
        got.push(recv().data);
        (got, reads() - after_first)
    }

    fn three() -> Vec<Vec<u8>> {
        (0..3u8).map(|i| vec![i; 10]).collect()
    }

    #[test]
    fn messages_already_waiting_are_taken_without_reading_the_socket_again() {
        let mut server = UdpServer::bind("127.0.0.1:0", EndpointConfig::new(ConnectionConfig::new()), 1).unwrap();
        let addr = server.local_addr().unwrap();
        let (sent, all_sent) = mpsc::channel();
        let (echoed, all_echoed) = mpsc::channel();
        let client = thread::spawn(move || {
            let mut client = UdpConnection::connect(addr, ConnectionConfig::new(), T).unwrap();
            for m in three() {
                client.send(PacketType(100), &m, Delivery::Reliable).unwrap();
            }
            sent.send(()).unwrap();
            all_echoed.recv().unwrap();
            thread::sleep(SETTLE);
            let client = std::cell::RefCell::new(client);
            take_three(&mut || client.borrow_mut().recv(Some(T)).unwrap().unwrap(), &|| client.borrow().io.reads)
        });
        server.accept(Some(T)).unwrap().unwrap();
        all_sent.recv().unwrap();
        thread::sleep(SETTLE);
        let server = std::cell::RefCell::new(server);
        let (got, extra_reads) = take_three(
            &mut || {
                let (handle, m) = server.borrow_mut().recv(Some(T)).unwrap().unwrap();
                server.borrow_mut().send(handle, m.ptype, &m.data, Delivery::Reliable).unwrap();
                m
            },
            &|| server.borrow().io.reads,
        );
        assert_eq!((got, extra_reads), (three(), 0), "the server reads its socket only for the first");
        echoed.send(()).unwrap();
        let (got, extra_reads) = client.join().unwrap();
        assert_eq!((got, extra_reads), (three(), 0), "the client reads its socket only for the first");
    }

    #[test]
    fn a_recv_that_may_not_wait_still_takes_a_datagram_already_there() {
        let mut server = UdpServer::bind("127.0.0.1:0", EndpointConfig::new(ConnectionConfig::new()), 1).unwrap();
        let addr = server.local_addr().unwrap();
        let (sent, is_sent) = mpsc::channel();
        let (got, done) = mpsc::channel::<()>();
        let client = thread::spawn(move || {
            let mut client = UdpConnection::connect(addr, ConnectionConfig::new(), T).unwrap();
            client.send(PacketType(100), b"one", Delivery::Reliable).unwrap();
            sent.send(()).unwrap();
            done.recv().unwrap();
        });
        server.accept(Some(T)).unwrap().unwrap();
        is_sent.recv().unwrap();
        thread::sleep(SETTLE);
        let (_, message) = server.recv(Some(Duration::ZERO)).unwrap().expect("the waiting message");
        assert_eq!(message.data, b"one");
        got.send(()).unwrap();
        client.join().unwrap();
    }

    /// The send window has room for one packet, the message needs three,
    /// and the server acknowledges nothing for a while.
    #[test]
    fn a_blocking_send_waiting_for_room_for_all_its_fragments_sleeps_meanwhile() {
        let link = seqlink_core::LinkConfig::new().with_window(4).with_max_payload(100);
        let config = ConnectionConfig::new().with_link(link);
        let mut server = UdpServer::bind("127.0.0.1:0", EndpointConfig::new(config), 1).unwrap();
        let addr = server.local_addr().unwrap();
        let (window_used, is_used) = mpsc::channel();
        let serving = thread::spawn(move || {
            server.accept(Some(T)).unwrap().unwrap();
            is_used.recv().unwrap();
            thread::sleep(Duration::from_millis(300));
            let mut got = 0;
            while got < 4 {
                got += usize::from(server.recv(Some(T)).unwrap().is_some());
            }
        });
        let mut client = UdpConnection::connect(addr, config, T).unwrap();
        for i in 0..3u8 {
            client.send(PacketType(100), &[i; 10], Delivery::Reliable).unwrap();
        }
        assert_eq!(client.conn.link().send_capacity(), 1);
        window_used.send(()).unwrap();
        let reads_before = client.io.reads;
        client.send(PacketType(100), &[7; 250], Delivery::Reliable).unwrap();
        let reads = client.io.reads - reads_before;
        serving.join().unwrap();
        assert!(reads < 50, "{reads} reads of the socket while waiting 0.3 s for acknowledgements");
    }

    #[test]
    fn a_client_socket_is_connected_to_its_server_and_hears_no_one_else() {
        let mut server = UdpServer::bind("127.0.0.1:0", EndpointConfig::new(ConnectionConfig::new()), 1).unwrap();
        let addr = server.local_addr().unwrap();
        let accepting = thread::spawn(move || server.accept(Some(T)).map(|h| (server, h)));
        let mut client = UdpConnection::connect(addr, ConnectionConfig::new(), T).unwrap();
        let _server = accepting.join().unwrap().unwrap();
        assert_eq!(client.io.socket().peer_addr().unwrap(), addr, "the kernel keeps the route to the server");
        let stranger = UdpSocket::bind("127.0.0.1:0").unwrap();
        stranger.send_to(b"not the server", client.local_addr().unwrap()).unwrap();
        thread::sleep(SETTLE);
        let mut heard = 0;
        client.io.receive_all(|from, _, _| heard += usize::from(from != addr)).unwrap();
        assert_eq!(heard, 0, "a stranger's datagram is not even read");
    }
}
