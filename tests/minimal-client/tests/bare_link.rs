//! A bare link built without `coalescing` takes `LinkConfig::coalesce` as
//! off: it sends one packet per datagram, and a datagram carrying two
//! packets is not one it can frame (`docs/PROTOCOL.md` 4.1), so nothing of
//! it is delivered.

use seqlink_core::{Delivery, Link, LinkConfig, PacketType};

const HEADER_LEN: usize = 9;

/// Coalescing asked for, with new data waiting up to `wait_ms` for company.
fn coalescing(wait_ms: u16) -> LinkConfig {
    LinkConfig { coalesce: true, coalesce_wait_ms: wait_ms, ..LinkConfig::new().with_window(8) }
}

fn link(config: LinkConfig) -> Link<Vec<u8>> {
    Link::new(config, vec![0u8; config.storage_len()]).expect("valid config")
}

/// Everything `from` sends at `now`.
fn drain(from: &mut Link<Vec<u8>>, now: u64) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut buf = vec![0u8; from.config().max_datagram_len()];
    while let Some(n) = from.poll_transmit(now, &mut buf).expect("buffer holds a datagram") {
        out.push(buf[..n].to_vec());
    }
    out
}

fn received(link: &mut Link<Vec<u8>>) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut buf = [0u8; 2048];
    while let Some(r) = link.recv(&mut buf).expect("buffer holds a message") {
        out.push(buf[..r.len].to_vec());
    }
    out
}

#[test]
fn queued_messages_leave_at_once_one_packet_per_datagram_despite_coalesce() {
    let mut a = link(coalescing(5));
    for i in 0..4u8 {
        a.send(PacketType(100), &[i; 20], Delivery::Reliable).expect("window has room");
    }
    // no wait for company (coalesce_wait_ms taken as 0), no packing
    let out = drain(&mut a, 0);
    assert_eq!(out.iter().map(Vec::len).collect::<Vec<_>>(), [HEADER_LEN + 20; 4]);
}

#[test]
fn a_datagram_of_two_packets_delivers_neither() {
    let (mut a, mut b) = (link(coalescing(0)), link(coalescing(0)));
    a.send(PacketType(100), b"first", Delivery::Reliable).expect("window has room");
    a.send(PacketType(100), b"second", Delivery::Reliable).expect("window has room");
    // back to back, as a coalescing peer sends them
    let coalesced = drain(&mut a, 0).concat();
    assert_eq!(coalesced.len(), 2 * HEADER_LEN + 11);
    b.handle_datagram(1, &coalesced);
    assert!(received(&mut b).is_empty(), "a coalesced datagram was taken");
}
