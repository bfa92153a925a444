//! One accepted TCP stream of a server: non-blocking, with its frame decoder
//! and a bounded output buffer.

use super::basic::BasicPeer;
use seqlink_core::ConnectionHandle;
use seqlink_core::StreamDecoder;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};

/// Which protocol a stream speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Role {
    /// Not known yet: waiting for the first packet (or the silence that means a basic peer).
    Undecided {
        /// When the stream was accepted (driver milliseconds).
        since: u64,
    },
    /// A seqlink client; the handle once the endpoint made its connection.
    Seqlink(Option<ConnectionHandle>),
    /// A basic-profile (seed 000) peer.
    Basic {
        /// Its name.
        peer: BasicPeer,
        /// Recognised by its silence rather than by a packet.
        by_silence: bool,
    },
}

impl Role {
    /// Whether this is basic peer `peer`'s stream.
    pub fn is_basic(&self, peer: BasicPeer) -> bool {
        matches!(*self, Role::Basic { peer: p, .. } if p == peer)
    }
}

/// Bytes waiting to be written to a stream, at most a bound.
#[derive(Debug, Default)]
pub(super) struct Outbox {
    bytes: Vec<u8>,
    written: usize,
}

impl Outbox {
    /// Appends `packet`; `false` (and nothing appended) if the bytes waiting would exceed `limit`.
    pub fn push(&mut self, packet: &[u8], limit: usize) -> bool {
        if self.len() + packet.len() > limit {
            return false;
        }
        if self.written > 0 && self.written >= self.bytes.len() / 2 {
            self.bytes.drain(..self.written);
            self.written = 0;
        }
        self.bytes.extend_from_slice(packet);
        true
    }

    /// Bytes waiting.
    pub fn len(&self) -> usize {
        self.bytes.len() - self.written
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Writes what the stream takes without blocking; `Ok(false)` when it took
    /// less than everything (it is full).
    fn write_to(&mut self, stream: &mut TcpStream) -> io::Result<bool> {
        while let Some(rest) = self.bytes.get(self.written..).filter(|r| !r.is_empty()) {
            match stream.write(rest) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => self.written += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        self.bytes.clear();
        self.written = 0;
        Ok(true)
    }
}

/// A stream and what the server keeps about it.
#[derive(Debug)]
pub(super) struct PeerStream {
    pub addr: SocketAddr,
    pub stream: TcpStream,
    pub decoder: StreamDecoder<Vec<u8>>,
    pub role: Role,
    pub out: Outbox,
    /// The last write did not take everything: wait for the stream to be writable.
    pub blocked: bool,
    /// The stream is over (the peer closed it, it broke, or it was disconnected): drop it.
    pub ended: bool,
    /// Drop the stream once its output is written (the peer is being closed).
    pub finishing: bool,
}

impl PeerStream {
    pub fn new(addr: SocketAddr, stream: TcpStream, decoder: StreamDecoder<Vec<u8>>, role: Role) -> io::Result<Self> {
        stream.set_nonblocking(true)?;
        stream.set_nodelay(true)?;
        Ok(PeerStream {
            addr,
            stream,
            decoder,
            role,
            out: Outbox::default(),
            blocked: false,
            ended: false,
            finishing: false,
        })
    }

    /// Reads what is available into `buf` without blocking: the number of
    /// bytes, or `None` when there is nothing (or the stream ended).
    pub fn read(&mut self, buf: &mut [u8]) -> Option<usize> {
        loop {
            match self.stream.read(buf) {
                Ok(0) => {
                    self.ended = true;
                    return None;
                }
                Ok(n) => return Some(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return None,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => {
                    self.ended = true;
                    return None;
                }
            }
        }
    }

    /// Writes buffered output without blocking (unless the stream is known to be full).
    pub fn write(&mut self) {
        if self.blocked || self.ended || self.out.is_empty() {
            return;
        }
        match self.out.write_to(&mut self.stream) {
            Ok(done) => self.blocked = !done,
            Err(_) => self.ended = true,
        }
    }

    /// Ends the stream now, telling the peer at once.
    pub fn disconnect(&mut self) {
        self.ended = true;
        let _ = self.stream.shutdown(Shutdown::Both);
    }

    /// Ends the stream after its output: the peer reads everything, then the
    /// end of the stream. Unread input is drained first, so that closing
    /// does not turn into a reset that could discard what the peer has not read yet.
    pub fn finish(&mut self) {
        let _ = self.stream.shutdown(Shutdown::Write);
        let mut sink = [0u8; 4096];
        for _ in 0..16 {
            if !matches!(self.stream.read(&mut sink), Ok(n) if n > 0) {
                break;
            }
        }
        self.ended = true;
    }

    /// Whether the stream is a seqlink client's or is about to be shown to be.
    pub fn is_seqlink(&self) -> bool {
        matches!(self.role, Role::Seqlink(_))
    }
}
