//! A seqlink-std peer for the Python package's interoperability tests
//! (`tests/test_interop.py`): the Rust drivers on one side, the Python
//! drivers on the other, over loopback.
//!
//! `std_peer udp-echo|tcp-echo` prints the port it listens on, then echoes
//! every message of the first connection until it closes (30 s at most).
//! `std_peer udp-client|tcp-client PORT` sends three messages (one of them
//! fragmented), checks that each comes back, closes, and prints `OK`.

use std::io::Write;
use std::time::{Duration, Instant};

use seqlink_core::{ConnectionConfig, Delivery, EndpointConfig, PacketType};
use seqlink_std::{TcpConnection, TcpServer, UdpConnection, UdpServer};

const WAIT: Duration = Duration::from_secs(10);
const POLL: Duration = Duration::from_millis(20);

fn config() -> ConnectionConfig {
    let mut config = ConnectionConfig::new();
    config.linger_ms = 100;
    config
}

fn messages() -> Vec<Vec<u8>> {
    vec![b"B5".to_vec(), vec![7u8; 5_000], (0..70_000u32).map(|i| i as u8).collect()]
}

fn announce(port: u16) -> std::io::Result<()> {
    let mut out = std::io::stdout();
    writeln!(out, "{port}")?;
    out.flush()
}

fn udp_echo(deadline: Instant) -> Result<(), Box<dyn std::error::Error>> {
    let mut server = UdpServer::bind("127.0.0.1:0", EndpointConfig::new(config()), 4)?;
    announce(server.local_addr()?.port())?;
    let handle = server.accept(Some(WAIT))?.ok_or("no client")?;
    while server.endpoint().is_open(handle) && Instant::now() < deadline {
        if let Some((from, message)) = server.recv(Some(POLL))? {
            server.send(from, message.ptype, &message.data, message.delivery)?;
        }
    }
    Ok(())
}

fn tcp_echo(deadline: Instant) -> Result<(), Box<dyn std::error::Error>> {
    let mut server = TcpServer::bind("127.0.0.1:0", EndpointConfig::new(config()), 4)?;
    announce(server.local_addr()?.port())?;
    let peer = server.accept(Some(WAIT))?.ok_or("no client")?;
    while server.is_open(peer) && Instant::now() < deadline {
        if let Some((from, message)) = server.recv(Some(POLL))? {
            server.send(from, message.ptype, &message.data, message.delivery)?;
        }
    }
    Ok(())
}

fn check_echo(sent: &[u8], got: Option<seqlink_std::Message>) -> Result<(), Box<dyn std::error::Error>> {
    let got = got.ok_or("the server closed before echoing")?;
    if got.data != sent || got.ptype != PacketType(100) {
        return Err(format!("echo of {} bytes came back as {} bytes", sent.len(), got.data.len()).into());
    }
    Ok(())
}

fn udp_client(port: u16) -> Result<(), Box<dyn std::error::Error>> {
    let mut client = UdpConnection::connect(("127.0.0.1", port), config(), WAIT)?;
    for message in messages() {
        client.send(PacketType(100), &message, Delivery::Reliable)?;
        check_echo(&message, client.recv(Some(WAIT))?)?;
    }
    client.close(WAIT)?;
    Ok(())
}

fn tcp_client(port: u16) -> Result<(), Box<dyn std::error::Error>> {
    let mut client = TcpConnection::connect(("127.0.0.1", port), config(), WAIT)?;
    for message in messages() {
        client.send(PacketType(100), &message, Delivery::Reliable)?;
        check_echo(&message, client.recv(Some(WAIT))?)?;
    }
    client.close(WAIT)?;
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let deadline = Instant::now() + Duration::from_secs(30);
    let port = || -> Result<u16, Box<dyn std::error::Error>> { Ok(args.get(2).ok_or("a port")?.parse()?) };
    match args.get(1).map(String::as_str) {
        Some("udp-echo") => udp_echo(deadline)?,
        Some("tcp-echo") => tcp_echo(deadline)?,
        Some("udp-client") => udp_client(port()?)?,
        Some("tcp-client") => tcp_client(port()?)?,
        _ => return Err("usage: std_peer udp-echo|tcp-echo|udp-client PORT|tcp-client PORT".into()),
    }
    println!("OK");
    Ok(())
}
