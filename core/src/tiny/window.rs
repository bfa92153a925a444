//! The caller's window storage: `W` send slots and `W` receive slots of
//! `P` payload bytes each, used as rings.

/// One packet this side sent or queued: resent from here until acknowledged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) struct SendSlot<const P: usize> {
    /// When it was last transmitted (ms).
    pub last_sent: super::Time,
    /// Payload bytes in `data`.
    pub len: u16,
    /// Its packet type (an application type, or FIN).
    pub ptype: u8,
    /// Retransmissions so far (each one caused by its deadline).
    pub retries: u8,
    /// Presumed lost: resend at the next `poll_transmit`.
    pub resend: bool,
    /// Transmitted more than once (no RTT sample from it, Karn's rule).
    pub retransmitted: bool,
    pub data: [u8; P],
}

/// What a receive slot holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum Held {
    /// Nothing (not arrived yet, or already read).
    Empty,
    /// A message of `len` bytes of type `ptype`.
    Message,
    /// The peer's FIN.
    Fin,
    /// A fragment of a message this client cannot reassemble; `len` is the
    /// fragment count when it is the message's first, else 0.
    Dropped,
}

/// One packet received and not yet read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) struct RecvSlot<const P: usize> {
    pub held: Held,
    pub ptype: u8,
    pub len: u16,
    pub data: [u8; P],
}

/// The window storage of a [`super::TinyClient`]: `W` packets of up to `P`
/// payload bytes each way. The caller owns it (a `static` on a
/// microcontroller) and lends it to the client.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TinyWindow<const W: usize, const P: usize> {
    pub(super) send: [SendSlot<P>; W],
    pub(super) recv: [RecvSlot<P>; W],
}

impl<const P: usize> SendSlot<P> {
    const EMPTY: SendSlot<P> =
        SendSlot { last_sent: 0, len: 0, ptype: 0, retries: 0, resend: false, retransmitted: false, data: [0; P] };

    /// The payload bytes.
    pub fn payload(&self) -> &[u8] {
        self.data.get(..usize::from(self.len)).unwrap_or(&[])
    }
}

impl<const P: usize> RecvSlot<P> {
    const EMPTY: RecvSlot<P> = RecvSlot { held: Held::Empty, ptype: 0, len: 0, data: [0; P] };
}

impl<const W: usize, const P: usize> TinyWindow<W, P> {
    /// Empty storage (a `const fn`, so it can initialise a `static`).
    pub const fn new() -> TinyWindow<W, P> {
        TinyWindow { send: [SendSlot::EMPTY; W], recv: [RecvSlot::EMPTY; W] }
    }
}

impl<const W: usize, const P: usize> Default for TinyWindow<W, P> {
    fn default() -> TinyWindow<W, P> {
        TinyWindow::new()
    }
}

/// The slot `offset` places after `head` in a ring of `W` slots (`offset <= W`).
pub(super) const fn ring<const W: usize>(head: u16, offset: u32) -> usize {
    let index = head as usize + offset as usize;
    if index >= W {
        index - W
    } else {
        index
    }
}
