//! One face for the drivers the commands run on: a client
//! ([`UdpConnection`], [`TcpConnection`]) and a server ([`UdpServer`],
//! [`TcpServer`], which also serves seed 000 clients).

use seqlink_core::{Connection, ConnectionHandle, Delivery, PacketType, Stats};
use seqlink_std::{Message, TcpConnection, TcpPeer, TcpServer, UdpConnection, UdpServer};
use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// A connected client.
pub trait Client {
    /// Sends a reliable message (waiting out a full window).
    fn send(&mut self, ptype: PacketType, data: &[u8]) -> io::Result<()>;
    /// The next message, waiting up to `timeout`.
    fn recv(&mut self, timeout: Option<Duration>) -> io::Result<Option<Message>>;
    /// Closes gracefully, waiting up to `timeout`.
    fn close(&mut self, timeout: Duration) -> io::Result<()>;
    /// The connection.
    fn connection(&mut self) -> &mut Connection<Vec<u8>>;
}

macro_rules! client {
    ($t:ty) => {
        impl Client for $t {
            fn send(&mut self, ptype: PacketType, data: &[u8]) -> io::Result<()> {
                <$t>::send(self, ptype, data, Delivery::Reliable)
            }
            fn recv(&mut self, timeout: Option<Duration>) -> io::Result<Option<Message>> {
                <$t>::recv(self, timeout)
            }
            fn close(&mut self, timeout: Duration) -> io::Result<()> {
                <$t>::close(self, timeout)
            }
            fn connection(&mut self) -> &mut Connection<Vec<u8>> {
                <$t>::connection(self)
            }
        }
    };
}
client!(UdpConnection);
client!(TcpConnection);

/// A server.
pub trait Server {
    /// Names a peer.
    type Peer: Copy + Eq + std::fmt::Debug;
    /// A new peer, waiting up to `timeout`.
    fn accept(&mut self, timeout: Option<Duration>) -> io::Result<Option<Self::Peer>>;
    /// The next message from any peer, waiting up to `timeout`.
    fn recv(&mut self, timeout: Option<Duration>) -> io::Result<Option<(Self::Peer, Message)>>;
    /// Sends a reliable message to a peer.
    fn send(&mut self, peer: Self::Peer, ptype: PacketType, data: &[u8]) -> io::Result<()>;
    /// Starts closing a peer's connection.
    fn close(&mut self, peer: Self::Peer) -> io::Result<()>;
    /// Whether a peer is still connected.
    fn is_open(&mut self, peer: Self::Peer) -> bool;
    /// A peer's statistics, while it is known.
    fn stats(&mut self, peer: Self::Peer) -> Option<Stats>;
    /// A peer's address, while it is known.
    fn peer_addr(&mut self, peer: Self::Peer) -> Option<SocketAddr>;
    /// Serves everyone (acknowledgements, closes) for `time`.
    fn serve_for(&mut self, time: Duration) -> io::Result<()>;
}

impl Server for UdpServer {
    type Peer = ConnectionHandle;
    fn accept(&mut self, timeout: Option<Duration>) -> io::Result<Option<ConnectionHandle>> {
        UdpServer::accept(self, timeout)
    }
    fn recv(&mut self, timeout: Option<Duration>) -> io::Result<Option<(ConnectionHandle, Message)>> {
        UdpServer::recv(self, timeout)
    }
    fn send(&mut self, peer: ConnectionHandle, ptype: PacketType, data: &[u8]) -> io::Result<()> {
        UdpServer::send(self, peer, ptype, data, Delivery::Reliable)
    }
    fn close(&mut self, peer: ConnectionHandle) -> io::Result<()> {
        UdpServer::close(self, peer)
    }
    fn is_open(&mut self, peer: ConnectionHandle) -> bool {
        self.endpoint().is_open(peer)
    }
    fn stats(&mut self, peer: ConnectionHandle) -> Option<Stats> {
        self.endpoint().connection(peer).map(|c| c.stats())
    }
    fn peer_addr(&mut self, peer: ConnectionHandle) -> Option<SocketAddr> {
        self.endpoint().peer(peer)
    }
    fn serve_for(&mut self, time: Duration) -> io::Result<()> {
        self.drive(Some(Instant::now() + time), |_| false).map(drop)
    }
}

impl Server for TcpServer {
    type Peer = TcpPeer;
    fn accept(&mut self, timeout: Option<Duration>) -> io::Result<Option<TcpPeer>> {
        TcpServer::accept(self, timeout)
    }
    fn recv(&mut self, timeout: Option<Duration>) -> io::Result<Option<(TcpPeer, Message)>> {
        TcpServer::recv(self, timeout)
    }
    fn send(&mut self, peer: TcpPeer, ptype: PacketType, data: &[u8]) -> io::Result<()> {
        TcpServer::send(self, peer, ptype, data, Delivery::Reliable)
    }
    fn close(&mut self, peer: TcpPeer) -> io::Result<()> {
        TcpServer::close(self, peer)
    }
    fn is_open(&mut self, peer: TcpPeer) -> bool {
        TcpServer::is_open(self, peer)
    }
    fn stats(&mut self, peer: TcpPeer) -> Option<Stats> {
        match peer {
            TcpPeer::Seqlink(handle) => self.endpoint().connection(handle).map(|c| c.stats()),
            TcpPeer::Basic(peer) => self.basic_stats(peer).map(|b| Stats {
                packets_sent: b.packets_sent,
                packets_received: b.packets_received_raw,
                corrupt_packets: b.detected_corruptions,
                out_of_order: b.out_of_sequence_packets,
                ..Stats::default()
            }),
        }
    }
    fn serve_for(&mut self, time: Duration) -> io::Result<()> {
        self.drive(Some(Instant::now() + time), |_| false).map(drop)
    }
    fn peer_addr(&mut self, peer: TcpPeer) -> Option<SocketAddr> {
        TcpServer::peer_addr(self, peer)
    }
}
