//! Per-slot bookkeeping, stored as bytes in the caller's storage so that any
//! byte buffer works (no alignment, no `unsafe`).

#[cfg(feature = "unreliable")]
use super::config::UNRELIABLE_META_LEN;
use super::config::{RECV_META_LEN, SEND_META_LEN};
use crate::bytes::copy_prefix;

/// Send slot states.
#[allow(dead_code)] // written as zero bytes when a slot is freed (`free_meta`)
pub(crate) const FREE: u8 = 0;
pub(crate) const QUEUED: u8 = 1;
pub(crate) const SENT: u8 = 2;
pub(crate) const ACKED: u8 = 3;

/// Slot flags.
pub(crate) const F_FRAGMENT: u8 = 0x01;
/// Retransmit at once (NACK or fast retransmit), whatever the congestion window.
pub(crate) const F_RESEND: u8 = 0x04;
/// Presumed lost by a retransmission timeout: retransmit as the congestion window allows.
pub(crate) const F_LOST: u8 = 0x08;

fn bytes<const N: usize>(b: &[u8]) -> [u8; N] {
    let mut out = [0u8; N];
    for (d, s) in out.iter_mut().zip(b) {
        *d = *s;
    }
    out
}

/// Bookkeeping of one packet in the send window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct SendMeta {
    pub state: u8,
    pub retries: u8,
    pub app_type: u8,
    pub flags: u8,
    pub len: u16,
    pub frag_index: u16,
    pub frag_count: u16,
    /// ACKs that reported a packet sent after this one's last transmission.
    pub fastack: u8,
    /// Resends not caused by its timer (fast retransmit, NACK): its timer
    /// backs off once per `retries - quick`, and fast retransmit stops at
    /// `MAX_FAST_RESENDS` (with `fast-recovery`).
    pub quick: u8,
    /// When it was last (re)sent: its resend deadline runs from here.
    pub sent_at: u64,
    /// The link's transmission count at its last (re)transmission: which
    /// packets left after it, also within one millisecond.
    pub tx: u32,
}

impl SendMeta {
    pub(crate) fn read(b: &[u8]) -> SendMeta {
        #[cfg(feature = "fast-recovery")]
        let [state, retries, app_type, flags, l0, l1, i0, i1, c0, c1, s0, s1, s2, s3, s4, s5, s6, s7, f0, f1, t0, t1, t2, t3] =
            bytes::<SEND_META_LEN>(b);
        // the fast retransmit bookkeeping is kept only with `fast-recovery` (else 0)
        #[cfg(not(feature = "fast-recovery"))]
        let (
            [state, retries, app_type, flags, l0, l1, i0, i1, c0, c1, s0, s1, s2, s3, s4, s5, s6, s7],
            [f0, f1, t0, t1, t2, t3],
        ) = (bytes::<SEND_META_LEN>(b), [0u8; 6]);
        SendMeta {
            state,
            retries,
            app_type,
            flags,
            len: u16::from_le_bytes([l0, l1]),
            frag_index: u16::from_le_bytes([i0, i1]),
            frag_count: u16::from_le_bytes([c0, c1]),
            fastack: f0,
            quick: f1,
            sent_at: u64::from_le_bytes([s0, s1, s2, s3, s4, s5, s6, s7]),
            tx: u32::from_le_bytes([t0, t1, t2, t3]),
        }
    }

    pub(crate) fn write(&self, b: &mut [u8]) {
        let [l0, l1] = self.len.to_le_bytes();
        let [i0, i1] = self.frag_index.to_le_bytes();
        let [c0, c1] = self.frag_count.to_le_bytes();
        let [s0, s1, s2, s3, s4, s5, s6, s7] = self.sent_at.to_le_bytes();
        let (state, retries, app_type, flags) = (self.state, self.retries, self.app_type, self.flags);
        let base = [state, retries, app_type, flags, l0, l1, i0, i1, c0, c1, s0, s1, s2, s3, s4, s5, s6, s7];
        #[cfg(feature = "fast-recovery")]
        let bytes: [u8; SEND_META_LEN] = {
            let [t0, t1, t2, t3] = self.tx.to_le_bytes();
            let [b0, b1, b2, b3, b4, b5, b6, b7, b8, b9, b10, b11, b12, b13, b14, b15, b16, b17] = base;
            let (f0, f1) = (self.fastack, self.quick);
            [b0, b1, b2, b3, b4, b5, b6, b7, b8, b9, b10, b11, b12, b13, b14, b15, b16, b17, f0, f1, t0, t1, t2, t3]
        };
        #[cfg(not(feature = "fast-recovery"))]
        let bytes: [u8; SEND_META_LEN] = base;
        copy_prefix(b, &bytes);
    }
}

/// Bookkeeping of one packet in the receive window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct RecvMeta {
    pub filled: bool,
    pub app_type: u8,
    pub flags: u8,
    pub len: u16,
    pub frag_index: u16,
    pub frag_count: u16,
}

impl RecvMeta {
    pub(crate) fn read(b: &[u8]) -> RecvMeta {
        let [filled, app_type, flags, _, l0, l1, i0, i1, c0, c1] = bytes::<RECV_META_LEN>(b);
        RecvMeta {
            filled: filled != 0,
            app_type,
            flags,
            len: u16::from_le_bytes([l0, l1]),
            frag_index: u16::from_le_bytes([i0, i1]),
            frag_count: u16::from_le_bytes([c0, c1]),
        }
    }

    pub(crate) fn write(&self, b: &mut [u8]) {
        let [l0, l1] = self.len.to_le_bytes();
        let [i0, i1] = self.frag_index.to_le_bytes();
        let [c0, c1] = self.frag_count.to_le_bytes();
        let bytes: [u8; RECV_META_LEN] = [u8::from(self.filled), self.app_type, self.flags, 0, l0, l1, i0, i1, c0, c1];
        copy_prefix(b, &bytes);
    }
}

/// Bookkeeping of one queued unreliable message.
#[cfg(feature = "unreliable")]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct UnreliableMeta {
    pub len: u16,
    pub app_type: u8,
}

#[cfg(feature = "unreliable")]
impl UnreliableMeta {
    pub(crate) fn read(b: &[u8]) -> UnreliableMeta {
        let [l0, l1, app_type, _] = bytes::<UNRELIABLE_META_LEN>(b);
        UnreliableMeta { len: u16::from_le_bytes([l0, l1]), app_type }
    }

    pub(crate) fn write(&self, b: &mut [u8]) {
        let [l0, l1] = self.len.to_le_bytes();
        copy_prefix(b, &[l0, l1, self.app_type, 0]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_slots_are_zero_bytes() {
        // LinkState::clear_slots frees the windows by zeroing them
        let mut b = [0u8; SEND_META_LEN];
        assert_eq!(SendMeta::read(&b), SendMeta::default());
        assert_eq!(SendMeta::read(&b).state, FREE);
        SendMeta::default().write(&mut b);
        assert_eq!(b, [0u8; SEND_META_LEN]);
        let mut b = [0u8; RECV_META_LEN];
        assert_eq!(RecvMeta::read(&b), RecvMeta::default());
        RecvMeta::default().write(&mut b);
        assert_eq!(b, [0u8; RECV_META_LEN]);
    }

    #[test]
    fn metas_round_trip() {
        let m = SendMeta {
            state: SENT,
            retries: 3,
            app_type: 77,
            flags: F_FRAGMENT | F_RESEND,
            len: 1200,
            frag_index: 5,
            frag_count: 9,
            // kept only with `fast-recovery`
            fastack: if cfg!(feature = "fast-recovery") { 2 } else { 0 },
            quick: if cfg!(feature = "fast-recovery") { 4 } else { 0 },
            sent_at: u64::MAX - 5,
            tx: if cfg!(feature = "fast-recovery") { 0xdead_beef } else { 0 },
        };
        let mut b = [0u8; SEND_META_LEN];
        m.write(&mut b);
        assert_eq!(SendMeta::read(&b), m);
        let r = RecvMeta { filled: true, app_type: 3, flags: F_FRAGMENT, len: 99, frag_index: 1, frag_count: 2 };
        let mut b = [0u8; RECV_META_LEN];
        r.write(&mut b);
        assert_eq!(RecvMeta::read(&b), r);
        #[cfg(feature = "unreliable")]
        {
            let u = UnreliableMeta { len: 7, app_type: 200 };
            let mut b = [0u8; UNRELIABLE_META_LEN];
            u.write(&mut b);
            assert_eq!(UnreliableMeta::read(&b), u);
        }
    }
}
