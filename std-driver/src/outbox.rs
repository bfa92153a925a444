//! Datagrams written back to back into a send buffer, grouped into runs the
//! kernel can send in one call each: the same address, every datagram of
//! the run's first one's size but the last, which may be shorter (what UDP
//! segmentation offload cuts apart again; see `gso`).

use crate::gso;
use std::collections::VecDeque;
use std::net::SocketAddr;

/// Consecutive datagrams of a send buffer for one address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Run {
    pub to: SocketAddr,
    /// Where the first datagram starts in the buffer.
    pub start: usize,
    /// Bytes of all its datagrams.
    pub len: usize,
    /// Length of each datagram but the last.
    pub segment: usize,
    /// Number of datagrams.
    pub count: usize,
}

impl Run {
    fn single(to: SocketAddr, start: usize, len: usize) -> Run {
        Run { to, start, len, segment: len, count: 1 }
    }

    /// Whether a datagram of `n` bytes to `to` may join the run: it cannot
    /// be longer than the others, and nothing follows a shorter one.
    fn takes(&self, to: SocketAddr, n: usize) -> bool {
        self.to == to
            && n <= self.segment
            && self.len == self.segment * self.count
            && self.count < gso::MAX_SEGMENTS
            && self.len + n <= gso::MAX_BYTES
    }

    /// The run as single datagrams, in order.
    pub fn datagrams(self) -> impl DoubleEndedIterator<Item = Run> {
        (0..self.count).map(move |i| {
            let start = self.start + i * self.segment;
            Run::single(self.to, start, self.segment.min(self.start + self.len - start))
        })
    }
}

/// The runs waiting in a send buffer, oldest first.
#[derive(Debug, Default)]
pub(crate) struct Outbox {
    runs: VecDeque<Run>,
    /// Where the next datagram goes in the buffer.
    fill: usize,
}

impl Outbox {
    /// Where the next datagram goes in the buffer.
    pub fn fill(&self) -> usize {
        self.fill
    }

    /// Whether nothing waits.
    pub fn is_empty(&self) -> bool {
        self.runs.is_empty()
    }

    /// Takes the datagram of `n` bytes just written at [`Outbox::fill`] for
    /// `to`: into the last run when it fits there and `batching` is on, else
    /// as a run of its own.
    pub fn push(&mut self, to: SocketAddr, n: usize, batching: bool) {
        match self.runs.back_mut() {
            Some(last) if batching && last.takes(to, n) => {
                last.len += n;
                last.count += 1;
            }
            _ => self.runs.push_back(Run::single(to, self.fill, n)),
        }
        self.fill += n;
    }

    /// The oldest run.
    pub fn front(&self) -> Option<Run> {
        self.runs.front().copied()
    }

    /// Forgets the oldest run (sent, or lost); the buffer is reused from its
    /// start once nothing waits.
    pub fn pop(&mut self) {
        self.runs.pop_front();
        if self.runs.is_empty() {
            self.fill = 0;
        }
    }

    /// Replaces the oldest run by its datagrams one by one (for a kernel
    /// that refuses to cut a run apart).
    pub fn split_front(&mut self) {
        if let Some(run) = self.runs.pop_front() {
            for single in run.datagrams().rev() {
                self.runs.push_front(single);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    #[test]
    fn equal_datagrams_to_one_address_make_one_run_that_a_shorter_one_ends() {
        let mut outbox = Outbox::default();
        for n in [1200, 1200, 1200, 700, 1200] {
            outbox.push(addr(1), n, true);
        }
        assert_eq!(outbox.front(), Some(Run { to: addr(1), start: 0, len: 4300, segment: 1200, count: 4 }));
        outbox.pop();
        assert_eq!(outbox.front(), Some(Run::single(addr(1), 4300, 1200)));
        outbox.pop();
        assert!(outbox.is_empty());
        assert_eq!(outbox.fill(), 0, "an empty outbox starts again at the front of the buffer");
    }

    #[test]
    fn a_longer_datagram_another_address_or_no_batching_starts_a_new_run() {
        let mut outbox = Outbox::default();
        outbox.push(addr(1), 100, true);
        outbox.push(addr(1), 200, true);
        outbox.push(addr(2), 200, true);
        outbox.push(addr(2), 200, false);
        let mut runs = Vec::new();
        while let Some(run) = outbox.front() {
            runs.push((run.start, run.count));
            outbox.pop();
        }
        assert_eq!(runs, [(0, 1), (100, 1), (300, 1), (500, 1)]);
    }

    #[test]
    fn a_run_holds_at_most_what_one_call_may_carry() {
        let mut outbox = Outbox::default();
        for _ in 0..gso::MAX_SEGMENTS + 1 {
            outbox.push(addr(1), 100, true);
        }
        assert_eq!(outbox.front().map(|r| r.count), Some(gso::MAX_SEGMENTS));
        let mut outbox = Outbox::default();
        let big = gso::MAX_BYTES / 3 + 1;
        for _ in 0..3 {
            outbox.push(addr(1), big, true);
        }
        assert_eq!(outbox.front().map(|r| r.count), Some(2));
    }

    #[test]
    fn a_run_split_apart_gives_its_datagrams_in_order() {
        let mut outbox = Outbox::default();
        for n in [500, 500, 300] {
            outbox.push(addr(1), n, true);
        }
        outbox.push(addr(2), 50, true);
        outbox.split_front();
        let mut runs = Vec::new();
        while let Some(run) = outbox.front() {
            runs.push((run.to.port(), run.start, run.len, run.count));
            outbox.pop();
        }
        assert_eq!(runs, [(1, 0, 500, 1), (1, 500, 500, 1), (1, 1000, 300, 1), (2, 1300, 50, 1)]);
    }
}
