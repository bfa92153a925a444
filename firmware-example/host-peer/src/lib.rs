//! The host side of the firmware example: a seqlink server that waits for the
//! device (the client), sends it numbered messages with loss injected on the
//! host side, checks every echo byte for byte and in order, and walks the
//! device through its life:
//!
//! 1. the first connection: `messages` echoes, then [`CLOSE`]: a graceful close the device starts;
//! 2. the device reconnects: `short` echoes, then the host "crashes" (its
//!    server and every connection are dropped and a fresh server starts on
//!    the same port or line);
//! 3. the device notices the failure and reconnects: `short` echoes, then
//!    [`STOP`]: the device closes and stops; the host keeps answering while
//!    the device lingers ([`FINAL_LINGER`]).
//!
//! The server is a seqlink-std `UdpServer` ([`UdpHost`]) or a serial line of
//! COBS frames over a TCP stream from QEMU's UART ([`SerialHost`]), both
//! behind [`Host`]. [`run`] returns an error describing the first thing that
//! went wrong; each step has a bounded wait.
//!
//! [`CLOSE`]: seqlink_fw_app::CLOSE
//! [`STOP`]: seqlink_fw_app::STOP

mod serial;
mod udp;

pub use serial::SerialHost;
pub use udp::UdpHost;

use seqlink_core::{ConnectionHandle, PacketType};
use seqlink_fw_app::{CLOSE, ECHO, MAX_MESSAGE_LEN, STOP};
use seqlink_std::Message;
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// A seqlink server the plan runs on.
pub trait Host {
    /// Waits up to `timeout` for a new connection.
    fn accept(&mut self, timeout: Duration) -> Result<Option<ConnectionHandle>, String>;
    /// Sends a reliable message (waiting out a full send window).
    fn send(&mut self, handle: ConnectionHandle, ptype: PacketType, data: &[u8]) -> Result<(), String>;
    /// Waits up to `timeout` for a message on any connection.
    fn recv(&mut self, timeout: Duration) -> Result<Option<(ConnectionHandle, Message)>, String>;
    /// Waits until `handle` closed gracefully (an error if it fails or `deadline` passes).
    fn wait_closed(&mut self, handle: ConnectionHandle, deadline: Instant) -> Result<(), String>;
    /// Datagrams the host retransmitted on `handle` so far.
    fn retransmissions(&mut self, handle: ConnectionHandle) -> u64;
    /// Who `handle` is, for the log.
    fn describe(&mut self, handle: ConnectionHandle) -> String;
    /// Forgets every connection and starts afresh, as a restarted host would.
    fn crash(&mut self) -> Result<(), String>;
    /// Keeps serving for `duration`: closed connections still answer the
    /// device's late packets while they linger.
    fn linger(&mut self, duration: Duration) -> Result<(), String>;
}

/// How long the host keeps serving after the device's last close: as long
/// as the device lingers (2 s). The host's last packet acknowledges the
/// device's FIN; when it is lost the device sends its FIN again, and a host
/// that had already exited would leave the device to fail its close
/// (`CloseTimeout`) instead of stopping.
pub const FINAL_LINGER: Duration = Duration::from_secs(2);

/// What the host peer does.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    /// Where the server listens: a UDP address (QEMU's user network reaches
    /// the host's loopback as 10.0.2.2), or the TCP address QEMU's UART connects to.
    pub bind: SocketAddr,
    /// Echoes on the first connection.
    pub messages: usize,
    /// Echoes on each of the two later connections.
    pub short: usize,
    /// Fraction of datagrams dropped each way by the host.
    pub loss: f64,
    /// Seeds the loss and the payloads.
    pub seed: u64,
    /// The longest wait for any one step (a connection, an echo, a close).
    pub step_timeout: Duration,
}

impl Plan {
    /// 300 echoes, 20 on each later connection, 10% loss, 20 s per step.
    pub fn new(bind: SocketAddr) -> Plan {
        Plan { bind, messages: 300, short: 20, loss: 0.10, seed: 12, step_timeout: Duration::from_secs(20) }
    }
}

/// What a successful run saw.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    /// Echoes checked, over all connections.
    pub echoes: usize,
    /// Connections the device opened.
    pub connections: usize,
    /// Datagrams the host's server retransmitted, over all connections it served.
    pub retransmissions: u64,
}

/// Runs the three connections of the plan on `host`; `log` gets one line per step.
pub fn run(host: &mut impl Host, plan: &Plan, mut log: impl FnMut(&str)) -> Result<Summary, String> {
    let mut payloads = Payloads::new(plan.seed);
    let mut summary = Summary::default();

    let first = accept(host, plan, &mut summary, &mut log)?;
    exchange(host, first, plan.messages, &mut payloads, plan.step_timeout)?;
    summary.echoes += plan.messages;
    summary.retransmissions += host.retransmissions(first);
    log(&format!("host peer: {} echoes checked; asking the device to close", plan.messages));
    request_close(host, first, CLOSE, plan.step_timeout)?;
    log("host peer: closed gracefully");

    let second = accept(host, plan, &mut summary, &mut log)?;
    exchange(host, second, plan.short, &mut payloads, plan.step_timeout)?;
    summary.echoes += plan.short;
    summary.retransmissions += host.retransmissions(second);
    log(&format!("host peer: {} echoes checked; the host drops every connection (a crash)", plan.short));
    host.crash()?;

    let third = accept(host, plan, &mut summary, &mut log)?;
    exchange(host, third, plan.short, &mut payloads, plan.step_timeout)?;
    summary.echoes += plan.short;
    summary.retransmissions += host.retransmissions(third);
    log(&format!("host peer: {} echoes checked after the reconnect; asking the device to stop", plan.short));
    request_close(host, third, STOP, plan.step_timeout)?;
    log(&format!(
        "host peer: done: {} echoes checked over {} connections, {} retransmissions by the host",
        summary.echoes, summary.connections, summary.retransmissions
    ));
    host.linger(FINAL_LINGER)?;
    Ok(summary)
}

fn accept(
    host: &mut impl Host,
    plan: &Plan,
    summary: &mut Summary,
    log: &mut impl FnMut(&str),
) -> Result<ConnectionHandle, String> {
    let handle = host
        .accept(plan.step_timeout)?
        .ok_or_else(|| format!("no connection from the device within {:?}", plan.step_timeout))?;
    summary.connections += 1;
    log(&format!("host peer: connection {} from {}", summary.connections, host.describe(handle)));
    Ok(handle)
}

/// Messages in flight at most: enough to keep the device's window full.
const AHEAD: usize = 12;

/// Sends `count` echo requests, keeping [`AHEAD`] in flight, and checks that
/// every echo comes back in order with the same bytes.
fn exchange(
    host: &mut impl Host,
    handle: ConnectionHandle,
    count: usize,
    payloads: &mut Payloads,
    step_timeout: Duration,
) -> Result<(), String> {
    let mut expected: VecDeque<Vec<u8>> = VecDeque::new();
    let (mut sent, mut checked) = (0, 0);
    while checked < count {
        while sent < count && expected.len() < AHEAD {
            let payload = payloads.next(sent);
            host.send(handle, ECHO, &payload).map_err(|e| format!("send echo {sent}: {e}"))?;
            expected.push_back(payload);
            sent += 1;
        }
        let (from, message) = host
            .recv(step_timeout)
            .map_err(|e| format!("waiting for echo {checked}: {e}"))?
            .ok_or_else(|| format!("echo {checked} of {count} did not come back within {step_timeout:?}"))?;
        if from != handle {
            return Err(format!("a message from another connection ({from:?}) while exchanging on {handle:?}"));
        }
        let want = expected.pop_front().unwrap_or_default();
        if message.ptype != ECHO || message.data != want {
            return Err(format!(
                "echo {checked} differs: type {} with {} bytes {:02x?}, sent type {} with {} bytes {:02x?}",
                message.ptype.0,
                message.data.len(),
                message.data,
                ECHO.0,
                want.len(),
                want
            ));
        }
        checked += 1;
    }
    Ok(())
}

/// Sends `request` (CLOSE or STOP) and waits until the device's close completes.
fn request_close(
    host: &mut impl Host,
    handle: ConnectionHandle,
    request: PacketType,
    step_timeout: Duration,
) -> Result<(), String> {
    host.send(handle, request, &[]).map_err(|e| format!("send close request: {e}"))?;
    host.wait_closed(handle, Instant::now() + step_timeout)
}

/// Reproducible payloads: message `n` is 1..=MAX_MESSAGE_LEN bytes that start with `n`.
struct Payloads {
    state: u64,
}

impl Payloads {
    fn new(seed: u64) -> Payloads {
        Payloads { state: seed | 1 }
    }

    fn next_u64(&mut self) -> u64 {
        self.state ^= self.state << 13;
        self.state ^= self.state >> 7;
        self.state ^= self.state << 17;
        self.state
    }

    fn next(&mut self, n: usize) -> Vec<u8> {
        let len = 4 + (self.next_u64() as usize) % (MAX_MESSAGE_LEN - 3);
        let mut payload: Vec<u8> = (n as u32).to_be_bytes().to_vec();
        payload.extend((4..len).map(|_| self.next_u64() as u8));
        payload
    }
}
