//! seqlink through seqlink-std: a `UdpServer` receives, a `UdpConnection` sends.

use super::workload::{Sink, Source};
use super::{Shared, Started};
use seqlink_core::connection::ConnectionConfig;
use seqlink_core::endpoint::EndpointConfig;
use seqlink_core::link::{Delivery, LinkConfig, SendError};
use seqlink_core::PacketType;
use seqlink_std::{UdpConnection, UdpServer};
use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Kernel socket buffers of every library's sockets (ENet's own default).
pub const SOCKET_BUFFER: usize = 256 * 1024;
/// Datagram size of the fast profile and of KCP's MTU.
pub const DATAGRAM: usize = 1400;
/// How long the fast profile lets a small message wait to share a datagram, ms.
pub const FAST_COALESCE_WAIT_MS: u16 = 2;
/// seqlink's header before the payload.
const HEADER: usize = 9;

/// Which seqlink configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// `ConnectionConfig::new()`.
    Default,
    /// Low-latency timing, window 256, 1400-byte datagrams, congestion
    /// control off, a coalescing wait of [`FAST_COALESCE_WAIT_MS`].
    Fast,
}

/// The connection configuration of a profile (both sides use it).
pub fn config(profile: Profile) -> ConnectionConfig {
    match profile {
        Profile::Default => ConnectionConfig::new(),
        Profile::Fast => {
            let mut link = LinkConfig::low_latency().with_window(256).with_max_payload((DATAGRAM - HEADER) as u16);
            link.congestion_control = seqlink_core::congestion::CongestionControl::Off;
            link.coalesce_wait_ms = FAST_COALESCE_WAIT_MS;
            ConnectionConfig::new().with_link(link)
        }
    }
}

/// Binds the server and starts both threads; they wait for the relay's addresses.
pub fn start(profile: Profile, mut source: Source, mut sink: Sink, shared: &Arc<Shared>) -> Result<Started, String> {
    let config = config(profile);
    // one message fills one packet: no fragmentation
    source.set_chunk(usize::from(config.link.max_payload));
    let mut server = UdpServer::bind("127.0.0.1:0", EndpointConfig::new(config), 1).map_err(|e| e.to_string())?;
    server.set_socket_buffers(Some(SOCKET_BUFFER), Some(SOCKET_BUFFER)).map_err(|e| e.to_string())?;
    let addr = server.local_addr().map_err(|e| e.to_string())?;

    let receiver = move |_: super::RelayAddrs, s: &Shared| {
        let last = receive(&mut server, &mut sink, s).map_err(|e| format!("seqlink receiver: {e}"))?;
        Ok((sink, last))
    };
    let sender = move |(relay, _): super::RelayAddrs, s: &Shared| {
        send(relay, config, &mut source, s).map_err(|e| format!("seqlink sender: {e}"))
    };
    Ok(super::spawn_pair(addr, shared, receiver, sender))
}

fn receive(server: &mut UdpServer, sink: &mut Sink, shared: &Shared) -> io::Result<Option<Instant>> {
    let limit = shared.deadline.saturating_duration_since(Instant::now());
    if server.accept(Some(limit))?.is_none() {
        return Ok(None);
    }
    while !shared.should_stop() {
        if let Some((_, message)) = server.recv(Some(Duration::from_millis(10)))? {
            sink.absorb(&message.data, shared.epoch);
            if sink.complete() {
                return Ok(Some(Instant::now()));
            }
        }
    }
    Ok(None)
}

fn send(
    relay: std::net::SocketAddr,
    config: ConnectionConfig,
    source: &mut Source,
    shared: &Shared,
) -> io::Result<Instant> {
    let socket = std::net::UdpSocket::bind("127.0.0.1:0")?;
    // the handshake may take what is left of the run's time limit
    let limit = shared.deadline.saturating_duration_since(Instant::now());
    let mut client = UdpConnection::connect_with(socket, relay, config, limit, None)?;
    client.set_socket_buffers(Some(SOCKET_BUFFER), Some(SOCKET_BUFFER))?;
    client.set_nonblocking(true)?;
    let start = source.start();
    while !shared.should_stop() {
        let now = Instant::now();
        // Queue what is due as far as the send window takes it, then let the
        // driver send it all (as the KCP and ENet runners queue, then flush).
        let mut window_full = false;
        while let Some(message) = source.peek(now) {
            match client.connection().send(PacketType::MSG_INFO, message, Delivery::Reliable) {
                Ok(()) => source.advance(),
                Err(SendError::WouldBlock) => {
                    window_full = true;
                    break;
                }
                Err(e) => return Err(io::Error::other(e)),
            }
        }
        if window_full {
            client.drive(Some(now + Duration::from_millis(10)), |c| c.connection().link().send_capacity() > 0)?;
        } else {
            let until = source.next_due().unwrap_or(now + Duration::from_millis(10)).min(shared.deadline);
            client.drive(Some(until), |_| shared.should_stop())?;
        }
    }
    Ok(start)
}
