//! The firmware's application on the host: the same `EchoDevice` over
//! `std-embedded-nal`'s UDP stack, and over the serial-line stack on a TCP
//! stream, against the host peer on loopback with loss injected by the host
//! (the QEMU runs without QEMU).

use embedded_nal::UdpClientStack;
use seqlink_core::framing::max_serial_frame_len;
use seqlink_core::FailReason;
use seqlink_fw_app::{device_config, Buffers, ByteLine, EchoDevice, Phase, Report, SerialStack};
use seqlink_fw_host_peer::{run, Plan, SerialHost, Summary, UdpHost};
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::thread;
use std::time::{Duration, Instant};

const CONFIG: seqlink_core::ConnectionConfig = device_config();

/// A loopback address with a port nobody uses right now.
fn free_loopback_addr() -> SocketAddr {
    UdpSocket::bind("127.0.0.1:0").and_then(|socket| socket.local_addr()).expect("a free loopback port")
}

/// A loopback TCP address with a port nobody uses right now.
fn free_loopback_tcp_addr() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0").and_then(|listener| listener.local_addr()).expect("a free loopback port")
}

/// Runs the device over `std-embedded-nal`'s UDP (see [`run_device_on`]).
fn run_device(peer: SocketAddr, limit: Duration, host_done: impl Fn() -> bool) -> (Phase, Vec<Report>) {
    run_device_on(&mut std_embedded_nal::Stack, peer, limit, host_done)
}

/// Runs the device on `stack` until it stops, `limit` passes or `host_done` holds
/// (then for 5 s more, so that it can finish its close and linger); returns every report.
fn run_device_on<N: UdpClientStack>(
    stack: &mut N,
    peer: SocketAddr,
    limit: Duration,
    host_done: impl Fn() -> bool,
) -> (Phase, Vec<Report>) {
    let mut storage = vec![0u8; CONFIG.storage_len()];
    let mut tx = vec![0u8; CONFIG.max_datagram_len()];
    let mut rx = vec![0u8; CONFIG.max_datagram_len()];
    let buffers = Buffers { storage: &mut storage, tx: &mut tx, rx: &mut rx };
    let mut device = EchoDevice::<N>::new(CONFIG, peer, buffers, 7).expect("valid configuration");
    let start = Instant::now();
    let mut reports = Vec::new();
    let mut limit = limit;
    while device.phase() != Phase::Stopped && start.elapsed() < limit {
        if host_done() {
            limit = limit.min(start.elapsed() + Duration::from_secs(5));
        }
        device.poll(stack, start.elapsed().as_millis() as u64);
        reports.extend(std::iter::from_fn(|| device.poll_report()));
        thread::sleep(Duration::from_micros(200));
    }
    (device.phase(), reports)
}

#[test]
fn device_echoes_300_messages_under_10_percent_loss_closes_survives_a_host_crash_and_stops() {
    let addr = free_loopback_addr();
    let plan = Plan { step_timeout: Duration::from_secs(15), ..Plan::new(addr) };
    let host = thread::spawn(move || UdpHost::bind(&plan).and_then(|mut host| run(&mut host, &plan, log)));
    let (phase, reports) = run_device(addr, Duration::from_secs(60), || host.is_finished());
    let summary = host.join().expect("host peer thread").expect("host peer checks every echo");
    assert_full_life(phase, &reports, summary);
}

fn log(line: &str) {
    eprintln!("{line}");
}

/// The device went through the host peer's plan: 340 echoes over three
/// connections, a close, a failure after the host's crash, and the stop.
fn assert_full_life(phase: Phase, reports: &[Report], summary: Summary) {
    assert_eq!(phase, Phase::Stopped, "reports: {reports:?}");
    assert_eq!((summary.echoes, summary.connections), (340, 3));
    assert!(summary.retransmissions > 0, "10% loss makes the host retransmit");
    let connected = reports.iter().filter(|r| **r == Report::Connected).count();
    assert_eq!(connected, 3, "reports: {reports:?}");
    assert!(reports.contains(&Report::Closed { echoed: 300 }), "reports: {reports:?}");
    let failed_after_crash = reports.iter().any(|r| {
        matches!(
            r,
            Report::Failed {
                reason: FailReason::Reset { .. } | FailReason::IdleTimeout | FailReason::DeadPeer { .. },
                ..
            }
        )
    });
    assert!(failed_after_crash, "reports: {reports:?}");
    assert_eq!(reports.last(), Some(&Report::Stopped));
}

/// One end of a serial line: a TCP stream, a byte at a time.
struct StreamLine(TcpStream);

impl ByteLine for StreamLine {
    fn read_byte(&mut self) -> Option<u8> {
        let mut byte = [0u8];
        match self.0.read(&mut byte) {
            Ok(1) => Some(byte[0]),
            Ok(_) => None,
            Err(e) if e.kind() == ErrorKind::WouldBlock => None,
            Err(e) => panic!("serial line: {e}"),
        }
    }

    fn write_byte(&mut self, byte: u8) -> bool {
        self.0.write_all(&[byte]).is_ok()
    }
}

#[test]
fn device_over_a_cobs_serial_line_goes_through_the_same_life() {
    let addr = free_loopback_tcp_addr();
    let plan = Plan { step_timeout: Duration::from_secs(15), ..Plan::new(addr) };
    let host = thread::spawn(move || SerialHost::listen(&plan).and_then(|mut host| run(&mut host, &plan, log)));
    let stream = (0..100)
        .find_map(|_| TcpStream::connect(addr).map_err(|_| thread::sleep(Duration::from_millis(20))).ok())
        .expect("the host peer listens");
    stream.set_nonblocking(true).expect("non-blocking stream");
    let mut rx = vec![0u8; CONFIG.max_datagram_len()];
    let mut tx = vec![0u8; max_serial_frame_len(CONFIG.max_datagram_len())];
    let mut stack = SerialStack::new(StreamLine(stream), &mut rx, &mut tx).expect("buffers fit a packet");
    // the line has no addresses: the device's peer address only names the far end
    let (phase, reports) = run_device_on(&mut stack, addr, Duration::from_secs(60), || host.is_finished());
    let summary = host.join().expect("host peer thread").expect("host peer checks every echo");
    assert_full_life(phase, &reports, summary);
}

#[test]
fn device_without_a_peer_retries_with_a_growing_back_off() {
    let addr = free_loopback_addr();
    let (phase, reports) = run_device(addr, Duration::from_secs(8), || false);
    assert!(matches!(phase, Phase::Waiting { .. } | Phase::Connected));
    let waits: Vec<u32> = reports
        .iter()
        .filter_map(|r| match r {
            Report::Failed { retry_in_ms, .. } => Some(*retry_in_ms),
            _ => None,
        })
        .collect();
    assert!(waits.len() >= 2, "reports: {reports:?}");
    assert!(waits.windows(2).all(|w| w[1] >= w[0]), "waits: {waits:?}");
    assert!(waits.last() > waits.first(), "waits: {waits:?}");
}

#[test]
fn device_aborts_a_connection_whose_message_it_cannot_hold_and_reconnects() {
    use seqlink_fw_host_peer::Host;
    let addr = free_loopback_addr();
    let plan = Plan { loss: 0.0, step_timeout: Duration::from_secs(10), ..Plan::new(addr) };
    let host = thread::spawn(move || -> Result<(), String> {
        let mut host = UdpHost::bind(&plan)?;
        let first = host.accept(plan.step_timeout)?.ok_or("no first connection")?;
        // longer than the device's 128-byte messages: it arrives in fragments
        host.send(first, seqlink_fw_app::ECHO, &[7u8; 200])?;
        host.accept(plan.step_timeout)?.ok_or("the device did not reconnect")?;
        Ok(())
    });
    let (_, reports) = run_device(addr, Duration::from_secs(30), || host.is_finished());
    host.join().expect("host thread").expect("the device reconnects");
    assert!(reports.contains(&Report::Dropped { ptype: 0, len: 200 }), "reports: {reports:?}");
    assert!(reports.contains(&Report::Connecting { attempt: 2 }), "reports: {reports:?}");
}
