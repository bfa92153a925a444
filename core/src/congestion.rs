//! Congestion control, counted in packets (as KCP does).
//!
//! Three modes ([`CongestionControl`]):
//!
//! * **NewReno**: from an initial window of 10 packets (fewer for packets
//!   over 1460 bytes: [`initial_window`]), slow start grows the window by
//!   one packet per acknowledged packet up to `ssthresh`; congestion
//!   avoidance by one packet per window.
//!   A loss found by fast retransmit or a NACK halves the window once per
//!   window of data (the recovery point); a retransmission timeout drops it
//!   to one packet.
//! * **Loss-tolerant** (the default): NewReno's growth, but a loss halves the
//!   window only when it comes with queue growth, that is when the last two
//!   round-trip samples are above the smallest one ever seen by more than
//!   `max(min_rtt / 8, 2 ms)` (the samples of one millisecond counting as
//!   one, their smallest: a sender that was held up handles the
//!   acknowledgements that waited for it at once, all inflated alike). A
//!   bottleneck queue that overflows delays every packet through it before
//!   it drops one, so congestion losses are still
//!   answered as NewReno answers them; random losses on an uncongested path
//!   are not. A queue that holds less delay than that threshold when full
//!   is not seen (choose NewReno for such paths: docs/BENCHMARKS.md,
//!   "Sharing a bottleneck", measures the limit). A timeout drops the
//!   window to one packet as in NewReno, but unless all of the last 8 to
//!   16 samples show a queue, the next
//!   acknowledgement restores the window the timeout found. The link paces
//!   new data under this controller (at most `max(2, 2 x cwnd / SRTT)`
//!   first transmissions per millisecond from an SRTT of 8 ms on), so that
//!   a window opened at once does not queue behind itself and read as
//!   congestion.
//! * **Off**: the send window and the peer's window alone limit the flight.
//!
//! Deterministic and clock-free: round-trip samples, and the times they
//! were taken at, come from the link.

use crate::seq::Seq;

/// Which congestion controller a link runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum CongestionControl {
    /// None: the windows alone limit the flight (KCP's `nc`; links without
    /// congestion, or over a reliable byte stream).
    Off,
    /// NewReno: every loss event halves the window, a timeout resets it to 1.
    NewReno,
    /// NewReno's growth; losses reduce the window only when the round-trip
    /// time shows a queue building up; new data is paced (the default).
    #[default]
    LossTolerant,
}

impl CongestionControl {
    /// Whether the congestion window limits the flight (never without the
    /// `congestion` feature: every mode is then taken as `Off`).
    pub const fn is_on(self) -> bool {
        cfg!(feature = "congestion") && !matches!(self, CongestionControl::Off)
    }
}

/// Congestion window state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Congestion {
    cwnd: u16,
    ssthresh: u16,
    /// Acknowledged packets counted towards the next increase in congestion avoidance.
    credit: u16,
    /// Losses before this sequence number belong to the current fast recovery (no growth meanwhile).
    recover: Option<Seq>,
    /// Losses before this sequence number belong to the last timeout (no second halving).
    timeout_recover: Option<Seq>,
    max: u16,
    /// Loss-tolerant mode (else NewReno).
    tolerant: bool,
    /// Smallest round-trip sample seen, ms (`u16::MAX`: none yet; samples saturate there).
    min_rtt: u16,
    /// Smallest round-trip sample of the batch being collected, ms.
    batch_min: u16,
    /// Smallest round-trip sample of the last full batch, ms.
    last_batch_min: u16,
    /// Samples in the batch being collected.
    batch_len: u8,
    /// What the loss test weighs: the smallest of the latest round-trip
    /// samples taken at one clock reading and of the sample just before
    /// them, ms.
    loss_rtt: u16,
    /// The latest round-trip sample, ms.
    latest: u16,
    /// When the latest sample was taken (ms; [`NO_CLOCK`]: not known, as
    /// for every sample given to [`Congestion::on_ack`]).
    latest_at: u64,
    /// The window the next acknowledgement restores after a timeout that
    /// was not congestion (0: none).
    restore: u16,
}

/// Round-trip samples per batch: the recent RTT is the smallest of the last
/// one to two batches, so that a delayed or lost acknowledgement (which
/// inflates some samples) does not look like a queue (which inflates all).
pub const RTT_BATCH: u8 = 8;

/// The initial window, in packets, at most (RFC 6928: 10 segments; see
/// [`initial_window`] for the byte limit that lowers it for long packets).
pub const INITIAL_WINDOW: u16 = 10;

/// Bytes of payload the initial window may carry when it is less than
/// [`INITIAL_WINDOW`] packets (RFC 6928's 14,600 bytes).
pub const INITIAL_WINDOW_BYTES: u32 = 14_600;

/// The initial window for packets of up to `max_payload` bytes (RFC 6928):
/// [`INITIAL_WINDOW`] packets while they carry at most
/// [`INITIAL_WINDOW_BYTES`], else as many as fit in that, at least 2.
pub const fn initial_window(max_payload: u16) -> u16 {
    let mut packets = INITIAL_WINDOW;
    // no division: targets without one would link a routine for it
    while packets > 2 && packets as u32 * max_payload as u32 > INITIAL_WINDOW_BYTES {
        packets -= 1;
    }
    packets
}

/// Queue delay below which a loss is taken for random loss, in ms, at the least.
pub const QUEUE_FLOOR_MS: u16 = 2;

/// `Congestion::latest_at` of a sample whose time is not known: every such
/// sample counts as taken in a millisecond of its own.
const NO_CLOCK: u64 = u64::MAX;

impl Congestion {
    /// A NewReno window that may grow to `max` packets (the send window).
    pub const fn new(max: u16) -> Congestion {
        Congestion::with_mode(max, CongestionControl::NewReno)
    }

    /// A window of the given kind that may grow to `max` packets (`Off`
    /// keeps the state of NewReno; the link does not consult it then).
    pub const fn with_mode(max: u16, mode: CongestionControl) -> Congestion {
        let max = if max == 0 { 1 } else { max };
        let cwnd = if INITIAL_WINDOW < max { INITIAL_WINDOW } else { max };
        Congestion {
            cwnd,
            ssthresh: max,
            credit: 0,
            recover: None,
            timeout_recover: None,
            max,
            tolerant: matches!(mode, CongestionControl::LossTolerant),
            min_rtt: u16::MAX,
            batch_min: u16::MAX,
            last_batch_min: u16::MAX,
            batch_len: 0,
            loss_rtt: u16::MAX,
            latest: u16::MAX,
            latest_at: NO_CLOCK,
            restore: 0,
        }
    }

    /// The same state with an initial window of `packets` (at least 1, at
    /// most the send window) instead of [`INITIAL_WINDOW`].
    pub const fn with_initial_window(mut self, packets: u16) -> Congestion {
        self.cwnd = if packets == 0 {
            1
        } else if packets < self.max {
            packets
        } else {
            self.max
        };
        self
    }

    /// Packets that may be in flight.
    pub const fn window(&self) -> u16 {
        self.cwnd
    }

    /// The slow-start threshold.
    pub const fn ssthresh(&self) -> u16 {
        self.ssthresh
    }

    /// `acked` packets were newly acknowledged; `cumulative` is the new
    /// cumulative acknowledgement (ends recovery once it passes the recovery
    /// point); `rtt` is the round-trip sample this acknowledgement gave, if any.
    pub fn on_ack(&mut self, acked: u16, cumulative: Seq, rtt: Option<u32>) {
        self.on_ack_at(NO_CLOCK, acked, cumulative, rtt);
    }

    /// [`Congestion::on_ack`] for an acknowledgement handled at `now` (ms),
    /// which the loss test ([`Congestion::loss_is_congestion`]) uses: the
    /// samples taken in one millisecond count as one sample, their
    /// smallest. A sender that was held up (its thread preempted, or the
    /// path's relay) handles the acknowledgements that waited for it at
    /// once, every sample inflated by the same wait; the ones before the
    /// wait show none. A queue on the path delays acknowledgements that
    /// arrive over time, in more than one millisecond.
    pub fn on_ack_at(&mut self, now: u64, acked: u16, cumulative: Seq, rtt: Option<u32>) {
        if let Some(rtt) = rtt {
            self.on_rtt(rtt, now);
        }
        if acked > 0 && self.restore > 0 {
            self.cwnd = self.cwnd.max(self.restore);
            self.restore = 0;
        }
        if let Some(recover) = self.recover {
            if cumulative.is_before(recover) {
                return; // no growth during recovery
            }
            self.recover = None;
        }
        for _ in 0..acked {
            if self.cwnd < self.ssthresh {
                self.cwnd = self.cwnd.saturating_add(1);
            } else {
                self.credit = self.credit.saturating_add(1);
                if self.credit >= self.cwnd {
                    self.credit = 0;
                    self.cwnd = self.cwnd.saturating_add(1);
                }
            }
        }
        self.cwnd = self.cwnd.min(self.max);
    }

    /// Takes a round-trip sample taken at `at` (ms, or [`NO_CLOCK`]).
    fn on_rtt(&mut self, rtt: u32, at: u64) {
        let rtt = u16::try_from(rtt).unwrap_or(u16::MAX - 1);
        self.min_rtt = self.min_rtt.min(rtt);
        if at == NO_CLOCK || at != self.latest_at {
            // a new millisecond: the samples before it count by their last one
            self.loss_rtt = self.latest;
        }
        self.loss_rtt = self.loss_rtt.min(rtt);
        self.latest = rtt;
        self.latest_at = at;
        self.batch_min = self.batch_min.min(rtt);
        self.batch_len += 1;
        if self.batch_len >= RTT_BATCH {
            self.last_batch_min = self.batch_min;
            self.batch_min = u16::MAX;
            self.batch_len = 0;
        }
    }

    /// The recent round-trip time: the smallest sample of the last one to two batches.
    pub const fn recent_rtt(&self) -> u16 {
        if self.batch_min < self.last_batch_min {
            self.batch_min
        } else {
            self.last_batch_min
        }
    }

    /// Whether `rtt` shows a queue: always in NewReno mode; in loss-tolerant
    /// mode when it exceeds the smallest sample seen by more than
    /// `max(min_rtt / 8, QUEUE_FLOOR_MS)` (never before the first sample:
    /// then the window is still small, and a loss says nothing yet).
    const fn queued(&self, rtt: u16) -> bool {
        if !self.tolerant {
            return true;
        }
        if self.min_rtt == u16::MAX {
            return false;
        }
        let threshold = if self.min_rtt / 8 > QUEUE_FLOOR_MS { self.min_rtt / 8 } else { QUEUE_FLOOR_MS };
        rtt as u32 > self.min_rtt as u32 + threshold as u32
    }

    /// Whether a loss found now counts as congestion: the latest two samples
    /// both show a queue, where samples taken in one millisecond (known from
    /// [`Congestion::on_ack_at`]) count as one, their smallest. (They come
    /// from packets sent just after the lost one, when a drop-tail queue is
    /// full; a receiver with a gap acknowledges at once, and the smaller of
    /// two leaves out a single sample inflated by a delayed acknowledgement,
    /// or a burst of them inflated by one wait of the sender.)
    pub const fn loss_is_congestion(&self) -> bool {
        self.queued(self.loss_rtt)
    }

    /// Whether a timeout counts as congestion: every recent sample
    /// ([`Congestion::recent_rtt`]) shows a queue. (Before a timeout the
    /// flight is short, and delayed acknowledgements inflate single samples.)
    pub const fn timeout_is_congestion(&self) -> bool {
        self.queued(self.recent_rtt())
    }

    /// A loss was detected without a timeout (fast retransmit, NACK, SACK gap).
    /// `next_seq` is the next new sequence number: losses before it count
    /// as the same congestion event.
    pub fn on_loss(&mut self, lost: Seq, next_seq: Seq) {
        if self.recover.is_some_and(|r| lost.is_before(r)) || self.timeout_recover.is_some_and(|r| lost.is_before(r)) {
            return;
        }
        if !self.loss_is_congestion() {
            return; // random loss: the path is not congested
        }
        self.ssthresh = (self.cwnd / 2).max(2);
        self.cwnd = self.ssthresh.min(self.max);
        self.credit = 0;
        self.recover = Some(next_seq);
    }

    /// A retransmission timeout fired: back to one packet, so that the
    /// oldest is resent alone (RFC 6298 5.4). NewReno, and loss-tolerant mode
    /// when the recent samples show a queue, halve `ssthresh` and slow-start
    /// (RFC 5681); otherwise the next acknowledgement of new data restores
    /// the window the timeout found (at least [`INITIAL_WINDOW`]; a second
    /// timeout before it keeps the larger). Losses of packets sent before `next_seq`
    /// belong to this event.
    pub fn on_timeout(&mut self, next_seq: Seq) {
        if !self.timeout_is_congestion() {
            // the oldest packet alone first (RFC 6298 5.4), then the window it found: a random loss
            self.restore = self.cwnd.max(self.restore).clamp(INITIAL_WINDOW.min(self.max), self.max);
            self.ssthresh = self.ssthresh.max(self.cwnd);
        } else {
            if self.recover.is_none() || self.cwnd > 1 {
                self.ssthresh = (self.cwnd / 2).max(2);
            }
            self.restore = 0;
        }
        self.cwnd = 1;
        self.credit = 0;
        self.recover = None;
        self.timeout_recover = Some(next_seq);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slow_start_then_avoidance() {
        assert_eq!(Congestion::new(64).window(), 10);
        let mut cc = Congestion::new(64).with_initial_window(4);
        assert_eq!(cc.window(), 4);
        cc.on_ack(4, Seq(4), None);
        assert_eq!(cc.window(), 8);
        cc.on_loss(Seq(5), Seq(20));
        assert_eq!((cc.window(), cc.ssthresh()), (4, 4));
        cc.on_loss(Seq(6), Seq(21)); // same recovery: no second halving
        assert_eq!(cc.window(), 4);
        cc.on_ack(4, Seq(10), None); // still before the recovery point
        assert_eq!(cc.window(), 4);
        cc.on_ack(4, Seq(20), None); // recovery over: avoidance, +1 per window
        assert_eq!(cc.window(), 5);
        cc.on_timeout(Seq(40));
        assert_eq!((cc.window(), cc.ssthresh()), (1, 2));
        cc.on_loss(Seq(30), Seq(40)); // part of the same event
        assert_eq!(cc.window(), 1);
        cc.on_ack(1, Seq(30), None); // slow start again at once
        assert_eq!(cc.window(), 2);
    }

    #[test]
    fn never_exceeds_the_send_window() {
        let mut cc = Congestion::new(3);
        assert_eq!(cc.window(), 3);
        cc.on_ack(100, Seq(100), None);
        assert_eq!(cc.window(), 3);
        let mut one = Congestion::new(1);
        one.on_loss(Seq(0), Seq(1));
        assert_eq!(one.window(), 1);
    }

    /// A loss-tolerant window grown to 32 packets over a 50 ms path.
    fn tolerant_at_32() -> Congestion {
        let mut cc = Congestion::with_mode(64, CongestionControl::LossTolerant).with_initial_window(4);
        for i in 0..28 {
            cc.on_ack(1, Seq(i + 1), Some(50));
        }
        assert_eq!(cc.window(), 32);
        cc
    }

    #[test]
    fn random_loss_without_queue_growth_keeps_the_window() {
        let mut cc = tolerant_at_32();
        cc.on_loss(Seq(10), Seq(40));
        cc.on_ack(1, Seq(40), Some(52)); // jitter below the threshold
        for _ in 0..2 * RTT_BATCH {
            cc.on_ack(0, Seq(40), Some(75)); // a delayed acknowledgement
            cc.on_ack(0, Seq(40), Some(51));
        }
        cc.on_loss(Seq(41), Seq(60));
        assert_eq!(cc.window(), 33);
        cc.on_timeout(Seq(60));
        assert_eq!(cc.window(), 1, "the oldest packet alone first");
        cc.on_timeout(Seq(60));
        cc.on_ack(1, Seq(41), None);
        assert_eq!((cc.window(), cc.ssthresh()), (34, 64), "then the window the timeout found, and slow start");
    }

    #[test]
    fn loss_with_queue_growth_halves_as_newreno() {
        let mut cc = tolerant_at_32();
        for _ in 0..2 * RTT_BATCH {
            cc.on_ack(0, Seq(28), Some(80)); // the queue delays every packet by 30 ms
        }
        assert!(cc.loss_is_congestion() && cc.timeout_is_congestion());
        cc.on_loss(Seq(29), Seq(40));
        assert_eq!((cc.window(), cc.ssthresh()), (16, 16));
        cc.on_timeout(Seq(50));
        assert_eq!(cc.window(), 1);
    }

    #[test]
    fn samples_inflated_alike_in_one_millisecond_are_not_a_queue() {
        let mut cc = tolerant_at_32(); // min_rtt 50: a queue is more than 6 ms
        cc.on_ack_at(1000, 0, Seq(28), Some(51));
        // the sender was held up for 10 ms: the ACKs that waited all come at 1010
        cc.on_ack_at(1010, 0, Seq(28), Some(61));
        cc.on_ack_at(1010, 0, Seq(28), Some(60));
        cc.on_ack_at(1010, 0, Seq(28), Some(59));
        assert!(!cc.loss_is_congestion());
        cc.on_loss(Seq(29), Seq(40));
        assert_eq!(cc.window(), 32, "a random loss");
        // a queue delays ACKs that arrive over time: the next millisecond shows it too
        cc.on_ack_at(1011, 0, Seq(28), Some(60));
        assert!(cc.loss_is_congestion());
        cc.on_loss(Seq(30), Seq(40));
        assert_eq!(cc.window(), 16, "congestion");
        // without the time, every sample counts as one of its own
        let mut untimed = tolerant_at_32();
        untimed.on_ack(0, Seq(28), Some(61));
        untimed.on_ack(0, Seq(28), Some(60));
        assert!(untimed.loss_is_congestion());
    }

    #[test]
    fn before_the_first_sample_no_loss_sets_the_threshold() {
        let mut cc = Congestion::with_mode(64, CongestionControl::LossTolerant);
        cc.on_loss(Seq(1), Seq(4));
        cc.on_timeout(Seq(4));
        assert_eq!((cc.window(), cc.ssthresh()), (1, 64));
        let mut newreno = Congestion::new(64);
        newreno.on_timeout(Seq(4));
        assert_eq!((newreno.window(), newreno.ssthresh()), (1, 5), "half the initial window of 10");
    }

    #[test]
    fn the_initial_window_carries_at_most_14600_bytes_in_2_to_10_packets() {
        assert_eq!(
            [65, 1200, 1460, 1461, 1622, 4000, 7300, 7301, 65_535].map(initial_window),
            [10, 10, 10, 9, 9, 3, 2, 2, 2]
        );
        assert_eq!(Congestion::new(6).with_initial_window(initial_window(1200)).window(), 6);
        assert_eq!(Congestion::new(64).with_initial_window(0).window(), 1);
    }
}
