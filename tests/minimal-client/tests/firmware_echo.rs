//! The firmware example's device as a minimal client (issue 8/12): the
//! device's connection settings (firmware-example/app `device_config`:
//! window 8, 128-byte payloads, a 1 s heartbeat, a 5 s idle timeout) on a
//! core built without `fast-recovery` or `congestion`, so its losses are
//! repaired by its retransmission timer alone and it acknowledges
//! cumulatively only, against the full-featured server, over a path like
//! QEMU's user network on loopback: 10 % of the datagrams lost each way,
//! each delayed 0 to 2 ms (so a few overtake others). The device's 300
//! messages of 4 to 128 bytes must all come back echoed, in order, and the
//! connection must close gracefully, for every seed (a handshake that
//! times out is tried again, as the device does).
//!
//! The full server's echoes are data sent to a receiver that never
//! selectively acknowledges: a packet a timeout left waiting for the
//! congestion window used to wait behind a later one that the receiver
//! could not acknowledge, until the server declared the device dead (the
//! QEMU run's "dead peer at echo 82").

use seqlink_core::{
    Connection, ConnectionConfig, Delivery, Event, FailReason, LinkConfig, PacketType, SendError, State,
};
use std::collections::{BTreeMap, VecDeque};

mod common;
use common::{FullPeer, Rng};

/// Messages the device sends (and gets back) per run.
const MESSAGES: usize = 300;
/// Longest message (the firmware's `MAX_MESSAGE_LEN`).
const MAX_MESSAGE_LEN: usize = 128;
/// Datagrams lost each way, percent.
const LOSS_PERCENT: u64 = 10;
/// Longest one-way delay, ms (each datagram's is drawn from 0 to this).
const MAX_DELAY_MS: u64 = 2;
/// How long a run may take on the simulated clock, ms.
const LIMIT_MS: u64 = 300_000;
/// Runs, each with its own seed (losses, delays, payloads, connection ids);
/// `FIRMWARE_ECHO_SEEDS` sets another count (thousands for a search).
const SEEDS: u64 = 100;
const ECHO: PacketType = PacketType(64);

/// The firmware's device settings (firmware-example/app/src/lib.rs).
fn device_config() -> ConnectionConfig {
    let mut link = LinkConfig::new().with_window(8).with_max_payload(MAX_MESSAGE_LEN as u16);
    link.unreliable_slots = 0;
    link.trace_slots = 0;
    let mut config = ConnectionConfig::new().with_link(link);
    config.heartbeat_ms = 1_000;
    config.idle_timeout_ms = 5_000;
    config.connect_timeout_ms = 3_000;
    config.close_timeout_ms = 5_000;
    config
}

/// The path between the device and the server: datagrams by arrival time,
/// then by the order they were sent.
struct Path {
    in_flight: BTreeMap<(u64, u64), (bool, Vec<u8>)>,
    sent: u64,
    rng: Rng,
}

impl Path {
    fn send(&mut self, now: u64, to_server: bool, bytes: Vec<u8>) {
        self.sent += 1;
        if self.rng.chance(LOSS_PERCENT) {
            return;
        }
        let delay = self.rng.next_u64() % (MAX_DELAY_MS + 1);
        self.in_flight.insert((now + delay, self.sent), (to_server, bytes));
    }

    /// The next datagram due by `now`: (to the server, its bytes).
    fn arrival(&mut self, now: u64) -> Option<(bool, Vec<u8>)> {
        let (&key, _) = self.in_flight.first_key_value().filter(|((at, _), _)| *at <= now)?;
        self.in_flight.remove(&key)
    }

    fn next_arrival(&self) -> Option<u64> {
        self.in_flight.first_key_value().map(|((at, _), _)| *at)
    }
}

/// The device's messages: 4 to 128 bytes, each starting with its number.
fn messages(rng: &mut Rng) -> Vec<Vec<u8>> {
    (0..MESSAGES as u32)
        .map(|n| {
            let len = 4 + rng.next_u64() as usize % (MAX_MESSAGE_LEN - 3);
            let mut m = n.to_be_bytes().to_vec();
            m.extend((4..len).map(|_| rng.next_u64() as u8));
            m
        })
        .collect()
}

/// One run; `Err` says how it ended short of a graceful close with every echo back.
fn run(seed: u64) -> Result<(), String> {
    let config = device_config();
    let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let sent = messages(&mut rng);
    let mut outbox: VecDeque<&Vec<u8>> = sent.iter().collect();
    let mut echoed = 0;
    let mut device = Connection::connect(config, vec![0u8; config.storage_len()], 0, seed).expect("valid config");
    let mut server = FullPeer::start();
    let mut path = Path { in_flight: BTreeMap::new(), sent: 0, rng };
    let mut datagram = vec![0u8; config.max_datagram_len()];
    let mut message = vec![0u8; MAX_MESSAGE_LEN];
    let mut now = 0;
    let mut connected = false;
    while now <= LIMIT_MS {
        while let Some((to_server, bytes)) = path.arrival(now) {
            if to_server {
                for answer in server.request(now, Some(&bytes)) {
                    path.send(now, false, answer);
                }
            } else {
                device.handle_datagram(now, &bytes);
            }
        }
        if device.poll_timeout().is_some_and(|t| t <= now) {
            device.handle_timeout(now);
        }
        if server.timeout <= now {
            for answer in server.request(now, None) {
                path.send(now, false, answer);
            }
        }
        while let Some(event) = device.poll_event() {
            match event {
                Event::Connected => connected = true,
                // the handshake can lose every try (0.2 % of the runs): the device connects again
                Event::Failed(FailReason::ConnectTimeout) if !connected => {
                    let storage = device.into_storage();
                    device = Connection::connect(config, storage, now, seed + 1_000_000 * now).expect("valid config");
                    break;
                }
                Event::Failed(reason) => return Err(format!("the device failed at {now} ms: {reason:?}")),
                Event::Closed if echoed == MESSAGES => return Ok(()),
                _ => {}
            }
        }
        if device.state() == State::Established {
            while let Some(m) = outbox.front() {
                match device.send(ECHO, m, Delivery::Reliable) {
                    Ok(()) => {
                        outbox.pop_front();
                    }
                    Err(SendError::WouldBlock) => break,
                    Err(e) => return Err(format!("send refused at {now} ms: {e:?}")),
                }
            }
        }
        while let Some(r) = device.recv(&mut message).expect("a buffer for the longest message") {
            if message[..r.len] != sent[echoed][..] {
                return Err(format!("echo {echoed} differs"));
            }
            echoed += 1;
            if echoed == MESSAGES {
                device.close(now);
            }
        }
        while let Some(n) = device.poll_transmit(now, &mut datagram).expect("a buffer for the longest datagram") {
            path.send(now, true, datagram[..n].to_vec());
        }
        // the next thing that happens
        let next = [path.next_arrival(), device.poll_timeout(), Some(server.timeout)].into_iter().flatten().min();
        now = next.unwrap_or(u64::MAX).max(now + 1);
    }
    Err(format!("{echoed} of {MESSAGES} echoes after {LIMIT_MS} ms, the device {:?}", device.state()))
}

#[test]
fn the_firmware_device_exchanges_every_echo_with_a_full_server_over_a_lossy_path() {
    let seeds = std::env::var("FIRMWARE_ECHO_SEEDS").ok().and_then(|s| s.parse().ok()).unwrap_or(SEEDS);
    let failed: Vec<String> =
        (1..=seeds).filter_map(|seed| run(seed).err().map(|e| format!("seed {seed}: {e}"))).collect();
    assert!(failed.is_empty(), "{} of {seeds} runs failed:\n{}", failed.len(), failed.join("\n"));
}
