//! The socket half of the UDP drivers, shared by the client and the server:
//! one non-blocking socket, waits on readiness with sub-millisecond
//! deadlines, and a datagram kept (not lost) while the send buffer is full.

use crate::readiness::{self, PollFd, PollFlags};
use crate::Impairment;
use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::time::Duration;

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
}

impl UdpIo {
    /// Takes `socket` (switched to non-blocking once, here) with room for datagrams of `max_datagram` bytes.
    pub(crate) fn new(socket: UdpSocket, max_datagram: usize, impairment: Option<Impairment>) -> io::Result<UdpIo> {
        socket.set_nonblocking(true)?;
        let len = max_datagram.max(2048);
        Ok(UdpIo { socket, rx: vec![0u8; len], tx: vec![0u8; len], pending: None, impairment })
    }

    /// Drops or damages datagrams on purpose from now on (for demos and tests).
    pub(crate) fn set_impairment(&mut self, impairment: Option<Impairment>) {
        self.impairment = impairment;
    }

    pub(crate) fn socket(&self) -> &UdpSocket {
        &self.socket
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
    /// impairments) to `handle`; returns how many were read.
    pub(crate) fn receive_all(&mut self, mut handle: impl FnMut(SocketAddr, &mut [u8])) -> io::Result<usize> {
        let mut count = 0;
        loop {
            match self.socket.recv_from(&mut self.rx) {
                Ok((n, from)) => {
                    count += 1;
                    let Some(datagram) = self.rx.get_mut(..n) else { continue };
                    if let Some(imp) = &mut self.impairment {
                        if imp.drop_next() {
                            continue;
                        }
                        imp.corrupt_next(datagram);
                    }
                    handle(from, datagram);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(count),
                // an ICMP port unreachable from an earlier send; nothing to read
                Err(e) if matches!(e.kind(), io::ErrorKind::ConnectionRefused | io::ErrorKind::Interrupted) => {}
                Err(e) => return Err(e),
            }
        }
    }

    /// Sends the waiting datagram, if any; `false` while the buffer is still full.
    pub(crate) fn send_pending(&mut self) -> io::Result<bool> {
        match self.pending.take() {
            Some((to, n)) => self.send(to, n),
            None => Ok(true),
        }
    }

    /// Sends the first `n` bytes of `tx` to `to`; `false` when the send
    /// buffer is full (the datagram is kept and goes first next time).
    pub(crate) fn send(&mut self, to: SocketAddr, n: usize) -> io::Result<bool> {
        if self.impairment.as_mut().is_some_and(Impairment::drop_next) {
            return Ok(true);
        }
        let Some(datagram) = self.tx.get(..n) else { return Ok(true) };
        match self.socket.send_to(datagram, to) {
            Ok(_) => Ok(true),
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

    /// Waits at most `timeout` until a datagram arrives, or, while one is
    /// blocked, until the send buffer has room; returns whether there is
    /// something to read.
    pub(crate) fn wait(&self, timeout: Duration) -> io::Result<bool> {
        let mut flags = PollFlags::IN;
        if self.pending.is_some() {
            flags |= PollFlags::OUT;
        }
        let mut fds = [PollFd::new(&self.socket, flags)];
        readiness::wait(&mut fds, timeout)?;
        Ok(fds.iter().any(|fd| readiness::readable(fd.revents())))
    }
}
