//! What a run sends (bulk bytes or paced small messages), and how the
//! receiver checks it.

use std::time::{Duration, Instant};

/// What the sender sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Workload {
    /// `bytes` of seeded pseudo-random data as fast as the library takes them.
    Bulk {
        /// Total bytes.
        bytes: usize,
        /// Seed of the data.
        seed: u64,
    },
    /// `count` messages of `size` bytes, one every `interval`, each carrying
    /// its send time (for one-way latency) and its index.
    Paced {
        /// Number of messages.
        count: u32,
        /// Bytes per message (at least 16).
        size: usize,
        /// Time between two messages.
        interval: Duration,
    },
}

/// Bytes of a paced message that are not hashed: the send timestamp.
const STAMP_LEN: usize = 8;

/// The sender's side of a workload: the next message when it is due.
#[derive(Debug)]
pub struct Source {
    workload: Workload,
    data: Vec<u8>,
    offset: usize,
    sent: u32,
    chunk: usize,
    epoch: Instant,
    start: Option<Instant>,
    pending: Vec<u8>,
}

impl Source {
    /// A source of `workload`; paced timestamps count from `epoch`.
    pub fn new(workload: &Workload, epoch: Instant) -> Source {
        let data = match *workload {
            Workload::Bulk { bytes, seed } => pseudo_random(bytes, seed),
            Workload::Paced { .. } => Vec::new(),
        };
        Source { workload: *workload, data, offset: 0, sent: 0, chunk: 1024, epoch, start: None, pending: Vec::new() }
    }

    /// Sets the size of bulk messages (one datagram's worth for each library).
    pub fn set_chunk(&mut self, chunk: usize) {
        self.chunk = chunk.max(1);
    }

    /// Marks the start of sending (the run's goodput counts from here) and returns it.
    pub fn start(&mut self) -> Instant {
        *self.start.get_or_insert_with(Instant::now)
    }

    /// The next message if one is due at `now`; call [`Source::advance`] once it is taken.
    pub fn peek(&mut self, now: Instant) -> Option<&[u8]> {
        match self.workload {
            Workload::Bulk { bytes, .. } => {
                let end = (self.offset + self.chunk).min(bytes);
                self.data.get(self.offset..end).filter(|m| !m.is_empty())
            }
            Workload::Paced { count, size, .. } => {
                if self.sent >= count || now < self.next_due()? {
                    return None;
                }
                if self.pending.is_empty() {
                    self.pending = paced_message(self.sent, size);
                    let stamp = now.saturating_duration_since(self.epoch).as_nanos() as u64;
                    self.pending[..STAMP_LEN].copy_from_slice(&stamp.to_le_bytes());
                }
                Some(&self.pending)
            }
        }
    }

    /// Takes the message [`Source::peek`] returned.
    pub fn advance(&mut self) {
        match self.workload {
            Workload::Bulk { bytes, .. } => self.offset = (self.offset + self.chunk).min(bytes),
            Workload::Paced { .. } => {
                self.sent += 1;
                self.pending.clear();
            }
        }
    }

    /// When the next paced message is due (`None`: bulk, or all sent).
    pub fn next_due(&self) -> Option<Instant> {
        match self.workload {
            Workload::Paced { count, interval, .. } if self.sent < count => Some(self.start? + interval * self.sent),
            _ => None,
        }
    }

    /// Whether every message was taken.
    pub fn exhausted(&self) -> bool {
        match self.workload {
            Workload::Bulk { bytes, .. } => self.offset >= bytes,
            Workload::Paced { count, .. } => self.sent >= count,
        }
    }
}

/// The receiver's side: hashes what arrives, records latencies.
#[derive(Debug, Clone)]
pub struct Sink {
    expected_len: usize,
    expected_hash: u64,
    received: usize,
    hash: Fnv,
    messages: u32,
    paced: bool,
    latencies_ms: Vec<f64>,
    problem: Option<String>,
}

impl Sink {
    /// A sink expecting exactly what a [`Source`] of `workload` sends.
    pub fn new(workload: &Workload) -> Sink {
        let (expected_len, expected_hash, paced) = match *workload {
            Workload::Bulk { bytes, seed } => (bytes, Fnv::of(&pseudo_random(bytes, seed)), false),
            Workload::Paced { count, size, .. } => {
                let mut h = Fnv::new();
                for i in 0..count {
                    h.update(&paced_message(i, size)[STAMP_LEN..]);
                }
                (count as usize * size, h.0, true)
            }
        };
        Sink {
            expected_len,
            expected_hash,
            received: 0,
            hash: Fnv::new(),
            messages: 0,
            paced,
            latencies_ms: Vec::new(),
            problem: None,
        }
    }

    /// Takes one delivered message; `epoch` is the sender's timestamp zero.
    pub fn absorb(&mut self, message: &[u8], epoch: Instant) {
        self.received += message.len();
        self.messages += 1;
        if !self.paced {
            self.hash.update(message);
            return;
        }
        let now = Instant::now().saturating_duration_since(epoch).as_nanos() as u64;
        match message.split_at_checked(STAMP_LEN) {
            Some((stamp, rest)) => {
                let mut b = [0u8; STAMP_LEN];
                b.copy_from_slice(stamp);
                let sent = u64::from_le_bytes(b);
                self.latencies_ms.push(now.saturating_sub(sent) as f64 / 1e6);
                self.hash.update(rest);
            }
            None => self.problem = Some(format!("message {} is {} bytes", self.messages, message.len())),
        }
    }

    /// Whether at least the expected number of bytes arrived.
    pub fn complete(&self) -> bool {
        self.received >= self.expected_len
    }

    /// Bytes received.
    pub fn received(&self) -> usize {
        self.received
    }

    /// Latencies of the paced messages, milliseconds.
    pub fn latencies_ms(&self) -> &[f64] {
        &self.latencies_ms
    }

    /// `Ok` when length and hash match what was sent.
    pub fn verdict(&self) -> Result<(), String> {
        if let Some(problem) = &self.problem {
            return Err(problem.clone());
        }
        if self.received != self.expected_len {
            return Err(format!("{} bytes instead of {}", self.received, self.expected_len));
        }
        if self.hash.0 != self.expected_hash {
            return Err(format!("hash {:016x} instead of {:016x}", self.hash.0, self.expected_hash));
        }
        Ok(())
    }
}

/// Paced message `index`: 8 timestamp bytes (zero here), the index, a pattern.
fn paced_message(index: u32, size: usize) -> Vec<u8> {
    let mut m = vec![0u8; size.max(STAMP_LEN + 4)];
    m[STAMP_LEN..STAMP_LEN + 4].copy_from_slice(&index.to_le_bytes());
    for (j, b) in m.iter_mut().enumerate().skip(STAMP_LEN + 4) {
        *b = (index as usize).wrapping_mul(31).wrapping_add(j) as u8;
    }
    m
}

/// `len` bytes of xorshift64* output from `seed`.
pub fn pseudo_random(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed | 1;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        out.extend_from_slice(&state.wrapping_mul(0x2545_f491_4f6c_dd1d).to_le_bytes());
    }
    out.truncate(len);
    out
}

/// 64-bit FNV-1a: the same for any split of the input into pieces.
#[derive(Debug, Clone, Copy)]
struct Fnv(u64);

impl Fnv {
    fn new() -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }

    fn update(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }

    fn of(bytes: &[u8]) -> u64 {
        let mut h = Fnv::new();
        h.update(bytes);
        h.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bulk_transfer_in_any_pieces_passes_and_a_flipped_byte_fails() {
        let w = Workload::Bulk { bytes: 10_000, seed: 3 };
        let mut source = Source::new(&w, Instant::now());
        source.set_chunk(777);
        let mut sink = Sink::new(&w);
        let mut bad = Sink::new(&w);
        while let Some(m) = source.peek(Instant::now()) {
            let m = m.to_vec();
            sink.absorb(&m, Instant::now());
            let mut flipped = m.clone();
            if bad.received() == 0 {
                flipped[5] ^= 1;
            }
            bad.absorb(&flipped, Instant::now());
            source.advance();
        }
        assert!(source.exhausted() && sink.complete() && bad.complete());
        assert_eq!(sink.verdict(), Ok(()));
        assert!(bad.verdict().is_err());
    }

    #[test]
    fn paced_messages_are_due_one_interval_apart_and_carry_their_latency() {
        let w = Workload::Paced { count: 3, size: 100, interval: Duration::from_millis(5) };
        let epoch = Instant::now();
        let mut source = Source::new(&w, epoch);
        let start = source.start();
        let mut sink = Sink::new(&w);
        assert!(source.peek(start).is_some());
        let first = source.peek(start).map(<[u8]>::to_vec).unwrap_or_default();
        source.advance();
        assert!(source.peek(start).is_none(), "the second is not due yet");
        assert_eq!(source.next_due(), Some(start + Duration::from_millis(5)));
        sink.absorb(&first, epoch);
        for i in 1..3 {
            let due = start + Duration::from_millis(5 * i);
            let m = source.peek(due).map(<[u8]>::to_vec).unwrap_or_default();
            source.advance();
            sink.absorb(&m, epoch);
        }
        assert!(source.exhausted());
        assert_eq!(sink.verdict(), Ok(()));
        assert_eq!(sink.latencies_ms().len(), 3);
    }
}
