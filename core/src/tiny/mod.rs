//! A tiny client engine: a seqlink client connection small enough for a
//! microcontroller with a few kilobytes of flash.
//!
//! [`TinyClient`] speaks `docs/PROTOCOL.md` as a peer that leaves out what
//! section 6.9 allows: it sends cumulative acknowledgements only (no SACK
//! bits, no NACK), ignores SACK bits and NACKs it receives, does no fast
//! retransmit and no congestion control, and repairs every loss by the
//! packet's own resend deadline (6.6). It is a client only (the handshake
//! of 7.3 with the Internet checksum; it never offers CRC-32C or coalesced
//! datagrams), sends each message as one plain packet (no fragmentation;
//! a fragmented message from the peer is acknowledged, discarded and
//! reported as [`Event::MessageDropped`]), has no unreliable delivery
//! (unreliable packets are dropped, 6.2), no statistics and no traces. It
//! holds packets that arrive out of order within its window and delivers
//! messages in order. Heartbeats (7.5), the graceful close (7.6) and abort
//! (7.7) are as a full [`crate::Connection`]'s; it interoperates with
//! seqlink's server [`crate::Endpoint`] and with a full connection.
//!
//! The window (`W` packets each way) and the largest payload (`P` bytes)
//! are const generics: they size the caller's [`TinyWindow`] and are what
//! the client proposes. The timer contract and the calls are a
//! [`crate::Connection`]'s: feed datagrams ([`TinyClient::handle_datagram`]),
//! run the timers that are due ([`TinyClient::poll_timeout`],
//! [`TinyClient::handle_timeout`]; [`TinyClient::poll_transmit`] never runs
//! them), send what is ready, read messages and events.
//!
//! ```
//! use seqlink_core::{ConnectionConfig, Endpoint, EndpointConfig, Event, PacketType, Slot, TinyClient, TinyConfig, TinyWindow};
//!
//! let mut window = TinyWindow::<4, 128>::new();
//! let mut client = TinyClient::connect(TinyConfig::new(), &mut window, 0, 42);
//! let config = EndpointConfig::new(ConnectionConfig::new());
//! let slots: Vec<Slot<u8, Vec<u8>>> = vec![Slot::new(vec![0u8; config.connection.storage_len()])];
//! let mut server = Endpoint::new(config, slots, [7; 16], 1);
//!
//! let mut datagram = [0u8; 1500];
//! let mut message = [0u8; 128];
//! let (mut events, mut echoed, mut served) = (Vec::new(), Vec::new(), None);
//! for now in (0..3_000).step_by(10) {
//!     if client.poll_timeout().is_some_and(|t| t <= now) {
//!         client.handle_timeout(now);
//!     }
//!     if server.poll_timeout().is_some_and(|t| t <= now) {
//!         server.handle_timeout(now);
//!     }
//!     while let Some(n) = client.poll_transmit(now, &mut datagram).unwrap() {
//!         server.handle_datagram(now, 9, &datagram[..n]); // the client's address is 9
//!     }
//!     while let Some((_to, n)) = server.poll_transmit(now, &mut datagram).unwrap() {
//!         client.handle_datagram(now, &datagram[..n]);
//!     }
//!     while let Some(event) = client.poll_event() {
//!         events.push(event);
//!         if event == Event::Connected {
//!             client.send(PacketType::CMD_FIRE, b"B5").unwrap();
//!         }
//!     }
//!     // the server echoes what it gets
//!     if let Some(handle) = server.accept() {
//!         served = Some(handle);
//!     }
//!     if let Some(handle) = served {
//!         while let Some(r) = server.recv(handle, &mut message).unwrap() {
//!             server.send(handle, r.ptype, &message[..r.len], seqlink_core::Delivery::Reliable).unwrap();
//!         }
//!     }
//!     while let Some(r) = client.recv(&mut message).unwrap() {
//!         echoed.push(message[..r.len].to_vec());
//!         client.close(now); // the FIN follows; the server answers with its own
//!     }
//! }
//! assert_eq!(echoed, [b"B5".to_vec()]);
//! assert_eq!(events, [Event::Connected, Event::Closed]);
//! ```

mod clock;
mod config;
mod events;
mod handshake;
mod input;
mod output;
mod packet;
mod timers;
mod window;

#[cfg(test)]
mod tests;

pub use config::TinyConfig;
pub use window::TinyWindow;

use crate::bytes::copy_prefix;
use crate::connection::State;
use crate::error::Error;
use crate::event::{Event, FailReason};
use crate::link::{Delivery, Received, SendError, MIN_PAYLOAD};
use crate::rtt::{RttEstimator, Timing};
use crate::seq::Seq;
use crate::wire::handshake::{Agreement, ErrorCode, Params, PROTOCOL_VERSION};
use crate::wire::{PacketType, HEADER_LEN};
use clock::{after, due, time, Time};
use events::Events;
use window::{ring, Held};

/// Packets waiting to be sent besides data (bit flags of `TinyClient::pending`).
mod pending {
    pub const SYN: u8 = 0x01;
    pub const HANDSHAKE_ACK: u8 = 0x02;
    pub const ACK: u8 = 0x04;
    pub const PING: u8 = 0x08;
    pub const PONG: u8 = 0x10;
    /// A close was asked for; the FIN waits for a free send slot.
    pub const FIN: u8 = 0x20;
}

/// Timers that can be off (bit flags of `TinyClient::armed`).
mod armed {
    /// `deadline`: the connect timeout, or the close timeout while closing.
    pub const DEADLINE: u8 = 0x01;
    /// `ack_at`: a delayed acknowledgement.
    pub const ACK: u8 = 0x02;
    /// `resend_floor`: no resend deadline before it (after a timeout).
    pub const FLOOR: u8 = 0x04;
}

/// A small seqlink client over a caller's [`TinyWindow`] of `W` packets of
/// up to `P` payload bytes each way (see the [module docs](self)).
///
/// The window is 1 to 256 packets and the payload 64 to 65 535 bytes, checked
/// when the program is built:
///
/// ```compile_fail
/// use seqlink_core::{TinyClient, TinyConfig, TinyWindow};
/// let mut window = TinyWindow::<4, 32>::new(); // below the 64-byte floor
/// let _client = TinyClient::connect(TinyConfig::new(), &mut window, 0, 1);
/// ```
#[derive(Debug, PartialEq, Eq, Hash)]
// Laid out as written (fields by alignment, largest first): the compiler's
// own order mixed small fields between the constants `connect` writes, which
// it then copied with `memcpy` (172 bytes more code on thumbv6m).
#[repr(C)]
pub struct TinyClient<'w, const W: usize, const P: usize> {
    /// The latest time the caller passed (to give deadlines back on its clock).
    clock: u64,
    /// This client's id and ISN from the start; the server's half once the SYN_ACK came.
    agreement: Agreement,
    window: &'w mut TinyWindow<W, P>,
    config: TinyConfig,
    rtt: RttEstimator,
    failure: Option<FailReason>,
    pong_stamp: u32,
    /// The low 32 bits of the clock when the outstanding ping went.
    ping_stamp: u32,
    // ---- sending: [una, nxt) in flight, [nxt, end) queued ----
    snd_una: Seq,
    snd_nxt: Seq,
    snd_end: Seq,
    /// The peer's window ends here (`cumulative + 1 + window` of its last ACK).
    peer_right: Seq,
    // ---- receiving: [base, nxt) in order and unread, beyond it held out of order ----
    rcv_base: Seq,
    rcv_nxt: Seq,
    // ---- timers ([`clock`] times; those in `armed` only while their flag is set) ----
    /// Connect timeout (handshake) or close timeout (closing).
    deadline: Time,
    /// Handshake retransmission (handshake) or the end of the linger (after the close).
    retry_at: Time,
    ack_at: Time,
    /// No resend deadline falls before this (after a timeout, until new data is acknowledged).
    resend_floor: Time,
    last_recv: Time,
    last_send: Time,
    /// When the peer last made the linger longer.
    linger_mark: Time,
    // ---- 16 and 8 bits ----
    events: Events,
    /// The slot of `snd_una`.
    snd_head: u16,
    /// The slot of `rcv_base`.
    rcv_head: u16,
    /// The window last advertised.
    advertised: u16,
    /// The SYN_ACK was taken: packets are bound to the connection id.
    bound: bool,
    state: State,
    /// [`pending`] flags.
    pending: u8,
    /// [`armed`] flags.
    armed: u8,
    ping_outstanding: bool,
    unanswered_pings: u8,
    /// Handshake attempts so far (each waits twice as long).
    attempts: u8,
    /// A RESET (abort) to send.
    reset: Option<ErrorCode>,
    /// An ERR_MSG with code 6 (idle timeout) to send.
    idle_err: bool,
    /// This side's abort: its RESET is repeated while the linger lasts.
    aborted: Option<ErrorCode>,
    /// A send was refused with `WouldBlock`: report `Writable` when room frees.
    blocked: bool,
    fin_queued: bool,
    /// In-order packets not acknowledged yet.
    unacked: u8,
    peer_finished: bool,
}

impl<'w, const W: usize, const P: usize> TinyClient<'w, W, P> {
    /// Compile-time check of the const generics: a window of 1 to 256
    /// packets and a payload of 64 to 65 535 bytes (`docs/PROTOCOL.md` 7.3).
    const VALID: () = assert!(W >= 1 && W <= 256 && P >= MIN_PAYLOAD as usize && P <= u16::MAX as usize);

    /// Bytes a buffer given to [`TinyClient::poll_transmit`] must hold:
    /// the longest packet this client sends (and the longest a server
    /// without a handshake extension sends it).
    pub const MAX_DATAGRAM_LEN: usize = HEADER_LEN + P;

    /// Starts a client: the first [`TinyClient::poll_transmit`] sends the
    /// SYN. `entropy` is 64 random bits (from a real random source: ids must
    /// be unpredictable): the low 32 become this client's connection id
    /// half, the high 32 its initial sequence number. `window` may be one
    /// lent before (see [`TinyClient::into_window`]): nothing it held is kept.
    pub fn connect(config: TinyConfig, window: &'w mut TinyWindow<W, P>, clock: u64, entropy: u64) -> Self {
        let now = time(clock);
        #[allow(clippy::let_unit_value)]
        let () = Self::VALID;
        let client_id = entropy as u32;
        let isn = Seq((entropy >> 32) as u32);
        // A window lent again (a reconnect) may still hold packets of the
        // last connection: they would pass for this one's.
        for slot in window.recv.iter_mut() {
            slot.held = Held::Empty;
        }
        TinyClient {
            window,
            // Field by field, without the two timing fields this client does
            // not use: a copy of the whole (constant) configuration is a
            // `memcpy`, which alone links about 740 bytes on Cortex-M.
            config: TinyConfig {
                timing: Timing {
                    initial_rto: config.timing.initial_rto,
                    min_rto: config.timing.min_rto,
                    max_rto: config.timing.max_rto,
                    backoff_percent: config.timing.backoff_percent,
                    ack_delay: config.timing.ack_delay,
                    max_retries: config.timing.max_retries,
                    fast_resend: 0,
                    nack_interval: 0,
                },
                heartbeat_ms: config.heartbeat_ms,
                idle_timeout_ms: config.idle_timeout_ms,
                connect_timeout_ms: config.connect_timeout_ms,
                close_timeout_ms: config.close_timeout_ms,
                linger_ms: config.linger_ms,
            },
            rtt: RttEstimator::new(&config.timing),
            agreement: Agreement {
                version: PROTOCOL_VERSION,
                flags: 0,
                client_id,
                client_isn: isn.0,
                server_id: 0,
                server_isn: 0,
                params: Params {
                    max_payload: P as u16,
                    window: W as u16,
                    heartbeat_ms: config.heartbeat_ms,
                    idle_timeout_ms: config.idle_timeout_ms,
                },
                cookie_time: 0,
                cookie: 0,
            },
            bound: false,
            state: State::SynSent,
            pending: pending::SYN,
            pong_stamp: 0,
            ping_stamp: 0,
            ping_outstanding: false,
            unanswered_pings: 0,
            attempts: 0,
            reset: None,
            idle_err: false,
            aborted: None,
            failure: None,
            events: Events::default(),
            snd_una: isn,
            snd_nxt: isn,
            snd_end: isn,
            snd_head: 0,
            peer_right: isn,
            blocked: false,
            fin_queued: false,
            rcv_base: Seq(0),
            rcv_nxt: Seq(0),
            rcv_head: 0,
            advertised: 0,
            unacked: 0,
            peer_finished: false,
            clock,
            armed: armed::DEADLINE,
            deadline: after(now, config.connect_timeout_ms),
            retry_at: now,
            ack_at: now,
            resend_floor: now,
            last_recv: now,
            last_send: now,
            linger_mark: now,
        }
    }

    // ---- state --------------------------------------------------------------

    /// The current state (`docs/PROTOCOL.md` 7.8).
    pub fn state(&self) -> State {
        self.state
    }

    /// Why the connection failed, if it did.
    pub fn failure(&self) -> Option<FailReason> {
        self.failure
    }

    /// The parameters both sides agreed on, once the SYN_ACK arrived.
    pub fn agreement(&self) -> Option<&Agreement> {
        self.bound.then_some(&self.agreement)
    }

    /// The connection id folded into every packet's check (0 before the SYN_ACK).
    pub fn connection_id(&self) -> u32 {
        if self.bound {
            self.agreement.client_id ^ self.agreement.server_id
        } else {
            0
        }
    }

    /// Whether the connection is over (closed or failed).
    pub fn is_closed(&self) -> bool {
        matches!(self.state, State::Closed | State::Failed)
    }

    /// Ends this client and gives its window back, to lend to the next
    /// connection (a reconnect; [`TinyClient::connect`] empties it).
    pub fn into_window(self) -> &'w mut TinyWindow<W, P> {
        self.window
    }

    /// Whether everything sent is acknowledged and nothing is queued.
    pub fn is_idle(&self) -> bool {
        self.snd_una == self.snd_end
    }

    // ---- application calls ----------------------------------------------------

    /// Queues a message of type `ptype` (one packet: at most the agreed
    /// maximum payload). Refused as a [`crate::Connection`] refuses
    /// (`docs/PROTOCOL.md` 9.1): [`SendError::NotConnected`] during the
    /// handshake, [`SendError::Closing`] once either side closed,
    /// [`SendError::Failed`] after a failure, [`SendError::ReservedType`],
    /// [`SendError::MessageTooLarge`], and [`SendError::WouldBlock`] while
    /// the window is full (retry after [`Event::Writable`]).
    pub fn send(&mut self, ptype: PacketType, message: &[u8]) -> Result<(), SendError> {
        match self.state {
            State::Established => {}
            State::SynSent | State::Confirming => return Err(SendError::NotConnected),
            State::Failed => return Err(SendError::Failed),
            _ => return Err(SendError::Closing),
        }
        if ptype.is_protocol() {
            return Err(SendError::ReservedType);
        }
        let max = usize::from(self.agreement.params.max_payload);
        if message.len() > max {
            return Err(SendError::MessageTooLarge { max });
        }
        if !self.queue(ptype, message) {
            self.blocked = true;
            return Err(SendError::WouldBlock);
        }
        Ok(())
    }

    /// Puts a packet in the next send slot; false when the window is full.
    fn queue(&mut self, ptype: PacketType, payload: &[u8]) -> bool {
        let queued = self.snd_end.offset_from(self.snd_una);
        if queued >= u32::from(self.agreement.params.window) {
            return false;
        }
        let Some(slot) = self.window.send.get_mut(ring::<W>(self.snd_head, queued)) else { return false };
        slot.len = copy_prefix(&mut slot.data, payload) as u16;
        slot.ptype = ptype.0;
        slot.retries = 0;
        slot.resend = false;
        slot.retransmitted = false;
        self.snd_end = self.snd_end.next();
        true
    }

    /// Reads the next message into `buf`: `Ok(None)` when none is ready,
    /// [`Error::BufferTooSmall`] (nothing consumed) when `buf` is too
    /// short. Messages that arrived before a close stay readable after it.
    pub fn recv(&mut self, buf: &mut [u8]) -> Result<Option<Received>, Error> {
        while self.rcv_base != self.rcv_nxt {
            let Some(slot) = self.window.recv.get_mut(usize::from(self.rcv_head)) else { return Ok(None) };
            if slot.held == Held::Message {
                let len = usize::from(slot.len);
                let Some(dst) = buf.get_mut(..len) else {
                    return Err(Error::BufferTooSmall { needed: len, available: buf.len() });
                };
                copy_prefix(dst, &slot.data);
                let received = Received { ptype: PacketType(slot.ptype), len, delivery: Delivery::Reliable };
                self.consume();
                return Ok(Some(received));
            }
            self.consume(); // a FIN or a dropped fragment: nothing to read
        }
        Ok(None)
    }

    /// Frees the slot at `rcv_base`; a window update is due when the
    /// window grows from 0 or by half of it since the last advertisement (6.5).
    fn consume(&mut self) {
        if let Some(slot) = self.window.recv.get_mut(usize::from(self.rcv_head)) {
            slot.held = Held::Empty;
        }
        self.rcv_base = self.rcv_base.next();
        self.rcv_head = ring::<W>(self.rcv_head, 1) as u16;
        let free = self.free_window();
        if (self.advertised == 0 && free > 0) || free >= self.advertised + self.agreement.params.window / 2 {
            self.pending |= pending::ACK;
        }
    }

    /// The receive window still free: the agreed window minus what is in order and unread.
    fn free_window(&self) -> u16 {
        let unread = self.rcv_nxt.offset_from(self.rcv_base);
        (u32::from(self.agreement.params.window).saturating_sub(unread)) as u16
    }

    /// The next event: `Connected`, a dropped message, `Writable`, and the
    /// one final `Closed` or `Failed`.
    pub fn poll_event(&mut self) -> Option<Event> {
        let taking = self.state == State::Established;
        self.events.pop(self.failure, taking)
    }

    /// Starts a graceful close (`docs/PROTOCOL.md` 7.6): a FIN follows
    /// everything queued, the server answers with its own FIN after its
    /// data, and both are acknowledged; then the client reports `Closed`
    /// and lingers for `linger_ms`. Nothing more can be sent. Before the
    /// handshake completed the client closes at once. A close that does not
    /// complete within `close_timeout_ms` fails with `CloseTimeout`.
    pub fn close(&mut self, now: u64) {
        let now = self.tick(now);
        match self.state {
            State::Established => self.start_close(now),
            State::SynSent | State::Confirming => self.finish(State::Closed, None),
            _ => {}
        }
    }

    fn start_close(&mut self, now: Time) {
        self.state = State::Closing;
        self.deadline = after(now, self.config.close_timeout_ms);
        self.armed |= armed::DEADLINE;
        self.pending |= pending::FIN;
        self.queue_fin();
    }

    /// Queues the FIN as soon as a send slot is free.
    fn queue_fin(&mut self) {
        if self.pending & pending::FIN != 0 && self.queue(PacketType::FIN, &[]) {
            self.pending &= !pending::FIN;
            self.fin_queued = true;
        }
    }

    /// Aborts at once (`docs/PROTOCOL.md` 7.7): a RESET with `code` goes to
    /// the server (once the handshake got that far) and the connection is
    /// closed; queued and unacknowledged data is dropped. For `linger_ms`
    /// after `now` every packet of the connection that still arrives is
    /// answered with the RESET again.
    pub fn abort(&mut self, now: u64, code: ErrorCode) {
        let now = self.tick(now);
        if !self.is_closed() {
            if self.bound {
                self.reset = Some(code);
                self.aborted = Some(code);
                self.retry_at = after(now, self.config.linger_ms);
            }
            self.finish(State::Closed, None);
        }
    }

    /// Takes the caller's clock: the latest time is kept for [`TinyClient::poll_timeout`].
    fn tick(&mut self, now: u64) -> Time {
        self.clock = self.clock.max(now);
        time(now)
    }

    fn fail(&mut self, reason: FailReason) {
        self.finish(State::Failed, Some(reason));
    }

    /// Ends the connection with exactly one final event (none after `Linger`,
    /// which reported `Closed` on entering it).
    fn finish(&mut self, state: State, failure: Option<FailReason>) {
        match self.state {
            State::Closed | State::Failed => {}
            State::Linger => self.state = State::Closed,
            _ => {
                self.state = state;
                self.failure = failure;
                self.events.finished = true;
            }
        }
    }
}
