//! `--pcap`: every datagram as a UDP-over-IPv4 packet in a pcap file (link
//! type 228, raw IPv4), which Wireshark and tshark open as they are.

use pcap_file::pcap::{PcapHeader, PcapPacket, PcapWriter};
use pcap_file::{DataLink, Endianness, TsResolution};
use seqlink_std::Direction;
use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufWriter};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

/// Bytes of the IPv4 header written (no options).
const IPV4_HEADER_LEN: usize = 20;
/// Bytes of the UDP header.
const UDP_HEADER_LEN: usize = 8;
/// IP protocol number of UDP.
const PROTOCOL_UDP: u8 = 17;
/// Time to live written in the IPv4 header.
const TTL: u8 = 64;

/// A pcap file being written.
pub struct Capture {
    /// `None` once finished.
    writer: Option<PcapWriter<BufWriter<File>>>,
    ip_id: u16,
    /// The local address the system routes from, per peer, for sockets bound to 0.0.0.0.
    routes: HashMap<IpAddr, IpAddr>,
}

impl Capture {
    /// Creates (or truncates) `path` and writes the pcap header.
    pub fn create(path: &Path) -> io::Result<Capture> {
        let file = BufWriter::new(File::create(path)?);
        let header = PcapHeader {
            version_major: 2,
            version_minor: 4,
            ts_correction: 0,
            ts_accuracy: 0,
            snaplen: 65535,
            datalink: DataLink::IPV4,
            ts_resolution: TsResolution::MicroSecond,
            endianness: Endianness::native(),
        };
        let writer = PcapWriter::with_header(file, header).map_err(io::Error::other)?;
        Ok(Capture { writer: Some(writer), ip_id: 0, routes: HashMap::new() })
    }

    /// Writes `datagram` as this side saw it: sent from `local` to `peer`, or received the other way.
    pub fn record(
        &mut self,
        direction: Direction,
        local: SocketAddr,
        peer: SocketAddr,
        datagram: &[u8],
    ) -> io::Result<()> {
        let local = self.visible(local, peer);
        let (from, to) = match direction {
            Direction::Out => (local, peer),
            Direction::In => (peer, local),
        };
        self.ip_id = self.ip_id.wrapping_add(1);
        let frame = udp_over_ipv4(from, to, self.ip_id, datagram);
        let time = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        let len = u32::try_from(frame.len()).map_err(io::Error::other)?;
        if let Some(writer) = &mut self.writer {
            writer.write_packet(&PcapPacket::new(time, len, &frame)).map_err(io::Error::other)?;
        }
        Ok(())
    }

    /// `local`, with an unspecified address (a socket bound to 0.0.0.0)
    /// replaced by the one the system sends to `peer` from.
    fn visible(&mut self, local: SocketAddr, peer: SocketAddr) -> SocketAddr {
        if !local.ip().is_unspecified() {
            return local;
        }
        let ip = *self.routes.entry(peer.ip()).or_insert_with(|| route_source(peer).unwrap_or(local.ip()));
        SocketAddr::new(ip, local.port())
    }

    /// Writes what is buffered to the file; later datagrams are not recorded.
    pub fn finish(&mut self) -> io::Result<()> {
        use std::io::Write;
        match self.writer.take() {
            Some(writer) => writer.into_writer().flush(),
            None => Ok(()),
        }
    }
}

/// The address the system would send to `peer` from (a connected UDP socket sends nothing).
fn route_source(peer: SocketAddr) -> Option<IpAddr> {
    let bind = if peer.is_ipv4() { "0.0.0.0:0" } else { "[::]:0" };
    let probe = UdpSocket::bind(bind).ok()?;
    probe.connect(peer).ok()?;
    probe.local_addr().ok().map(|a| a.ip())
}

/// An IPv4 address for the capture (IPv6 ones mapped from IPv4 are unmapped; others become 0.0.0.0).
fn ipv4(addr: SocketAddr) -> Ipv4Addr {
    match addr.ip() {
        IpAddr::V4(a) => a,
        IpAddr::V6(a) => a.to_ipv4_mapped().unwrap_or(Ipv4Addr::UNSPECIFIED),
    }
}

/// An IPv4 packet carrying `payload` in a UDP datagram (UDP checksum 0: none, allowed over IPv4).
pub fn udp_over_ipv4(from: SocketAddr, to: SocketAddr, ip_id: u16, payload: &[u8]) -> Vec<u8> {
    let udp_len = UDP_HEADER_LEN + payload.len();
    let total = IPV4_HEADER_LEN + udp_len;
    let mut p = Vec::with_capacity(total);
    p.extend_from_slice(&[0x45, 0]);
    p.extend_from_slice(&(total as u16).to_be_bytes());
    p.extend_from_slice(&ip_id.to_be_bytes());
    p.extend_from_slice(&[0x40, 0]); // don't fragment
    p.extend_from_slice(&[TTL, PROTOCOL_UDP, 0, 0]);
    p.extend_from_slice(&ipv4(from).octets());
    p.extend_from_slice(&ipv4(to).octets());
    let sum = seqlink_core::checksum::internet_checksum(&p);
    p[10..12].copy_from_slice(&sum.to_be_bytes());
    p.extend_from_slice(&from.port().to_be_bytes());
    p.extend_from_slice(&to.port().to_be_bytes());
    p.extend_from_slice(&(udp_len as u16).to_be_bytes());
    p.extend_from_slice(&[0, 0]);
    p.extend_from_slice(payload);
    p
}

impl std::fmt::Debug for Capture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Capture")
    }
}
