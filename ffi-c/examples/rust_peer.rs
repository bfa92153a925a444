//! The Rust peers the C examples and tests talk to over loopback, built on
//! seqlink-std. Each prints its port on the first line of stdout, serves
//! until its client is done (or a time limit, so that a test never hangs),
//! and exits 0 if it served.
//!
//! * `udp-echo`: a seqlink server over UDP echoing every message (same type).
//! * `tcp-echo`: the same over TCP (seqlink connections only).
//! * `basic-tcp`: a basic-profile (seed 000) server over TCP answering every
//!   message with `MSG_RESULT` "ECHO:" + payload, until `CMD_QUIT`.

use seqlink_core::{BasicConfig, ConnectionConfig, Delivery, EndpointConfig, PacketType};
use seqlink_std::{Profiles, TcpServer, UdpServer};
use std::io::{self, Write};
use std::time::{Duration, Instant};

/// The longest a peer serves.
const LIFETIME: Duration = Duration::from_secs(30);
/// Silence after the last message after which a peer that served stops.
const IDLE_END: Duration = Duration::from_secs(3);
const TICK: Duration = Duration::from_millis(100);

fn announce(port: u16) -> io::Result<()> {
    let mut out = io::stdout().lock();
    writeln!(out, "{port}")?;
    out.flush()
}

fn udp_echo() -> io::Result<bool> {
    let mut server = UdpServer::bind("127.0.0.1:0", EndpointConfig::new(ConnectionConfig::new()), 4)?;
    announce(server.local_addr()?.port())?;
    let (start, mut last, mut echoed) = (Instant::now(), Instant::now(), 0u64);
    while start.elapsed() < LIFETIME && (echoed == 0 || last.elapsed() < IDLE_END) {
        if let Some((handle, message)) = server.recv(Some(TICK))? {
            server.send(handle, message.ptype, &message.data, message.delivery)?;
            echoed += 1;
            last = Instant::now();
        }
    }
    eprintln!("rust_peer udp-echo: echoed {echoed} messages");
    Ok(echoed > 0)
}

fn tcp_echo() -> io::Result<bool> {
    let config = EndpointConfig::new(ConnectionConfig::new());
    let mut server =
        TcpServer::bind("127.0.0.1:0", config, 4)?.with_profiles(Profiles::SeqlinkOnly, BasicConfig::default());
    announce(server.local_addr()?.port())?;
    let (start, mut last, mut echoed) = (Instant::now(), Instant::now(), 0u64);
    while start.elapsed() < LIFETIME && (echoed == 0 || last.elapsed() < IDLE_END) {
        if let Some((peer, message)) = server.recv(Some(TICK))? {
            server.send(peer, message.ptype, &message.data, message.delivery)?;
            echoed += 1;
            last = Instant::now();
        }
    }
    eprintln!("rust_peer tcp-echo: echoed {echoed} messages");
    Ok(echoed > 0)
}

fn basic_tcp() -> io::Result<bool> {
    let config = EndpointConfig::new(ConnectionConfig::new());
    let mut server =
        TcpServer::bind("127.0.0.1:0", config, 4)?.with_profiles(Profiles::BasicOnly, BasicConfig::default());
    announce(server.local_addr()?.port())?;
    let (start, mut answered) = (Instant::now(), 0u64);
    while start.elapsed() < LIFETIME {
        let Some((peer, message)) = server.recv(Some(TICK))? else { continue };
        if message.ptype == PacketType::CMD_QUIT {
            server.close(peer)?;
            let _ = server.recv(Some(Duration::from_millis(200)));
            eprintln!("rust_peer basic-tcp: answered {answered} messages");
            return Ok(answered > 0);
        }
        let mut reply = b"ECHO:".to_vec();
        reply.extend_from_slice(&message.data);
        server.send(peer, PacketType::MSG_RESULT, &reply, Delivery::Reliable)?;
        answered += 1;
    }
    Ok(false)
}

fn main() {
    let mode = std::env::args().nth(1).unwrap_or_default();
    let served = match mode.as_str() {
        "udp-echo" => udp_echo(),
        "tcp-echo" => tcp_echo(),
        "basic-tcp" => basic_tcp(),
        _ => {
            eprintln!("usage: rust_peer udp-echo|tcp-echo|basic-tcp");
            std::process::exit(2);
        }
    };
    match served {
        Ok(true) => {}
        Ok(false) => {
            eprintln!("rust_peer {mode}: no client was served");
            std::process::exit(1);
        }
        Err(e) => {
            eprintln!("rust_peer {mode}: {e}");
            std::process::exit(1);
        }
    }
}
