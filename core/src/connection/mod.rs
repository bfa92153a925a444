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
mod input;
mod output;
mod peer_bytes;
mod timers;

pub use config::{ConnectionConfig, Transport};
use peer_bytes::PeerBytes;

use crate::bytes::copy_prefix;
use crate::entropy::splitmix;
use crate::error::Error;
use crate::event::{Event, FailReason, TraceEvent};
use crate::integrity::Integrity;
use crate::link::{check_storage, ConfigError, Delivery, Handled, Link, Received, SendError, Stats, MIN_PAYLOAD};
use crate::seq::Seq;
use crate::wire::control::{ErrRepr, HeartbeatRepr, ResetRepr};
use crate::wire::handshake::{
    Agreement, ErrorCode, HandshakeAckRepr, Params, SynAckRepr, SynRepr, CONNECTION_EXTENSION, FLAG_COALESCE, FLAG_CRC,
    FLAG_CRC_SUPPORTED, PROTOCOL_VERSION, SYN_ACK_FIXED_LEN, SYN_FIXED_LEN,
};
use crate::wire::pseudo::{pseudo_sum, same_sum};
use crate::wire::{seal, Codec, PacketRepr, PacketType, HEADER_LEN};

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
    /// When the last ping was sent (its stamp is the low 32 bits): only its
    /// pong, while `ping_outstanding`, gives an RTT sample.
    ping_sent_at: u64,
    ping_outstanding: bool,
    /// Pings sent since the peer was last heard from.
    unanswered_pings: u8,
    /// The code of this side's abort: the RESET is repeated while `linger_until` lasts.
    aborted: Option<ErrorCode>,
    // timers
    /// When the handshake fails with `ConnectTimeout`: `connect_timeout_ms` after the start.
    connect_deadline: u64,
    retry_at: u64,
    retries: u8,
    last_recv: u64,
    last_send: u64,
    /// When a close fails with `CloseTimeout`: `close_timeout_ms` after it started.
    close_deadline: u64,
    linger_until: u64,
    /// When the peer last made us linger longer (a duplicate arrived while lingering).
    linger_mark: u64,
    /// The reason text of the peer's ERR_MSG.
    reason: PeerBytes<REASON_LEN>,
    peer_extension: PeerBytes<CONNECTION_EXTENSION>,
}

impl<S: AsMut<[u8]>> Connection<S> {
    /// Starts a client connection: the first [`Connection::poll_transmit`]
    /// sends the SYN. `entropy` seeds the connection id and initial sequence
    /// number (use a real random source: ids must be unpredictable).
    pub fn connect(config: ConnectionConfig, storage: S, now: u64, entropy: u64) -> Result<Connection<S>, ConfigError> {
        let mut mix = entropy;
        let local_id = splitmix(&mut mix) as u32;
        let local_isn = splitmix(&mut mix) as u32;
        // returned as built (the first SYN is due at once): no second copy on the stack
        Connection::new(config, storage, Role::Client, now, local_id, local_isn)
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
        conn.peer_extension.keep(peer_extension);
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
        check_storage(&config.link, storage.as_mut())?;
        // built where it is returned: nothing is changed after this
        Ok(Connection {
            link: Link::checked(config.link, storage),
            config: Settings::of(&config),
            role,
            state: State::SynSent,
            local_id,
            local_isn,
            agreement: None,
            conn_id: 0,
            // a client's SYN is due at once (`retry_at` is now)
            pending: Pending { syn: role == Role::Client, ..Pending::default() },
            events: Events::default(),
            failure: None,
            ping_sent_at: 0,
            ping_outstanding: false,
            unanswered_pings: 0,
            aborted: None,
            connect_deadline: now.saturating_add(u64::from(config.connect_timeout_ms)),
            retry_at: now,
            retries: 0,
            last_recv: now,
            last_send: now,
            close_deadline: NEVER, // set when the close starts
            linger_until: now,
            linger_mark: now,
            reason: PeerBytes::new(),
            peer_extension: PeerBytes::new(),
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

    /// The extension bytes the peer sent in its handshake (at most 32 kept;
    /// empty without the `peer-details` feature).
    pub fn peer_extension(&self) -> &[u8] {
        self.peer_extension.get()
    }

    /// The reason text of the peer's ERR_MSG, if it sent one (at most 48
    /// bytes kept; empty without the `peer-details` feature).
    pub fn error_reason(&self) -> &[u8] {
        self.reason.get()
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
        self.close_deadline = now.saturating_add(u64::from(self.config.close_timeout_ms));
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

use timers::{due, NEVER};

#[cfg(all(test, feature = "endpoint"))]
mod tests;
