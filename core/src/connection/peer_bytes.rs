//! Bytes the peer sent that the connection keeps for the application: its
//! handshake extension and the reason text of its ERR_MSG.
//!
//! Kept only with the `peer-details` feature; without it nothing is kept
//! (and no room is taken in the connection), and they read as empty.

#[cfg(feature = "peer-details")]
use crate::bytes::copy_prefix;

/// Up to `N` bytes from the peer, the rest cut off.
#[cfg(feature = "peer-details")]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) struct PeerBytes<const N: usize> {
    bytes: [u8; N],
    len: u8,
}

#[cfg(feature = "peer-details")]
impl<const N: usize> PeerBytes<N> {
    pub(super) const fn new() -> PeerBytes<N> {
        PeerBytes { bytes: [0; N], len: 0 }
    }

    /// Keeps the first `N` bytes of `bytes`.
    pub(super) fn keep(&mut self, bytes: &[u8]) {
        self.len = copy_prefix(&mut self.bytes, bytes) as u8;
    }

    pub(super) fn get(&self) -> &[u8] {
        self.bytes.get(..usize::from(self.len)).unwrap_or(&[])
    }
}

/// Nothing: this build keeps no bytes from the peer.
#[cfg(not(feature = "peer-details"))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) struct PeerBytes<const N: usize>;

#[cfg(not(feature = "peer-details"))]
impl<const N: usize> PeerBytes<N> {
    pub(super) const fn new() -> PeerBytes<N> {
        PeerBytes
    }

    pub(super) fn keep(&mut self, _bytes: &[u8]) {}

    pub(super) fn get(&self) -> &[u8] {
        &[]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(feature = "peer-details")]
    #[test]
    fn keeps_the_first_n_bytes() {
        let mut kept = PeerBytes::<4>::new();
        assert_eq!(kept.get(), b"");
        kept.keep(b"ab");
        assert_eq!(kept.get(), b"ab");
        kept.keep(b"server full");
        assert_eq!(kept.get(), b"serv");
    }

    #[cfg(not(feature = "peer-details"))]
    #[test]
    fn without_peer_details_nothing_is_kept_or_stored() {
        let mut kept = PeerBytes::<48>::new();
        kept.keep(b"server full");
        assert_eq!(kept.get(), b"");
        assert_eq!(core::mem::size_of::<PeerBytes<48>>(), 0);
    }
}
