//! The firmware's application on the host: the same `EchoDevice` over
//! `std-embedded-nal`'s UDP stack, and over the serial-line stack on a TCP
//! stream, against the host peer on loopback with loss injected by the host
//! (the QEMU runs without QEMU).

use embedded_nal::UdpClientStack;
use seqlink_core::framing::max_serial_frame_len;
use seqlink_core::wire::ack::AckRepr;
use seqlink_core::wire::data::DataRepr;
use seqlink_core::wire::HEADER_LEN;
use seqlink_core::{FailReason, PacketType};
use seqlink_fw_app::{
    device_config, tiny_config, Buffers, ByteLine, EchoDevice, Engine, Phase, Report, SerialStack, TinyDeviceClient,
    TinyDeviceWindow, TinyEchoDevice,
};
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
    let buffers = Buffers { storage: storage.as_mut_slice(), tx: &mut tx, rx: &mut rx };
    let mut device = EchoDevice::<N>::new(CONFIG, peer, buffers, 7).expect("valid configuration");
    drive(&mut device, stack, limit, host_done)
}

/// Polls `device` on `stack` until it stops, `limit` passes or `host_done`
/// holds (then for 5 s more); returns every report.
fn drive<N: UdpClientStack, E: Engine>(
    device: &mut EchoDevice<'_, N, E>,
    stack: &mut N,
    limit: Duration,
    host_done: impl Fn() -> bool,
) -> (Phase, Vec<Report>) {
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

#[test]
fn tiny_client_device_goes_through_the_same_life() {
    let addr = free_loopback_addr();
    let plan = Plan { step_timeout: Duration::from_secs(15), ..Plan::new(addr) };
    let host = thread::spawn(move || UdpHost::bind(&plan).and_then(|mut host| run(&mut host, &plan, log)));
    let mut window = Box::new(TinyDeviceWindow::new());
    let mut tx = vec![0u8; TinyDeviceClient::MAX_DATAGRAM_LEN];
    let mut rx = vec![0u8; TinyDeviceClient::MAX_DATAGRAM_LEN];
    let buffers = Buffers { storage: &mut *window, tx: &mut tx, rx: &mut rx };
    let mut device = TinyEchoDevice::new(tiny_config(), addr, buffers, 7).expect("valid configuration");
    let (phase, reports) =
        drive(&mut device, &mut std_embedded_nal::Stack, Duration::from_secs(60), || host.is_finished());
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

/// The std UDP stack, losing on each connection every packet of the host
/// that acknowledges the device's FIN until the device has acknowledged
/// the host's FIN, and the first one after: the last packet the host sends
/// on the connection.
#[derive(Default)]
struct LastAckLost {
    /// The device's first FIN on this connection, once sent.
    fin: Option<u32>,
    /// The host's FIN, once it arrived.
    host_fin: Option<u32>,
    host_fin_acked: bool,
    /// This connection's last acknowledgement was lost.
    done: bool,
    /// Connections whose last acknowledgement was lost.
    lost: usize,
}

/// A seqlink packet's sequence number, type (a DATA packet's application
/// type), and the acknowledgement it carries.
fn packet_fields(datagram: &[u8]) -> Option<(u32, PacketType, Option<AckRepr>)> {
    let [s0, s1, s2, s3, ptype] = *datagram.first_chunk::<5>()?;
    let payload = datagram.get(HEADER_LEN..)?;
    let (ptype, ack) = match PacketType(ptype) {
        PacketType::ACK => (PacketType::ACK, AckRepr::parse(payload).ok()),
        PacketType::DATA => DataRepr::parse(payload).ok().map(|data| (data.app_type, data.ack))?,
        other => (other, None),
    };
    Some((u32::from_be_bytes([s0, s1, s2, s3]), ptype, ack))
}

/// Whether `ack` acknowledges `seq` (sequence numbers wrap).
fn acknowledges(ack: &Option<AckRepr>, seq: Option<u32>) -> bool {
    matches!((ack, seq), (Some(ack), Some(seq)) if ack.cumulative.0.wrapping_sub(seq) < 1 << 31)
}

impl UdpClientStack for LastAckLost {
    type UdpSocket = <std_embedded_nal::Stack as UdpClientStack>::UdpSocket;
    type Error = <std_embedded_nal::Stack as UdpClientStack>::Error;

    fn socket(&mut self) -> Result<Self::UdpSocket, Self::Error> {
        std_embedded_nal::Stack.socket()
    }

    fn connect(&mut self, socket: &mut Self::UdpSocket, remote: SocketAddr) -> Result<(), Self::Error> {
        std_embedded_nal::Stack.connect(socket, remote)
    }

    fn send(&mut self, socket: &mut Self::UdpSocket, buffer: &[u8]) -> embedded_nal::nb::Result<(), Self::Error> {
        if let Some((seq, ptype, ack)) = packet_fields(buffer) {
            match ptype {
                PacketType::SYN => *self = LastAckLost { lost: self.lost, ..LastAckLost::default() },
                PacketType::FIN if self.fin.is_none() => self.fin = Some(seq),
                _ => self.host_fin_acked |= acknowledges(&ack, self.host_fin),
            }
        }
        std_embedded_nal::Stack.send(socket, buffer)
    }

    fn receive(
        &mut self,
        socket: &mut Self::UdpSocket,
        buffer: &mut [u8],
    ) -> embedded_nal::nb::Result<(usize, SocketAddr), Self::Error> {
        loop {
            let (len, from) = std_embedded_nal::Stack.receive(socket, buffer)?;
            let Some((seq, ptype, ack)) = packet_fields(buffer.get(..len).unwrap_or_default()) else {
                return Ok((len, from));
            };
            if ptype == PacketType::FIN {
                self.host_fin = Some(seq);
            }
            if self.done || !acknowledges(&ack, self.fin) {
                return Ok((len, from));
            }
            // lost; once the host has its FIN acknowledged, this was its last packet
            if self.host_fin_acked {
                self.done = true;
                self.lost += 1;
            }
        }
    }

    fn close(&mut self, socket: Self::UdpSocket) -> Result<(), Self::Error> {
        std_embedded_nal::Stack.close(socket)
    }
}

#[test]
fn device_stops_even_when_the_hosts_last_acknowledgement_is_lost() {
    let addr = free_loopback_addr();
    let plan = Plan { messages: 10, short: 3, loss: 0.0, step_timeout: Duration::from_secs(10), ..Plan::new(addr) };
    let host = thread::spawn(move || UdpHost::bind(&plan).and_then(|mut host| run(&mut host, &plan, log)));
    let mut stack = LastAckLost::default();
    let (phase, reports) = run_device_on(&mut stack, addr, Duration::from_secs(30), || host.is_finished());
    host.join().expect("host peer thread").expect("host peer checks every echo");
    // the first close (CLOSE) and the last (STOP)
    assert_eq!(stack.lost, 2, "the host's last packets lost; reports: {reports:?}");
    assert_eq!(phase, Phase::Stopped, "reports: {reports:?}");
    assert!(reports.contains(&Report::Closed { echoed: 3 }), "reports: {reports:?}");
}
