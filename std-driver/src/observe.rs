//! Hooks for tools that watch a UDP driver's traffic (the `seqlink` CLI's
//! `--trace` and `--pcap`): every datagram that crosses the socket, every
//! impairment injected, and the core's per-packet trace records.

use seqlink_core::TraceEvent;
use std::fmt;
use std::net::SocketAddr;

/// Which way a datagram went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Sent by this side.
    Out,
    /// Received by this side.
    In,
}

/// What an [`crate::Impairment`] did to a datagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Injected {
    /// Dropped (never sent, or never handed to the core).
    Lost,
    /// Sent twice.
    Duplicated,
    /// One bit flipped on the way in.
    Corrupted,
    /// Held back so that later datagrams overtake it.
    Reordered,
}

/// Watches a UDP driver. Every method has an empty default.
pub trait Observer: Send {
    /// A datagram crossed the socket: as it left (after impairments), or as
    /// the core got it (after bit flips; lost ones never arrive here).
    fn datagram(&mut self, _direction: Direction, _local: SocketAddr, _peer: SocketAddr, _datagram: &[u8]) {}

    /// An impairment acted on `datagram`.
    fn injected(&mut self, _direction: Direction, _what: Injected, _datagram: &[u8]) {}

    /// A trace record of the core (with `LinkConfig::trace_slots` above 0),
    /// with the datagram it is about: the one just built, or the one just received.
    fn trace(&mut self, _event: &TraceEvent, _datagram: &[u8]) {}
}

/// An optional observer (so that drivers stay `Debug`).
#[derive(Default)]
pub(crate) struct Tap(pub(crate) Option<Box<dyn Observer>>);

impl Tap {
    /// Whether an observer is watching.
    pub(crate) fn is_active(&self) -> bool {
        self.0.is_some()
    }

    pub(crate) fn datagram(&mut self, direction: Direction, local: SocketAddr, peer: SocketAddr, datagram: &[u8]) {
        if let Some(o) = &mut self.0 {
            o.datagram(direction, local, peer, datagram);
        }
    }

    pub(crate) fn injected(&mut self, direction: Direction, what: Injected, datagram: &[u8]) {
        if let Some(o) = &mut self.0 {
            o.injected(direction, what, datagram);
        }
    }

    /// Hands every trace record `next` yields, with `datagram`, to the observer.
    pub(crate) fn traces(&mut self, datagram: &[u8], mut next: impl FnMut() -> Option<TraceEvent>) {
        if let Some(o) = &mut self.0 {
            while let Some(e) = next() {
                o.trace(&e, datagram);
            }
        }
    }
}

impl fmt::Debug for Tap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_some() { "Tap(observer)" } else { "Tap(none)" })
    }
}
