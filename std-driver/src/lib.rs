//! # seqlink-std
//!
//! A thin std driver for [`seqlink_core`]: it runs connections and servers
//! over `std::net::UdpSocket` and `TcpStream`, blocking (calls wait for what
//! they need, with timeouts) or non-blocking (call [`UdpConnection::poll`] from
//! your own loop). The driver owns the clock (milliseconds since it started)
//! and the sockets; the protocol lives entirely in the sans-IO core.
//!
//! [`TcpServer`] also serves clients that speak only seed 000 (the basic
//! profile, [`seqlink_core::basic`]) on the same port, told apart by their
//! first packet ([`Profiles`]); the application reads and answers both kinds
//! through the same calls, naming peers with [`TcpPeer`]. It never waits on
//! one peer: output is buffered per peer (bounded; a peer that does not read
//! is disconnected) and it sleeps in poll(2) until something is ready.
//!
//! The UDP drivers spend few system calls per datagram: a client's socket is
//! connected to its server (the kernel keeps the route), a message already
//! waiting is handed out without reading the socket again, and the
//! datagrams the core has ready together (a window's worth of messages
//! queued with `connection().send(..)` before one [`UdpConnection::poll`],
//! the acknowledgements of a server's peers) leave in one call per run of
//! equal-length datagrams to one address on Linux (UDP segmentation
//! offload, `UDP_SEGMENT`; elsewhere, or where the kernel refuses it, one
//! call per datagram).
//!
//! For demos and tests the UDP drivers inject an [`Impairment`] (loss, bit
//! flips, duplication, reordering, delay with jitter, from one seed), and an
//! [`Observer`] sees every datagram, every injected impairment and the
//! core's trace records (the `seqlink` CLI's `--trace` and `--pcap`).
//!
//! Errors are `std::io::Error`s whose kind says what to do, with the core's
//! error inside for its stable code (`docs/PROTOCOL.md` section 9): downcast
//! `error.get_ref()` to [`seqlink_core::link::SendError`],
//! [`seqlink_core::FailReason`], [`seqlink_core::link::ConfigError`] or
//! [`seqlink_core::Error`].
//!
//! | the core says | `io::ErrorKind` |
//! |---|---|
//! | `SendError::WouldBlock` (from calls that do not wait out a full window) | `WouldBlock` |
//! | `SendError::MessageTooLarge`, `ReservedType`, `UnreliableDisabled`; a `ConfigError` | `InvalidInput` |
//! | `SendError::NotConnected`, `UnknownHandle` | `NotConnected` |
//! | `SendError::Closing` | `BrokenPipe` |
//! | `SendError::Failed`: the `FailReason` | `TimedOut` (timeouts), `ConnectionRefused`, `ConnectionReset`, else `ConnectionAborted` |
//! | a wire or framing `Error` | `InvalidData` |
//!
//! ```no_run
//! use seqlink_std::{UdpConnection, UdpServer};
//! use seqlink_core::{ConnectionConfig, Delivery, EndpointConfig, PacketType};
//! use std::time::Duration;
//!
//! # fn main() -> std::io::Result<()> {
//! let mut server = UdpServer::bind("127.0.0.1:0", EndpointConfig::new(ConnectionConfig::new()), 16)?;
//! let addr = server.local_addr()?;
//! std::thread::spawn(move || {
//!     while let Ok(Some((handle, message))) = server.recv(Some(Duration::from_secs(5))) {
//!         let _ = server.send(handle, message.ptype, &message.data, Delivery::Reliable);
//!     }
//! });
//! let mut client = UdpConnection::connect(addr, ConnectionConfig::new(), Duration::from_secs(5))?;
//! client.send(PacketType(100), b"ping", Delivery::Reliable)?;
//! let echo = client.recv(Some(Duration::from_secs(5)))?.expect("an echo");
//! assert_eq!(echo.data, b"ping");
//! client.close(Duration::from_secs(5))?;
//! # Ok(())
//! # }
//! ```

mod event_loop;
mod gso;
mod impairment;
mod observe;
mod outbox;
mod readiness;
mod registry;
mod tcp;
mod tcp_server;
mod udp;
mod udp_io;

pub use impairment::Impairment;
pub use observe::{Direction, Injected, Observer};
pub use tcp::TcpConnection;
pub use tcp_server::{BasicEvent, BasicPeer, Profiles, TcpPeer, TcpServer};
pub use udp::{UdpConnection, UdpServer};

use seqlink_core::FailReason;
use seqlink_core::PacketType;
use seqlink_core::{Connection, State};
use seqlink_core::{Delivery, Received, SendError};
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::time::{Duration, Instant};

/// A received message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The application's packet type.
    pub ptype: PacketType,
    /// The bytes.
    pub data: Vec<u8>,
    /// How it was sent.
    pub delivery: Delivery,
}

impl Message {
    /// The message `received` describes, read into the front of `buf`.
    pub(crate) fn read(received: Received, buf: &[u8]) -> Message {
        let data = buf.get(..received.len).unwrap_or_default().to_vec();
        Message { ptype: received.ptype, data, delivery: received.delivery }
    }
}

/// Milliseconds since the driver started: the `now` every core call takes.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    start: Instant,
}

impl Clock {
    /// A clock starting now.
    pub fn new() -> Clock {
        Clock { start: Instant::now() }
    }

    /// Milliseconds since the start.
    pub fn now(&self) -> u64 {
        self.start.elapsed().as_millis() as u64
    }

    /// The instant of a core deadline.
    pub fn instant(&self, ms: u64) -> Instant {
        self.start + Duration::from_millis(ms)
    }
}

impl Default for Clock {
    fn default() -> Clock {
        Clock::new()
    }
}

/// 64 random bits from the OS-seeded hasher and the clock (for connection
/// ids, initial sequence numbers and cookie secrets).
pub fn entropy() -> u64 {
    let mut h = RandomState::new().build_hasher();
    h.write_u128(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos()));
    h.finish()
}

/// A 16-byte secret for cookies.
pub fn secret() -> [u8; 16] {
    let mut s = [0u8; 16];
    s[..8].copy_from_slice(&entropy().to_le_bytes());
    s[8..].copy_from_slice(&entropy().to_le_bytes());
    s
}

/// The error of a failed (or, without a reason, closed) connection. The
/// [`FailReason`] rides inside: `error.get_ref()` downcasts to it, and its
/// `code()` is the core's stable code.
pub(crate) fn failed(reason: Option<FailReason>) -> io::Error {
    let Some(reason) = reason else {
        return io::Error::new(io::ErrorKind::ConnectionAborted, "connection closed");
    };
    let kind = match reason {
        FailReason::ConnectTimeout | FailReason::IdleTimeout | FailReason::CloseTimeout => io::ErrorKind::TimedOut,
        FailReason::Refused { .. } => io::ErrorKind::ConnectionRefused,
        FailReason::Reset { .. } => io::ErrorKind::ConnectionReset,
        _ => io::ErrorKind::ConnectionAborted,
    };
    io::Error::new(kind, reason)
}

/// The error of a refused send: the [`SendError`] rides inside (downcast
/// `error.get_ref()` for its stable code), except for [`SendError::Failed`],
/// which gives the connection's failure (see [`failed`]).
pub(crate) fn send_error(e: SendError, reason: Option<FailReason>) -> io::Error {
    let kind = match e {
        SendError::WouldBlock => io::ErrorKind::WouldBlock,
        SendError::MessageTooLarge { .. } | SendError::ReservedType | SendError::UnreliableDisabled => {
            io::ErrorKind::InvalidInput
        }
        SendError::NotConnected | SendError::UnknownHandle => io::ErrorKind::NotConnected,
        SendError::Closing => io::ErrorKind::BrokenPipe,
        SendError::Failed => return failed(reason),
        _ => io::ErrorKind::Other,
    };
    io::Error::new(kind, e)
}

/// Whether a blocking send that found its window with `room` places too
/// few may try again: the window has more room now (room for a message of
/// several fragments may free up one acknowledgement at a time, so it waits
/// for more than there was, not for any), or `conn` no longer takes messages.
pub(crate) fn send_room_grew<S: AsMut<[u8]>>(conn: &Connection<S>, room: usize) -> bool {
    conn.link().send_capacity() > room || !conn.is_established()
}

/// The first address `addr` resolves to.
pub(crate) fn resolve<A: ToSocketAddrs>(addr: A) -> io::Result<SocketAddr> {
    addr.to_socket_addrs()?
        .next()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no address to connect to"))
}

/// How a blocking connect that waited for `conn` ended.
pub(crate) fn connect_outcome<S: AsMut<[u8]>>(conn: &Connection<S>) -> io::Result<()> {
    match conn.state() {
        State::Established => Ok(()),
        State::Failed | State::Closed => Err(failed(conn.failure())),
        _ => Err(io::Error::new(io::ErrorKind::TimedOut, "connect timed out")),
    }
}

/// How a blocking close that waited for `conn` ended.
pub(crate) fn close_outcome<S: AsMut<[u8]>>(conn: &Connection<S>) -> io::Result<()> {
    match conn.state() {
        State::Linger | State::Closed => Ok(()),
        State::Failed => Err(failed(conn.failure())),
        _ => Err(io::Error::new(io::ErrorKind::TimedOut, "close timed out")),
    }
}

/// What a blocking receive returns: the message, none (a timeout, or the
/// peer finished), or the connection's failure.
pub(crate) fn recv_outcome<S: AsMut<[u8]>>(
    conn: &Connection<S>,
    message: Option<Message>,
) -> io::Result<Option<Message>> {
    match message {
        Some(m) => Ok(Some(m)),
        None if conn.state() == State::Failed => Err(failed(conn.failure())),
        None => Ok(None),
    }
}

/// A wire or framing error, riding inside (downcast `error.get_ref()` for its stable code).
pub(crate) fn core_error(e: seqlink_core::Error) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e)
}

/// How long to wait on a socket before something is due: until `deadline`
/// or the core's next timer (to the microsecond), at least 0.1 ms (a timer
/// that is already due is handled before the wait) and at most `cap`.
pub(crate) fn wait_time(clock: &Clock, timer: Option<u64>, deadline: Option<Instant>, cap: Duration) -> Duration {
    let now = Instant::now();
    let mut wait = cap;
    if let Some(t) = timer {
        wait = wait.min(clock.instant(t).saturating_duration_since(now));
    }
    if let Some(d) = deadline {
        wait = wait.min(d.saturating_duration_since(now));
    }
    wait.max(Duration::from_micros(100))
}
