//! The basic profile (seed 000 exactly) over a real loopback TCP stream.

use seqlink_core::basic::{BasicConfig, BasicSession, Outcome};
use seqlink_core::framing::StreamDecoder;
use seqlink_core::wire::Codec;
use seqlink_core::{PacketType, Seq};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

#[test]
fn seed_000_over_tcp_with_acks() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut session = BasicSession::new(BasicConfig { acks: true, ..BasicConfig::default() });
        let mut decoder = StreamDecoder::new(vec![0u8; Codec::new().max_packet_len()], Codec::new()).unwrap();
        let mut chunk = [0u8; 7]; // small reads: packets arrive split
        let mut out = [0u8; 64];
        let mut got = Vec::new();
        while got.len() < 50 {
            let n = stream.read(&mut chunk).unwrap();
            assert!(n > 0, "the client closed early");
            let mut input = &chunk[..n];
            while let Some(result) = decoder.decode(&mut input) {
                if let Outcome::Deliver(p) = session.receive(result) {
                    got.push((p.ptype, p.payload.to_vec()));
                }
                while let Some(k) = session.poll_control(&mut out).unwrap() {
                    stream.write_all(&out[..k]).unwrap();
                }
            }
        }
        (got, session.stats())
    });
    let mut stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut client = BasicSession::new(BasicConfig::default());
    let mut buf = [0u8; 64];
    for i in 0..50u32 {
        let n = client
            .encode(
                PacketType::CMD_FIRE,
                format!("{}{}", (b'A' + (i % 10) as u8) as char, i % 10 + 1).as_bytes(),
                &mut buf,
            )
            .unwrap();
        stream.write_all(&buf[..n]).unwrap();
    }
    let mut decoder = StreamDecoder::new(vec![0u8; Codec::new().max_packet_len()], Codec::new()).unwrap();
    let mut acked = Vec::new();
    let mut chunk = [0u8; 256];
    while acked.len() < 50 {
        let n = stream.read(&mut chunk).unwrap();
        assert!(n > 0);
        let mut input = &chunk[..n];
        while let Some(result) = decoder.decode(&mut input) {
            if let Outcome::Control { ptype: PacketType::ACK, seq } = client.receive(result) {
                acked.push(seq);
            }
        }
    }
    let (got, stats) = server.join().unwrap();
    assert_eq!(got.len(), 50);
    assert_eq!(got[3], (PacketType::CMD_FIRE, b"D4".to_vec()));
    assert_eq!(acked, (0..50).map(Seq).collect::<Vec<_>>(), "every packet acknowledged, in order");
    assert_eq!(
        (stats.successfully_processed_packets, stats.detected_corruptions, stats.out_of_sequence_packets),
        (50, 0, 0)
    );
    assert_eq!(client.stats().acks_received, 50);
}
