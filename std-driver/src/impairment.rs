//! Impairments injected by the driver itself (kernel netem is not always at
//! hand): loss, bit flips, duplication, reordering and delay with jitter,
//! all drawn from one seeded generator, so a run can be repeated.

use std::time::Duration;

/// What a UDP driver does to datagrams on purpose. Loss applies to both
/// directions, bit flips to what this side receives, and duplication,
/// reordering and delay to what it sends.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Impairment {
    /// Probability of dropping each datagram, each way.
    pub loss: f64,
    /// Probability of flipping one bit of each datagram received.
    pub corrupt: f64,
    /// Probability of sending a datagram twice.
    pub duplicate: f64,
    /// Probability of holding a datagram back so that later ones overtake it
    /// (by [`Impairment::reorder_hold`] on top of its delay).
    pub reorder: f64,
    /// Delay of every datagram sent, milliseconds.
    pub delay_ms: u32,
    /// The delay varies uniformly by up to this much either way, milliseconds.
    pub jitter_ms: u32,
    state: u64,
}

impl Impairment {
    /// No impairment yet, with a generator seeded by `seed`.
    pub fn seeded(seed: u64) -> Impairment {
        Impairment {
            loss: 0.0,
            corrupt: 0.0,
            duplicate: 0.0,
            reorder: 0.0,
            delay_ms: 0,
            jitter_ms: 0,
            state: seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1,
        }
    }

    /// Drops `loss` of the datagrams each way, with a seeded generator.
    pub fn loss(loss: f64, seed: u64) -> Impairment {
        Impairment { loss, ..Impairment::seeded(seed) }
    }

    /// Also flips a bit in `corrupt` of the datagrams received.
    pub fn with_corruption(mut self, corrupt: f64) -> Impairment {
        self.corrupt = corrupt;
        self
    }

    /// Also sends `duplicate` of the datagrams twice.
    pub fn with_duplication(mut self, duplicate: f64) -> Impairment {
        self.duplicate = duplicate;
        self
    }

    /// Also holds back `reorder` of the datagrams sent, so that later ones overtake them.
    pub fn with_reordering(mut self, reorder: f64) -> Impairment {
        self.reorder = reorder;
        self
    }

    /// Also delays every datagram sent by `delay_ms`, plus or minus up to `jitter_ms`.
    pub fn with_delay(mut self, delay_ms: u32, jitter_ms: u32) -> Impairment {
        self.delay_ms = delay_ms;
        self.jitter_ms = jitter_ms;
        self
    }

    /// Whether datagrams sent are held back at all (delay, jitter or reordering).
    pub fn holds_back(&self) -> bool {
        self.delay_ms > 0 || self.jitter_ms > 0 || self.reorder > 0.0
    }

    /// The extra time a reordered datagram is held: twice the jitter, at least 3 ms.
    pub fn reorder_hold(&self) -> Duration {
        Duration::from_millis(u64::from(self.jitter_ms).saturating_mul(2).max(3))
    }

    fn next(&mut self) -> f64 {
        self.state ^= self.state >> 12;
        self.state ^= self.state << 25;
        self.state ^= self.state >> 27;
        (self.state.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64
    }

    fn happens(&mut self, probability: f64) -> bool {
        probability > 0.0 && self.next() < probability
    }

    /// Whether to drop the next datagram.
    pub fn drop_next(&mut self) -> bool {
        self.happens(self.loss)
    }

    /// Maybe flips one bit of `datagram`; returns whether it did.
    pub fn corrupt_next(&mut self, datagram: &mut [u8]) -> bool {
        if !datagram.is_empty() && self.happens(self.corrupt) {
            let bits = datagram.len() * 8;
            let bit = (self.next() * bits as f64) as usize % bits;
            if let Some(byte) = datagram.get_mut(bit / 8) {
                *byte ^= 1 << (bit % 8);
            }
            return true;
        }
        false
    }

    /// Whether to send the next datagram twice.
    pub fn duplicate_next(&mut self) -> bool {
        self.happens(self.duplicate)
    }

    /// Whether to hold the next datagram back behind later ones.
    pub fn reorder_next(&mut self) -> bool {
        self.happens(self.reorder)
    }

    /// The delay of the next datagram sent: `delay_ms` plus or minus up to `jitter_ms`, never negative.
    pub fn delay_next(&mut self) -> Duration {
        let jitter = if self.jitter_ms > 0 { (self.next() * 2.0 - 1.0) * f64::from(self.jitter_ms) } else { 0.0 };
        Duration::from_secs_f64((f64::from(self.delay_ms) + jitter).max(0.0) / 1000.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_choices() {
        let draw = |seed| {
            let mut imp = Impairment::loss(0.3, seed).with_duplication(0.3).with_delay(10, 5);
            (0..64).map(|_| (imp.drop_next(), imp.duplicate_next(), imp.delay_next())).collect::<Vec<_>>()
        };
        assert_eq!(draw(5), draw(5));
        assert_ne!(draw(5), draw(6));
    }

    #[test]
    fn delay_stays_within_its_jitter() {
        let mut imp = Impairment::seeded(1).with_delay(10, 4);
        for _ in 0..1000 {
            let d = imp.delay_next();
            assert!(d >= Duration::from_millis(6) && d <= Duration::from_millis(14), "{d:?}");
        }
    }

    #[test]
    fn probabilities_come_out_near_their_value() {
        let mut imp = Impairment::seeded(9).with_duplication(0.2).with_reordering(0.1);
        let dups = (0..10_000).filter(|_| imp.duplicate_next()).count();
        let held = (0..10_000).filter(|_| imp.reorder_next()).count();
        assert!((1800..2200).contains(&dups), "{dups}");
        assert!((850..1150).contains(&held), "{held}");
    }
}
