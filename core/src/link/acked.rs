//! What the packets one ACK newly acknowledges say: how many there are, the
//! RTT sample they give (`docs/PROTOCOL.md` 6.6), and, with
//! `fast-recovery`, any reordering ([`super::reordering`]).

#[cfg(feature = "fast-recovery")]
use super::reordering::ReorderingSeen;
use super::slots::{SendMeta, F_LOST, F_RESEND};
use super::LinkState;

/// What the packets one ACK newly acknowledges say, gathered packet by packet.
#[derive(Debug, Clone, Copy)]
pub(super) struct NewlyAcked {
    now: u64,
    /// Packets newly acknowledged.
    pub count: u16,
    /// When the newest packet sent once was sent (Karn's rule, strictly:
    /// none counts when any newly acknowledged packet was resent or presumed lost).
    sample_sent_at: Option<u64>,
    ambiguous: bool,
    /// What they say about reordering on the path.
    #[cfg(feature = "fast-recovery")]
    pub reordering: ReorderingSeen,
}

impl NewlyAcked {
    /// Nothing acknowledged yet by the ACK being processed at `now`.
    pub(super) fn start(link: &LinkState, now: u64) -> NewlyAcked {
        #[cfg(not(feature = "fast-recovery"))]
        let _ = link;
        NewlyAcked {
            now,
            count: 0,
            sample_sent_at: None,
            ambiguous: false,
            #[cfg(feature = "fast-recovery")]
            reordering: ReorderingSeen::start(link),
        }
    }

    /// Notes one packet newly acknowledged.
    pub(super) fn note(&mut self, meta: &SendMeta) {
        self.count = self.count.saturating_add(1);
        if meta.retries > 0 || meta.flags & (F_RESEND | F_LOST) != 0 {
            self.ambiguous = true;
        } else if self.sample_sent_at.is_none_or(|s| meta.sent_at > s) {
            self.sample_sent_at = Some(meta.sent_at);
        }
        #[cfg(feature = "fast-recovery")]
        self.reordering.note(meta, self.now);
    }

    /// The round-trip sample this ACK gives, if any.
    pub(super) fn rtt_sample(&self) -> Option<u32> {
        match (self.sample_sent_at, self.ambiguous) {
            (Some(sent_at), false) => Some(u32::try_from(self.now.saturating_sub(sent_at)).unwrap_or(u32::MAX)),
            _ => None,
        }
    }
}
