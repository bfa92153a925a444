//! `seqlink inspect`: decodes a pcap, a hex dump or raw packets into
//! readable lines or JSON, one per packet.

use crate::args::InputFormat;
use crate::commands::Failure;
use crate::decode::{Decoded, Decoder};
use pcap_file::pcap::PcapReader;
use pcap_file::DataLink;
use serde_json::json;
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddrV4};

/// The magic numbers a pcap starts with (micro- and nanosecond, either byte order).
const PCAP_MAGICS: [[u8; 4]; 4] =
    [[0xa1, 0xb2, 0xc3, 0xd4], [0xd4, 0xc3, 0xb2, 0xa1], [0xa1, 0xb2, 0x3c, 0x4d], [0x4d, 0x3c, 0xb2, 0xa1]];
/// Ethertype of IPv4.
const ETHERTYPE_IPV4: u16 = 0x0800;
/// IP protocol number of UDP.
const PROTOCOL_UDP: u8 = 17;

/// One packet found in the input, with where it came from.
struct Found {
    /// Its number in the input, from 1.
    number: usize,
    /// Seconds since the first packet (pcap only).
    time: Option<f64>,
    /// UDP source and destination (pcap only).
    addrs: Option<(SocketAddrV4, SocketAddrV4)>,
    bytes: Vec<u8>,
}

/// Reads `input` (a path, or `-` for stdin) and prints every packet.
pub fn run(input: &str, format: InputFormat, json: bool) -> Result<(), Failure> {
    let mut data = Vec::new();
    if input == "-" {
        io::stdin().lock().read_to_end(&mut data)?;
    } else {
        data = std::fs::read(input).map_err(|e| Failure::Usage(format!("cannot read {input}: {e}")))?;
    }
    let format = match format {
        InputFormat::Auto => detect(&data),
        f => f,
    };
    let found = match format {
        InputFormat::Pcap => from_pcap(&data)?,
        InputFormat::Hex => from_hex(&data)?,
        _ => from_raw(&data),
    };
    let mut decoder = Decoder::new();
    let mut out = io::stdout().lock();
    for f in found {
        match print_one(&mut out, &mut decoder, &f, json) {
            // the reader stopped (`| head`): done
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => return Ok(()),
            r => r?,
        }
    }
    Ok(())
}

fn print_one(out: &mut dyn Write, decoder: &mut Decoder, f: &Found, json: bool) -> io::Result<()> {
    let packets = decoder.decode_datagram(&f.bytes);
    if packets.len() < 2 {
        return print_packet(out, packets.into_iter().next(), f, None, json);
    }
    let count = packets.len();
    for (index, d) in packets.into_iter().enumerate() {
        print_packet(out, Some(d), f, Some((index + 1, count)), json)?;
    }
    Ok(())
}

/// One packet of datagram `f`; `part` is its place in a coalesced datagram (from 1) and their count.
fn print_packet(
    out: &mut dyn Write,
    decoded: Option<Decoded>,
    f: &Found,
    part: Option<(usize, usize)>,
    json: bool,
) -> io::Result<()> {
    if json {
        let mut m = match &decoded {
            Some(d) => d.json(),
            None => {
                let mut m = serde_json::Map::new();
                m.insert("problem".into(), json!(format!("{} bytes: shorter than a header", f.bytes.len())));
                m
            }
        };
        m.insert("number".into(), json!(f.number));
        if let Some((index, count)) = part {
            m.insert("packet".into(), json!(index));
            m.insert("packets".into(), json!(count));
        }
        if let Some(t) = f.time {
            m.insert("time".into(), json!(t));
        }
        if let Some((src, dst)) = f.addrs {
            m.insert("src".into(), json!(src.to_string()));
            m.insert("dst".into(), json!(dst.to_string()));
        }
        writeln!(out, "{}", serde_json::Value::Object(m))
    } else {
        let mut prefix = match part {
            Some((index, _)) => format!("#{}.{index}", f.number),
            None => format!("#{}", f.number),
        };
        if let Some(t) = f.time {
            prefix.push_str(&format!(" {t:.6}"));
        }
        if let Some((src, dst)) = f.addrs {
            prefix.push_str(&format!(" {src} -> {dst}"));
        }
        match decoded {
            Some(d) => writeln!(out, "{prefix} {}", d.line()),
            None => writeln!(out, "{prefix} {} bytes: shorter than a header", f.bytes.len()),
        }
    }
}

/// A pcap by its magic, else hex text, else raw packets.
fn detect(data: &[u8]) -> InputFormat {
    if data.get(..4).is_some_and(|m| PCAP_MAGICS.iter().any(|p| p == m)) {
        InputFormat::Pcap
    } else if !data.is_empty() && is_hex_text(data) {
        InputFormat::Hex
    } else {
        InputFormat::Raw
    }
}

fn is_hex_text(data: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(data) else { return false };
    text.lines().all(|line| {
        let line = line.split('#').next().unwrap_or("");
        line.chars().all(|c| c.is_ascii_hexdigit() || c.is_whitespace() || c == ':')
    })
}

/// One packet per non-empty line of hex digits.
fn from_hex(data: &[u8]) -> Result<Vec<Found>, Failure> {
    let text = std::str::from_utf8(data).map_err(|_| Failure::Usage("the hex dump is not text".into()))?;
    let mut found = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let digits: String =
            line.split('#').next().unwrap_or("").chars().filter(|c| !c.is_whitespace() && *c != ':').collect();
        if digits.is_empty() {
            continue;
        }
        if !digits.len().is_multiple_of(2) || !digits.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(Failure::Usage(format!("line {}: not an even number of hex digits", i + 1)));
        }
        let bytes = (0..digits.len())
            .step_by(2)
            .map(|j| u8::from_str_radix(&digits[j..j + 2], 16))
            .collect::<Result<Vec<u8>, _>>()
            .map_err(|e| Failure::Usage(format!("line {}: {e}", i + 1)))?;
        found.push(Found { number: found.len() + 1, time: None, addrs: None, bytes });
    }
    Ok(found)
}

/// Packets back to back, each delimited by its `len` (the Internet checksum
/// mode: a CRC-32C trailer cannot be told from the next packet's start).
fn from_raw(data: &[u8]) -> Vec<Found> {
    let mut found = Vec::new();
    let mut rest = data;
    while !rest.is_empty() {
        let len = match rest.get(5..7) {
            Some(&[hi, lo]) => 9 + usize::from(u16::from_be_bytes([hi, lo])),
            _ => rest.len(),
        };
        let (packet, tail) = rest.split_at(len.min(rest.len()));
        found.push(Found { number: found.len() + 1, time: None, addrs: None, bytes: packet.to_vec() });
        rest = tail;
    }
    found
}

/// The UDP payloads of a pcap's IPv4 packets.
fn from_pcap(data: &[u8]) -> Result<Vec<Found>, Failure> {
    let mut reader = PcapReader::new(data).map_err(|e| Failure::Usage(format!("not a pcap: {e}")))?;
    let datalink = reader.header().datalink;
    let mut found = Vec::new();
    let mut first = None;
    let mut number = 0;
    while let Some(packet) = reader.next_packet() {
        let packet = packet.map_err(|e| Failure::Usage(format!("bad pcap record: {e}")))?;
        number += 1;
        let Some(ip) = ip_of(datalink, &packet.data) else { continue };
        let Some((addrs, payload)) = udp_of(ip) else { continue };
        let t = packet.timestamp.as_secs_f64();
        let start = *first.get_or_insert(t);
        found.push(Found { number, time: Some(t - start), addrs: Some(addrs), bytes: payload.to_vec() });
    }
    Ok(found)
}

/// The IPv4 packet inside a frame of link type `datalink`.
fn ip_of(datalink: DataLink, frame: &[u8]) -> Option<&[u8]> {
    match datalink {
        DataLink::IPV4 | DataLink::RAW => Some(frame),
        DataLink::ETHERNET => {
            let ethertype = u16::from_be_bytes([*frame.get(12)?, *frame.get(13)?]);
            (ethertype == ETHERTYPE_IPV4).then(|| frame.get(14..)).flatten()
        }
        DataLink::NULL | DataLink::LOOP => frame.get(4..),
        DataLink::LINUX_SLL => frame.get(16..),
        _ => None,
    }
}

/// The addresses and payload of a UDP-over-IPv4 packet.
fn udp_of(ip: &[u8]) -> Option<((SocketAddrV4, SocketAddrV4), &[u8])> {
    let version_ihl = *ip.first()?;
    if version_ihl >> 4 != 4 || *ip.get(9)? != PROTOCOL_UDP {
        return None;
    }
    let header = usize::from(version_ihl & 0x0f) * 4;
    let total = usize::from(u16::from_be_bytes([*ip.get(2)?, *ip.get(3)?]));
    let src = Ipv4Addr::new(*ip.get(12)?, *ip.get(13)?, *ip.get(14)?, *ip.get(15)?);
    let dst = Ipv4Addr::new(*ip.get(16)?, *ip.get(17)?, *ip.get(18)?, *ip.get(19)?);
    let udp = ip.get(header..total.min(ip.len()))?;
    let sport = u16::from_be_bytes([*udp.first()?, *udp.get(1)?]);
    let dport = u16::from_be_bytes([*udp.get(2)?, *udp.get(3)?]);
    let udp_len = usize::from(u16::from_be_bytes([*udp.get(4)?, *udp.get(5)?]));
    let payload = udp.get(8..udp_len.min(udp.len()))?;
    Some(((SocketAddrV4::new(src, sport), SocketAddrV4::new(dst, dport)), payload))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_dumps_and_pcaps_are_told_apart() {
        assert_eq!(detect(b"00 00 00 01 03 00 02 c5 bc 42 35\n"), InputFormat::Hex);
        assert_eq!(detect(&[0xd4, 0xc3, 0xb2, 0xa1, 2, 0]), InputFormat::Pcap);
        assert_eq!(detect(&[0, 0, 0, 1, 3, 0, 2, 0xc5, 0xbc, b'B', b'5']), InputFormat::Raw);
    }

    #[test]
    fn raw_packets_are_cut_by_their_length() {
        let one = [0, 0, 0, 1, 3, 0, 2, 0xc5, 0xbc, b'B', b'5'];
        let found = from_raw(&[one, one].concat());
        assert_eq!(found.len(), 2);
        assert_eq!(found[1].bytes, one);
    }

    #[test]
    fn a_udp_frame_written_by_the_capture_reads_back() {
        let from = "10.0.0.1:4000".parse().unwrap();
        let to = "10.0.0.2:5000".parse().unwrap();
        let frame = crate::capture::udp_over_ipv4(from, to, 1, b"hello");
        let (addrs, payload) = udp_of(&frame).unwrap();
        assert_eq!((addrs.0.to_string(), addrs.1.to_string()), ("10.0.0.1:4000".into(), "10.0.0.2:5000".into()));
        assert_eq!(payload, b"hello");
        assert_eq!(seqlink_core::checksum::internet_checksum(&frame[..20]), 0, "IPv4 header checksum");
    }
}
