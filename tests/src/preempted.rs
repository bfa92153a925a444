//! A node whose thread the scheduler preempts now and then, as on a busy
//! machine: while it is held up it neither sends nor runs its timers, the
//! datagrams that arrive wait for it (in its socket), and when it runs again
//! it handles them all at once, at the same time. Its peer then sees RTT
//! samples inflated alike in a burst, without any queue on the path.

use crate::sim::{Addr, Node, Rng};

/// `node`, held up on average every `every_ms` (uniformly 1 to `2 x every_ms`
/// ms after it last ran again) for 1 to `max_ms` ms.
pub struct Preempted<N> {
    /// The node inside.
    pub node: N,
    rng: Rng,
    every_ms: u64,
    max_ms: u64,
    /// The current or next hold-up, `[start, end)`.
    held: (u64, u64),
    waiting: Vec<(Addr, Vec<u8>)>,
}

impl<N: Node> Preempted<N> {
    /// `node` held up as above, drawn from `seed`; never when `max_ms` is 0.
    pub fn new(node: N, seed: u64, every_ms: u64, max_ms: u64) -> Preempted<N> {
        let mut p = Preempted { node, rng: Rng::new(seed), every_ms, max_ms, held: (0, 0), waiting: Vec::new() };
        p.schedule(0);
        p
    }

    fn schedule(&mut self, after: u64) {
        if self.max_ms == 0 {
            self.held = (u64::MAX, u64::MAX);
            return;
        }
        let start = after + 1 + self.rng.below(2 * self.every_ms.max(1));
        self.held = (start, start + 1 + self.rng.below(self.max_ms));
    }

    /// Whether the node is held up at `now`; past a hold-up it first
    /// handles what waited for it.
    fn held_up(&mut self, now: u64) -> bool {
        if now >= self.held.1 {
            for (from, d) in std::mem::take(&mut self.waiting) {
                self.node.handle(now, from, &d);
                self.node.poll_app(now);
            }
            self.schedule(now);
        }
        now >= self.held.0
    }
}

impl<N: Node> Node for Preempted<N> {
    fn handle(&mut self, now: u64, from: Addr, datagram: &[u8]) {
        if self.held_up(now) {
            self.waiting.push((from, datagram.to_vec()));
        } else {
            self.node.handle(now, from, datagram);
        }
    }

    fn transmit(&mut self, now: u64, buf: &mut [u8]) -> Option<(Addr, usize)> {
        if self.held_up(now) {
            return None;
        }
        self.node.transmit(now, buf)
    }

    fn timeout(&self) -> Option<u64> {
        let (start, end) = self.held;
        // a timer due while held up runs when it ends, and so does what waits
        let own = self.node.timeout().map(|t| if (start..end).contains(&t) { end } else { t });
        let waiting = (!self.waiting.is_empty()).then_some(end);
        [own, waiting].into_iter().flatten().min()
    }

    fn on_timeout(&mut self, now: u64) {
        if !self.held_up(now) {
            self.node.on_timeout(now);
        }
    }

    fn poll_app(&mut self, now: u64) {
        if !self.held_up(now) {
            self.node.poll_app(now);
        }
    }
}
