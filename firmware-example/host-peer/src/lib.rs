//! The host side of the firmware example: a seqlink UDP server that waits for
//! the device (the client), sends it numbered messages with loss injected on
//! the host side, checks every echo byte for byte and in order, and walks the
//! device through its life:
//!
//! 1. the first connection: `messages` echoes, then [`CLOSE`]: a graceful close the device starts;
//! 2. the device reconnects: `short` echoes, then the host "crashes" (its
//!    server and every connection are dropped and a fresh one is bound on the same port);
//! 3. the device notices the failure and reconnects: `short` echoes, then
//!    [`STOP`]: the device closes and stops.
//!
//! [`run`] returns an error describing the first thing that went wrong; each
//! step has a bounded wait.
//!
//! [`CLOSE`]: seqlink_fw_app::CLOSE
//! [`STOP`]: seqlink_fw_app::STOP

use seqlink_core::{ConnectionConfig, ConnectionHandle, Delivery, EndpointConfig, EndpointEvent, Event, PacketType};
use seqlink_fw_app::{CLOSE, ECHO, MAX_MESSAGE_LEN, STOP};
use seqlink_std::{Impairment, UdpServer};
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// What the host peer does.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    /// Where the server listens (QEMU's user network reaches the host's loopback as 10.0.2.2).
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

/// Runs the three connections of the plan; `log` gets one line per step.
pub fn run(plan: &Plan, mut log: impl FnMut(&str)) -> Result<Summary, String> {
    let mut payloads = Payloads::new(plan.seed);
    let mut summary = Summary::default();
    let mut server = bind(plan, plan.seed)?;
    log(&format!("host peer: listening on {}, loss {:.0}%", plan.bind, plan.loss * 100.0));

    let first = accept(&mut server, plan, &mut summary, &mut log)?;
    exchange(&mut server, first, plan.messages, &mut payloads, plan.step_timeout)?;
    summary.echoes += plan.messages;
    summary.retransmissions += retransmissions(&mut server, first);
    log(&format!("host peer: {} echoes checked; asking the device to close", plan.messages));
    request_close(&mut server, first, CLOSE, plan.step_timeout)?;
    log("host peer: closed gracefully");

    let second = accept(&mut server, plan, &mut summary, &mut log)?;
    exchange(&mut server, second, plan.short, &mut payloads, plan.step_timeout)?;
    summary.echoes += plan.short;
    summary.retransmissions += retransmissions(&mut server, second);
    log(&format!("host peer: {} echoes checked; the host drops every connection (a crash)", plan.short));
    drop(server);
    let mut server = bind(plan, plan.seed.wrapping_add(1))?;

    let third = accept(&mut server, plan, &mut summary, &mut log)?;
    exchange(&mut server, third, plan.short, &mut payloads, plan.step_timeout)?;
    summary.echoes += plan.short;
    log(&format!("host peer: {} echoes checked after the reconnect; asking the device to stop", plan.short));
    summary.retransmissions += retransmissions(&mut server, third);
    request_close(&mut server, third, STOP, plan.step_timeout)?;
    log(&format!(
        "host peer: done: {} echoes checked over {} connections, {} retransmissions by the host",
        summary.echoes, summary.connections, summary.retransmissions
    ));
    Ok(summary)
}

/// Datagrams the host retransmitted on one connection so far.
fn retransmissions(server: &mut UdpServer, handle: ConnectionHandle) -> u64 {
    server.endpoint().connection(handle).map_or(0, |conn| conn.stats().retransmissions)
}

fn bind(plan: &Plan, seed: u64) -> Result<UdpServer, String> {
    let config = EndpointConfig::new(ConnectionConfig::new());
    let server = UdpServer::bind(plan.bind, config, 4).map_err(|e| format!("bind {}: {e}", plan.bind))?;
    Ok(server.with_impairment(Impairment::loss(plan.loss, seed)))
}

fn accept(
    server: &mut UdpServer,
    plan: &Plan,
    summary: &mut Summary,
    log: &mut impl FnMut(&str),
) -> Result<ConnectionHandle, String> {
    let handle = server
        .accept(Some(plan.step_timeout))
        .map_err(|e| format!("accept: {e}"))?
        .ok_or_else(|| format!("no connection from the device within {:?}", plan.step_timeout))?;
    summary.connections += 1;
    let peer = server.endpoint().peer(handle).map_or_else(|| "?".to_string(), |p| p.to_string());
    log(&format!("host peer: connection {} from {peer}", summary.connections));
    Ok(handle)
}

/// Messages in flight at most: enough to keep the device's window full.
const AHEAD: usize = 12;

/// Sends `count` echo requests, keeping [`AHEAD`] in flight, and checks that
/// every echo comes back in order with the same bytes.
fn exchange(
    server: &mut UdpServer,
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
            server.send(handle, ECHO, &payload, Delivery::Reliable).map_err(|e| format!("send echo {sent}: {e}"))?;
            expected.push_back(payload);
            sent += 1;
        }
        let (from, message) = server
            .recv(Some(step_timeout))
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
    server: &mut UdpServer,
    handle: ConnectionHandle,
    request: PacketType,
    step_timeout: Duration,
) -> Result<(), String> {
    server.send(handle, request, &[], Delivery::Reliable).map_err(|e| format!("send close request: {e}"))?;
    let deadline = Instant::now() + step_timeout;
    let mut outcome = None;
    server
        .drive(Some(deadline), |s| {
            while let Some(event) = s.poll_event() {
                match event {
                    EndpointEvent::Connection(h, Event::Closed) if h == handle => outcome = Some(Ok(())),
                    EndpointEvent::Connection(h, Event::Failed(reason)) if h == handle => {
                        outcome = Some(Err(format!("the connection failed while closing: {}", reason.as_str())))
                    }
                    _ => {}
                }
            }
            outcome.is_some()
        })
        .map_err(|e| format!("waiting for the close: {e}"))?;
    outcome.unwrap_or_else(|| Err(format!("the device did not close within {step_timeout:?}")))
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
