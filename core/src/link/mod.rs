//! The reliability engine: selective-repeat send and receive windows,
//! ACK/SACK/NACK, RFC 6298 retransmission timers, loss-tolerant or NewReno congestion
//! control, fragmentation, and unreliable-sequenced messages.
//!
//! A [`Link`] is sans-IO. The caller feeds it datagrams and the time, asks it
//! for datagrams to send and for the next deadline, and reads messages and
//! events out of it. All storage is one byte buffer the caller provides, of
//! [`LinkConfig::storage_len`] bytes.
//!
//! ```
//! use seqlink_core::link::{Delivery, Link, LinkConfig};
//! use seqlink_core::PacketType;
//!
//! let config = LinkConfig::new().with_window(8).with_max_payload(256);
//! let mut a = Link::new(config, vec![0u8; config.storage_len()]).unwrap();
//! let mut b = Link::new(config, vec![0u8; config.storage_len()]).unwrap();
//! a.send(PacketType(100), b"hello", Delivery::Reliable).unwrap();
//!
//! let mut datagram = [0u8; 512];
//! let mut message = [0u8; 64];
//! let mut now = 0;
//! let received = loop {
//!     // carry datagrams both ways until b has the message
//!     while let Some(n) = a.poll_transmit(now, &mut datagram).unwrap() {
//!         b.handle_datagram(now, &datagram[..n]);
//!     }
//!     while let Some(n) = b.poll_transmit(now, &mut datagram).unwrap() {
//!         a.handle_datagram(now, &datagram[..n]);
//!     }
//!     if let Some(r) = b.recv(&mut message).unwrap() {
//!         break r;
//!     }
//!     now += 10;
//! };
//! assert_eq!(&message[..received.len], b"hello");
//! assert_eq!(received.ptype, PacketType(100));
//! ```
//!
//! Timer rules, packet formats and the window arithmetic are specified in
//! `docs/PROTOCOL.md`.

mod acked;
mod config;
#[cfg(feature = "congestion")]
mod pacing;
mod receive;
#[cfg(feature = "coalescing")]
mod redundancy;
#[cfg(feature = "fast-recovery")]
mod reordering;
mod slots;
mod stats;
mod transmit;
#[cfg(not(feature = "congestion"))]
mod uncongested;

pub use config::{ConfigError, LinkConfig, DEFAULT_WINDOW, MAX_WINDOW, MIN_PAYLOAD};
use stats::Counters;
pub use stats::Stats;

pub(crate) use crate::bytes::{copy_prefix, ring_index};
#[cfg(feature = "congestion")]
use crate::congestion::Congestion;
use crate::error::Error;
use crate::event::{Event, FailReason, TraceEvent, TraceKind, TRACE_RECORD_LEN};
use crate::rtt::RttEstimator;
use crate::seq::Seq;
use crate::wire::{PacketRepr, PacketType};
#[cfg(feature = "unreliable")]
use config::UNRELIABLE_META_LEN;
use config::{Layout, SEND_META_LEN};
#[cfg(feature = "unreliable")]
use slots::UnreliableMeta;
use slots::{RecvMeta, SendMeta, F_FRAGMENT, QUEUED};
#[cfg(not(feature = "congestion"))]
use uncongested::Unlimited as Congestion;

/// How a message is delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(u8)]
pub enum Delivery {
    /// Delivered exactly once, in order; retransmitted until acknowledged.
    #[default]
    Reliable = 0,
    /// Sent once; delivered only if newer than every unreliable message
    /// delivered before it (late and duplicate ones are dropped).
    Unreliable = 1,
}

/// Why `send` refused a message.
///
/// Each kind has a stable [`code`](SendError::code) (20..=39, see
/// [`crate::describe`]) and a constant description ([`SendError::as_str`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[non_exhaustive]
pub enum SendError {
    /// The send window has no room now; retry after [`Event::Writable`].
    WouldBlock,
    /// The message can never be sent: it is longer than `max`.
    MessageTooLarge {
        /// The longest message this link can send with this delivery mode.
        max: usize,
    },
    /// Types 20..=47 belong to the protocol.
    ReservedType,
    /// Unreliable delivery is disabled (`unreliable_slots` is 0).
    UnreliableDisabled,
    /// The link or connection has failed (see its `failure()`); nothing more is sent.
    Failed,
    /// The connection's handshake has not completed yet; retry after [`Event::Connected`].
    NotConnected,
    /// The connection is closing or closed (this side called `close()`, or the
    /// peer closed; for a link, a FIN was queued): nothing more is sent.
    Closing,
    /// The endpoint has no connection with this handle (never had, or released it).
    UnknownHandle,
}

impl SendError {
    /// The stable code of this kind of refusal (20..=39, see [`crate::describe`]).
    pub const fn code(&self) -> u8 {
        match self {
            SendError::WouldBlock => 20,
            SendError::MessageTooLarge { .. } => 21,
            SendError::ReservedType => 22,
            SendError::UnreliableDisabled => 23,
            SendError::Failed => 24,
            SendError::NotConnected => 25,
            SendError::Closing => 26,
            SendError::UnknownHandle => 27,
        }
    }

    /// A short constant description.
    pub const fn as_str(&self) -> &'static str {
        SendError::text(self.code())
    }

    pub(crate) const fn text(code: u8) -> &'static str {
        match code {
            20 => "would block: the send window is full",
            21 => "message too large",
            22 => "reserved packet type: 20..=47 belong to the protocol",
            23 => "unreliable delivery is disabled",
            24 => "the connection failed",
            25 => "not connected yet: the handshake is not complete",
            26 => "closing: nothing more is sent",
            27 => "unknown connection handle",
            _ => crate::error::UNKNOWN_CODE,
        }
    }
}

/// The description ([`SendError::as_str`]), with the maximum for [`SendError::MessageTooLarge`].
impl core::fmt::Display for SendError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())?;
        match *self {
            SendError::MessageTooLarge { max } => write!(f, " (maximum {max} bytes)"),
            _ => Ok(()),
        }
    }
}

impl core::error::Error for SendError {}

/// A message handed to the application by [`Link::recv`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Received {
    /// The application's packet type.
    pub ptype: PacketType,
    /// Bytes written to the caller's buffer.
    pub len: usize,
    /// How it was sent.
    pub delivery: Delivery,
}

/// Whether the link took a packet given to [`Link::handle_packet`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub(crate) enum Handled {
    /// The packet was data, an ACK or a NACK, and has been processed.
    Consumed,
    /// A packet type the link does not handle (handshake, heartbeat, error, ...).
    NotMine,
}

/// The reliability engine over caller-provided storage `S` (`&mut [u8]`,
/// `[u8; N]`, `Vec<u8>`, ...). See the [module docs](self).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Link<S> {
    storage: S,
    state: LinkState,
}

impl<S: AsMut<[u8]>> Link<S> {
    /// A link with `config` over `storage` (at least [`LinkConfig::storage_len`] bytes).
    pub fn new(config: LinkConfig, mut storage: S) -> Result<Link<S>, ConfigError> {
        LinkState::check(&config, storage.as_mut())?;
        Ok(Link::checked(config, storage))
    }

    /// [`Link::new`] once `storage` passed [`check_storage`] for `config`.
    /// Nothing is changed after the link is built, so a caller's
    /// `Ok(Connection { link: Link::checked(..), .. })` builds it in place.
    pub(crate) fn checked(config: LinkConfig, mut storage: S) -> Link<S> {
        LinkState::clear_windows(&config, storage.as_mut());
        Link { storage, state: LinkState::fresh(config) }
    }

    /// Queues a message. A reliable message longer than one packet is
    /// fragmented; all its packets must fit the send window at once.
    /// Refused with [`SendError::Failed`] once the link failed and
    /// [`SendError::Closing`] once a FIN was queued.
    pub fn send(&mut self, ptype: PacketType, message: &[u8], delivery: Delivery) -> Result<(), SendError> {
        self.state.send(self.storage.as_mut(), ptype, message, delivery)
    }

    /// Feeds one received datagram (one packet).
    pub fn handle_datagram(&mut self, now: u64, datagram: &[u8]) {
        self.state.handle_datagram(self.storage.as_mut(), now, datagram);
    }

    /// Feeds one already decoded and verified packet (for a connection that
    /// demultiplexes packet types itself).
    pub(crate) fn handle_packet(&mut self, now: u64, packet: &PacketRepr<'_>, wire_len: usize) -> Handled {
        self.state.handle_packet(self.storage.as_mut(), now, packet, wire_len)
    }

    /// Starts taking the packets of one coalesced datagram (from a caller
    /// that decodes itself): until [`Link::close_datagram`], a duplicate
    /// forces no ACK if new data comes with it (`docs/PROTOCOL.md` 6.5).
    #[cfg(feature = "coalescing")]
    pub(crate) fn open_datagram(&mut self) {
        self.state.open_datagram();
    }

    /// Ends the coalesced datagram [`Link::open_datagram`] started.
    #[cfg(feature = "coalescing")]
    pub(crate) fn close_datagram(&mut self) {
        self.state.close_datagram();
    }

    /// Counts a datagram that failed decoding (from a caller that decodes itself).
    pub(crate) fn note_corrupt(&mut self, now: u64, wire_len: usize) {
        self.state.on_corrupt(self.storage.as_mut(), now, wire_len);
    }

    /// Writes the next datagram to send into `buf`; `Ok(None)` when there is
    /// nothing to send now. `buf` must hold [`LinkConfig::max_datagram_len`] bytes.
    pub fn poll_transmit(&mut self, now: u64, buf: &mut [u8]) -> Result<Option<usize>, Error> {
        self.state.poll_transmit(self.storage.as_mut(), now, buf)
    }

    /// The next time [`Link::handle_timeout`] (or `poll_transmit`) has work to do.
    pub fn poll_timeout(&self) -> Option<u64> {
        self.state.poll_timeout()
    }

    /// Processes timers that expired by `now` (retransmissions, delayed ACKs).
    pub fn handle_timeout(&mut self, now: u64) {
        self.state.on_timers(self.storage.as_mut(), now);
    }

    /// Reads the next delivered message into `buf`. `Ok(None)` when none is
    /// ready; [`Error::BufferTooSmall`] (nothing consumed) when `buf` is too short.
    pub fn recv(&mut self, buf: &mut [u8]) -> Result<Option<Received>, Error> {
        self.state.recv(self.storage.as_mut(), buf)
    }

    /// Length of the next message [`Link::recv`] would return, if one is ready.
    pub fn next_message_len(&mut self) -> Option<usize> {
        self.state.next_message_len(self.storage.as_mut())
    }

    /// The next event, if any.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.state.poll_event()
    }

    /// The oldest unread packet trace record, if tracing is on.
    pub fn poll_trace(&mut self) -> Option<TraceEvent> {
        self.state.poll_trace(self.storage.as_mut())
    }

    /// Statistics so far.
    pub fn stats(&self) -> Stats {
        self.state.stats()
    }

    /// Starts over with another configuration on the same storage (which
    /// must hold [`LinkConfig::storage_len`] bytes for it): everything queued,
    /// in flight or unread is dropped and the statistics restart.
    pub fn reconfigure(&mut self, config: LinkConfig) -> Result<(), ConfigError> {
        self.state.reset(config, self.storage.as_mut())
    }

    /// Applies the handshake's agreement, in place: the same as
    /// [`Link::reconfigure`] for a link that has carried no packet yet (only
    /// corrupt datagrams counted), without building a second copy of its
    /// state. `config` differs from the link's only in what the agreement
    /// sets: payload, windows, integrity, pseudo-header, initial sequence
    /// numbers, retransmission and congestion control.
    pub(crate) fn establish(&mut self, config: &LinkConfig) -> Result<(), ConfigError> {
        self.state.establish(config, self.storage.as_mut())
    }

    /// Queues a FIN after everything queued: the peer sees it in order, once
    /// every message before it has arrived. Nothing may be sent after it.
    pub fn send_fin(&mut self) -> Result<(), SendError> {
        self.state.send_fin(self.storage.as_mut())
    }

    /// Whether this side's FIN was queued and everything, FIN included, is acknowledged.
    pub fn fin_acknowledged(&self) -> bool {
        self.state.fin_sent && self.is_idle()
    }

    /// Whether the peer's FIN arrived in order: every message it sent has arrived.
    pub fn peer_finished(&self) -> bool {
        self.state.fin_recv.is_some_and(|fin| fin.is_before(self.state.rcv_nxt))
    }

    /// Asks for an acknowledgement to be sent now (also when nothing is unacknowledged).
    pub fn request_ack(&mut self) {
        self.state.ack_now = true;
    }

    /// Feeds an RTT measured outside the link (a heartbeat's round trip).
    pub fn on_rtt_sample(&mut self, rtt_ms: u32) {
        self.state.rtt.on_sample(rtt_ms, &self.state.config.timing);
    }

    /// The smoothed RTT (0 before any sample) and the current RTO (before
    /// the backoff each packet applies to its own deadline), milliseconds.
    pub fn rtt(&self) -> (u32, u32) {
        (self.state.rtt.srtt(), self.state.current_rto())
    }

    /// The configuration.
    pub fn config(&self) -> &LinkConfig {
        &self.state.config
    }

    /// Whether everything sent has been acknowledged and nothing is queued.
    pub fn is_idle(&self) -> bool {
        self.state.snd_una == self.state.snd_end && !self.state.unreliable_queued()
    }

    /// Packets that `send` can still queue.
    pub fn send_capacity(&self) -> usize {
        usize::from(self.state.config.send_window) - self.state.snd_end.offset_from(self.state.snd_una) as usize
    }

    /// Why the link failed, if it did.
    pub fn failure(&self) -> Option<FailReason> {
        self.state.failed
    }

    /// The next new sequence number this side will send: the `seq` of its control packets.
    pub(crate) fn next_send_seq(&self) -> Seq {
        self.state.snd_nxt
    }

    /// Whether `seq` can be the peer's next new sequence number: within
    /// `[next expected, next expected + window]` (a window-respecting peer
    /// never has more than a window sent past what this side acknowledged).
    pub(crate) fn is_plausible_peer_seq(&self, seq: Seq) -> bool {
        seq.in_window(self.state.rcv_nxt, u32::from(self.state.config.recv_window) + 1)
    }

    /// Whether `seq` is one this side sent and still waits on, or its next one: `[oldest unacknowledged, next]`.
    pub(crate) fn is_unacknowledged_seq(&self, seq: Seq) -> bool {
        seq.in_window(self.state.snd_una, self.state.snd_nxt.offset_from(self.state.snd_una) + 1)
    }

    /// The storage, given back.
    pub fn into_storage(self) -> S {
        self.storage
    }
}

/// `LinkState::held_since` when no data is held back.
#[cfg(feature = "coalescing")]
const NOT_HELD: u64 = u64::MAX;

/// All of a link's state that is not in the caller's storage.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct LinkState {
    config: LinkConfig,
    // send side: [snd_una, snd_nxt) sent, [snd_nxt, snd_end) queued
    snd_una: Seq,
    snd_nxt: Seq,
    snd_end: Seq,
    /// The receive window last advertised to the peer. (Declared before the
    /// other 16-bit fields, which start at zero: a long zeroed run at an
    /// 8-aligned offset makes a new link's construction link `memclr8`, 174 B
    /// of flash on Cortex-M.)
    last_adv_window: u16,
    snd_base_slot: u16,
    /// First sequence number the peer cannot take yet.
    peer_right: Seq,
    /// Packets flagged `F_RESEND` / `F_LOST`.
    resend_pending: u16,
    lost_pending: u16,
    /// The earliest resend deadline of the outstanding packets (each has its
    /// own: sent_at + RTO backed off per timeout of that packet + ack_delay).
    rto_deadline: Option<u64>,
    /// After a timeout, no other packet's deadline falls before this, until
    /// an ACK newly acknowledges something (RFC 6298 5.5-5.6: a silent path
    /// gets its oldest packet, not its whole window, once per RTO).
    timeout_hold: Option<u64>,
    // receive side: [rcv_base, rcv_nxt) in order and unread; rcv_high is one past the highest received
    rcv_base: Seq,
    rcv_nxt: Seq,
    rcv_high: Seq,
    rcv_base_slot: u16,
    discard: u16,
    // unreliable
    #[cfg(feature = "unreliable")]
    unrel_send_seq: Seq,
    #[cfg(feature = "unreliable")]
    unrel_recv_last: Option<Seq>,
    #[cfg(feature = "unreliable")]
    unrel_send_head: u8,
    #[cfg(feature = "unreliable")]
    unrel_send_len: u8,
    #[cfg(feature = "unreliable")]
    unrel_recv_head: u8,
    #[cfg(feature = "unreliable")]
    unrel_recv_len: u8,
    // timing and control
    rtt: RttEstimator,
    cc: Congestion,
    ack_now: bool,
    ack_deadline: Option<u64>,
    rx_unacked: u8,
    /// A NACK to send, naming the holes from this sequence number on.
    #[cfg(feature = "fast-recovery")]
    nack_pending: Option<Seq>,
    /// The first hole the last NACK named, and when.
    #[cfg(feature = "fast-recovery")]
    last_nack: Option<(Seq, u64)>,
    /// The highest hole the last NACK named.
    #[cfg(feature = "fast-recovery")]
    nack_high: Seq,
    /// Reliable data packets (re)transmitted so far, wrapping: orders transmissions.
    #[cfg(feature = "fast-recovery")]
    tx_count: u32,
    /// The clock at the latest (re)transmission since the send window was
    /// last empty; `u64::MAX` once it ran backwards meanwhile (`rearm`
    /// then walks the whole window).
    #[cfg(feature = "fast-recovery")]
    latest_tx_at: u64,
    /// One past the newest packet noted as a suspect held back by
    /// reordering (`rearm`: no packet from here on waits out a reordering
    /// window); the oldest outstanding packet when behind it.
    #[cfg(feature = "fast-recovery")]
    suspects_end: Seq,
    /// First transmissions in the latest millisecond that had any (pacing).
    #[cfg(feature = "congestion")]
    pace: pacing::PaceSlot,
    /// The latest transmission (by `tx_count`, from 1) acknowledged so far; 0: none.
    #[cfg(feature = "fast-recovery")]
    delivered_tx: u32,
    /// How much later than SRTT a packet has been seen to arrive (reordering), ms.
    #[cfg(feature = "fast-recovery")]
    reorder_ms: u16,
    /// The shortest RTT sample so far (`u32::MAX`: none), ms: tells an ACK
    /// sent before a resend could arrive (a spurious resend, `reordering`).
    #[cfg(feature = "fast-recovery")]
    min_rtt: u32,
    /// Losses recovered by quick resends since reordering was last seen
    /// (`reordering`: at `REORDERING_FORGOTTEN_AFTER` it is forgotten).
    #[cfg(feature = "fast-recovery")]
    recovered_in_order: u8,
    /// Since when new data waits to share a datagram (`coalesce_wait_ms`); `NOT_HELD`: it does not.
    #[cfg(feature = "coalescing")]
    held_since: u64,
    /// What the coalesced datagram being taken brought (6.5's duplicate rule).
    #[cfg(feature = "coalescing")]
    arrival: redundancy::DatagramArrival,
    /// This side queued its FIN.
    fin_sent: bool,
    /// Sequence number of the peer's FIN, once received.
    fin_recv: Option<Seq>,
    // events
    failed: Option<FailReason>,
    failure_reported: bool,
    blocked: bool,
    writable_pending: bool,
    dropped_messages: u16,
    dropped_fragments: u16,
    // trace ring
    trace_head: u16,
    trace_len: u16,
    stats: Counters,
}

/// Checks `config` and that `arena` holds [`LinkConfig::storage_len`] bytes for it
/// (what [`Link::new`] checks before [`Link::checked`]).
pub(crate) fn check_storage(config: &LinkConfig, arena: &[u8]) -> Result<(), ConfigError> {
    LinkState::check(config, arena)
}

fn region(arena: &mut [u8], at: usize, len: usize) -> &mut [u8] {
    arena.get_mut(at..at + len).unwrap_or(&mut [])
}

impl LinkState {
    /// Starts over with `config` (for `Link::reconfigure`; a connection uses
    /// `establish`, which changes the state in place).
    fn reset(&mut self, config: LinkConfig, arena: &mut [u8]) -> Result<(), ConfigError> {
        LinkState::check(&config, arena)?;
        *self = LinkState::fresh(config);
        LinkState::clear_windows(&config, arena);
        Ok(())
    }

    /// [`LinkState::reset`] for a link that has carried nothing yet, done in
    /// place: only what the configuration or a corrupt datagram changed
    /// (the statistics, the trace ring, a NACK) is set again.
    fn establish(&mut self, config: &LinkConfig, arena: &mut [u8]) -> Result<(), ConfigError> {
        LinkState::check(config, arena)?;
        self.config = *config;
        self.snd_una = config.initial_send_seq;
        self.snd_nxt = config.initial_send_seq;
        self.snd_end = config.initial_send_seq;
        self.peer_right = config.initial_send_seq.advance(u32::from(config.peer_recv_window));
        self.rcv_base = config.initial_recv_seq;
        self.rcv_nxt = config.initial_recv_seq;
        self.rcv_high = config.initial_recv_seq;
        #[cfg(feature = "fast-recovery")]
        {
            self.nack_high = config.initial_recv_seq;
            self.nack_pending = None;
            self.last_nack = None;
            self.suspects_end = config.initial_send_seq;
        }
        self.cc = LinkState::congestion(*config);
        self.last_adv_window = config.recv_window;
        self.trace_head = 0;
        self.trace_len = 0;
        self.stats = Counters::default();
        LinkState::clear_windows(config, arena);
        Ok(())
    }

    fn check(config: &LinkConfig, arena: &[u8]) -> Result<(), ConfigError> {
        config.validate()?;
        let needed = config.storage_len();
        if arena.len() < needed {
            return Err(ConfigError::Storage { needed, available: arena.len() });
        }
        Ok(())
    }

    /// The congestion state a new link starts with: the initial window for
    /// its packets' size (PROTOCOL.md 6.7).
    #[cfg(feature = "congestion")]
    #[inline(always)] // a call costs about 200 B more flash on thumbv7em
    fn congestion(config: LinkConfig) -> Congestion {
        let initial = crate::congestion::initial_window(config.max_payload);
        Congestion::with_mode(config.send_window, config.congestion_control).with_initial_window(initial)
    }

    /// No congestion state without the `congestion` feature.
    #[cfg(not(feature = "congestion"))]
    const fn congestion(config: LinkConfig) -> Congestion {
        Congestion::with_mode(config.send_window, config.congestion_control)
    }

    /// A link with nothing sent or received yet (its windows still to be cleared).
    fn fresh(config: LinkConfig) -> LinkState {
        LinkState {
            config,
            snd_una: config.initial_send_seq,
            snd_nxt: config.initial_send_seq,
            snd_end: config.initial_send_seq,
            snd_base_slot: 0,
            peer_right: config.initial_send_seq.advance(u32::from(config.peer_recv_window)),
            resend_pending: 0,
            lost_pending: 0,
            rto_deadline: None,
            timeout_hold: None,
            rcv_base: config.initial_recv_seq,
            rcv_nxt: config.initial_recv_seq,
            rcv_high: config.initial_recv_seq,
            rcv_base_slot: 0,
            discard: 0,
            #[cfg(feature = "unreliable")]
            unrel_send_seq: Seq(0),
            #[cfg(feature = "unreliable")]
            unrel_recv_last: None,
            #[cfg(feature = "unreliable")]
            unrel_send_head: 0,
            #[cfg(feature = "unreliable")]
            unrel_send_len: 0,
            #[cfg(feature = "unreliable")]
            unrel_recv_head: 0,
            #[cfg(feature = "unreliable")]
            unrel_recv_len: 0,
            rtt: RttEstimator::new(&config.timing),
            cc: LinkState::congestion(config),
            ack_now: false,
            ack_deadline: None,
            rx_unacked: 0,
            last_adv_window: config.recv_window,
            #[cfg(feature = "fast-recovery")]
            nack_pending: None,
            #[cfg(feature = "fast-recovery")]
            last_nack: None,
            #[cfg(feature = "fast-recovery")]
            nack_high: config.initial_recv_seq,
            #[cfg(feature = "fast-recovery")]
            tx_count: 0,
            #[cfg(feature = "fast-recovery")]
            latest_tx_at: 0,
            #[cfg(feature = "fast-recovery")]
            suspects_end: config.initial_send_seq,
            #[cfg(feature = "congestion")]
            pace: pacing::PaceSlot::new(),
            #[cfg(feature = "fast-recovery")]
            delivered_tx: 0,
            #[cfg(feature = "fast-recovery")]
            reorder_ms: 0,
            #[cfg(feature = "fast-recovery")]
            min_rtt: u32::MAX,
            #[cfg(feature = "fast-recovery")]
            recovered_in_order: 0,
            #[cfg(feature = "coalescing")]
            held_since: NOT_HELD,
            #[cfg(feature = "coalescing")]
            arrival: redundancy::DatagramArrival::default(),
            fin_sent: false,
            fin_recv: None,
            failed: None,
            failure_reported: false,
            blocked: false,
            writable_pending: false,
            dropped_messages: 0,
            dropped_fragments: 0,
            trace_head: 0,
            trace_len: 0,
            stats: Counters::default(),
        }
    }

    fn layout(&self) -> Layout {
        Layout::of(&self.config)
    }

    /// Frees every send and receive slot: a free slot's bookkeeping is all
    /// zero bytes (`SendMeta::default()`, `RecvMeta::default()`).
    fn clear_windows(config: &LinkConfig, arena: &mut [u8]) {
        region(arena, 0, Layout::of(config).unrel_send_at).fill(0);
    }

    // ---- slot access -------------------------------------------------------

    fn send_slot<'a>(&self, arena: &'a mut [u8], seq: Seq) -> &'a mut [u8] {
        let layout = self.layout();
        let window = usize::from(self.config.send_window);
        let index = ring_index(usize::from(self.snd_base_slot) + seq.offset_from(self.snd_una) as usize, window);
        region(arena, index * layout.send_slot, layout.send_slot)
    }

    fn send_meta(&self, arena: &mut [u8], seq: Seq) -> SendMeta {
        SendMeta::read(self.send_slot(arena, seq))
    }

    fn set_send_meta(&self, arena: &mut [u8], seq: Seq, meta: &SendMeta) {
        meta.write(self.send_slot(arena, seq));
    }

    fn recv_slot<'a>(&self, arena: &'a mut [u8], seq: Seq) -> &'a mut [u8] {
        let layout = self.layout();
        let window = usize::from(self.config.recv_window);
        let index = ring_index(usize::from(self.rcv_base_slot) + seq.offset_from(self.rcv_base) as usize, window);
        region(arena, layout.recv_at + index * layout.recv_slot, layout.recv_slot)
    }

    fn recv_meta(&self, arena: &mut [u8], seq: Seq) -> RecvMeta {
        RecvMeta::read(self.recv_slot(arena, seq))
    }

    /// Whether unreliable messages wait to be sent (never without the `unreliable` feature).
    fn unreliable_queued(&self) -> bool {
        #[cfg(feature = "unreliable")]
        return self.unrel_send_len > 0;
        #[cfg(not(feature = "unreliable"))]
        false
    }

    /// Whether unreliable messages wait to be read (never without the `unreliable` feature).
    #[cfg(feature = "unreliable")]
    fn unreliable_unread(&self) -> bool {
        self.unrel_recv_len > 0
    }

    #[cfg(feature = "unreliable")]
    fn unrel_slot<'a>(&self, arena: &'a mut [u8], recv: bool, index: u8) -> &'a mut [u8] {
        let layout = self.layout();
        let base = if recv { layout.unrel_recv_at } else { layout.unrel_send_at };
        let index = ring_index(usize::from(index), usize::from(self.config.unreliable_slots_used()));
        region(arena, base + index * layout.unrel_slot, layout.unrel_slot)
    }

    // ---- sending -----------------------------------------------------------

    fn send(
        &mut self,
        arena: &mut [u8],
        ptype: PacketType,
        message: &[u8],
        delivery: Delivery,
    ) -> Result<(), SendError> {
        if self.failed.is_some() {
            return Err(SendError::Failed);
        }
        if self.fin_sent {
            return Err(SendError::Closing);
        }
        if ptype.is_protocol() {
            return Err(SendError::ReservedType);
        }
        match delivery {
            Delivery::Unreliable => self.send_unreliable(arena, ptype, message),
            Delivery::Reliable => self.send_reliable(arena, ptype, message),
        }
    }

    #[cfg(not(feature = "unreliable"))]
    fn send_unreliable(&mut self, _: &mut [u8], _: PacketType, _: &[u8]) -> Result<(), SendError> {
        Err(SendError::UnreliableDisabled)
    }

    #[cfg(feature = "unreliable")]
    fn send_unreliable(&mut self, arena: &mut [u8], ptype: PacketType, message: &[u8]) -> Result<(), SendError> {
        let slots = self.config.unreliable_slots_used();
        if slots == 0 {
            return Err(SendError::UnreliableDisabled);
        }
        let max = self.config.max_unreliable_len();
        if message.len() > max {
            return Err(SendError::MessageTooLarge { max });
        }
        if self.unrel_send_len == slots {
            // the oldest queued unreliable message is superseded
            self.unrel_send_head = ring_index(usize::from(self.unrel_send_head) + 1, usize::from(slots)) as u8;
            self.unrel_send_len -= 1;
            self.stats.unreliable_dropped += 1;
        }
        let index =
            ring_index(usize::from(self.unrel_send_head) + usize::from(self.unrel_send_len), usize::from(slots)) as u8;
        let slot = self.unrel_slot(arena, false, index);
        let (meta, data) = slot.split_at_mut(UNRELIABLE_META_LEN.min(slot.len()));
        UnreliableMeta { len: message.len() as u16, app_type: ptype.0 }.write(meta);
        if let Some(dst) = data.get_mut(..message.len()) {
            copy_prefix(dst, message);
        }
        self.unrel_send_len += 1;
        self.stats.messages_sent += 1;
        Ok(())
    }

    fn send_fin(&mut self, arena: &mut [u8]) -> Result<(), SendError> {
        if self.failed.is_some() {
            return Err(SendError::Failed);
        }
        if self.fin_sent {
            return Ok(());
        }
        self.send_reliable(arena, PacketType::FIN, &[])?;
        self.stats.messages_sent -= 1; // a FIN is not a message
        self.fin_sent = true;
        Ok(())
    }

    fn send_reliable(&mut self, arena: &mut [u8], ptype: PacketType, message: &[u8]) -> Result<(), SendError> {
        // both at least 1 (validated at construction; `max` lets the compiler see it)
        let payload = usize::from(self.config.max_payload).max(1);
        let chunk = self.config.fragment_data_len().max(1);
        let (count, chunk) = if message.len() <= payload || !cfg!(feature = "fragmentation") {
            (1, payload)
        } else {
            (message.len().div_ceil(chunk), chunk)
        };
        let max = self.config.max_message_len();
        if message.len() > max || count > usize::from(u16::MAX) {
            return Err(SendError::MessageTooLarge { max });
        }
        let used = self.snd_end.offset_from(self.snd_una) as usize;
        if used + count > usize::from(self.config.send_window) {
            self.blocked = true;
            return Err(SendError::WouldBlock);
        }
        let fragmented = count > 1;
        let mut rest = message;
        for index in 0..count {
            // the next `chunk` bytes (an empty message is one empty packet)
            let (piece, after) = rest.split_at_checked(chunk).unwrap_or((rest, &[]));
            rest = after;
            let seq = self.snd_end;
            let meta = SendMeta {
                state: QUEUED,
                app_type: ptype.0,
                flags: if fragmented { F_FRAGMENT } else { 0 },
                len: piece.len() as u16,
                frag_index: index as u16,
                frag_count: count as u16,
                ..SendMeta::default()
            };
            let slot = self.send_slot(arena, seq);
            meta.write(slot);
            if let Some(dst) = slot.get_mut(SEND_META_LEN..SEND_META_LEN + piece.len()) {
                copy_prefix(dst, piece);
            }
            self.snd_end = seq.next();
        }
        self.stats.messages_sent += 1;
        Ok(())
    }

    // ---- events, traces, statistics ---------------------------------------------

    fn poll_event(&mut self) -> Option<Event> {
        if let (Some(reason), false) = (self.failed, self.failure_reported) {
            self.failure_reported = true;
            return Some(Event::Failed(reason));
        }
        if self.dropped_messages > 0 {
            self.dropped_messages -= 1;
            return Some(Event::MessageDropped { fragments: self.dropped_fragments });
        }
        if self.writable_pending {
            self.writable_pending = false;
            return Some(Event::Writable);
        }
        None
    }

    fn trace(&mut self, arena: &mut [u8], now: u64, kind: TraceKind, seq: Seq, ptype: PacketType, len: usize) {
        let cap = self.config.trace_slots_used();
        if cap == 0 {
            return;
        }
        if self.trace_len == cap {
            self.trace_head = ring_index(usize::from(self.trace_head) + 1, usize::from(cap)) as u16;
            self.trace_len -= 1;
            self.stats.trace_overflows += 1;
        }
        let index = ring_index(usize::from(self.trace_head) + usize::from(self.trace_len), usize::from(cap));
        let at = self.layout().trace_at + index * TRACE_RECORD_LEN;
        let record = TraceEvent { time_ms: now, kind, seq, ptype, len: len as u32 }.encode();
        for (dst, src) in region(arena, at, TRACE_RECORD_LEN).iter_mut().zip(record) {
            *dst = src;
        }
        self.trace_len += 1;
    }

    fn poll_trace(&mut self, arena: &mut [u8]) -> Option<TraceEvent> {
        if !cfg!(feature = "trace") || self.trace_len == 0 {
            return None;
        }
        let at = self.layout().trace_at + usize::from(self.trace_head) * TRACE_RECORD_LEN;
        let event = TraceEvent::decode(region(arena, at, TRACE_RECORD_LEN));
        self.trace_head =
            ring_index(usize::from(self.trace_head) + 1, usize::from(self.config.trace_slots_used())) as u16;
        self.trace_len -= 1;
        Some(event)
    }

    fn stats(&self) -> Stats {
        Stats {
            srtt_ms: self.rtt.srtt(),
            rto_ms: self.rtt.rto(),
            cwnd: u32::from(if cfg!(feature = "congestion") { self.cc.window() } else { self.config.send_window }),
            in_flight: self.snd_nxt.offset_from(self.snd_una),
            ..self.stats.to_stats()
        }
    }
}

#[cfg(test)]
mod tests;
