//! The reliability engine: selective-repeat send and receive windows,
//! ACK/SACK/NACK, RFC 6298 retransmission timers, NewReno congestion
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
//! a.send(0, PacketType(100), b"hello", Delivery::Reliable).unwrap();
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

mod config;
mod slots;
mod stats;

pub use config::{ConfigError, LinkConfig, MAX_WINDOW, MIN_PAYLOAD};
pub use stats::Stats;

use crate::congestion::Congestion;
use crate::error::Error;
use crate::event::{Event, FailReason, TraceEvent, TraceKind, TRACE_RECORD_LEN};
use crate::rtt::RttEstimator;
use crate::seq::Seq;
use crate::wire::ack::{parse_nack, AckRepr, Sack, MAX_SACK_BYTES};
use crate::wire::data::{DataRepr, Fragment};
use crate::wire::{Packet, PacketRepr, PacketType, HEADER_LEN};
use config::{Layout, RECV_META_LEN, SEND_META_LEN, UNRELIABLE_META_LEN};
use slots::{RecvMeta, SendMeta, UnreliableMeta, ACKED, FREE, F_FAST_DONE, F_FRAGMENT, F_LOST, F_RESEND, QUEUED, SENT};

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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
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
    /// The link has failed.
    Failed,
}

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
pub enum Handled {
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
        let state = LinkState::new(config, storage.as_mut())?;
        Ok(Link { storage, state })
    }

    /// Queues a message. A reliable message longer than one packet is
    /// fragmented; all its packets must fit the send window at once.
    pub fn send(&mut self, now: u64, ptype: PacketType, message: &[u8], delivery: Delivery) -> Result<(), SendError> {
        self.state.send(self.storage.as_mut(), now, ptype, message, delivery)
    }

    /// Feeds one received datagram (one packet).
    pub fn handle_datagram(&mut self, now: u64, datagram: &[u8]) {
        self.state.handle_datagram(self.storage.as_mut(), now, datagram);
    }

    /// Feeds one already decoded and verified packet (for a connection that
    /// demultiplexes packet types itself).
    pub fn handle_packet(&mut self, now: u64, packet: &PacketRepr<'_>, wire_len: usize) -> Handled {
        self.state.handle_packet(self.storage.as_mut(), now, packet, wire_len)
    }

    /// Counts a datagram that failed decoding (from a caller that decodes itself).
    pub fn note_corrupt(&mut self, now: u64, wire_len: usize) {
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
        self.state = LinkState::new(config, self.storage.as_mut())?;
        Ok(())
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

    /// The smoothed RTT (0 before any sample) and the current RTO, milliseconds.
    pub fn rtt(&self) -> (u32, u32) {
        (self.state.rtt.srtt(), self.state.current_rto())
    }

    /// The configuration.
    pub fn config(&self) -> &LinkConfig {
        &self.state.config
    }

    /// Whether everything sent has been acknowledged and nothing is queued.
    pub fn is_idle(&self) -> bool {
        self.state.snd_una == self.state.snd_end && self.state.unrel_send_len == 0
    }

    /// Packets that `send` can still queue.
    pub fn send_capacity(&self) -> usize {
        usize::from(self.state.config.send_window) - self.state.snd_end.offset_from(self.state.snd_una) as usize
    }

    /// Why the link failed, if it did.
    pub fn failure(&self) -> Option<FailReason> {
        self.state.failed
    }

    /// The storage, given back.
    pub fn into_storage(self) -> S {
        self.storage
    }
}

/// All of a link's state that is not in the caller's storage.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct LinkState {
    config: LinkConfig,
    // send side: [snd_una, snd_nxt) sent, [snd_nxt, snd_end) queued
    snd_una: Seq,
    snd_nxt: Seq,
    snd_end: Seq,
    snd_base_slot: u16,
    /// First sequence number the peer cannot take yet.
    peer_right: Seq,
    /// Packets flagged `F_RESEND` / `F_LOST`.
    resend_pending: u16,
    lost_pending: u16,
    /// The retransmission timer (RFC 6298: one timer, for the oldest outstanding packet).
    rto_deadline: Option<u64>,
    rto_backoff: u8,
    // receive side: [rcv_base, rcv_nxt) in order and unread; rcv_high is one past the highest received
    rcv_base: Seq,
    rcv_nxt: Seq,
    rcv_high: Seq,
    rcv_base_slot: u16,
    discard: u16,
    // unreliable
    unrel_send_seq: Seq,
    unrel_recv_last: Option<Seq>,
    unrel_send_head: u8,
    unrel_send_len: u8,
    unrel_recv_head: u8,
    unrel_recv_len: u8,
    // timing and control
    rtt: RttEstimator,
    cc: Congestion,
    ack_now: bool,
    ack_deadline: Option<u64>,
    rx_unacked: u8,
    last_adv_window: u16,
    nack_pending: Option<Seq>,
    last_nack: Option<(Seq, u64)>,
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
    stats: Stats,
}

fn region(arena: &mut [u8], at: usize, len: usize) -> &mut [u8] {
    arena.get_mut(at..at + len).unwrap_or(&mut [])
}

impl LinkState {
    fn new(config: LinkConfig, arena: &mut [u8]) -> Result<LinkState, ConfigError> {
        config.validate()?;
        let needed = config.storage_len();
        if arena.len() < needed {
            return Err(ConfigError::Storage { needed, available: arena.len() });
        }
        let mut state = LinkState {
            config,
            snd_una: config.initial_send_seq,
            snd_nxt: config.initial_send_seq,
            snd_end: config.initial_send_seq,
            snd_base_slot: 0,
            peer_right: config.initial_send_seq.advance(u32::from(config.peer_recv_window)),
            resend_pending: 0,
            lost_pending: 0,
            rto_deadline: None,
            rto_backoff: 0,
            rcv_base: config.initial_recv_seq,
            rcv_nxt: config.initial_recv_seq,
            rcv_high: config.initial_recv_seq,
            rcv_base_slot: 0,
            discard: 0,
            unrel_send_seq: Seq(0),
            unrel_recv_last: None,
            unrel_send_head: 0,
            unrel_send_len: 0,
            unrel_recv_head: 0,
            unrel_recv_len: 0,
            rtt: RttEstimator::new(&config.timing),
            cc: Congestion::new(config.send_window),
            ack_now: false,
            ack_deadline: None,
            rx_unacked: 0,
            last_adv_window: config.recv_window,
            nack_pending: None,
            last_nack: None,
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
            stats: Stats::default(),
        };
        state.clear_slots(arena);
        Ok(state)
    }

    fn layout(&self) -> Layout {
        Layout::of(&self.config)
    }

    fn clear_slots(&mut self, arena: &mut [u8]) {
        let layout = self.layout();
        for i in 0..usize::from(self.config.send_window) {
            SendMeta::default().write(region(arena, i * layout.send_slot, SEND_META_LEN));
        }
        for i in 0..usize::from(self.config.recv_window) {
            RecvMeta::default().write(region(arena, layout.recv_at + i * layout.recv_slot, RECV_META_LEN));
        }
    }

    // ---- slot access -------------------------------------------------------

    fn send_slot<'a>(&self, arena: &'a mut [u8], seq: Seq) -> &'a mut [u8] {
        let layout = self.layout();
        let window = usize::from(self.config.send_window);
        let index = (usize::from(self.snd_base_slot) + seq.offset_from(self.snd_una) as usize) % window;
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
        let index = (usize::from(self.rcv_base_slot) + seq.offset_from(self.rcv_base) as usize) % window;
        region(arena, layout.recv_at + index * layout.recv_slot, layout.recv_slot)
    }

    fn recv_meta(&self, arena: &mut [u8], seq: Seq) -> RecvMeta {
        RecvMeta::read(self.recv_slot(arena, seq))
    }

    fn unrel_slot<'a>(&self, arena: &'a mut [u8], recv: bool, index: u8) -> &'a mut [u8] {
        let layout = self.layout();
        let base = if recv { layout.unrel_recv_at } else { layout.unrel_send_at };
        let index = usize::from(index) % usize::from(self.config.unreliable_slots.max(1));
        region(arena, base + index * layout.unrel_slot, layout.unrel_slot)
    }

    // ---- sending -----------------------------------------------------------

    fn send(
        &mut self,
        arena: &mut [u8],
        now: u64,
        ptype: PacketType,
        message: &[u8],
        delivery: Delivery,
    ) -> Result<(), SendError> {
        let _ = now;
        if self.failed.is_some() || self.fin_sent {
            return Err(SendError::Failed);
        }
        if ptype.is_protocol() {
            return Err(SendError::ReservedType);
        }
        match delivery {
            Delivery::Unreliable => self.send_unreliable(arena, ptype, message),
            Delivery::Reliable => self.send_reliable(arena, ptype, message),
        }
    }

    fn send_unreliable(&mut self, arena: &mut [u8], ptype: PacketType, message: &[u8]) -> Result<(), SendError> {
        let slots = self.config.unreliable_slots;
        if slots == 0 {
            return Err(SendError::UnreliableDisabled);
        }
        let max = self.config.max_unreliable_len();
        if message.len() > max {
            return Err(SendError::MessageTooLarge { max });
        }
        if self.unrel_send_len == slots {
            // the oldest queued unreliable message is superseded
            self.unrel_send_head = (self.unrel_send_head + 1) % slots;
            self.unrel_send_len -= 1;
            self.stats.unreliable_dropped += 1;
        }
        let index = (self.unrel_send_head + self.unrel_send_len) % slots;
        let slot = self.unrel_slot(arena, false, index);
        let (meta, data) = slot.split_at_mut(UNRELIABLE_META_LEN.min(slot.len()));
        UnreliableMeta { len: message.len() as u16, app_type: ptype.0 }.write(meta);
        if let Some(dst) = data.get_mut(..message.len()) {
            dst.copy_from_slice(message);
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
        let payload = usize::from(self.config.max_payload);
        let chunk = self.config.fragment_data_len();
        let (count, chunk) =
            if message.len() <= payload { (1, payload) } else { (message.len().div_ceil(chunk), chunk) };
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
        for (index, piece) in message.chunks(chunk).chain(core::iter::once(&[][..])).take(count).enumerate() {
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
                dst.copy_from_slice(piece);
            }
            self.snd_end = seq.next();
        }
        self.stats.messages_sent += 1;
        Ok(())
    }

    // ---- receiving packets -------------------------------------------------

    fn handle_datagram(&mut self, arena: &mut [u8], now: u64, datagram: &[u8]) {
        let codec = self.config.codec();
        match PacketRepr::decode(datagram, &codec) {
            Ok(packet) => {
                if self.handle_packet(arena, now, &packet, datagram.len()) == Handled::NotMine {
                    // Not a link packet: count it as dropped (a connection would have taken it).
                    self.trace(arena, now, TraceKind::Dropped, packet.seq, packet.ptype, datagram.len());
                }
            }
            Err(_) => self.on_corrupt(arena, now, datagram.len()),
        }
    }

    fn on_corrupt(&mut self, arena: &mut [u8], now: u64, wire_len: usize) {
        self.stats.corrupt_packets += 1;
        self.trace(arena, now, TraceKind::Corrupt, Seq(0), PacketType(0), wire_len);
        // The corrupted packet may well have been the next one expected.
        self.maybe_nack(now);
    }

    fn handle_packet(&mut self, arena: &mut [u8], now: u64, packet: &PacketRepr<'_>, wire_len: usize) -> Handled {
        if self.failed.is_some() {
            return Handled::Consumed;
        }
        let ptype = packet.ptype;
        let parsed = match ptype {
            PacketType::ACK => AckRepr::parse(packet.payload).map(|ack| self.on_ack(arena, now, &ack)),
            PacketType::NACK => parse_nack(packet.payload).map(|seq| self.on_nack(arena, now, seq)),
            PacketType::DATA => DataRepr::parse(packet.payload).map(|data| {
                if let Some(ack) = &data.ack {
                    self.on_ack(arena, now, ack);
                }
                if data.unreliable {
                    self.on_unreliable(arena, now, packet.seq, &data, wire_len);
                } else {
                    let fragment = data.fragment;
                    self.on_reliable(arena, now, packet.seq, data.app_type, fragment, data.data, wire_len);
                }
            }),
            t if t.is_application() || t == PacketType::FIN => {
                self.on_reliable(arena, now, packet.seq, t, None, packet.payload, wire_len);
                Ok(())
            }
            _ => return Handled::NotMine,
        };
        match parsed {
            Ok(()) => {
                self.stats.packets_received += 1;
                self.stats.bytes_received += wire_len as u64;
            }
            Err(_) => {
                self.stats.malformed_packets += 1;
                self.trace(arena, now, TraceKind::Corrupt, packet.seq, ptype, wire_len);
            }
        }
        Handled::Consumed
    }

    #[allow(clippy::too_many_arguments)]
    fn on_reliable(
        &mut self,
        arena: &mut [u8],
        now: u64,
        seq: Seq,
        app_type: PacketType,
        fragment: Option<Fragment>,
        data: &[u8],
        wire_len: usize,
    ) {
        let ptype = if fragment.is_some() { PacketType::DATA } else { app_type };
        if seq.is_before(self.rcv_nxt) || self.recv_meta(arena, seq).filled && self.in_recv_window(seq) {
            self.stats.duplicates += 1;
            self.trace(arena, now, TraceKind::Duplicate, seq, ptype, wire_len);
            self.ack_now = true;
            return;
        }
        if !self.in_recv_window(seq) || data.len() > usize::from(self.config.max_payload) {
            self.stats.out_of_window += 1;
            self.trace(arena, now, TraceKind::Dropped, seq, ptype, wire_len);
            self.ack_now = true;
            return;
        }
        self.trace(arena, now, TraceKind::Received, seq, ptype, wire_len);
        let meta = RecvMeta {
            filled: true,
            app_type: app_type.0,
            flags: if fragment.is_some() { F_FRAGMENT } else { 0 },
            len: data.len() as u16,
            frag_index: fragment.map_or(0, |f| f.index),
            frag_count: fragment.map_or(1, |f| f.count),
        };
        let slot = self.recv_slot(arena, seq);
        meta.write(slot);
        if let Some(dst) = slot.get_mut(RECV_META_LEN..RECV_META_LEN + data.len()) {
            dst.copy_from_slice(data);
        }
        if !seq.is_before(self.rcv_high) {
            self.rcv_high = seq.next();
        }
        if app_type == PacketType::FIN {
            self.fin_recv = Some(seq);
        }
        if seq == self.rcv_nxt {
            let had_gap = self.rcv_high != seq.next();
            while self.rcv_nxt != self.rcv_high
                && self.in_recv_window(self.rcv_nxt)
                && self.recv_meta(arena, self.rcv_nxt).filled
            {
                self.rcv_nxt = self.rcv_nxt.next();
            }
            self.rx_unacked = self.rx_unacked.saturating_add(1);
            if self.rcv_nxt != self.rcv_high {
                self.maybe_nack(now); // a retransmission filled one hole; the next one is still open
            }
            if had_gap || self.rx_unacked >= 2 || self.config.timing.ack_delay == 0 {
                self.ack_now = true;
            } else if self.ack_deadline.is_none() {
                self.ack_deadline = Some(now + u64::from(self.config.timing.ack_delay));
            }
            self.settle(arena);
        } else {
            self.stats.out_of_order += 1;
            self.ack_now = true;
            self.maybe_nack(now);
        }
    }

    fn in_recv_window(&self, seq: Seq) -> bool {
        seq.in_window(self.rcv_base, u32::from(self.config.recv_window))
    }

    fn maybe_nack(&mut self, now: u64) {
        if !self.config.retransmit {
            return;
        }
        let missing = self.rcv_nxt;
        if let Some((seq, at)) = self.last_nack {
            if seq == missing && now < at + u64::from(self.config.timing.nack_interval) {
                return;
            }
        }
        self.nack_pending = Some(missing);
        self.last_nack = Some((missing, now));
    }

    fn on_unreliable(&mut self, arena: &mut [u8], now: u64, seq: Seq, data: &DataRepr<'_>, wire_len: usize) {
        let slots = self.config.unreliable_slots;
        let stale = self.unrel_recv_last.is_some_and(|last| !seq.is_after(last));
        if slots == 0 || stale || data.data.len() > self.config.max_unreliable_len() {
            self.stats.unreliable_dropped += 1;
            let kind = if stale { TraceKind::Duplicate } else { TraceKind::Dropped };
            self.trace(arena, now, kind, seq, PacketType::DATA, wire_len);
            return;
        }
        self.trace(arena, now, TraceKind::Received, seq, PacketType::DATA, wire_len);
        self.unrel_recv_last = Some(seq);
        if self.unrel_recv_len == slots {
            self.unrel_recv_head = (self.unrel_recv_head + 1) % slots;
            self.unrel_recv_len -= 1;
            self.stats.unreliable_dropped += 1;
        }
        let index = (self.unrel_recv_head + self.unrel_recv_len) % slots;
        let slot = self.unrel_slot(arena, true, index);
        let (meta, body) = slot.split_at_mut(UNRELIABLE_META_LEN.min(slot.len()));
        UnreliableMeta { len: data.data.len() as u16, app_type: data.app_type.0 }.write(meta);
        if let Some(dst) = body.get_mut(..data.data.len()) {
            dst.copy_from_slice(data.data);
        }
        self.unrel_recv_len += 1;
    }

    fn on_ack(&mut self, arena: &mut [u8], now: u64, ack: &AckRepr) {
        self.stats.acks_received += 1;
        let cum_next = ack.cumulative.next();
        let advance = cum_next.offset_from(self.snd_una);
        let sent = self.snd_nxt.offset_from(self.snd_una);
        if cum_next.is_before(self.snd_una) || advance > sent {
            return; // stale (reordered) or acknowledging what was never sent
        }
        let mut newly_acked: u16 = 0;
        // Karn's rule, strictly: an ACK that newly covers any packet that was
        // resent (or presumed lost) may have been caused by the resend, so it
        // gives no sample at all. Otherwise the newest packet it covers does.
        let mut sample: Option<u64> = None;
        let mut ambiguous = false;
        let mut take_sample = |meta: &SendMeta| {
            if meta.retries > 0 || meta.flags & (F_RESEND | F_LOST) != 0 {
                ambiguous = true;
            } else if sample.is_none_or(|s| meta.sent_at > s) {
                sample = Some(meta.sent_at);
            }
        };
        for i in 0..advance {
            let seq = self.snd_una.advance(i);
            let meta = self.send_meta(arena, seq);
            if meta.state == SENT {
                newly_acked += 1;
                take_sample(&meta);
            }
            self.unflag(&meta);
            self.set_send_meta(arena, seq, &SendMeta { state: FREE, ..SendMeta::default() });
        }
        self.snd_una = cum_next;
        self.snd_base_slot =
            ((usize::from(self.snd_base_slot) + advance as usize) % usize::from(self.config.send_window)) as u16;

        let mut highest_sacked: Option<Seq> = None;
        for index in ack.sack.iter() {
            let seq = ack.cumulative.advance(2 + index as u32);
            if !seq.in_window(self.snd_una, self.snd_nxt.offset_from(self.snd_una)) {
                continue;
            }
            let mut meta = self.send_meta(arena, seq);
            if meta.state == SENT {
                newly_acked += 1;
                take_sample(&meta);
                self.unflag(&meta);
                meta.state = ACKED;
                meta.flags &= !(F_RESEND | F_LOST);
                self.set_send_meta(arena, seq, &meta);
            }
            highest_sacked = Some(seq);
        }

        if let Some(window) = ack.window {
            self.peer_right = cum_next.advance(u32::from(window));
            if window == 0 && self.snd_nxt.offset_from(self.snd_una) == 1 {
                // The peer is alive but full: the probe in flight does not count towards dead peer.
                let mut probe = self.send_meta(arena, self.snd_una);
                probe.retries = 0;
                self.set_send_meta(arena, self.snd_una, &probe);
            }
        }

        // Fast retransmit: packets still missing below ones the peer has.
        let threshold = if self.config.retransmit { u16::from(self.config.timing.fast_resend) } else { 0 };
        if threshold > 0 {
            let upto = match highest_sacked {
                Some(high) => Some(high),
                // a plain (seed 000) duplicate ACK counts for the oldest packet
                None if ack.window.is_none() && advance == 0 && sent > 0 => Some(self.snd_una.next()),
                None => None,
            };
            if let Some(upto) = upto {
                let mut seq = self.snd_una;
                while seq.is_before(upto) {
                    let mut meta = self.send_meta(arena, seq);
                    if meta.state == SENT {
                        meta.fastack = meta.fastack.saturating_add(1);
                        if meta.fastack >= threshold && meta.flags & (F_FAST_DONE | F_RESEND | F_LOST) == 0 {
                            meta.flags |= F_FAST_DONE | F_RESEND;
                            self.resend_pending += 1;
                            self.stats.fast_retransmissions += 1;
                            self.cc.on_loss(seq, self.snd_nxt);
                        }
                        self.set_send_meta(arena, seq, &meta);
                    }
                    seq = seq.next();
                }
            }
        }

        if advance > 0 {
            self.rto_backoff = 0;
        }
        if newly_acked > 0 {
            // RFC 6298 5.2/5.3: stop the timer when all is acknowledged, else restart it.
            self.rto_deadline =
                (self.snd_una != self.snd_nxt && self.config.retransmit).then(|| now + u64::from(self.current_rto()));
            if let (Some(sent_at), false) = (sample, ambiguous) {
                self.rtt.on_sample(now.saturating_sub(sent_at).min(u64::from(u32::MAX)) as u32, &self.config.timing);
            }
            self.cc.on_ack(newly_acked, ack.cumulative);
            if self.blocked {
                self.blocked = false;
                self.writable_pending = true;
            }
        }
    }

    fn on_nack(&mut self, arena: &mut [u8], now: u64, seq: Seq) {
        self.stats.nacks_received += 1;
        if !seq.in_window(self.snd_una, self.snd_nxt.offset_from(self.snd_una)) {
            return;
        }
        let mut meta = self.send_meta(arena, seq);
        if meta.state != SENT || meta.flags & F_RESEND != 0 {
            return;
        }
        // A retransmission sent less than one RTT ago is still on its way.
        if meta.retries > 0 && now.saturating_sub(meta.sent_at) < u64::from(self.rtt.srtt()) {
            return;
        }
        self.unflag(&meta);
        meta.flags = (meta.flags & !F_LOST) | F_RESEND | F_FAST_DONE;
        self.set_send_meta(arena, seq, &meta);
        self.resend_pending += 1;
        self.stats.fast_retransmissions += 1;
        self.cc.on_loss(seq, self.snd_nxt);
    }

    // ---- delivering messages -------------------------------------------------

    /// Drops what can never be delivered from the front of the receive window.
    fn settle(&mut self, arena: &mut [u8]) {
        let mut freed = false;
        while self.rcv_base != self.rcv_nxt {
            let meta = self.recv_meta(arena, self.rcv_base);
            if self.discard > 0 {
                self.discard -= 1;
            } else if meta.app_type == PacketType::FIN.0 {
                // the peer's FIN: recorded on arrival, never handed to the application
            } else if meta.flags & F_FRAGMENT != 0 && meta.frag_index != 0 {
                self.stats.malformed_packets += 1;
            } else if meta.flags & F_FRAGMENT != 0 && meta.frag_count > self.config.recv_window {
                self.dropped_messages = self.dropped_messages.saturating_add(1);
                self.dropped_fragments = meta.frag_count;
                self.discard = meta.frag_count - 1;
            } else {
                break;
            }
            self.release(arena, 1);
            freed = true;
        }
        if freed {
            self.after_read();
        }
    }

    /// Frees `count` slots at the front of the receive window.
    fn release(&mut self, arena: &mut [u8], count: u32) {
        for i in 0..count {
            let seq = self.rcv_base.advance(i);
            RecvMeta::default().write(self.recv_slot(arena, seq));
        }
        self.rcv_base = self.rcv_base.advance(count);
        self.rcv_base_slot =
            ((usize::from(self.rcv_base_slot) + count as usize) % usize::from(self.config.recv_window)) as u16;
    }

    fn recv_window_free(&self) -> u16 {
        self.config.recv_window.saturating_sub(self.rcv_nxt.offset_from(self.rcv_base) as u16)
    }

    fn after_read(&mut self) {
        let free = self.recv_window_free();
        if self.last_adv_window == 0 || free >= self.last_adv_window.saturating_add(self.config.recv_window / 2) {
            self.ack_now = true; // window update
        }
    }

    /// The reliable message at the front: (packets, total length), if complete.
    fn front_message(&mut self, arena: &mut [u8]) -> Option<(u32, usize)> {
        self.settle(arena);
        if self.rcv_base == self.rcv_nxt {
            return None;
        }
        let first = self.recv_meta(arena, self.rcv_base);
        if first.flags & F_FRAGMENT == 0 {
            return Some((1, usize::from(first.len)));
        }
        let count = u32::from(first.frag_count);
        if self.rcv_nxt.offset_from(self.rcv_base) < count {
            return None;
        }
        let mut total = 0;
        for i in 0..count {
            let meta = self.recv_meta(arena, self.rcv_base.advance(i));
            if meta.flags & F_FRAGMENT == 0 || u32::from(meta.frag_index) != i || meta.frag_count != first.frag_count {
                // Inconsistent fragments: drop the broken run and look again.
                self.stats.malformed_packets += 1;
                self.release(arena, i.max(1));
                return self.front_message(arena);
            }
            total += usize::from(meta.len);
        }
        Some((count, total))
    }

    fn next_message_len(&mut self, arena: &mut [u8]) -> Option<usize> {
        if self.unrel_recv_len > 0 {
            let meta = UnreliableMeta::read(self.unrel_slot(arena, true, self.unrel_recv_head));
            return Some(usize::from(meta.len));
        }
        self.front_message(arena).map(|(_, len)| len)
    }

    fn recv(&mut self, arena: &mut [u8], buf: &mut [u8]) -> Result<Option<Received>, Error> {
        if self.unrel_recv_len > 0 {
            let slots = self.config.unreliable_slots.max(1);
            let slot = self.unrel_slot(arena, true, self.unrel_recv_head);
            let meta = UnreliableMeta::read(slot);
            let len = usize::from(meta.len);
            let (Some(dst), Some(src)) = (buf.get_mut(..len), slot.get(UNRELIABLE_META_LEN..UNRELIABLE_META_LEN + len))
            else {
                return Err(Error::BufferTooSmall { needed: len, available: buf.len() });
            };
            dst.copy_from_slice(src);
            self.unrel_recv_head = (self.unrel_recv_head + 1) % slots;
            self.unrel_recv_len -= 1;
            self.stats.messages_delivered += 1;
            self.stats.bytes_delivered += len as u64;
            return Ok(Some(Received { ptype: PacketType(meta.app_type), len, delivery: Delivery::Unreliable }));
        }
        let Some((count, total)) = self.front_message(arena) else {
            return Ok(None);
        };
        if buf.len() < total {
            return Err(Error::BufferTooSmall { needed: total, available: buf.len() });
        }
        let mut at = 0;
        let mut ptype = PacketType(0);
        for i in 0..count {
            let slot = self.recv_slot(arena, self.rcv_base.advance(i));
            let meta = RecvMeta::read(slot);
            let len = usize::from(meta.len);
            ptype = PacketType(meta.app_type);
            if let (Some(dst), Some(src)) = (buf.get_mut(at..at + len), slot.get(RECV_META_LEN..RECV_META_LEN + len)) {
                dst.copy_from_slice(src);
            }
            at += len;
        }
        self.release(arena, count);
        self.after_read();
        self.stats.messages_delivered += 1;
        self.stats.bytes_delivered += total as u64;
        Ok(Some(Received { ptype, len: total, delivery: Delivery::Reliable }))
    }

    // ---- timers ----------------------------------------------------------------

    fn poll_timeout(&self) -> Option<u64> {
        if self.failed.is_some() {
            return None;
        }
        let resend = if self.snd_una != self.snd_nxt { self.rto_deadline } else { None };
        match (resend, self.ack_deadline) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    fn on_timers(&mut self, arena: &mut [u8], now: u64) {
        if self.failed.is_some() {
            return;
        }
        if self.ack_deadline.is_some_and(|d| now >= d) {
            self.ack_now = true;
            self.ack_deadline = None;
        }
        if self.rto_deadline.is_none_or(|t| now < t) {
            return;
        }
        if self.snd_una == self.snd_nxt {
            self.rto_deadline = None;
            return;
        }
        let oldest = self.send_meta(arena, self.snd_una);
        if oldest.retries >= self.config.timing.max_retries {
            self.failed = Some(FailReason::DeadPeer { seq: self.snd_una });
            return;
        }
        // RFC 6298 5.4-5.6 with RFC 5681's loss recovery: everything outstanding
        // is presumed lost and resent as the (now one-packet) window allows,
        // oldest first; the timer backs off.
        let mut seq = self.snd_una;
        while seq != self.snd_nxt {
            let mut meta = self.send_meta(arena, seq);
            if meta.state == SENT && meta.flags & (F_RESEND | F_LOST) == 0 {
                meta.flags |= F_LOST;
                self.set_send_meta(arena, seq, &meta);
                self.lost_pending += 1;
            }
            seq = seq.next();
        }
        self.rto_backoff = self.rto_backoff.saturating_add(1);
        self.rto_deadline = Some(now + u64::from(self.current_rto()));
        self.stats.timeouts += 1;
        self.cc.on_timeout(self.snd_nxt);
    }

    /// The RTO with the current backoff applied.
    fn current_rto(&self) -> u32 {
        self.rtt.backed_off(self.rto_backoff, &self.config.timing)
    }

    /// Debug builds check that the pending counts match the flags in the window.
    #[cfg(debug_assertions)]
    fn check_invariants(&self, arena: &mut [u8]) {
        let (mut resend, mut lost) = (0u16, 0u16);
        let mut seq = self.snd_una;
        while seq != self.snd_nxt {
            let meta = self.send_meta(arena, seq);
            resend += u16::from(meta.flags & F_RESEND != 0);
            lost += u16::from(meta.flags & F_LOST != 0);
            seq = seq.next();
        }
        debug_assert_eq!((resend, lost), (self.resend_pending, self.lost_pending), "retransmission counts drifted");
        debug_assert!(self.snd_end.offset_from(self.snd_una) <= u32::from(self.config.send_window));
        debug_assert!(self.rcv_nxt.offset_from(self.rcv_base) <= u32::from(self.config.recv_window));
    }

    #[cfg(not(debug_assertions))]
    fn check_invariants(&self, _arena: &mut [u8]) {}

    /// Forgets a packet's retransmission flags in the pending counts.
    fn unflag(&mut self, meta: &SendMeta) {
        if meta.flags & F_RESEND != 0 {
            self.resend_pending = self.resend_pending.saturating_sub(1);
        }
        if meta.flags & F_LOST != 0 {
            self.lost_pending = self.lost_pending.saturating_sub(1);
        }
    }

    // ---- transmitting ------------------------------------------------------------

    fn poll_transmit(&mut self, arena: &mut [u8], now: u64, buf: &mut [u8]) -> Result<Option<usize>, Error> {
        let needed = self.config.max_datagram_len();
        if buf.len() < needed {
            return Err(Error::BufferTooSmall { needed, available: buf.len() });
        }
        self.on_timers(arena, now);
        self.check_invariants(arena);
        if self.failed.is_some() {
            return Ok(None);
        }
        if let Some(missing) = self.nack_pending.take() {
            let n = self.emit(buf, PacketType::NACK, self.snd_nxt, &[], &missing.0.to_be_bytes())?;
            self.stats.nacks_sent += 1;
            self.sent(arena, now, TraceKind::Sent, self.snd_nxt, PacketType::NACK, n);
            return Ok(Some(n));
        }
        let ack_wanted = self.ack_now || self.ack_deadline.is_some();
        // Reliable data first (retransmissions, then new), then unreliable.
        let candidate = self.next_resend(arena).or_else(|| self.next_new());
        if let Some(seq) = candidate {
            let meta = self.send_meta(arena, seq);
            let piggyback =
                ack_wanted && self.piggyback_fits(arena, usize::from(meta.len), meta.flags & F_FRAGMENT != 0);
            if self.ack_now && !piggyback {
                return self.transmit_ack(arena, now, buf).map(Some);
            }
            return self.transmit_data(arena, now, buf, seq, meta, piggyback).map(Some);
        }
        if self.unrel_send_len > 0 {
            let meta = UnreliableMeta::read(self.unrel_slot(arena, false, self.unrel_send_head));
            let piggyback = ack_wanted && self.piggyback_fits(arena, usize::from(meta.len), false);
            if self.ack_now && !piggyback {
                return self.transmit_ack(arena, now, buf).map(Some);
            }
            return self.transmit_unreliable(arena, now, buf, meta, piggyback).map(Some);
        }
        if self.ack_now {
            return self.transmit_ack(arena, now, buf).map(Some);
        }
        Ok(None)
    }

    /// The next packet to retransmit: NACKed or fast-retransmitted ones at
    /// once, those lost to a timeout as the congestion window allows.
    fn next_resend(&self, arena: &mut [u8]) -> Option<Seq> {
        if self.resend_pending > 0 {
            if let Some(seq) = self.first_flagged(arena, F_RESEND) {
                return Some(seq);
            }
        }
        if self.lost_pending == 0 {
            return None;
        }
        if self.config.congestion_control {
            // packets presumed in the network: sent, not acknowledged, not presumed lost
            let mut pipe = 0u32;
            let mut seq = self.snd_una;
            while seq != self.snd_nxt {
                let meta = self.send_meta(arena, seq);
                if meta.state == SENT && meta.flags & (F_RESEND | F_LOST) == 0 {
                    pipe += 1;
                }
                seq = seq.next();
            }
            if pipe >= u32::from(self.cc.window()) {
                return None;
            }
        }
        self.first_flagged(arena, F_LOST)
    }

    fn first_flagged(&self, arena: &mut [u8], flag: u8) -> Option<Seq> {
        let mut seq = self.snd_una;
        while seq != self.snd_nxt {
            let meta = self.send_meta(arena, seq);
            if meta.state == SENT && meta.flags & flag != 0 {
                return Some(seq);
            }
            seq = seq.next();
        }
        None
    }

    fn next_new(&self) -> Option<Seq> {
        if self.snd_nxt == self.snd_end {
            return None;
        }
        let in_flight = self.snd_nxt.offset_from(self.snd_una);
        let cwnd = if self.config.congestion_control { u32::from(self.cc.window()) } else { u32::MAX };
        let peer_allows = self.snd_nxt.is_before(self.peer_right);
        // With nothing in flight one packet may always go: it probes a full peer.
        (in_flight == 0 || (in_flight < cwnd && peer_allows)).then_some(self.snd_nxt)
    }

    fn piggyback_fits(&self, arena: &mut [u8], data_len: usize, fragment: bool) -> bool {
        let ack = self.build_ack(arena);
        let repr = DataRepr {
            app_type: PacketType(0),
            ack: Some(ack),
            fragment: fragment.then_some(Fragment { index: 0, count: 1 }),
            unreliable: false,
            data: &[],
        };
        repr.header_len() + data_len <= usize::from(self.config.max_payload)
    }

    fn build_ack(&self, arena: &mut [u8]) -> AckRepr {
        let mut sack = Sack::new();
        let first = self.rcv_nxt.next();
        let span = self.rcv_high.offset_from(first).min((MAX_SACK_BYTES * 8) as u32);
        if self.rcv_high.is_after(first) {
            for i in 0..span {
                let seq = first.advance(i);
                if self.in_recv_window(seq) && self.recv_meta(arena, seq).filled {
                    sack.set(i as usize);
                }
            }
        }
        AckRepr { cumulative: self.rcv_nxt.retreat(1), window: Some(self.recv_window_free()), sack }
    }

    fn acked(&mut self, window: Option<u16>) {
        self.ack_now = false;
        self.ack_deadline = None;
        self.rx_unacked = 0;
        self.last_adv_window = window.unwrap_or(self.last_adv_window);
        self.stats.acks_sent += 1;
    }

    fn transmit_ack(&mut self, arena: &mut [u8], now: u64, buf: &mut [u8]) -> Result<usize, Error> {
        let ack = self.build_ack(arena);
        let mut block = [0u8; crate::wire::ack::ACK_BLOCK_MAX_LEN];
        let len = ack.emit_block(&mut block)?;
        let n = self.emit(buf, PacketType::ACK, self.snd_nxt, &[], block.get(..len).unwrap_or(&[]))?;
        self.acked(ack.window);
        self.sent(arena, now, TraceKind::Sent, self.snd_nxt, PacketType::ACK, n);
        Ok(n)
    }

    fn transmit_data(
        &mut self,
        arena: &mut [u8],
        now: u64,
        buf: &mut [u8],
        seq: Seq,
        mut meta: SendMeta,
        piggyback: bool,
    ) -> Result<usize, Error> {
        let fragment =
            (meta.flags & F_FRAGMENT != 0).then_some(Fragment { index: meta.frag_index, count: meta.frag_count });
        let ack = piggyback.then(|| self.build_ack(arena));
        let len = usize::from(meta.len);
        let mut header = [0u8; crate::wire::ack::ACK_BLOCK_MAX_LEN + 8];
        let (ptype, ext_len) = if fragment.is_none() && ack.is_none() {
            (PacketType(meta.app_type), 0)
        } else {
            let repr = DataRepr { app_type: PacketType(meta.app_type), ack, fragment, unreliable: false, data: &[] };
            (PacketType::DATA, repr.emit_header(&mut header)?)
        };
        let n = {
            let slot = self.send_slot(arena, seq);
            let data = slot.get(SEND_META_LEN..SEND_META_LEN + len).unwrap_or(&[]);
            self.emit(buf, ptype, seq, header.get(..ext_len).unwrap_or(&[]), data)?
        };
        if piggyback {
            self.acked(ack.and_then(|a| a.window));
        }
        let kind = if meta.state == QUEUED {
            self.snd_nxt = seq.next();
            meta.state = SENT;
            meta.retries = 0;
            TraceKind::Sent
        } else {
            meta.retries = meta.retries.saturating_add(1);
            self.unflag(&meta);
            meta.flags &= !(F_RESEND | F_LOST);
            self.stats.retransmissions += 1;
            TraceKind::Retransmitted
        };
        meta.sent_at = now;
        if self.rto_deadline.is_none() && self.config.retransmit {
            self.rto_deadline = Some(now + u64::from(self.current_rto()));
        }
        self.set_send_meta(arena, seq, &meta);
        self.sent(arena, now, kind, seq, ptype, n);
        Ok(n)
    }

    fn transmit_unreliable(
        &mut self,
        arena: &mut [u8],
        now: u64,
        buf: &mut [u8],
        meta: UnreliableMeta,
        piggyback: bool,
    ) -> Result<usize, Error> {
        let ack = piggyback.then(|| self.build_ack(arena));
        let repr = DataRepr { app_type: PacketType(meta.app_type), ack, fragment: None, unreliable: true, data: &[] };
        let mut header = [0u8; crate::wire::ack::ACK_BLOCK_MAX_LEN + 8];
        let ext_len = repr.emit_header(&mut header)?;
        let seq = self.unrel_send_seq;
        let n = {
            let slot = self.unrel_slot(arena, false, self.unrel_send_head);
            let len = usize::from(meta.len);
            let data = slot.get(UNRELIABLE_META_LEN..UNRELIABLE_META_LEN + len).unwrap_or(&[]);
            self.emit(buf, PacketType::DATA, seq, header.get(..ext_len).unwrap_or(&[]), data)?
        };
        if piggyback {
            self.acked(ack.and_then(|a| a.window));
        }
        self.unrel_send_seq = seq.next();
        self.unrel_send_head = (self.unrel_send_head + 1) % self.config.unreliable_slots.max(1);
        self.unrel_send_len -= 1;
        self.sent(arena, now, TraceKind::Sent, seq, PacketType::DATA, n);
        Ok(n)
    }

    /// Writes one packet: header, then `ext` and `data` as the payload.
    fn emit(&self, buf: &mut [u8], ptype: PacketType, seq: Seq, ext: &[u8], data: &[u8]) -> Result<usize, Error> {
        let codec = self.config.codec();
        let payload_len = ext.len() + data.len();
        if payload_len > usize::from(codec.max_payload) {
            return Err(Error::PayloadTooLarge { len: payload_len, max: usize::from(codec.max_payload) });
        }
        let available = buf.len();
        let body = buf
            .get_mut(HEADER_LEN..HEADER_LEN + payload_len)
            .ok_or(Error::BufferTooSmall { needed: codec.packet_len(payload_len), available })?;
        if let Some((e, d)) = body.split_at_mut_checked(ext.len()) {
            e.copy_from_slice(ext);
            d.copy_from_slice(data);
        }
        let mut packet = Packet::new_unchecked(buf);
        packet.set_seq(seq);
        packet.set_packet_type(ptype);
        packet.set_payload_len(payload_len as u16);
        packet.fill_check(&codec)
    }

    fn sent(&mut self, arena: &mut [u8], now: u64, kind: TraceKind, seq: Seq, ptype: PacketType, len: usize) {
        self.stats.packets_sent += 1;
        self.stats.bytes_sent += len as u64;
        self.trace(arena, now, kind, seq, ptype, len);
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
        let cap = self.config.trace_slots;
        if cap == 0 {
            return;
        }
        if self.trace_len == cap {
            self.trace_head = (self.trace_head + 1) % cap;
            self.trace_len -= 1;
            self.stats.trace_overflows += 1;
        }
        let index = usize::from((self.trace_head + self.trace_len) % cap);
        let at = self.layout().trace_at + index * TRACE_RECORD_LEN;
        let record = TraceEvent { time_ms: now, kind, seq, ptype, len: len as u32 }.encode();
        for (dst, src) in region(arena, at, TRACE_RECORD_LEN).iter_mut().zip(record) {
            *dst = src;
        }
        self.trace_len += 1;
    }

    fn poll_trace(&mut self, arena: &mut [u8]) -> Option<TraceEvent> {
        if self.trace_len == 0 {
            return None;
        }
        let at = self.layout().trace_at + usize::from(self.trace_head) * TRACE_RECORD_LEN;
        let event = TraceEvent::decode(region(arena, at, TRACE_RECORD_LEN));
        self.trace_head = (self.trace_head + 1) % self.config.trace_slots.max(1);
        self.trace_len -= 1;
        Some(event)
    }

    fn stats(&self) -> Stats {
        Stats {
            srtt_ms: self.rtt.srtt(),
            rto_ms: self.rtt.rto(),
            cwnd: u32::from(self.cc.window()),
            in_flight: self.snd_nxt.offset_from(self.snd_una),
            ..self.stats
        }
    }
}

#[cfg(test)]
mod tests;
