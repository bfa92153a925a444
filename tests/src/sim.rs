//! A deterministic, seeded, discrete-time network simulator for sans-IO
//! endpoints.
//!
//! Nodes have addresses and exchange datagrams through per-direction
//! impairments: random loss, Gilbert-Elliott burst loss, duplication,
//! reordering, delay with jitter, a bandwidth limit, bit-flip corruption, and
//! scripted drops of specific packets; and shared bottlenecks: a bandwidth
//! limit with a bounded drop-tail queue that several directions pass through. Time only moves when nothing can
//! happen before the next delivery or timer, so runs are fast and every run
//! with the same seed is identical.

use seqlink_core::wire::ack::AckRepr;
use seqlink_core::wire::data::DataRepr;
use seqlink_core::{Packet, PacketType, Seq};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

/// A node's address in the simulated network.
pub type Addr = u32;

/// A sans-IO endpoint the simulator can drive.
pub trait Node {
    /// A datagram arrived from `from`.
    fn handle(&mut self, now: u64, from: Addr, datagram: &[u8]);
    /// The next datagram to send (destination, length written into `buf`).
    fn transmit(&mut self, now: u64, buf: &mut [u8]) -> Option<(Addr, usize)>;
    /// The node's next timer.
    fn timeout(&self) -> Option<u64>;
    /// Timers up to `now` expired.
    fn on_timeout(&mut self, now: u64);
    /// Called after every step: the application's chance to send and read.
    fn poll_app(&mut self, _now: u64) {}
}

/// xorshift64*: small, fast and reproducible.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator for `seed` (any value, 0 included).
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0xd1b5_4a32_d192_ed03 | 1)
    }
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    /// A uniform float in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// `true` with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        p > 0.0 && self.unit() < p
    }
    /// A uniform integer in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next_u64() % n
        }
    }
}

/// Gilbert-Elliott two-state burst loss.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Gilbert {
    /// Probability of moving from the good to the bad state, per packet.
    pub enter_bad: f64,
    /// Probability of moving from the bad to the good state, per packet.
    pub leave_bad: f64,
    /// Loss probability in the bad state (the good state loses nothing).
    pub loss_in_bad: f64,
}

/// What one direction of the network does to datagrams.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Impairment {
    /// Independent loss probability.
    pub loss: f64,
    /// Burst loss on top of `loss`.
    pub burst: Option<Gilbert>,
    /// Probability that a datagram is delivered twice.
    pub duplicate: f64,
    /// Probability that a datagram is held back by `reorder_delay_ms`.
    pub reorder: f64,
    /// Extra delay of reordered datagrams.
    pub reorder_delay_ms: u64,
    /// One-way base delay.
    pub delay_ms: u64,
    /// Uniform extra delay in `0..=jitter_ms`.
    pub jitter_ms: u64,
    /// Bytes per second the direction carries (`None`: unlimited).
    pub bandwidth: Option<u64>,
    /// Probability that one random bit of a datagram is flipped.
    pub corrupt: f64,
}

impl Impairment {
    /// Only a delay.
    pub fn delay(delay_ms: u64) -> Impairment {
        Impairment { delay_ms, ..Impairment::default() }
    }
}

/// A link that several directions share: it carries `bandwidth` bytes per
/// second and queues at most `queue_bytes` waiting behind the datagram on the
/// wire; a datagram that does not fit is dropped (drop-tail).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bottleneck {
    /// Bytes per second.
    pub bandwidth: u64,
    /// Bytes the queue holds, the datagram being sent included.
    pub queue_bytes: u64,
}

/// What a bottleneck carried and dropped so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct BottleneckCounts {
    /// Datagrams that got into the queue.
    pub passed: u64,
    /// Datagrams dropped because the queue was full.
    pub dropped: u64,
    /// Bytes that got into the queue.
    pub passed_bytes: u64,
}

struct SharedLink {
    directions: Vec<(Addr, Addr)>,
    limit: Bottleneck,
    /// When the queue empties, microseconds.
    busy_until_us: u64,
    counts: BottleneckCounts,
}

/// Which packets a scripted drop matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Match {
    /// A reliable data packet (plain or extended, not unreliable) with this sequence number.
    Data(Seq),
    /// An acknowledgement (ACK packet or piggybacked) whose highest
    /// acknowledged packet (cumulative or selective) is this one.
    AckOf(Seq),
    /// Any packet of this type.
    Type(PacketType),
}

/// Drop the next `times` datagrams from `from` that match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Drop {
    /// Sender of the datagrams to drop.
    pub from: Addr,
    /// What to drop.
    pub matching: Match,
    /// How many matching datagrams to drop.
    pub times: u32,
}

/// What the simulator did with one datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fate {
    /// Sent into the network (logged for every datagram).
    Sent,
    /// Dropped by a scripted rule.
    Scripted,
    /// Lost to random or burst loss.
    Lost,
    /// Dropped by a full bottleneck queue.
    Overflow,
    /// Delivered with a flipped bit.
    Corrupted,
    /// Delivered twice.
    Duplicated,
}

/// One log line: a datagram's fate, with what could be read off its header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogEntry {
    /// Simulated time.
    pub time: u64,
    /// Sender.
    pub from: Addr,
    /// Receiver.
    pub to: Addr,
    /// What happened.
    pub fate: Fate,
    /// Summary of the packet.
    pub info: PacketInfo,
}

/// What a datagram carries, read without checking its integrity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PacketInfo {
    /// Header sequence number.
    pub seq: Seq,
    /// Header type.
    pub ptype: PacketType,
    /// Sequence number of reliable data, if the packet carries data.
    pub data: Option<Seq>,
    /// Highest packet acknowledged, if the packet carries an acknowledgement.
    pub acks: Option<Seq>,
}

/// Reads what a datagram carries (no integrity check: the simulator is not a peer).
pub fn inspect(datagram: &[u8]) -> PacketInfo {
    let Ok(packet) = Packet::new_checked(datagram) else {
        return PacketInfo::default();
    };
    let mut info = PacketInfo { seq: packet.seq(), ptype: packet.packet_type(), ..PacketInfo::default() };
    let highest =
        |ack: &AckRepr| ack.sack.iter().last().map_or(ack.cumulative, |i| ack.cumulative.advance(2 + i as u32));
    match info.ptype {
        PacketType::ACK => info.acks = AckRepr::parse(packet.payload()).ok().map(|a| highest(&a)),
        PacketType::DATA => {
            if let Ok(data) = DataRepr::parse(packet.payload()) {
                info.acks = data.ack.as_ref().map(highest);
                if !data.unreliable {
                    info.data = Some(info.seq);
                }
            }
        }
        t if t.is_application() => info.data = Some(info.seq),
        _ => {}
    }
    info
}

struct InFlight {
    at: u64,
    order: u64,
    from: Addr,
    to: Addr,
    bytes: Vec<u8>,
}

impl PartialEq for InFlight {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.order) == (other.at, other.order)
    }
}
impl Eq for InFlight {}
impl PartialOrd for InFlight {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for InFlight {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.at, self.order).cmp(&(other.at, other.order))
    }
}

/// The simulated network and its nodes.
pub struct Sim<N: Node> {
    /// Current simulated time in milliseconds.
    pub now: u64,
    /// The nodes and their addresses.
    pub nodes: Vec<(Addr, N)>,
    /// Every datagram's fate (when `logging` is on).
    pub log: Vec<LogEntry>,
    /// Whether to fill `log`.
    pub logging: bool,
    /// Datagrams that could not be delivered to any node.
    pub undeliverable: u64,
    rng: Rng,
    queue: BinaryHeap<Reverse<InFlight>>,
    order: u64,
    default_impairment: Impairment,
    impairments: HashMap<(Addr, Addr), Impairment>,
    drops: Vec<Drop>,
    busy_until: HashMap<(Addr, Addr), u64>,
    bad_state: HashMap<(Addr, Addr), bool>,
    bottlenecks: Vec<SharedLink>,
    buf: Vec<u8>,
}

impl<N: Node> Sim<N> {
    /// An empty network seeded with `seed`, where every direction has `impairment`.
    pub fn new(seed: u64, impairment: Impairment) -> Sim<N> {
        Sim {
            now: 0,
            nodes: Vec::new(),
            log: Vec::new(),
            logging: false,
            undeliverable: 0,
            rng: Rng::new(seed),
            queue: BinaryHeap::new(),
            order: 0,
            default_impairment: impairment,
            impairments: HashMap::new(),
            drops: Vec::new(),
            busy_until: HashMap::new(),
            bad_state: HashMap::new(),
            bottlenecks: Vec::new(),
            buf: vec![0u8; 70_000],
        }
    }

    /// Adds a node at `addr`.
    pub fn add(&mut self, addr: Addr, node: N) {
        self.nodes.push((addr, node));
    }

    /// Sets the impairment of the direction `from -> to`.
    pub fn impair(&mut self, from: Addr, to: Addr, impairment: Impairment) {
        self.impairments.insert((from, to), impairment);
    }

    /// Routes the directions `from -> to` in `directions` through one shared
    /// bottleneck (after their own impairment's loss, before its delay);
    /// returns its index for [`Sim::bottleneck_counts`].
    pub fn add_bottleneck(&mut self, directions: &[(Addr, Addr)], limit: Bottleneck) -> usize {
        self.bottlenecks.push(SharedLink {
            directions: directions.to_vec(),
            limit,
            busy_until_us: 0,
            counts: BottleneckCounts::default(),
        });
        self.bottlenecks.len() - 1
    }

    /// What bottleneck `index` carried and dropped so far.
    pub fn bottleneck_counts(&self, index: usize) -> BottleneckCounts {
        self.bottlenecks[index].counts
    }

    /// Adds a scripted drop.
    pub fn drop_packets(&mut self, drop: Drop) {
        self.drops.push(drop);
    }

    /// The node at `addr`.
    pub fn node(&mut self, addr: Addr) -> &mut N {
        let index = self.nodes.iter().position(|(a, _)| *a == addr).unwrap_or_else(|| panic!("no node at {addr}"));
        &mut self.nodes[index].1
    }

    /// Sends a datagram into the network as if `from` had sent it (for spoofed traffic).
    pub fn inject(&mut self, from: Addr, to: Addr, bytes: Vec<u8>) {
        self.route(from, to, bytes);
    }

    /// Datagrams in the network.
    pub fn in_flight(&self) -> usize {
        self.queue.len()
    }

    /// Lets every node send what it wants to now, and routes it.
    fn transmit_all(&mut self) {
        for i in 0..self.nodes.len() {
            self.nodes[i].1.poll_app(self.now);
            self.transmit_node(i);
        }
    }

    fn transmit_node(&mut self, i: usize) {
        let from = self.nodes[i].0;
        let mut sent = 0;
        while let Some((to, n)) = {
            let buf = &mut self.buf;
            self.nodes[i].1.transmit(self.now, buf)
        } {
            let bytes = self.buf[..n].to_vec();
            self.route(from, to, bytes);
            sent += 1;
            assert!(sent < 1_000_000, "node {from} transmits without end");
        }
    }

    fn record(&mut self, from: Addr, to: Addr, fate: Fate, bytes: &[u8]) {
        if self.logging {
            self.log.push(LogEntry { time: self.now, from, to, fate, info: inspect(bytes) });
        }
    }

    fn route(&mut self, from: Addr, to: Addr, mut bytes: Vec<u8>) {
        self.record(from, to, Fate::Sent, &bytes);
        if let Some(rule) = self.drops.iter_mut().find(|d| d.from == from && d.times > 0 && matches(d.matching, &bytes))
        {
            rule.times -= 1;
            self.record(from, to, Fate::Scripted, &bytes);
            return;
        }
        let imp = *self.impairments.get(&(from, to)).unwrap_or(&self.default_impairment);
        let mut lost = self.rng.chance(imp.loss);
        if let Some(g) = imp.burst {
            let bad = self.bad_state.entry((from, to)).or_insert(false);
            let flip = if *bad { self.rng.chance(g.leave_bad) } else { self.rng.chance(g.enter_bad) };
            if flip {
                *bad = !*bad;
            }
            if *bad && self.rng.chance(g.loss_in_bad) {
                lost = true;
            }
        }
        if lost {
            self.record(from, to, Fate::Lost, &bytes);
            return;
        }
        let mut at = self.now;
        let now_us = self.now * 1000;
        if let Some(link) = self.bottlenecks.iter_mut().find(|b| b.directions.contains(&(from, to))) {
            let bw = link.limit.bandwidth.max(1);
            let backlog_bytes = link.busy_until_us.saturating_sub(now_us) * bw / 1_000_000;
            if backlog_bytes + bytes.len() as u64 > link.limit.queue_bytes {
                link.counts.dropped += 1;
                self.record(from, to, Fate::Overflow, &bytes);
                return;
            }
            link.counts.passed += 1;
            link.counts.passed_bytes += bytes.len() as u64;
            link.busy_until_us = link.busy_until_us.max(now_us) + (bytes.len() as u64 * 1_000_000).div_ceil(bw);
            at = link.busy_until_us.div_ceil(1000);
        }
        if let Some(bw) = imp.bandwidth {
            let busy = self.busy_until.entry((from, to)).or_insert(0);
            let start = (*busy).max(self.now * 1000);
            // microseconds, so small packets on fast links still take time
            *busy = start + (bytes.len() as u64 * 1_000_000).div_ceil(bw.max(1));
            at = (*busy).div_ceil(1000);
        }
        at += imp.delay_ms + self.rng.below(imp.jitter_ms + 1);
        if self.rng.chance(imp.reorder) {
            at += imp.reorder_delay_ms;
        }
        if self.rng.chance(imp.corrupt) && !bytes.is_empty() {
            let bit = self.rng.below(bytes.len() as u64 * 8) as usize;
            bytes[bit / 8] ^= 1 << (bit % 8);
            self.record(from, to, Fate::Corrupted, &bytes);
        }
        if self.rng.chance(imp.duplicate) {
            self.record(from, to, Fate::Duplicated, &bytes);
            let extra = self.rng.below(imp.jitter_ms + 1);
            self.push(at + extra, from, to, bytes.clone());
        }
        self.push(at, from, to, bytes);
    }

    fn push(&mut self, at: u64, from: Addr, to: Addr, bytes: Vec<u8>) {
        self.order += 1;
        self.queue.push(Reverse(InFlight { at, order: self.order, from, to, bytes }));
    }

    /// One step: everyone transmits, then time jumps to the next delivery or
    /// timer (at most `limit`), and that is processed. Returns `false` when
    /// nothing is left to happen before `limit`.
    pub fn step(&mut self, limit: u64) -> bool {
        self.transmit_all();
        let next_delivery = self.queue.peek().map(|Reverse(d)| d.at);
        let next_timer = self.nodes.iter().filter_map(|(_, n)| n.timeout()).min();
        let next = match (next_delivery, next_timer) {
            (Some(a), Some(b)) => a.min(b),
            (a, b) => match a.or(b) {
                Some(t) => t,
                None => return false,
            },
        };
        if next > limit {
            self.now = limit;
            return false;
        }
        self.now = self.now.max(next);
        while self.queue.peek().is_some_and(|Reverse(d)| d.at <= self.now) {
            let Some(Reverse(d)) = self.queue.pop() else { break };
            match self.nodes.iter().position(|(a, _)| *a == d.to) {
                Some(i) => {
                    self.nodes[i].1.handle(self.now, d.from, &d.bytes);
                    // a driver lets its application run and answers between
                    // datagrams, as a socket loop would
                    self.nodes[i].1.poll_app(self.now);
                    self.transmit_node(i);
                }
                None => self.undeliverable += 1,
            }
        }
        let now = self.now;
        for (_, node) in &mut self.nodes {
            if node.timeout().is_some_and(|t| t <= now) {
                node.on_timeout(now);
            }
        }
        true
    }

    /// Steps until `done` holds (checked after every step) or `limit` is reached.
    /// Returns whether `done` held.
    pub fn run_until(&mut self, limit: u64, mut done: impl FnMut(&mut Sim<N>) -> bool) -> bool {
        loop {
            if done(self) {
                return true;
            }
            if !self.step(limit) {
                self.transmit_all();
                return done(self);
            }
        }
    }

    /// How many times `from` sent reliable data packet `seq` (log must be on).
    pub fn transmissions_of(&self, from: Addr, seq: Seq) -> usize {
        self.log.iter().filter(|e| e.from == from && e.fate == Fate::Sent && e.info.data == Some(seq)).count()
    }

    /// Sequence numbers `from` sent more than once, in order (log must be on).
    pub fn retransmitted(&self, from: Addr) -> Vec<Seq> {
        let mut counts: Vec<(Seq, usize)> = Vec::new();
        for e in self.log.iter().filter(|e| e.from == from && e.fate == Fate::Sent) {
            if let Some(seq) = e.info.data {
                match counts.iter_mut().find(|(s, _)| *s == seq) {
                    Some((_, c)) => *c += 1,
                    None => counts.push((seq, 1)),
                }
            }
        }
        counts.into_iter().filter(|&(_, c)| c > 1).map(|(s, _)| s).collect()
    }
}

fn matches(m: Match, bytes: &[u8]) -> bool {
    let info = inspect(bytes);
    match m {
        Match::Data(seq) => info.data == Some(seq),
        Match::AckOf(seq) => info.acks == Some(seq),
        Match::Type(t) => info.ptype == t,
    }
}
