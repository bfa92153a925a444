//! A connection: the handshake, negotiation, heartbeats and close around a
//! [`Link`], sans-IO.
//!
//! A client makes one with [`Connection::connect`] and drives it with the
//! same calls as a link: feed datagrams, poll datagrams to send, poll the
//! next deadline, send and receive messages, poll events. A server makes
//! them through an [`crate::endpoint::Endpoint`], which answers SYNs
//! statelessly.
//!
//! The states and every transition are in [`State`] and
//! `docs/PROTOCOL.md` section 7.8.
//!
//! The caller runs one loop: feed what arrives, run the timers that are due,
//! send what is ready, read messages and events.
//!
//! ```
//! use seqlink_core::{Connection, ConnectionConfig, Delivery, Endpoint, EndpointConfig, Event, PacketType, Slot, State};
//!
//! let config = ConnectionConfig::new();
//! let storage = config.link.storage_len();
//! let slots: Vec<Slot<u8, Vec<u8>>> = (0..2).map(|_| Slot::new(vec![0u8; storage])).collect();
//! let mut server = Endpoint::new(EndpointConfig::new(config), slots, [7; 16], 1);
//! let mut client = Connection::connect(config, vec![0u8; storage], 0, 42).unwrap();
//!
//! let mut datagram = vec![0u8; config.max_datagram_len()];
//! let mut message = [0u8; 64];
//! let (mut events, mut served) = (Vec::new(), None);
//! for now in (0..2_000).step_by(10) {
//!     // timers first, then everything each side has to send
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
//!             client.send(PacketType::CMD_FIRE, b"B5", Delivery::Reliable).unwrap();
//!             client.close(now); // the FIN follows the message
//!         }
//!     }
//!     if let Some(handle) = server.accept() {
//!         served = Some(handle);
//!     }
//!     if let Some(handle) = served {
//!         if let Some(r) = server.recv(handle, &mut message).unwrap() {
//!             assert_eq!(&message[..r.len], b"B5");
//!         }
//!     }
//! }
//! assert_eq!(events, [Event::Connected, Event::Closed]);
//! ```

mod config;

pub use config::{ConnectionConfig, Transport};

use crate::bytes::copy_prefix;
use crate::entropy::splitmix;
use crate::error::Error;
use crate::event::{Event, FailReason, TraceEvent};
use crate::integrity::Integrity;
use crate::link::{ConfigError, Delivery, Handled, Link, Received, SendError, Stats, MIN_PAYLOAD};
use crate::seq::Seq;
use crate::wire::control::{ErrRepr, HeartbeatRepr, ResetRepr};
use crate::wire::handshake::{
    Agreement, ErrorCode, HandshakeAckRepr, Params, SynAckRepr, SynRepr, CONNECTION_EXTENSION, FLAG_CRC,
    FLAG_CRC_SUPPORTED, HANDSHAKE_ACK_FIXED_LEN, MAX_HANDSHAKE_PAYLOAD, PROTOCOL_VERSION, SYN_ACK_FIXED_LEN,
    SYN_FIXED_LEN,
};
use crate::wire::pseudo::{pseudo_sum, same_sum};
use crate::wire::{Codec, PacketRepr, PacketType, HEADER_LEN};

/// Where a connection is in its life.
///
/// ```text
/// client:  SynSent --SYN_ACK--> Confirming --first bound packet--> Established
/// server:  (stateless) --valid HANDSHAKE_ACK--> Established
/// both:    Established --close() or peer FIN--> Closing --both FINs acked--> Linger (reports Closed)
///          Linger --linger time--> Closed (the connection is forgotten)
///          any --timeout, dead peer, ERR, RESET--> Failed
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum State {
    /// Client: SYN sent, waiting for the SYN_ACK.
    SynSent,
    /// Client: HANDSHAKE_ACK sent, waiting for the server's first packet on the connection.
    Confirming,
    /// Messages flow both ways.
    Established,
    /// A FIN is queued or received: finishing delivery both ways.
    Closing,
    /// Closed for the application (the `Closed` event was reported); still
    /// acknowledging late duplicates before the connection is forgotten.
    Linger,
    /// Closed gracefully.
    Closed,
    /// Failed; see [`Connection::failure`].
    Failed,
}

/// Client or server side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Role {
    /// Opened the connection.
    Client,
    /// Accepted it.
    Server,
}

/// Control packets waiting to be sent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
struct Pending {
    syn: bool,
    handshake_ack: bool,
    /// A close was asked for; the FIN waits for room in the send window.
    fin: bool,
    ping: bool,
    pong: Option<u32>,
    err: Option<ErrorCode>,
    reset: Option<ErrorCode>,
}

/// Events waiting to be read.
const EVENT_SLOTS: usize = 4;

/// A small fixed ring of events: `len` of them from `head` on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
struct Events {
    queue: [Option<Event>; EVENT_SLOTS],
    head: u8,
    len: u8,
}

impl Events {
    fn slot(&mut self, offset: u8) -> Option<&mut Option<Event>> {
        self.queue.get_mut(usize::from(self.head.wrapping_add(offset)) % EVENT_SLOTS)
    }

    fn push(&mut self, event: Event) {
        if usize::from(self.len) < EVENT_SLOTS {
            let len = self.len;
            self.len += 1;
            if let Some(slot) = self.slot(len) {
                *slot = Some(event);
            }
        } else if let Some(last) = self.slot(EVENT_SLOTS as u8 - 1) {
            *last = Some(event); // only `Writable` can pile up; the final state always gets through
        }
    }

    fn pop(&mut self) -> Option<Event> {
        if self.len == 0 {
            return None;
        }
        let event = self.slot(0)?.take();
        self.head = self.head.wrapping_add(1) % EVENT_SLOTS as u8;
        self.len -= 1;
        event
    }
}

/// What a connection keeps of its [`ConnectionConfig`] (the link's part lives in the link).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Settings {
    /// What this side proposes in the handshake.
    proposal: Params,
    connect_timeout_ms: u32,
    close_timeout_ms: u32,
    linger_ms: u32,
    prefer_crc: bool,
    server_extension_room: u16,
    extension: [u8; CONNECTION_EXTENSION],
    extension_len: u8,
    transport: Transport,
    /// Payload limit of packets sent before the connection is bound.
    unbound_max_payload: u16,
}

impl Settings {
    fn of(config: &ConnectionConfig) -> Settings {
        Settings {
            proposal: config.proposal(),
            connect_timeout_ms: config.connect_timeout_ms,
            close_timeout_ms: config.close_timeout_ms,
            linger_ms: config.linger_ms,
            prefer_crc: config.prefer_crc,
            server_extension_room: config.server_extension_room,
            extension: config.extension,
            extension_len: config.extension_len,
            transport: config.transport,
            unbound_max_payload: config.unbound_max_payload(),
        }
    }

    /// The extension bytes this side sends.
    fn extension(&self) -> &[u8] {
        self.extension.get(..usize::from(self.extension_len)).unwrap_or(&[])
    }
}

/// Longest peer error reason kept.
const REASON_LEN: usize = 48;

/// A connection over caller-provided link storage `S`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Connection<S> {
    link: Link<S>,
    config: Settings,
    role: Role,
    state: State,
    local_id: u32,
    local_isn: u32,
    agreement: Option<Agreement>,
    conn_id: u32,
    pending: Pending,
    events: Events,
    failure: Option<FailReason>,
    /// When the outstanding ping was sent (its stamp is the low 32 bits): only its pong gives an RTT sample.
    ping_sent_at: Option<u64>,
    /// Pings sent since the peer was last heard from.
    unanswered_pings: u8,
    /// The code of this side's abort: the RESET is repeated while `linger_until` lasts.
    aborted: Option<ErrorCode>,
    // timers
    started: u64,
    retry_at: u64,
    retries: u8,
    last_recv: u64,
    last_send: u64,
    close_started: u64,
    linger_until: u64,
    /// When the peer last made us linger longer (a duplicate arrived while lingering).
    linger_mark: u64,
    reason: [u8; REASON_LEN],
    reason_len: u8,
    peer_extension: [u8; CONNECTION_EXTENSION],
    peer_extension_len: u8,
}

impl<S: AsMut<[u8]>> Connection<S> {
    /// Starts a client connection: the first [`Connection::poll_transmit`]
    /// sends the SYN. `entropy` seeds the connection id and initial sequence
    /// number (use a real random source: ids must be unpredictable).
    pub fn connect(config: ConnectionConfig, storage: S, now: u64, entropy: u64) -> Result<Connection<S>, ConfigError> {
        let mut mix = entropy;
        let local_id = splitmix(&mut mix) as u32;
        let local_isn = splitmix(&mut mix) as u32;
        let mut conn = Connection::new(config, storage, Role::Client, now, local_id, local_isn)?;
        conn.pending.syn = true;
        conn.retry_at = now;
        Ok(conn)
    }

    /// A server-side connection from a verified agreement (used by the endpoint).
    #[cfg(feature = "endpoint")]
    pub(crate) fn accept(
        config: ConnectionConfig,
        storage: S,
        now: u64,
        agreement: &Agreement,
        peer_extension: &[u8],
    ) -> Result<Connection<S>, ConfigError> {
        let mut conn = Connection::new(config, storage, Role::Server, now, agreement.server_id, agreement.server_isn)?;
        conn.keep_peer_extension(peer_extension);
        conn.establish(agreement)?;
        conn.state = State::Established;
        conn.events.push(Event::Connected);
        conn.link.request_ack(); // confirms the connection to the client
        Ok(conn)
    }

    fn new(
        config: ConnectionConfig,
        mut storage: S,
        role: Role,
        now: u64,
        local_id: u32,
        local_isn: u32,
    ) -> Result<Connection<S>, ConfigError> {
        config.link.validate()?;
        if usize::from(config.extension_len) > CONNECTION_EXTENSION
            || usize::from(config.server_extension_room) > CONNECTION_EXTENSION
        {
            return Err(ConfigError::Extension);
        }
        let needed = config.link.storage_len();
        let available = storage.as_mut().len();
        if available < needed {
            return Err(ConfigError::Storage { needed, available });
        }
        let link = Link::new(config.link, storage)?;
        Ok(Connection {
            link,
            config: Settings::of(&config),
            role,
            state: State::SynSent,
            local_id,
            local_isn,
            agreement: None,
            conn_id: 0,
            pending: Pending::default(),
            events: Events::default(),
            failure: None,
            ping_sent_at: None,
            unanswered_pings: 0,
            aborted: None,
            started: now,
            retry_at: now,
            retries: 0,
            last_recv: now,
            last_send: now,
            close_started: now,
            linger_until: now,
            linger_mark: now,
            reason: [0; REASON_LEN],
            reason_len: 0,
            peer_extension: [0; CONNECTION_EXTENSION],
            peer_extension_len: 0,
        })
    }

    // ---- state ------------------------------------------------------------

    /// The current state.
    pub fn state(&self) -> State {
        self.state
    }

    /// Client or server.
    pub fn role(&self) -> Role {
        self.role
    }

    /// Whether messages can be sent and received.
    pub fn is_established(&self) -> bool {
        matches!(self.state, State::Established | State::Closing)
    }

    /// Whether the connection is over (closed or failed).
    pub fn is_closed(&self) -> bool {
        matches!(self.state, State::Closed | State::Failed)
    }

    /// Why the connection failed, if it did.
    pub fn failure(&self) -> Option<FailReason> {
        self.failure
    }

    /// The extension bytes the peer sent in its handshake (at most 32 kept).
    pub fn peer_extension(&self) -> &[u8] {
        self.peer_extension.get(..usize::from(self.peer_extension_len)).unwrap_or(&[])
    }

    fn keep_peer_extension(&mut self, extension: &[u8]) {
        let n = extension.len().min(CONNECTION_EXTENSION);
        if let (Some(dst), Some(src)) = (self.peer_extension.get_mut(..n), extension.get(..n)) {
            copy_prefix(dst, src);
        }
        self.peer_extension_len = n as u8;
    }

    /// The reason text of the peer's ERR_MSG, if it sent one.
    pub fn error_reason(&self) -> &[u8] {
        self.reason.get(..usize::from(self.reason_len)).unwrap_or(&[])
    }

    /// The parameters both sides agreed on, once the handshake got that far.
    pub fn agreement(&self) -> Option<&Agreement> {
        self.agreement.as_ref()
    }

    /// The connection id folded into every packet's check (0 before the handshake).
    pub fn connection_id(&self) -> u32 {
        self.conn_id
    }

    /// The link's statistics.
    pub fn stats(&self) -> Stats {
        self.link.stats()
    }

    /// The link underneath (statistics, traces, configuration).
    pub fn link(&self) -> &Link<S> {
        &self.link
    }

    /// The storage, given back.
    pub fn into_storage(self) -> S {
        self.link.into_storage()
    }

    // ---- application calls --------------------------------------------------

    /// Queues a message. Refused with [`SendError::NotConnected`] before the
    /// handshake completed, [`SendError::Closing`] once either side started
    /// closing (or this side aborted), [`SendError::Failed`] after a failure.
    pub fn send(&mut self, ptype: PacketType, message: &[u8], delivery: Delivery) -> Result<(), SendError> {
        if self.state == State::Established {
            return self.link.send(ptype, message, delivery);
        }
        Err(match self.state {
            State::SynSent | State::Confirming => SendError::NotConnected,
            State::Failed => SendError::Failed,
            // Closing, Linger, Closed (a wildcard: an exhaustive list costs the firmware 24 bytes)
            _ => SendError::Closing,
        })
    }

    /// Reads the next message (see [`Link::recv`]). Messages that arrived
    /// before a close stay readable after it.
    pub fn recv(&mut self, buf: &mut [u8]) -> Result<Option<Received>, Error> {
        if matches!(self.state, State::SynSent | State::Confirming) {
            return Ok(None);
        }
        self.link.recv(buf)
    }

    /// Length of the next message [`Connection::recv`] would return.
    pub fn next_message_len(&mut self) -> Option<usize> {
        if matches!(self.state, State::SynSent | State::Confirming) {
            return None;
        }
        self.link.next_message_len()
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<Event> {
        if let Some(event) = self.events.pop() {
            return Some(event);
        }
        loop {
            match self.link.poll_event()? {
                // the connection reports its own failure
                Event::Failed(_) => {}
                // room to send means nothing once the connection stopped taking messages
                Event::Writable if self.state != State::Established => {}
                other => return Some(other),
            }
        }
    }

    /// Whether events are waiting to be polled.
    pub fn has_events(&self) -> bool {
        self.events.queue.iter().any(Option::is_some)
    }

    /// Sends the server's confirmation again (a duplicate HANDSHAKE_ACK arrived).
    #[cfg(feature = "endpoint")]
    pub(crate) fn confirm(&mut self) {
        self.link.request_ack();
    }

    /// The oldest unread packet trace record.
    pub fn poll_trace(&mut self) -> Option<TraceEvent> {
        self.link.poll_trace()
    }

    /// Starts a graceful close: a FIN follows everything queued, the peer
    /// answers with its own FIN after its data, and both are acknowledged.
    /// The state is [`State::Closing`] at once, and nothing more can be sent;
    /// when the send window is full the FIN waits for room
    /// ([`Connection::close_pending`]). A close that does not complete within
    /// `close_timeout_ms` fails with [`FailReason::CloseTimeout`].
    pub fn close(&mut self, now: u64) {
        match self.state {
            State::Established => self.start_close(now),
            State::SynSent | State::Confirming => self.finish(State::Closed, None),
            _ => {}
        }
    }

    /// Whether a close was asked for but its FIN still waits for room in the
    /// send window (it follows the queued data as soon as there is room).
    pub fn close_pending(&self) -> bool {
        self.pending.fin
    }

    /// Enters `Closing` at once; the FIN is queued behind the pending data now
    /// or, when the send window is full, as soon as acknowledgements free room.
    fn start_close(&mut self, now: u64) {
        self.state = State::Closing;
        self.close_started = now;
        self.pending.fin = true;
        self.queue_fin();
    }

    fn queue_fin(&mut self) {
        if self.pending.fin && self.link.send_fin().is_ok() {
            self.pending.fin = false;
        }
    }

    /// Aborts at once: a RESET with `code` goes to the peer and the
    /// connection is closed (queued and unacknowledged data is dropped).
    /// For `linger_ms` after `now`, every packet of the connection that still
    /// arrives is answered with the RESET again, in case it was lost.
    pub fn abort(&mut self, now: u64, code: ErrorCode) {
        if !self.is_closed() {
            if self.agreement.is_some() {
                self.pending.reset = Some(code);
                self.aborted = Some(code);
                self.linger_until = now.saturating_add(u64::from(self.config.linger_ms));
            }
            self.finish(State::Closed, None);
        }
    }

    /// The transport underneath ended (a TCP stream closed): a lingering
    /// connection is done, any other fails as reset.
    pub fn transport_closed(&mut self) {
        match self.state {
            State::Linger => self.state = State::Closed,
            State::Closed | State::Failed => {}
            _ => self.fail(FailReason::Reset { code: ErrorCode::Other }),
        }
    }

    // ---- input -----------------------------------------------------------------

    /// Feeds one received datagram.
    ///
    /// Every byte a connection receives passes here, and every byte it sends
    /// leaves through [`Connection::poll_transmit`]: the two places where a
    /// secure mode opens and seals packets.
    pub fn handle_datagram(&mut self, now: u64, datagram: &[u8]) {
        if self.is_closed() {
            self.answer_after_abort(now, datagram);
            return;
        }
        if self.agreement.is_some() {
            let bound = self.bound_codec();
            if let Ok(packet) = PacketRepr::decode(datagram, &bound) {
                self.on_bound(now, &packet, datagram.len());
                return;
            }
        }
        match PacketRepr::decode(datagram, &self.unbound_codec()) {
            Ok(packet) => self.on_unbound(now, &packet),
            Err(_) => self.link.note_corrupt(now, datagram.len()),
        }
    }

    /// After an abort, the peer's packets get the RESET again while the linger lasts.
    fn answer_after_abort(&mut self, now: u64, datagram: &[u8]) {
        if let Some(code) = self.aborted {
            if !due(now, self.linger_until) && PacketRepr::decode(datagram, &self.bound_codec()).is_ok() {
                self.pending.reset = Some(code);
            }
        }
    }

    fn on_bound(&mut self, now: u64, packet: &PacketRepr<'_>, wire_len: usize) {
        if matches!(packet.ptype, PacketType::ERR_MSG | PacketType::RESET)
            && !self.link.is_plausible_peer_seq(packet.seq)
        {
            // An off-path sender that guessed the connection id's sum must
            // also guess a sequence number inside the receive window.
            return;
        }
        self.last_recv = now;
        self.unanswered_pings = 0;
        if self.state == State::Linger {
            // The peer is still resending (our last acknowledgement was lost), with
            // backoff: stay until well after its next retransmission.
            let gap = now.saturating_sub(self.linger_mark);
            let cap = 2 * u64::from(self.link.config().timing.max_rto);
            let stay = gap.saturating_mul(3).max(u64::from(self.config.linger_ms)).min(cap.max(1));
            self.linger_until = self.linger_until.max(now.saturating_add(stay));
            self.linger_mark = now;
        }
        if self.state == State::Confirming {
            // The server has the connection: the handshake is complete.
            self.state = State::Established;
            self.pending.handshake_ack = false;
            self.events.push(Event::Connected);
        }
        match packet.ptype {
            PacketType::HEARTBEAT => match HeartbeatRepr::parse(packet.payload) {
                Ok(HeartbeatRepr { pong: false, stamp }) => self.pending.pong = Some(stamp),
                Ok(HeartbeatRepr { pong: true, stamp }) => self.on_pong(now, stamp),
                Err(_) => {}
            },
            PacketType::ERR_MSG => {
                let err = ErrRepr::parse(packet.payload).unwrap_or(ErrRepr { code: ErrorCode::Other, reason: &[] });
                self.keep_reason(err.reason);
                self.fail(FailReason::Reset { code: err.code });
            }
            PacketType::RESET => {
                let code = ResetRepr::parse(packet.payload).map_or(ErrorCode::Other, |r| r.code);
                self.fail(FailReason::Reset { code });
            }
            _ => {
                // Handshake packets never arrive bound; other unknown types are dropped.
                let _: Handled = self.link.handle_packet(now, packet, wire_len);
            }
        }
        self.after_input(now);
    }

    fn on_unbound(&mut self, now: u64, packet: &PacketRepr<'_>) {
        match (packet.ptype, self.state) {
            (PacketType::SYN_ACK, State::SynSent) => {
                let Ok(syn_ack) = SynAckRepr::parse(packet.payload) else { return };
                let mut agreement = syn_ack.agreement;
                if agreement.client_id != self.local_id {
                    return; // not an answer to our SYN
                }
                agreement.client_isn = self.local_isn;
                if !self.acceptable(&agreement) {
                    self.fail(FailReason::ProtocolViolation);
                    return;
                }
                if self.establish(&agreement).is_err() {
                    self.fail(FailReason::ProtocolViolation);
                    return;
                }
                self.keep_peer_extension(syn_ack.extension);
                self.last_recv = now;
                self.state = State::Confirming;
                self.pending.syn = false;
                self.pending.handshake_ack = true;
                self.retries = 0;
                self.retry_at = now;
            }
            // a repeated SYN_ACK: our HANDSHAKE_ACK was lost, send it again
            (PacketType::SYN_ACK, State::Confirming | State::Established)
                if SynAckRepr::parse(packet.payload).is_ok_and(|s| Some(s.agreement.server_id) == self.peer_id()) =>
            {
                self.pending.handshake_ack = true;
            }
            (PacketType::ERR_MSG, State::SynSent | State::Confirming) => {
                let err = ErrRepr::parse(packet.payload).unwrap_or(ErrRepr { code: ErrorCode::Other, reason: &[] });
                self.keep_reason(err.reason);
                self.fail(FailReason::Refused { code: err.code });
            }
            (PacketType::RESET, _) if self.agreement.is_some() => {
                // A RESET from a peer that forgot the connection proves it answers
                // one of our packets by echoing our pseudo-header's sum and that
                // packet's sequence number, one we sent and still wait on.
                if let Ok(reset) = ResetRepr::parse(packet.payload) {
                    if same_sum(reset.token, pseudo_sum(self.conn_id)) && self.link.is_unacknowledged_seq(packet.seq) {
                        self.fail(FailReason::Reset { code: reset.code });
                    }
                }
            }
            _ => {} // anything else unbound is not for this connection
        }
    }

    /// A pong: an RTT sample only if it echoes the ping still outstanding.
    fn on_pong(&mut self, now: u64, stamp: u32) {
        if let Some(sent_at) = self.ping_sent_at.filter(|&at| at as u32 == stamp) {
            self.ping_sent_at = None;
            let rtt = now.saturating_sub(sent_at);
            self.link.on_rtt_sample(u32::try_from(rtt).unwrap_or(u32::MAX));
        }
    }

    /// Whether the server's answer stays within what we proposed.
    fn acceptable(&self, a: &Agreement) -> bool {
        let mine = self.proposal();
        a.version == PROTOCOL_VERSION
            && a.params.max_payload >= MIN_PAYLOAD
            && a.params.max_payload <= mine.max_payload
            && a.params.window >= 1
            && a.params.window <= mine.window
            && (a.flags & FLAG_CRC == 0 || self.crc_flags() & FLAG_CRC_SUPPORTED != 0)
    }

    fn crc_supported(&self) -> bool {
        Integrity::from_u8(1).is_some()
    }

    fn peer_id(&self) -> Option<u32> {
        self.agreement.map(|a| match self.role {
            Role::Client => a.server_id,
            Role::Server => a.client_id,
        })
    }

    /// Reconfigures the link for the agreed parameters.
    fn establish(&mut self, a: &Agreement) -> Result<(), ConfigError> {
        let (send_isn, recv_isn) = match self.role {
            Role::Client => (a.client_isn, a.server_isn),
            Role::Server => (a.server_isn, a.client_isn),
        };
        // the link was built from the configured LinkConfig; the agreement changes only these fields
        let mut link = *self.link.config();
        link.max_payload = a.params.max_payload;
        link.send_window = a.params.window;
        link.recv_window = a.params.window;
        link.peer_recv_window = a.params.window;
        link.integrity = if a.flags & FLAG_CRC != 0 {
            Integrity::from_u8(1).unwrap_or(Integrity::InternetChecksum)
        } else {
            Integrity::InternetChecksum
        };
        link.pseudo_header = a.client_id ^ a.server_id;
        link.initial_send_seq = Seq(send_isn);
        link.initial_recv_seq = Seq(recv_isn);
        if self.config.transport == Transport::Stream {
            link.retransmit = false;
            link.congestion_control = crate::congestion::CongestionControl::Off;
        }
        self.link.reconfigure(link)?;
        self.conn_id = link.pseudo_header;
        self.agreement = Some(*a);
        Ok(())
    }

    fn after_input(&mut self, now: u64) {
        if matches!(self.state, State::Established | State::Closing) {
            if let Some(reason) = self.link.failure() {
                self.fail(reason);
                return;
            }
            if self.link.peer_finished() && self.state == State::Established {
                // passive close: our FIN follows whatever we still had queued
                self.start_close(now);
            }
            self.queue_fin();
            if self.state == State::Closing && self.link.fin_acknowledged() && self.link.peer_finished() {
                // Closed for the application. Both sides linger: the peer may
                // not have our last acknowledgement yet and may resend its FIN,
                // which must be acknowledged again, not answered with a RESET.
                self.state = State::Linger;
                self.linger_until = now.saturating_add(u64::from(self.config.linger_ms));
                self.linger_mark = now;
                self.link.request_ack(); // the peer's FIN: acknowledge it now, not after a delay
                self.events.push(Event::Closed);
            }
        }
    }

    // ---- timers ------------------------------------------------------------------

    /// The next deadline at which [`Connection::handle_timeout`] has work.
    pub fn poll_timeout(&self) -> Option<u64> {
        match self.state {
            State::SynSent | State::Confirming => timer(self.retry_at.min(self.connect_deadline())),
            State::Established | State::Closing => {
                let mut t = self.link.poll_timeout();
                let mut at = |deadline: u64| t = Some(t.map_or(deadline, |x| x.min(deadline)));
                if let Some(deadline) = self.heartbeat_deadline() {
                    at(deadline);
                }
                if let Some(deadline) = self.idle_deadline() {
                    at(deadline);
                }
                if self.state == State::Closing {
                    at(self.close_deadline());
                }
                t.and_then(timer)
            }
            State::Linger => timer(self.linger_until),
            State::Closed | State::Failed => None,
        }
    }

    // Deadlines saturate: a clock near `u64::MAX` never wraps into the past,
    // and a deadline that reaches `u64::MAX` is never due (`due`, `timer`).

    fn connect_deadline(&self) -> u64 {
        self.started.saturating_add(u64::from(self.config.connect_timeout_ms))
    }

    fn close_deadline(&self) -> u64 {
        self.close_started.saturating_add(u64::from(self.config.close_timeout_ms))
    }

    /// When the next ping is due: `heartbeat_ms` after the last packet either way.
    fn heartbeat_deadline(&self) -> Option<u64> {
        let hb = self.agreement.map_or(0, |a| a.params.heartbeat_ms);
        (hb > 0).then(|| self.last_send.max(self.last_recv).saturating_add(u64::from(hb)))
    }

    /// When silence fails the connection: `idle_timeout_ms` after the last packet received.
    fn idle_deadline(&self) -> Option<u64> {
        let idle = self.agreement.map_or(0, |a| a.params.idle_timeout_ms);
        (idle > 0).then(|| self.last_recv.saturating_add(u64::from(idle)))
    }

    /// Processes the timers that expired by `now`.
    pub fn handle_timeout(&mut self, now: u64) {
        match self.state {
            State::SynSent | State::Confirming => {
                if due(now, self.connect_deadline()) {
                    self.fail(FailReason::ConnectTimeout);
                } else if due(now, self.retry_at) {
                    if self.state == State::SynSent {
                        self.pending.syn = true;
                    } else {
                        self.pending.handshake_ack = true;
                    }
                }
            }
            State::Established | State::Closing => {
                self.link.handle_timeout(now);
                if self.idle_deadline().is_some_and(|t| due(now, t)) {
                    self.pending.err = Some(ErrorCode::IdleTimeout);
                    self.fail(FailReason::IdleTimeout);
                    return;
                }
                if self.state == State::Closing && due(now, self.close_deadline()) {
                    self.fail(FailReason::CloseTimeout);
                    return;
                }
                if self.heartbeat_deadline().is_some_and(|t| due(now, t)) {
                    if self.unanswered_pings >= self.link.config().timing.max_retries {
                        // as many pings as a packet gets retransmissions, none answered
                        self.fail(FailReason::DeadPeer { seq: self.link.next_send_seq() });
                        return;
                    }
                    self.pending.ping = true;
                }
                self.after_input(now);
            }
            State::Linger => {
                if due(now, self.linger_until) {
                    self.state = State::Closed; // the Closed event was reported on entering Linger
                }
            }
            State::Closed | State::Failed => {}
        }
    }

    // ---- output ------------------------------------------------------------------

    /// Writes the next datagram to send into `buf` (which must hold
    /// [`ConnectionConfig::max_datagram_len`] bytes).
    pub fn poll_transmit(&mut self, now: u64, buf: &mut [u8]) -> Result<Option<usize>, Error> {
        // ConnectionConfig::max_datagram_len
        let needed = HEADER_LEN + usize::from(self.config.unbound_max_payload) + 4;
        if buf.len() < needed {
            return Err(Error::BufferTooSmall { needed, available: buf.len() });
        }
        let n = self.transmit(now, buf)?;
        if n.is_some() {
            self.last_send = now;
        }
        Ok(n)
    }

    fn transmit(&mut self, now: u64, buf: &mut [u8]) -> Result<Option<usize>, Error> {
        if let Some(code) = self.pending.reset.take() {
            let reset = ResetRepr { code, token: 0 };
            return self.emit(buf, PacketType::RESET, &reset.to_bytes(), true).map(Some);
        }
        if let Some(code) = self.pending.err.take() {
            let mut payload = [0u8; 1 + REASON_LEN];
            let n = ErrRepr { code, reason: code.as_str().as_bytes() }.fitted(payload.len()).emit(&mut payload)?;
            return self.emit(buf, PacketType::ERR_MSG, payload.get(..n).unwrap_or(&[]), true).map(Some);
        }
        match self.state {
            State::SynSent if self.pending.syn => {
                self.pending.syn = false;
                self.schedule_retry(now);
                let mut payload = [0u8; MAX_HANDSHAKE_PAYLOAD];
                let extension = self.config.extension();
                let syn = SynRepr {
                    version: PROTOCOL_VERSION,
                    flags: self.crc_flags(),
                    client_id: self.local_id,
                    isn: self.local_isn,
                    params: self.proposal(),
                    extension,
                    // the server may answer with at most as many bytes as the SYN has
                    padding: (SYN_ACK_FIXED_LEN + usize::from(self.config.server_extension_room))
                        .saturating_sub(SYN_FIXED_LEN + extension.len()),
                };
                let n = syn.emit(&mut payload)?;
                self.emit(buf, PacketType::SYN, payload.get(..n).unwrap_or(&[]), false).map(Some)
            }
            State::Confirming | State::Established if self.pending.handshake_ack => {
                self.pending.handshake_ack = false;
                if self.state == State::Confirming {
                    self.schedule_retry(now);
                }
                let Some(agreement) = self.agreement else { return Ok(None) };
                let mut payload = [0u8; HANDSHAKE_ACK_FIXED_LEN + CONNECTION_EXTENSION];
                let n = HandshakeAckRepr { agreement, extension: self.config.extension() }.emit(&mut payload)?;
                self.emit(buf, PacketType::HANDSHAKE_ACK, payload.get(..n).unwrap_or(&[]), false).map(Some)
            }
            State::Established | State::Closing | State::Linger => {
                if let Some(stamp) = self.pending.pong.take() {
                    let pong = HeartbeatRepr { pong: true, stamp };
                    return self.emit(buf, PacketType::HEARTBEAT, &pong.to_bytes(), true).map(Some);
                }
                let sent = self.link.poll_transmit(now, buf)?;
                self.after_input(now);
                if let Some(n) = sent {
                    self.pending.ping = false;
                    return Ok(Some(n));
                }
                if self.pending.ping {
                    self.pending.ping = false;
                    self.ping_sent_at = Some(now);
                    self.unanswered_pings = self.unanswered_pings.saturating_add(1);
                    let ping = HeartbeatRepr { pong: false, stamp: now as u32 };
                    return self.emit(buf, PacketType::HEARTBEAT, &ping.to_bytes(), true).map(Some);
                }
                Ok(None)
            }
            _ => Ok(None),
        }
    }

    fn schedule_retry(&mut self, now: u64) {
        if self.config.transport == Transport::Stream {
            // the stream delivers the handshake; only the connect timeout applies
            self.retry_at = self.connect_deadline();
            return;
        }
        let base = u64::from(self.link.config().timing.initial_rto);
        let backoff = base << self.retries.min(6);
        self.retry_at = now.saturating_add(backoff.min(u64::from(self.link.config().timing.max_rto)));
        self.retries = self.retries.saturating_add(1);
    }

    fn crc_flags(&self) -> u8 {
        let mut flags = 0;
        // Over a stream the framing must not change mid-stream: no CRC-32C there.
        if self.crc_supported() && self.config.transport == Transport::Datagram {
            flags |= FLAG_CRC_SUPPORTED;
            if self.config.prefer_crc {
                flags |= FLAG_CRC;
            }
        }
        flags
    }

    /// What this side proposes (clients) or accepts at most (servers).
    pub(crate) fn proposal(&self) -> Params {
        self.config.proposal
    }

    /// Writes a control packet. Bound ones carry the connection id in their
    /// check and this side's next sequence number (the peer checks it against
    /// its window before it believes an ERR_MSG or RESET); unbound ones carry 0.
    fn emit(&mut self, buf: &mut [u8], ptype: PacketType, payload: &[u8], bound: bool) -> Result<usize, Error> {
        let (codec, seq) =
            if bound { (self.bound_codec(), self.link.next_send_seq()) } else { (self.unbound_codec(), Seq(0)) };
        PacketRepr::new(seq, ptype, payload).emit(buf, &codec)
    }

    fn bound_codec(&self) -> Codec {
        self.link.config().codec()
    }

    fn unbound_codec(&self) -> Codec {
        Codec::new().with_max_payload(self.config.unbound_max_payload)
    }

    fn keep_reason(&mut self, reason: &[u8]) {
        let n = reason.len().min(REASON_LEN);
        if let (Some(dst), Some(src)) = (self.reason.get_mut(..n), reason.get(..n)) {
            copy_prefix(dst, src);
        }
        self.reason_len = n as u8;
    }

    fn fail(&mut self, reason: FailReason) {
        self.finish(State::Failed, Some(reason));
    }

    /// Ends the connection with exactly one final event: a connection that
    /// already reported `Closed` (it lingers) ends quietly.
    fn finish(&mut self, state: State, failure: Option<FailReason>) {
        if self.is_closed() {
            return;
        }
        if self.state == State::Linger {
            self.state = State::Closed;
            return;
        }
        self.state = state;
        self.failure = failure;
        self.events.push(match failure {
            Some(reason) => Event::Failed(reason),
            None => Event::Closed,
        });
    }
}

/// A deadline that saturated at `u64::MAX` lies beyond the clock's range: never.
const NEVER: u64 = u64::MAX;

/// Whether `deadline` has come at `now`.
fn due(now: u64, deadline: u64) -> bool {
    deadline != NEVER && now >= deadline
}

/// A deadline as `poll_timeout` reports it: `None` for [`NEVER`].
fn timer(deadline: u64) -> Option<u64> {
    (deadline != NEVER).then_some(deadline)
}

#[cfg(all(test, feature = "endpoint"))]
mod tests;
