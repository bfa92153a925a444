//! Client connections over `TcpStream`, with the stream framing (the server
//! is in `tcp_server`).
//!
//! The connection is the same as over UDP (handshake, checks, sequence
//! numbers, heartbeats) with `Transport::Stream`: TCP does the
//! retransmission and congestion control, so seqlink's are off.

use crate::event_loop::EventLoop;
use crate::readiness::{self, PollFd, PollFlags};
use crate::{
    close_outcome, connect_outcome, core_error, entropy, recv_outcome, resolve, send_error, send_room_grew, Clock,
    Message,
};
use seqlink_core::Codec;
use seqlink_core::PacketType;
use seqlink_core::StreamDecoder;
use seqlink_core::{Connection, ConnectionConfig, State, Transport};
use seqlink_core::{Delivery, SendError, Stats};
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

    /// Waits at most `timeout` until the stream has something to read (or ended).
    fn wait(&self, timeout: Duration) -> io::Result<bool> {
        if self.closed {
            return Ok(false);
        }
        let mut fds = [PollFd::new(&self.stream, PollFlags::IN)];
        readiness::wait(&mut fds, timeout)?;
        Ok(fds.iter().any(|fd| readiness::readable(fd.revents())))
    }

    /// Reads what the stream holds now, never waiting (a read follows only
    /// readiness), and hands every whole packet to `on_frame`.
    fn read_ready(&mut self, mut on_frame: impl FnMut(&[u8])) -> io::Result<()> {
        while !self.closed && self.wait(Duration::ZERO)? {
            match self.stream.read(&mut self.read) {
                Ok(0) => self.closed = true,
                Ok(n) => {
                    let mut input = self.read.get(..n).unwrap_or(&[]);
                    while let Some(frame) = self.decoder.decode_frame(&mut input) {
                        match frame {
                            Ok(bytes) => on_frame(bytes),
                            // a length over the maximum: the stream can no longer be delimited
                            Err(_) => self.closed = true,
                        }
                    }
                }
                Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted) => return Ok(()),
                Err(_) => self.closed = true,
            }
        }
        Ok(())
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
                Ok(()) => return self.send_ready(),
                Err(SendError::WouldBlock) => {
                    let room = self.conn.link().send_capacity();
                    self.drive(None, |c| send_room_grew(&c.conn, room))?;
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
        self.turn()
    }

    /// The connection.
    pub fn connection(&mut self) -> &mut Connection<Vec<u8>> {
        &mut self.conn
    }

    /// Link statistics.
    pub fn stats(&self) -> Stats {
        self.conn.stats()
    }

    fn drive(&mut self, deadline: Option<Instant>, done: impl FnMut(&mut Self) -> bool) -> io::Result<bool> {
        self.run(deadline, done)
    }
}

impl EventLoop for TcpConnection {
    fn receive(&mut self) -> io::Result<()> {
        let (conn, clock) = (&mut self.conn, &self.clock);
        self.pipe.read_ready(|frame| conn.handle_datagram(clock.now(), frame))?;
        if self.pipe.closed {
            self.conn.transport_closed();
        }
        Ok(())
    }

    fn next_timer(&self) -> Option<u64> {
        self.conn.poll_timeout()
    }

    fn run_timers(&mut self, now: u64) {
        self.conn.handle_timeout(now);
    }

    /// Writes what is ready; TCP's own send buffer pushes back on a slow peer.
    fn send_ready(&mut self) -> io::Result<()> {
        while let Some(n) = self.conn.poll_transmit(self.clock.now(), &mut self.buf).map_err(core_error)? {
            if !self.pipe.closed {
                self.pipe.stream.write_all(self.buf.get(..n).unwrap_or(&[]))?;
            }
        }
        Ok(())
    }

    fn collect(&mut self) {}

    fn wait(&mut self, timeout: Duration) -> io::Result<bool> {
        if self.pipe.closed {
            // nothing more will arrive: sleep until the next timer
            std::thread::sleep(timeout);
            return Ok(false);
        }
        self.pipe.wait(timeout)
    }

    fn clock(&self) -> &Clock {
        &self.clock
    }
}
