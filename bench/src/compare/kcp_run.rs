//! KCP through the `kcp` crate, each side on its own UDP socket.

use super::relay::{set_buffers, wait_readable};
use super::seqlink_run::{DATAGRAM, SOCKET_BUFFER};
use super::workload::{Sink, Source};
use super::{Shared, Started};
use kcp::Kcp;
use std::io::{self, Write};
use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Window of both sides, in segments.
const WINDOW: u16 = 256;
/// Conversation id of every run.
const CONV: u32 = 0x5e91_1ec7;

/// KCP's output: every flushed segment batch is one datagram to `to`.
#[derive(Debug)]
struct Datagrams {
    socket: UdpSocket,
    to: SocketAddr,
}

impl Write for Datagrams {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        // a full socket buffer loses the datagram, as the network would
        match self.socket.send_to(buf, self.to) {
            Ok(_) => Ok(buf.len()),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(buf.len()),
            Err(e) => Err(e),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The turbo profile: nodelay, 10 ms interval, fast resend 2, no congestion control.
fn turbo(socket: &UdpSocket, to: SocketAddr) -> io::Result<Kcp<Datagrams>> {
    let mut kcp = Kcp::new(CONV, Datagrams { socket: socket.try_clone()?, to });
    kcp.set_nodelay(true, 10, 2, true);
    kcp.set_wndsize(WINDOW, WINDOW);
    kcp.set_mtu(DATAGRAM).map_err(io::Error::other)?;
    Ok(kcp)
}

/// Binds the receiver's socket and starts both threads.
pub fn start(mut source: Source, mut sink: Sink, shared: &Arc<Shared>) -> Result<Started, String> {
    let socket = UdpSocket::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    let addr = socket.local_addr().map_err(|e| e.to_string())?;
    source.set_chunk(DATAGRAM - kcp::KCP_OVERHEAD);

    let receiver = move |(_, relay): super::RelayAddrs, s: &Shared| {
        let last = run(&socket, relay, Side::Receiver(&mut sink), s).map_err(|e| format!("kcp receiver: {e}"))?;
        Ok((sink, last))
    };
    let sender = move |(relay, _): super::RelayAddrs, s: &Shared| {
        let socket = UdpSocket::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
        let start = source.start();
        run(&socket, relay, Side::Sender(&mut source), s).map_err(|e| format!("kcp sender: {e}"))?;
        Ok(start)
    };
    Ok(super::spawn_pair(addr, shared, receiver, sender))
}

enum Side<'a> {
    Sender(&'a mut Source),
    Receiver(&'a mut Sink),
}

/// Runs one side until the run stops; the receiver returns when it got the last byte.
fn run(socket: &UdpSocket, peer: SocketAddr, mut side: Side, shared: &Shared) -> io::Result<Option<Instant>> {
    socket.set_nonblocking(true)?;
    set_buffers(socket, SOCKET_BUFFER);
    let mut kcp = turbo(socket, peer)?;
    let clock = Instant::now();
    let mut buf = vec![0u8; 65536];
    while !shared.should_stop() {
        while let Ok((n, _)) = socket.recv_from(&mut buf) {
            let _ = kcp.input(buf.get(..n).unwrap_or_default());
        }
        let now = Instant::now();
        match &mut side {
            Side::Sender(source) => {
                while kcp.wait_snd() < 2 * usize::from(WINDOW) {
                    let Some(message) = source.peek(now) else { break };
                    kcp.send(message).map_err(io::Error::other)?;
                    source.advance();
                }
            }
            Side::Receiver(sink) => {
                while let Ok(n) = kcp.recv(&mut buf) {
                    sink.absorb(buf.get(..n).unwrap_or_default(), shared.epoch);
                }
                if sink.complete() {
                    kcp.update(clock.elapsed().as_millis() as u32).map_err(io::Error::other)?;
                    return Ok(Some(now));
                }
            }
        }
        let ms = clock.elapsed().as_millis() as u32;
        kcp.update(ms).map_err(io::Error::other)?;
        // this crate's `check` returns the milliseconds until the next update is due
        let mut wait = Duration::from_millis(u64::from(kcp.check(ms)).min(10));
        if let Side::Sender(source) = &side {
            if let Some(due) = source.next_due() {
                wait = wait.min(due.saturating_duration_since(Instant::now()));
            }
        }
        wait_readable(&[socket], wait);
    }
    Ok(None)
}
