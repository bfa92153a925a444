//! The socket half of the UDP drivers, shared by the client and the server:
//! one non-blocking socket, waits on readiness with sub-millisecond
//! deadlines, a datagram kept (not lost) while the send buffer is full, the
//! injected impairments and the observer's tap.

use crate::observe::{Direction, Injected, Tap};
use crate::readiness::{self, PollFd, PollFlags};
use crate::Impairment;
use std::collections::VecDeque;
use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

/// A datagram held back by an injected delay or reordering.
#[derive(Debug)]
struct Held {
    due: Instant,
    to: SocketAddr,
    datagram: Vec<u8>,
}

/// A UDP socket in non-blocking mode for its whole life.
#[derive(Debug)]
pub(crate) struct UdpIo {
    socket: UdpSocket,
    /// Received datagrams land here.
    rx: Vec<u8>,
    /// The core writes outgoing datagrams here.
    pub(crate) tx: Vec<u8>,
    /// A datagram in `tx` the socket had no room for: sent before anything new.
    pending: Option<(SocketAddr, usize)>,
    impairment: Option<Impairment>,
    /// Datagrams held back by the impairment, earliest first.
    held: VecDeque<Held>,
    local: SocketAddr,
    /// The one peer of a client's socket, connected to it (see [`UdpIo::connect`]).
    peer: Option<SocketAddr>,
    pub(crate) tap: Tap,
    /// `recv_from` calls made, the empty ones (`WouldBlock`) included.
    pub(crate) reads: u64,
}

impl UdpIo {
    /// Takes `socket` (switched to non-blocking once, here) with room for datagrams of `max_datagram` bytes.
    pub(crate) fn new(socket: UdpSocket, max_datagram: usize, impairment: Option<Impairment>) -> io::Result<UdpIo> {
        socket.set_nonblocking(true)?;
        let len = max_datagram.max(2048);
        let local = socket.local_addr()?;
        Ok(UdpIo {
            socket,
            rx: vec![0u8; len],
            tx: vec![0u8; len],
            pending: None,
            impairment,
            held: VecDeque::new(),
            local,
            peer: None,
            tap: Tap::default(),
            reads: 0,
        })
    }

    /// Drops or damages datagrams on purpose from now on (for demos and tests).
    pub(crate) fn set_impairment(&mut self, impairment: Option<Impairment>) {
        self.impairment = impairment;
    }

    pub(crate) fn socket(&self) -> &UdpSocket {
        &self.socket
    }

    /// Connects the socket to the only peer it talks to: the kernel then
    /// keeps the route instead of looking it up for every datagram, and
    /// delivers datagrams from that peer only (the client ignores any other).
    pub(crate) fn connect(&mut self, peer: SocketAddr) -> io::Result<()> {
        self.socket.connect(peer)?;
        self.peer = Some(peer);
        Ok(())
    }

    /// Sends one datagram to `to`, without naming the address to a socket connected to it.
    fn send_datagram(
        socket: &UdpSocket,
        peer: Option<SocketAddr>,
        datagram: &[u8],
        to: SocketAddr,
    ) -> io::Result<usize> {
        if peer == Some(to) {
            socket.send(datagram)
        } else {
            socket.send_to(datagram, to)
        }
    }

    /// Sets the kernel's receive and send buffer sizes (bytes; `None` keeps the default).
    pub(crate) fn set_buffer_sizes(&self, recv: Option<usize>, send: Option<usize>) -> io::Result<()> {
        use rustix::net::sockopt;
        if let Some(n) = recv {
            sockopt::set_socket_recv_buffer_size(&self.socket, n)?;
        }
        if let Some(n) = send {
            sockopt::set_socket_send_buffer_size(&self.socket, n)?;
        }
        Ok(())
    }

    /// The kernel's receive and send buffer sizes.
    pub(crate) fn buffer_sizes(&self) -> io::Result<(usize, usize)> {
        use rustix::net::sockopt;
        Ok((sockopt::socket_recv_buffer_size(&self.socket)?, sockopt::socket_send_buffer_size(&self.socket)?))
    }

    /// Reads every datagram waiting, handing each (after the injected
    /// impairments) to `handle` with the tap; returns how many were read.
    pub(crate) fn receive_all(&mut self, mut handle: impl FnMut(SocketAddr, &mut [u8], &mut Tap)) -> io::Result<usize> {
        let mut count = 0;
        loop {
            self.reads += 1;
            match self.socket.recv_from(&mut self.rx) {
                Ok((n, from)) => {
                    count += 1;
                    let Some(datagram) = self.rx.get_mut(..n) else { continue };
                    if let Some(imp) = &mut self.impairment {
                        if imp.drop_next() {
                            self.tap.injected(Direction::In, Injected::Lost, datagram);
                            continue;
                        }
                        if imp.corrupt_next(datagram) {
                            self.tap.injected(Direction::In, Injected::Corrupted, datagram);
                        }
                    }
                    self.tap.datagram(Direction::In, self.local, from, datagram);
                    handle(from, datagram, &mut self.tap);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(count),
                // an ICMP port unreachable from an earlier send; nothing to read
                Err(e) if matches!(e.kind(), io::ErrorKind::ConnectionRefused | io::ErrorKind::Interrupted) => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Sends the waiting datagram and the held ones that are due, if any;
    /// `false` while the buffer is still full.
    pub(crate) fn send_pending(&mut self) -> io::Result<bool> {
        if let Some((to, n)) = self.pending.take() {
            if !self.send_now(to, n)? {
                return Ok(false);
            }
        }
        self.release_due()
    }

    /// Sends the first `n` bytes of `tx` to `to` (through the impairment);
    /// `false` when the send buffer is full (the datagram is kept and goes
    /// first next time).
    pub(crate) fn send(&mut self, to: SocketAddr, n: usize) -> io::Result<bool> {
        let Some(imp) = &mut self.impairment else { return self.send_now(to, n) };
        let Some(datagram) = self.tx.get(..n) else { return Ok(true) };
        if imp.drop_next() {
            self.tap.injected(Direction::Out, Injected::Lost, datagram);
            return Ok(true);
        }
        let twice = imp.duplicate_next();
        if twice {
            self.tap.injected(Direction::Out, Injected::Duplicated, datagram);
        }
        let copies = 1 + usize::from(twice);
        if !imp.holds_back() {
            for _ in 0..copies {
                if !self.send_now(to, n)? {
                    return Ok(false);
                }
            }
            return Ok(true);
        }
        for _ in 0..copies {
            let mut due = Instant::now() + imp.delay_next();
            if imp.reorder_next() {
                due += imp.reorder_hold();
                self.tap.injected(Direction::Out, Injected::Reordered, datagram);
            }
            let at = self.held.partition_point(|h| h.due <= due);
            self.held.insert(at, Held { due, to, datagram: datagram.to_vec() });
        }
        self.release_due()
    }

    /// Sends the held datagrams that are due; `false` when the send buffer is full.
    fn release_due(&mut self) -> io::Result<bool> {
        let now = Instant::now();
        while let Some(first) = self.held.front().filter(|h| h.due <= now) {
            match Self::send_datagram(&self.socket, self.peer, &first.datagram, first.to) {
                Ok(_) => self.tap.datagram(Direction::Out, self.local, first.to, &first.datagram),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) if matches!(e.kind(), io::ErrorKind::ConnectionRefused | io::ErrorKind::Interrupted) => {}
                Err(e) => return Err(e),
            }
            self.held.pop_front();
        }
        Ok(true)
    }

    /// Sends the first `n` bytes of `tx` to `to` now; `false` when the send buffer is full.
    fn send_now(&mut self, to: SocketAddr, n: usize) -> io::Result<bool> {
        let Some(datagram) = self.tx.get(..n) else { return Ok(true) };
        match Self::send_datagram(&self.socket, self.peer, datagram, to) {
            Ok(_) => {
                self.tap.datagram(Direction::Out, self.local, to, datagram);
                Ok(true)
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                self.pending = Some((to, n));
                Ok(false)
            }
            // the peer's port is closed (ICMP) or the call was interrupted: the
            // datagram is gone like a lost one, and the protocol recovers
            Err(e) if matches!(e.kind(), io::ErrorKind::ConnectionRefused | io::ErrorKind::Interrupted) => Ok(true),
            Err(e) => Err(e),
        }
    }

    /// How long until the first held datagram is due, if one is held.
    fn next_release(&self) -> Option<Duration> {
        self.held.front().map(|h| h.due.saturating_duration_since(Instant::now()))
    }

    /// Waits at most `timeout` until a datagram arrives, or, while one is
    /// blocked, until the send buffer has room; returns whether there is
    /// something to read.
    pub(crate) fn wait(&self, timeout: Duration) -> io::Result<bool> {
        let timeout = self.next_release().map_or(timeout, |r| timeout.min(r.max(Duration::from_micros(100))));
        let mut flags = PollFlags::IN;
        if self.pending.is_some() {
            flags |= PollFlags::OUT;
        }
        let mut fds = [PollFd::new(&self.socket, flags)];
        readiness::wait(&mut fds, timeout)?;
        Ok(fds.iter().any(|fd| readiness::readable(fd.revents())))
    }
}
