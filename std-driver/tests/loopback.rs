//! End-to-end tests over real loopback sockets (127.0.0.1 only), bounded in
//! count and time.

use seqlink_core::connection::ConnectionConfig;
use seqlink_core::endpoint::{EndpointConfig, EndpointEvent};
use seqlink_core::link::{Delivery, LinkConfig, SendError};
use seqlink_core::wire::handshake::ErrorCode;
use seqlink_core::{Event, PacketType};
use seqlink_std::{Impairment, TcpConnection, TcpServer, UdpConnection, UdpServer};
use std::io::ErrorKind;
use std::net::UdpSocket;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

const T: Duration = Duration::from_secs(20);

fn config() -> ConnectionConfig {
    let mut c = ConnectionConfig::new().with_link(LinkConfig::low_latency().with_window(32).with_max_payload(1200));
    c.linger_ms = 200;
    c
}

fn message(i: u32) -> Vec<u8> {
    let len = [3usize, 100, 1200, 5000][i as usize % 4];
    let mut m = i.to_be_bytes().to_vec();
    m.extend((4..len).map(|j| (j as u32 ^ i) as u8));
    m
}

/// An echo server on a thread until `stop` is set; returns its address.
fn udp_echo_server(loss: f64, stop: Arc<AtomicBool>) -> (std::net::SocketAddr, thread::JoinHandle<u64>) {
    let mut server = UdpServer::bind("127.0.0.1:0", EndpointConfig::new(config()), 32).unwrap();
    if loss > 0.0 {
        server = server.with_impairment(Impairment::loss(loss, 99));
    }
    let addr = server.local_addr().unwrap();
    let handle = thread::spawn(move || {
        let start = Instant::now();
        let mut echoed = 0;
        while !stop.load(Ordering::Relaxed) && start.elapsed() < T {
            if let Ok(Some((h, m))) = server.recv(Some(Duration::from_millis(20))) {
                if server.send(h, m.ptype, &m.data, m.delivery).is_ok() {
                    echoed += 1;
                }
            }
        }
        // let late closes finish
        let _ = server.drive(Some(Instant::now() + Duration::from_millis(500)), |_| false);
        echoed
    });
    (addr, handle)
}

#[test]
fn udp_echo_in_order_through_injected_loss() {
    let stop = Arc::new(AtomicBool::new(false));
    let (addr, server) = udp_echo_server(0.1, stop.clone());
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut client = UdpConnection::connect_with(socket, addr, config(), T, Some(Impairment::loss(0.1, 7))).unwrap();
    assert_eq!(client.poll_event(), Some(Event::Connected));
    // Send and read as echoes come back: an echo with bounded windows on
    // both sides deadlocks if neither application reads (as over TCP).
    let mut got = 0u32;
    let check = |m: seqlink_std::Message, got: &mut u32| {
        assert_eq!(m.data, message(*got), "echo {got} in order and intact");
        assert_eq!(m.ptype, PacketType(100 + (*got % 10) as u8));
        *got += 1;
    };
    for i in 0..200 {
        client.send(PacketType(100 + (i % 10) as u8), &message(i), Delivery::Reliable).unwrap();
        while let Some(m) = client.recv(Some(Duration::ZERO)).unwrap() {
            check(m, &mut got);
        }
    }
    while got < 200 {
        let m = client.recv(Some(T)).unwrap().expect("an echo");
        check(m, &mut got);
    }
    let stats = client.stats();
    assert!(stats.retransmissions > 0, "losses were injected and repaired: {stats:?}");
    client.close(T).unwrap();
    stop.store(true, Ordering::Relaxed);
    assert_eq!(server.join().unwrap(), 200);
}

#[test]
fn udp_many_clients_at_once() {
    let stop = Arc::new(AtomicBool::new(false));
    let (addr, server) = udp_echo_server(0.0, stop.clone());
    let clients: Vec<_> = (0..16u32)
        .map(|c| {
            thread::spawn(move || {
                let mut client = UdpConnection::connect(addr, config(), T).unwrap();
                for i in 0..20 {
                    client.send(PacketType(100), &message(c * 1000 + i), Delivery::Reliable).unwrap();
                    assert_eq!(client.recv(Some(T)).unwrap().unwrap().data, message(c * 1000 + i));
                }
                client.close(T).unwrap();
            })
        })
        .collect();
    for c in clients {
        c.join().unwrap();
    }
    stop.store(true, Ordering::Relaxed);
    assert_eq!(server.join().unwrap(), 16 * 20);
}

#[test]
fn udp_non_blocking_poll_loop() {
    let stop = Arc::new(AtomicBool::new(false));
    let (addr, server) = udp_echo_server(0.0, stop.clone());
    let mut client = UdpConnection::connect(addr, config(), T).unwrap();
    client.set_nonblocking(true).unwrap();
    let start = Instant::now();
    let (mut sent, mut got) = (0u32, 0u32);
    while got < 100 && start.elapsed() < T {
        while sent < 100 {
            match client.send(PacketType(100), &message(sent), Delivery::Reliable) {
                Ok(()) => sent += 1,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(e) => panic!("{e}"),
            }
        }
        while let Some(m) = client.recv(None).unwrap() {
            assert_eq!(m.data, message(got));
            got += 1;
        }
        thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(got, 100);
    client.set_nonblocking(false).unwrap();
    client.close(T).unwrap();
    stop.store(true, Ordering::Relaxed);
    server.join().unwrap();
}

#[test]
fn udp_unreliable_messages_arrive_in_order_or_not_at_all() {
    let stop = Arc::new(AtomicBool::new(false));
    let (addr, server) = udp_echo_server(0.0, stop.clone());
    let mut client = UdpConnection::connect(addr, config(), T).unwrap();
    for i in 0..50u32 {
        client.send(PacketType(150), &i.to_be_bytes(), Delivery::Unreliable).unwrap();
    }
    let mut last = None;
    let deadline = Instant::now() + Duration::from_secs(2);
    while Instant::now() < deadline {
        if let Some(m) = client.recv(Some(Duration::from_millis(100))).unwrap() {
            assert_eq!(m.delivery, Delivery::Unreliable);
            let i = u32::from_be_bytes(m.data[..4].try_into().unwrap());
            assert!(last.is_none_or(|l| i > l));
            last = Some(i);
        }
    }
    assert!(last.is_some(), "loopback delivers most unreliable messages");
    client.close(T).unwrap();
    stop.store(true, Ordering::Relaxed);
    server.join().unwrap();
}

#[test]
fn connecting_to_nobody_times_out() {
    let silent = UdpSocket::bind("127.0.0.1:0").unwrap(); // bound, never answers
    let mut c = config();
    c.connect_timeout_ms = 500;
    let start = Instant::now();
    let err = UdpConnection::connect(silent.local_addr().unwrap(), c, Duration::from_secs(5)).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::TimedOut, "{err}");
    assert!(start.elapsed() < Duration::from_secs(3));
}

#[test]
fn tcp_echo_with_the_stream_framing() {
    let mut server = TcpServer::bind("127.0.0.1:0", EndpointConfig::new(config()), 8).unwrap();
    let addr = server.local_addr().unwrap();
    let thread = thread::spawn(move || {
        let start = Instant::now();
        let mut echoed = 0;
        let mut closed = false;
        while !closed && start.elapsed() < T {
            if let Ok(Some((h, m))) = server.recv(Some(Duration::from_millis(20))) {
                server.send(h, m.ptype, &m.data, m.delivery).unwrap();
                echoed += 1;
            }
            while let Some(e) = server.poll_event() {
                closed |= matches!(e, EndpointEvent::Connection(_, Event::Closed));
            }
        }
        echoed
    });
    let mut client = TcpConnection::connect(addr, config(), T).unwrap();
    assert_eq!(client.stats().retransmissions, 0);
    let mut got = 0;
    for i in 0..100 {
        client.send(PacketType(100), &message(i), Delivery::Reliable).unwrap();
        while let Some(m) = client.recv(Some(Duration::ZERO)).unwrap() {
            assert_eq!(m.data, message(got));
            got += 1;
        }
    }
    while got < 100 {
        assert_eq!(client.recv(Some(T)).unwrap().expect("an echo").data, message(got));
        got += 1;
    }
    client.close(T).unwrap();
    assert_eq!(thread.join().unwrap(), 100);
    assert_eq!(client.stats().retransmissions, 0, "TCP needs no retransmissions");
}

#[test]
fn tcp_poll_from_an_application_loop() {
    let mut server = TcpServer::bind("127.0.0.1:0", EndpointConfig::new(config()), 2).unwrap();
    let addr = server.local_addr().unwrap();
    let thread = thread::spawn(move || {
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(2) {
            if let Ok(Some((h, m))) = server.recv(Some(Duration::from_millis(20))) {
                server.send(h, m.ptype, &m.data, m.delivery).unwrap();
            }
        }
    });
    let mut client = TcpConnection::connect(addr, config(), T).unwrap();
    client.send(PacketType(100), b"polled", Delivery::Reliable).unwrap();
    let start = Instant::now();
    let mut echo = None;
    while echo.is_none() && start.elapsed() < T {
        client.poll().unwrap();
        echo = client.recv(Some(Duration::ZERO)).unwrap();
        thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(echo.unwrap().data, b"polled");
    thread.join().unwrap();
}

#[test]
fn socket_buffers_can_be_sized() {
    let mut server = UdpServer::bind("127.0.0.1:0", EndpointConfig::new(config()), 1).unwrap();
    for size in [8 << 10, 64 << 10] {
        server.set_socket_buffers(Some(size), Some(size)).unwrap();
        let (recv, send) = server.socket_buffers().unwrap();
        // the kernel keeps room for its bookkeeping: Linux doubles the size asked for
        assert!((size..=2 * size).contains(&recv) && (size..=2 * size).contains(&send), "{size}: {recv} {send}");
    }
}

/// A server thread that lets in only clients whose handshake extension is
/// `b"let me in"`, refusing the others, and echoes one message.
macro_rules! deciding_echo_server {
    ($server:expr) => {{
        let mut server = $server;
        let addr = server.local_addr().unwrap();
        let thread = thread::spawn(move || {
            let start = Instant::now();
            let mut echoed = false;
            while !echoed && start.elapsed() < T {
                if let Some(incoming) = server.incoming(Some(Duration::from_millis(20))).unwrap() {
                    if incoming.extension() == b"let me in" {
                        server.accept_incoming(incoming.ticket()).unwrap();
                    } else {
                        server.refuse(incoming.ticket(), ErrorCode::Refused).unwrap();
                    }
                }
                if let Ok(Some((h, m))) = server.recv(Some(Duration::ZERO)) {
                    server.send(h, m.ptype, &m.data, m.delivery).unwrap();
                    echoed = true;
                }
            }
            let _ = server.drive(Some(Instant::now() + Duration::from_millis(300)), |_| false);
            echoed
        });
        (addr, thread)
    }};
}

fn deciding_config() -> EndpointConfig {
    let mut config = EndpointConfig::new(config());
    config.auto_accept = false;
    config
}

fn client_config(extension: &'static [u8]) -> ConnectionConfig {
    config().with_extension(extension).unwrap()
}

#[test]
fn udp_server_admits_whom_the_application_accepts() {
    let (addr, thread) = deciding_echo_server!(UdpServer::bind("127.0.0.1:0", deciding_config(), 4).unwrap());
    let err = UdpConnection::connect(addr, client_config(b"stranger"), T).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused, "{err}");
    let mut client = UdpConnection::connect(addr, client_config(b"let me in"), T).unwrap();
    client.send(PacketType(100), b"hello", Delivery::Reliable).unwrap();
    assert_eq!(client.recv(Some(T)).unwrap().expect("the echo").data, b"hello");
    assert!(thread.join().unwrap());
}

#[test]
fn tcp_server_admits_whom_the_application_accepts() {
    let (addr, thread) = deciding_echo_server!(TcpServer::bind("127.0.0.1:0", deciding_config(), 4).unwrap());
    let err = TcpConnection::connect(addr, client_config(b"stranger"), T).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::ConnectionRefused, "{err}");
    let mut client = TcpConnection::connect(addr, client_config(b"let me in"), T).unwrap();
    client.send(PacketType(100), b"hello", Delivery::Reliable).unwrap();
    assert_eq!(client.recv(Some(T)).unwrap().expect("the echo").data, b"hello");
    assert!(thread.join().unwrap());
}

/// The core's refusal inside an io::Error of the driver.
fn send_error_inside(error: &std::io::Error) -> Option<SendError> {
    error.get_ref().and_then(|e| e.downcast_ref::<SendError>()).copied()
}

#[test]
fn a_send_after_close_is_a_broken_pipe_with_the_core_code_inside() {
    let stop = Arc::new(AtomicBool::new(false));
    let (addr, server) = udp_echo_server(0.0, stop.clone());
    let mut client = UdpConnection::connect(addr, config(), T).unwrap();
    client.close(T).unwrap();
    let error = client.send(PacketType(100), b"late", Delivery::Reliable).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::BrokenPipe, "{error}");
    assert_eq!(send_error_inside(&error), Some(SendError::Closing));
    assert_eq!(send_error_inside(&error).map(|e| e.code()), Some(26));
    stop.store(true, Ordering::Relaxed);
    server.join().unwrap();
}

#[test]
fn a_send_to_a_released_connection_is_not_connected() {
    let mut server = UdpServer::bind("127.0.0.1:0", EndpointConfig::new(config()), 4).unwrap();
    let addr = server.local_addr().unwrap();
    let client = thread::spawn(move || {
        let mut client = UdpConnection::connect(addr, config(), T).unwrap();
        client.recv(Some(T)).unwrap().expect("the greeting").data
    });
    let handle = server.accept(Some(T)).unwrap().expect("the client");
    server.send(handle, PacketType(100), b"hello", Delivery::Reliable).unwrap();
    assert_eq!(client.join().unwrap(), b"hello");
    server.endpoint().release(handle);
    let error = server.send(handle, PacketType(100), b"gone", Delivery::Reliable).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::NotConnected, "{error}");
    assert_eq!(send_error_inside(&error), Some(SendError::UnknownHandle));
}
