//! The main job: two seqlink endpoints over real UDP sockets on 127.0.0.1,
//! with loss (and a little corruption) injected on both sides, exchanging
//! seed 000's Battleship messages and larger fragmented ones. Every message
//! is checked on return; the statistics are printed at the end.
//!
//! `cargo run --release -p seqlink-std --example loopback_demo -- [messages] [loss] [seed]`

use seqlink_core::ConnectionConfig;
use seqlink_core::EndpointConfig;
use seqlink_core::PacketType;
use seqlink_core::{Delivery, LinkConfig, Stats};
use seqlink_std::{Impairment, UdpConnection, UdpServer};
use std::net::UdpSocket;
use std::time::{Duration, Instant};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let messages: u32 = args.get(1).map(|s| s.parse()).transpose()?.unwrap_or(2000);
    let loss: f64 = args.get(2).map(|s| s.parse()).transpose()?.unwrap_or(0.05);
    let seed: u64 = args.get(3).map(|s| s.parse()).transpose()?.unwrap_or(7);
    let timeout = Duration::from_secs(30);

    let mut config =
        ConnectionConfig::new().with_link(LinkConfig::low_latency().with_window(64).with_max_payload(1200));
    config.linger_ms = 200;

    let mut server = UdpServer::bind("127.0.0.1:0", EndpointConfig::new(config), 8)?
        .with_impairment(Impairment::loss(loss, seed ^ 0xabcd).with_corruption(0.01));
    let addr = server.local_addr()?;
    println!(
        "seqlink loopback demo: server on {addr}, {messages} messages, {:.0}% loss each way, 1% bit flips",
        loss * 100.0
    );

    let echo = std::thread::spawn(move || -> std::io::Result<(Stats, seqlink_core::EndpointStats)> {
        let handle = server.accept(Some(Duration::from_secs(10)))?.ok_or(std::io::ErrorKind::TimedOut)?;
        let start = Instant::now();
        let mut stats = Stats::default();
        while server.endpoint().is_open(handle) && start.elapsed() < Duration::from_secs(120) {
            if let Some((h, m)) = server.recv(Some(Duration::from_millis(50)))? {
                server.send(h, m.ptype, &m.data, m.delivery)?;
            }
            if let Some(conn) = server.endpoint().connection(handle) {
                stats = conn.stats();
            }
        }
        Ok((stats, server.stats()))
    });

    let socket = UdpSocket::bind("127.0.0.1:0")?;
    let impairment = Impairment::loss(loss, seed).with_corruption(0.01);
    let mut client = UdpConnection::connect_with(socket, addr, config, timeout, Some(impairment))?;
    let agreement = *client.connection().agreement().ok_or("no agreement")?;
    println!(
        "connected: id {:#010x}, max payload {}, window {}, heartbeat {} ms",
        client.connection().connection_id(),
        agreement.params.max_payload,
        agreement.params.window,
        agreement.params.heartbeat_ms
    );

    let shots = ["A1", "B5", "C3", "J10", "E7", "HIT", "MISS", "SUNK Carrier"];
    let message = |i: u32| -> (PacketType, Vec<u8>) {
        match i % 10 {
            9 => (PacketType::MSG_BOARD_OWN, (0..6000u32).map(|j| b"~.#X"[((i + j) % 4) as usize]).collect()),
            _ => (PacketType::CMD_FIRE, format!("{i}:{}", shots[i as usize % shots.len()]).into_bytes()),
        }
    };
    let started = Instant::now();
    let (mut got, mut bytes) = (0u32, 0usize);
    let mut check = |m: seqlink_std::Message, got: &mut u32| -> Result<(), String> {
        let (ptype, data) = message(*got);
        if m.ptype != ptype || m.data != data {
            return Err(format!("echo {got} differs"));
        }
        bytes += data.len();
        *got += 1;
        Ok(())
    };
    for i in 0..messages {
        let (ptype, data) = message(i);
        client.send(ptype, &data, Delivery::Reliable)?;
        while let Some(m) = client.recv(Some(Duration::ZERO))? {
            check(m, &mut got)?;
        }
    }
    while got < messages {
        let m = client.recv(Some(timeout))?.ok_or("echo timed out")?;
        check(m, &mut got)?;
    }
    let elapsed = started.elapsed();
    client.close(timeout)?;
    let client_stats = client.stats();
    let (server_stats, endpoint) = echo.join().map_err(|_| "server thread panicked")??;

    println!(
        "all {got} echoes arrived intact and in order: {bytes} bytes in {elapsed:.2?} ({:.1} MB/s both ways)",
        2.0 * bytes as f64 / elapsed.as_secs_f64() / 1e6
    );
    println!();
    println!("{:<22} {:>12} {:>12}", "", "client", "server");
    type Row = (&'static str, fn(&Stats) -> u64);
    let rows: [Row; 14] = [
        ("packets sent", |s| s.packets_sent),
        ("packets received", |s| s.packets_received),
        ("retransmissions", |s| s.retransmissions),
        ("  fast (SACK/NACK)", |s| s.fast_retransmissions),
        ("timeouts", |s| s.timeouts),
        ("corrupt detected", |s| s.corrupt_packets),
        ("duplicates", |s| s.duplicates),
        ("out of order", |s| s.out_of_order),
        ("NACKs sent", |s| s.nacks_sent),
        ("NACKs received", |s| s.nacks_received),
        ("messages delivered", |s| s.messages_delivered),
        ("bytes delivered", |s| s.bytes_delivered),
        ("SRTT ms", |s| u64::from(s.srtt_ms)),
        ("RTO ms", |s| u64::from(s.rto_ms)),
    ];
    for (name, f) in rows {
        println!("{name:<22} {:>12} {:>12}", f(&client_stats), f(&server_stats));
    }
    println!();
    println!("server endpoint: {endpoint:?}");
    Ok(())
}
