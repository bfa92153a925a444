//! Side-by-side comparison of seqlink, KCP and ENet over one impairment relay.
//!
//! Every run pushes the same workload from a sender thread to a receiver
//! thread of one library, both in this process, through a fresh [`relay`]
//! on loopback UDP that drops, delays, duplicates and reorders datagrams
//! with a seeded generator. The receiver checks length and hash of what it
//! got; the run reports goodput, one-way latencies, the CPU time of the
//! two library threads (the relay's is not counted) and the datagrams and
//! bytes the relay received from each side.
//!
//! `cargo run --release -p seqlink-bench --bin compare` (see `scripts/compare.sh`).

pub mod cpu;
#[cfg(feature = "enet")]
pub mod enet_run;
pub mod kcp_run;
pub mod relay;
pub mod report;
pub mod seqlink_run;
pub mod workload;

use relay::{Impairment, Relay, RelayStats};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use workload::{Sink, Source, Workload};

/// The implementations compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Library {
    /// seqlink-std with `ConnectionConfig::new()`.
    Seqlink,
    /// seqlink-std with `LinkConfig::low_latency()`, window 256, 1400-byte
    /// datagrams, congestion control off.
    SeqlinkFast,
    /// The `kcp` crate: nodelay, 10 ms interval, fast resend 2, no congestion
    /// control, window 256.
    KcpTurbo,
    /// libenet's reliable channel (only with the `enet` feature).
    Enet,
}

impl Library {
    /// Every library this build can run.
    pub fn available() -> Vec<Library> {
        let mut all = vec![Library::Seqlink, Library::SeqlinkFast, Library::KcpTurbo];
        if cfg!(feature = "enet") {
            all.push(Library::Enet);
        }
        all
    }

    /// The name in tables and CSV.
    pub fn name(self) -> &'static str {
        match self {
            Library::Seqlink => "seqlink",
            Library::SeqlinkFast => "seqlink-fast",
            Library::KcpTurbo => "kcp-turbo",
            Library::Enet => "enet",
        }
    }
}

/// One measurement: a workload under one impairment.
#[derive(Debug, Clone)]
pub struct Cell {
    /// What is sent.
    pub workload: Workload,
    /// The relay's impairment (both directions).
    pub impairment: Impairment,
    /// Time after which the run is stopped and reported as not finished.
    pub limit: Duration,
}

/// How a run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// Everything arrived and matched.
    Ok,
    /// Not everything arrived within the limit (`T` in the tables).
    Timeout,
    /// Everything arrived but length or hash differ.
    Corrupt(String),
    /// A library call failed.
    Error(String),
}

impl Status {
    /// Short form for CSV and tables.
    pub fn label(&self) -> String {
        match self {
            Status::Ok => "ok".into(),
            Status::Timeout => "timeout".into(),
            Status::Corrupt(why) => format!("corrupt: {why}"),
            Status::Error(why) => format!("error: {why}"),
        }
    }

    /// A failure the smoke test must report (a timeout is only slow).
    pub fn is_failure(&self) -> bool {
        matches!(self, Status::Corrupt(_) | Status::Error(_))
    }
}

/// The result of one run.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// How it ended.
    pub status: Status,
    /// Application bytes the receiver got.
    pub delivered: usize,
    /// From the sender's first message to the receiver's last (or the stop).
    pub elapsed: Duration,
    /// CPU time of the sender and receiver threads together.
    pub cpu: Duration,
    /// One-way latency of every paced message, milliseconds, in arrival order.
    pub latencies_ms: Vec<f64>,
    /// What the relay received from each side (zero when the run did not start).
    pub relay: RelayStats,
}

/// Bytes of IPv4 and UDP header around every datagram.
pub const IP_UDP_HEADER: u64 = 28;

impl Outcome {
    /// Delivered megabytes (10^6 bytes) per second.
    pub fn mb_per_s(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 {
            self.delivered as f64 / 1e6 / secs
        } else {
            0.0
        }
    }

    /// UDP payload bytes of both directions per delivered application byte,
    /// counting `header` more bytes for every datagram (0, or [`IP_UDP_HEADER`]).
    pub fn wire_bytes_per_byte(&self, header: u64) -> Option<f64> {
        let (to, back) = (self.relay.to_receiver, self.relay.to_sender);
        let wire = to.bytes + back.bytes + header * (to.datagrams + back.datagrams);
        (self.delivered > 0).then(|| wire as f64 / self.delivered as f64)
    }
}

/// What the two threads of a run share: when to stop, and the shared clock.
#[derive(Debug)]
pub struct Shared {
    /// Set by the receiver when it has everything, or by either side on an error.
    pub stop: AtomicBool,
    /// The end of the run's time limit.
    pub deadline: Instant,
    /// Zero of the timestamps carried in paced messages.
    pub epoch: Instant,
}

impl Shared {
    /// Whether the run should end.
    pub fn should_stop(&self) -> bool {
        self.stop.load(Ordering::Relaxed) || Instant::now() >= self.deadline
    }

    /// Asks the other side to end.
    pub fn finish(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// What the sender thread returns: when it started sending, and its CPU time.
pub type SenderResult = (Result<Instant, String>, Duration);
/// What the receiver thread returns: its sink, when it got the last byte, its CPU time.
pub type ReceiverResult = (Result<(Sink, Option<Instant>), String>, Duration);

/// Runs one library on one cell.
pub fn run(library: Library, cell: &Cell) -> Outcome {
    let shared =
        Arc::new(Shared { stop: AtomicBool::new(false), deadline: Instant::now() + cell.limit, epoch: Instant::now() });
    let source = Source::new(&cell.workload, shared.epoch);
    let sink = Sink::new(&cell.workload);
    let started = match library {
        Library::Seqlink => seqlink_run::start(seqlink_run::Profile::Default, source, sink, &shared),
        Library::SeqlinkFast => seqlink_run::start(seqlink_run::Profile::Fast, source, sink, &shared),
        Library::KcpTurbo => kcp_run::start(source, sink, &shared),
        #[cfg(feature = "enet")]
        Library::Enet => enet_run::start(source, sink, &shared),
        #[cfg(not(feature = "enet"))]
        Library::Enet => Err("built without the enet feature".to_string()),
    };
    let (server, sender, receiver) = match started {
        Ok(parts) => parts,
        Err(e) => return failed(e),
    };
    let relay = match Relay::start(server, cell.impairment) {
        Ok(relay) => relay,
        Err(e) => {
            shared.finish();
            return failed(format!("relay: {e}"));
        }
    };
    let client_addr = relay.client_side();
    let _ = sender.0.send((client_addr, relay.server_side()));
    let _ = receiver.0.send((client_addr, relay.server_side()));
    let (sent, sender_cpu) = sender.1.join().unwrap_or((Err("sender panicked".into()), Duration::ZERO));
    let (received, receiver_cpu) = receiver.1.join().unwrap_or((Err("receiver panicked".into()), Duration::ZERO));
    let relay_stats = relay.stop();
    let cpu = sender_cpu + receiver_cpu;
    let (start, (sink, last)) = match (sent, received) {
        (Ok(start), Ok(got)) => (start, got),
        // still connecting when the time limit passed: it did not finish (T), it did not fail
        (Err(_), Ok((sink, _))) if sink.received() == 0 && Instant::now() >= shared.deadline => {
            (Instant::now(), (sink, None))
        }
        (Err(e), _) | (_, Err(e)) => return Outcome { cpu, relay: relay_stats, ..failed(e) },
    };
    let end = last.unwrap_or_else(Instant::now);
    let status =
        if sink.complete() { sink.verdict().map_or_else(Status::Corrupt, |()| Status::Ok) } else { Status::Timeout };
    Outcome {
        status,
        delivered: sink.received(),
        elapsed: end.saturating_duration_since(start),
        cpu,
        latencies_ms: sink.latencies_ms().to_vec(),
        relay: relay_stats,
    }
}

fn failed(why: String) -> Outcome {
    Outcome {
        status: Status::Error(why),
        delivered: 0,
        elapsed: Duration::ZERO,
        cpu: Duration::ZERO,
        latencies_ms: Vec::new(),
        relay: RelayStats::default(),
    }
}

/// The relay's two addresses, sent to both threads once the relay runs:
/// (where the sender sends, where the receiver's replies go).
pub type RelayAddrs = (SocketAddr, SocketAddr);

/// A started thread waiting for the relay's addresses.
pub type Pending<T> = (std::sync::mpsc::Sender<RelayAddrs>, std::thread::JoinHandle<T>);

/// What a library's `start` returns: the receiver's address (the relay
/// forwards to it), the sender thread and the receiver thread.
pub type Started = (SocketAddr, Pending<SenderResult>, Pending<ReceiverResult>);

/// Starts a run's receiver and sender threads, each timed and waiting for
/// the relay's addresses: `receive` returns its sink and when the last byte
/// came, `send` when it started sending. The receiver's end, or the
/// sender's failure, ends the run. `addr` is the receiver's address.
pub fn spawn_pair(
    addr: SocketAddr,
    shared: &Arc<Shared>,
    receive: impl FnOnce(RelayAddrs, &Shared) -> Result<(Sink, Option<Instant>), String> + Send + 'static,
    send: impl FnOnce(RelayAddrs, &Shared) -> Result<Instant, String> + Send + 'static,
) -> Started {
    let (to_receiver, addrs) = std::sync::mpsc::channel::<RelayAddrs>();
    let s = Arc::clone(shared);
    let receiver = std::thread::spawn(move || {
        cpu::measured(|| {
            let relay = addrs.recv().map_err(|e| e.to_string())?;
            let r = receive(relay, &s);
            s.finish();
            r
        })
    });
    let (to_sender, addrs) = std::sync::mpsc::channel::<RelayAddrs>();
    let s = Arc::clone(shared);
    let sender = std::thread::spawn(move || {
        cpu::measured(|| {
            let relay = addrs.recv().map_err(|e| e.to_string())?;
            let r = send(relay, &s);
            if r.is_err() {
                s.finish();
            }
            r
        })
    });
    (addr, (to_sender, sender), (to_receiver, receiver))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sender_that_cannot_connect_within_the_time_limit_did_not_finish() {
        let cell = Cell {
            workload: Workload::Bulk { bytes: 10_000, seed: 1 },
            impairment: Impairment::loss_delay(1.0, 0, 1),
            limit: Duration::from_secs(1),
        };
        let started = Instant::now();
        let outcome = run(Library::Seqlink, &cell);
        assert_eq!(outcome.status, Status::Timeout);
        // the handshake gets what is left of the run's limit, not a fixed 5 s
        assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
    }
}
