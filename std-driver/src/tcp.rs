//! Client connections over `TcpStream`, with the stream framing (the server
//! is in `tcp_server`).
//!
//! The connection is the same as over UDP (handshake, checks, sequence
//! numbers, heartbeats) with `Transport::Stream`: TCP does the
//! retransmission and congestion control, so seqlink's are off.

use crate::{close_outcome, connect_outcome, core_error, entropy, recv_outcome, resolve, send_error, Clock, Message};
use seqlink_core::connection::{Connection, ConnectionConfig, State, Transport};
use seqlink_core::framing::StreamDecoder;
use seqlink_core::link::{Delivery, SendError, Stats};
use seqlink_core::wire::Codec;
use seqlink_core::PacketType;
use std::io::{self, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

/// The stream flavour of a connection configuration.
pub(crate) fn stream_config(mut config: ConnectionConfig) -> ConnectionConfig {
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
        let addr = resolve(server)?;
        let stream = TcpStream::connect_timeout(&addr, timeout)?;
        let clock = Clock::new();
        let conn = Connection::connect(config, vec![0u8; config.link.storage_len()], clock.now(), entropy())
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        let mut me = TcpConnection {
            pipe: Pipe::new(stream, &config)?,
            conn,
            clock,
            buf: vec![0u8; config.max_datagram_len()],
            message: vec![0u8; config.link.max_message_len().max(1 << 16)],
        };
        me.drive(Some(Instant::now() + timeout), |c| c.conn.is_established() || c.conn.is_closed())?;
        connect_outcome(&me.conn).map(|()| me)
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
        let received = self.conn.recv(&mut self.message).map_err(core_error)?;
        recv_outcome(&self.conn, received.map(|r| Message::read(r, &self.message)))
    }

    /// Closes gracefully, waiting at most `timeout` until both sides are done
    /// and the linger time has passed.
    pub fn close(&mut self, timeout: Duration) -> io::Result<()> {
        self.conn.close(self.clock.now());
        self.drive(Some(Instant::now() + timeout), |c| matches!(c.conn.state(), State::Closed | State::Failed))?;
        close_outcome(&self.conn)
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
            let now = self.clock.now();
            if self.conn.poll_timeout().is_some_and(|t| now >= t) {
                self.conn.handle_timeout(now);
            }
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
