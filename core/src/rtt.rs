//! Round-trip time estimation and the retransmission timeout (RFC 6298).

/// Retransmission timing parameters, in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Timing {
    /// RTO before the first RTT sample (RFC 6298: 1 s).
    pub initial_rto: u32,
    /// Lower bound of the RTO.
    pub min_rto: u32,
    /// Upper bound of the RTO, backoff included.
    pub max_rto: u32,
    /// Backoff factor per retransmission, in percent (200 doubles, as RFC 6298).
    pub backoff_percent: u16,
    /// Longest an acknowledgement is delayed to be coalesced.
    pub ack_delay: u32,
    /// Retransmissions of one packet before the peer is declared dead.
    pub max_retries: u8,
    /// Fast retransmit after this many acknowledgements of later packets (0: off).
    pub fast_resend: u8,
    /// Shortest interval between two NACKs for the same missing packet.
    pub nack_interval: u32,
}

impl Timing {
    /// Conservative defaults: RFC 6298 backoff (x2), 100 ms minimum RTO (well
    /// above one delayed ACK, yet half of Linux's 200 ms, which made a
    /// lossy link wait more than it sent), 20 ms delayed ACKs.
    pub const fn standard() -> Timing {
        Timing {
            initial_rto: 1000,
            min_rto: 100,
            max_rto: 60_000,
            backoff_percent: 200,
            ack_delay: 20,
            max_retries: 12,
            fast_resend: 3,
            nack_interval: 100,
        }
    }

    /// A low-latency profile in the spirit of KCP's turbo mode: low minimum
    /// RTO, fast retransmit after 2 later acknowledgements, gentler backoff
    /// (x1.5), and ACKs that are hardly delayed.
    pub const fn low_latency() -> Timing {
        Timing {
            initial_rto: 200,
            min_rto: 30,
            max_rto: 10_000,
            backoff_percent: 150,
            ack_delay: 5,
            max_retries: 20,
            fast_resend: 2,
            nack_interval: 20,
        }
    }
}

/// The timing of [`crate::LinkConfig::new`]: the low-latency profile.
impl Default for Timing {
    fn default() -> Timing {
        Timing::low_latency()
    }
}

/// SRTT/RTTVAR estimator with Karn's rule left to the caller (samples only
/// from packets sent once).
///
/// ```
/// use seqlink_core::rtt::{RttEstimator, Timing};
/// let timing = Timing::standard();
/// let mut rtt = RttEstimator::new(&timing);
/// assert_eq!(rtt.rto(), 1000);
/// rtt.on_sample(100, &timing);
/// assert_eq!((rtt.srtt(), rtt.rttvar()), (100, 50));
/// assert_eq!(rtt.rto(), 300); // srtt + 4 * rttvar
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct RttEstimator {
    /// Smoothed RTT times 8 (milliseconds).
    srtt8: u32,
    /// RTT variation times 4 (milliseconds).
    rttvar4: u32,
    rto: u32,
    sampled: bool,
}

impl RttEstimator {
    /// No samples yet: the RTO is `timing.initial_rto`.
    pub const fn new(timing: &Timing) -> RttEstimator {
        RttEstimator { srtt8: 0, rttvar4: 0, rto: clamp(timing.initial_rto, timing), sampled: false }
    }

    /// Takes one RTT measurement in milliseconds.
    pub fn on_sample(&mut self, rtt: u32, timing: &Timing) {
        let rtt = rtt.min(1 << 24);
        if self.sampled {
            let srtt = self.srtt8 / 8;
            let err = srtt.abs_diff(rtt);
            // rttvar = 3/4 rttvar + 1/4 |srtt - r|; srtt = 7/8 srtt + 1/8 r
            self.rttvar4 = self.rttvar4 - self.rttvar4 / 4 + err;
            self.srtt8 = self.srtt8 - self.srtt8 / 8 + rtt;
        } else {
            self.srtt8 = rtt * 8;
            self.rttvar4 = rtt * 2;
            self.sampled = true;
        }
        let var = (self.rttvar4).max(1); // 4 * rttvar, at least the 1 ms clock granularity
        self.rto = clamp(self.srtt8 / 8 + var, timing);
    }

    /// Current retransmission timeout (before any backoff).
    pub const fn rto(&self) -> u32 {
        self.rto
    }

    /// Smoothed RTT (0 before the first sample).
    pub const fn srtt(&self) -> u32 {
        self.srtt8 / 8
    }

    /// RTT variation (0 before the first sample).
    pub const fn rttvar(&self) -> u32 {
        self.rttvar4 / 4
    }

    /// Whether any sample was taken.
    pub const fn has_sample(&self) -> bool {
        self.sampled
    }

    /// The timeout for a packet already retransmitted `retries` times:
    /// the RTO times the backoff factor per retry, capped at `max_rto`.
    pub fn backed_off(&self, retries: u8, timing: &Timing) -> u32 {
        let percent = u32::from(timing.backoff_percent.max(100));
        let mut rto = self.rto;
        for _ in 0..retries {
            // rto * percent / 100 exactly, in 32 bits (no 64-bit division
            // linked): an overflow means more than any u32 `max_rto`.
            let hundreds = div100(rto);
            let whole = hundreds.checked_mul(percent);
            let part = div100((rto - hundreds * 100) * percent);
            match whole.and_then(|w| w.checked_add(part)) {
                Some(next) if next < timing.max_rto => rto = next,
                _ => return timing.max_rto,
            }
        }
        rto
    }
}

/// `x / 100` as a multiply and a shift (exact for every `u32`): what a
/// compiler makes of it where the CPU multiplies into 64 bits, written out
/// so that Cortex-M0, which cannot, links no division routine either.
const fn div100(x: u32) -> u32 {
    ((x as u64 * 0x51EB_851F) >> 37) as u32
}

const fn clamp(rto: u32, timing: &Timing) -> u32 {
    let rto = if rto < timing.min_rto { timing.min_rto } else { rto };
    if rto > timing.max_rto {
        timing.max_rto
    } else {
        rto
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn div100_is_exact() {
        for x in (0..=u32::MAX).step_by(9_973).chain([99, 100, 101, 4_294_967_199, 4_294_967_200, u32::MAX]) {
            assert_eq!(div100(x), x / 100, "{x}");
        }
    }

    #[test]
    fn rfc6298_smoothing() {
        let t = Timing { min_rto: 1, ..Timing::standard() };
        let mut rtt = RttEstimator::new(&t);
        rtt.on_sample(100, &t);
        rtt.on_sample(200, &t);
        // rttvar = 3/4*50 + 1/4*100 = 62.5; srtt = 7/8*100 + 1/8*200 = 112.5
        assert_eq!(rtt.srtt(), 112);
        assert_eq!(rtt.rttvar(), 62);
        assert_eq!(rtt.rto(), 112 + 250);
        for _ in 0..100 {
            rtt.on_sample(50, &t);
        }
        assert_eq!(rtt.srtt(), 50);
        assert!(rtt.rto() >= 50 && rtt.rto() <= 55, "{}", rtt.rto());
    }

    #[test]
    fn bounds_and_backoff() {
        let t = Timing::standard();
        let mut rtt = RttEstimator::new(&t);
        rtt.on_sample(1, &t);
        assert_eq!(rtt.rto(), t.min_rto);
        assert_eq!(rtt.backed_off(0, &t), 100);
        assert_eq!(rtt.backed_off(3, &t), 800);
        assert_eq!(rtt.backed_off(40, &t), t.max_rto);
        let lo = Timing::low_latency();
        let rtt = RttEstimator::new(&lo);
        assert_eq!(rtt.backed_off(1, &lo), 300);
        assert_eq!(rtt.backed_off(2, &lo), 450);
    }

    #[test]
    fn backoff_is_exact_near_the_top_of_u32() {
        let t = Timing { min_rto: 1, max_rto: u32::MAX, backoff_percent: 150, ..Timing::standard() };
        let mut rtt = RttEstimator::new(&t);
        rtt.on_sample(1 << 24, &t); // rto = srtt + 4 * rttvar = 3 * 2^24
        let rto = u64::from(rtt.rto());
        let expected = |n: u32| (0..n).fold(rto, |r, _| r * 150 / 100);
        for n in 0..6 {
            assert_eq!(u64::from(rtt.backed_off(n as u8, &t)), expected(n).min(u64::from(u32::MAX)), "{n} backoffs");
        }
        assert_eq!(rtt.backed_off(40, &t), u32::MAX);
        let odd = Timing { min_rto: 1, max_rto: u32::MAX, backoff_percent: 237, ..Timing::standard() };
        let mut rtt = RttEstimator::new(&odd);
        rtt.on_sample(12_345, &odd);
        let rto = u64::from(rtt.rto());
        assert_eq!(u64::from(rtt.backed_off(3, &odd)), rto * 237 / 100 * 237 / 100 * 237 / 100);
    }
}
