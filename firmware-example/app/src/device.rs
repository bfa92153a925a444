//! The echo device: one seqlink client connection (a full [`Connection`] or
//! a [`seqlink_core::TinyClient`], see [`Engine`]) driven over an
//! embedded-nal UDP socket.

use crate::engine::Engine;
use crate::outbox::{Outbox, Outgoing};
use crate::{Report, CLOSE, ECHO, MAX_MESSAGE_LEN, STOP};
use core::net::SocketAddr;
use embedded_nal::{nb, UdpClientStack};
use heapless::{Deque, Vec};
use seqlink_core::{ConfigError, Connection, ErrorCode, Event, SendError};

/// Reports kept until [`EchoDevice::poll_report`] reads them (the oldest go first when full).
const REPORT_SLOTS: usize = 8;

/// The buffers a device needs, sized by its engine's configuration.
pub struct Buffers<'a, S = &'a mut [u8]> {
    /// The connection's window storage ([`Engine::Storage`]): for a
    /// [`Connection`], at least `config.storage_len()` bytes; for a
    /// [`seqlink_core::TinyClient`], its `TinyWindow`.
    pub storage: S,
    /// A datagram to send: at least [`Engine::max_datagram_len`] bytes.
    pub tx: &'a mut [u8],
    /// A datagram received: at least [`Engine::max_datagram_len`] bytes.
    pub rx: &'a mut [u8],
}

/// How long the device waits before connecting again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// After a graceful close, and the first wait after a failure, milliseconds.
    pub initial_ms: u32,
    /// The longest wait: each failure doubles it up to this, milliseconds.
    pub max_ms: u32,
}

impl Default for RetryPolicy {
    /// 200 ms, doubling up to 3.2 s.
    fn default() -> RetryPolicy {
        RetryPolicy { initial_ms: 200, max_ms: 3_200 }
    }
}

/// Where the device is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Phase {
    /// No connection: the next attempt starts at `until`.
    Waiting {
        /// When, in the caller's milliseconds.
        until: u64,
    },
    /// A connection exists (handshake, established, closing or lingering).
    Connected,
    /// Stopped for good after a [`STOP`].
    Stopped,
}

/// The connection slot: its storage while idle, the connection while open.
// No heap on a firmware: the connection lives in place, whichever variant is current.
#[allow(clippy::large_enum_variant)]
enum Slot<E: Engine> {
    Idle(E::Storage),
    Open(E),
    /// Only while moving between the two, or after a configuration error.
    Empty,
}

/// A seqlink client that echoes messages to its peer, over any
/// [`UdpClientStack`], with any [`Engine`] (a full [`Connection`] unless
/// told otherwise). Call [`EchoDevice::poll`] whenever a datagram may
/// have arrived or [`EchoDevice::next_deadline`] has passed.
pub struct EchoDevice<'a, N: UdpClientStack, E: Engine = Connection<&'a mut [u8]>> {
    config: E::Config,
    peer: SocketAddr,
    socket: Option<N::UdpSocket>,
    slot: Slot<E>,
    tx: &'a mut [u8],
    /// Length of a datagram in `tx` the stack would not take yet (0: none).
    tx_pending: usize,
    rx: &'a mut [u8],
    outbox: Outbox,
    reports: Deque<Report, REPORT_SLOTS>,
    retry: RetryPolicy,
    /// The wait after the next failure.
    backoff_ms: u32,
    retry_at: u64,
    /// The wait the last failure announced (its report's `retry_in_ms`).
    failure_wait_ms: u32,
    attempts: u32,
    echoed: u32,
    /// The peer asked for a close: it starts once the outbox is empty.
    close_requested: bool,
    stop_requested: bool,
    stopped: bool,
    entropy: u64,
}

impl<'a, N: UdpClientStack, E: Engine> EchoDevice<'a, N, E> {
    /// A device that will connect to `peer` at its first poll. `seed` feeds
    /// the connection ids and initial sequence numbers: take it from a real
    /// random source where the hardware has one.
    ///
    /// Fails when the configuration is invalid or a buffer is too small.
    pub fn new(
        config: E::Config,
        peer: SocketAddr,
        buffers: Buffers<'a, E::Storage>,
        seed: u64,
    ) -> Result<EchoDevice<'a, N, E>, ConfigError> {
        E::validate(&config, &buffers.storage)?;
        let datagram = E::max_datagram_len(&config);
        let smallest = buffers.tx.len().min(buffers.rx.len());
        if smallest < datagram {
            return Err(ConfigError::Storage { needed: datagram, available: smallest });
        }
        let retry = RetryPolicy::default();
        Ok(EchoDevice {
            config,
            peer,
            socket: None,
            slot: Slot::Idle(buffers.storage),
            tx: buffers.tx,
            tx_pending: 0,
            rx: buffers.rx,
            outbox: Outbox::new(),
            reports: Deque::new(),
            retry,
            backoff_ms: retry.initial_ms,
            retry_at: 0,
            failure_wait_ms: retry.initial_ms,
            attempts: 0,
            echoed: 0,
            close_requested: false,
            stop_requested: false,
            stopped: false,
            entropy: seed,
        })
    }

    /// The same with another back-off policy.
    pub fn with_retry(mut self, retry: RetryPolicy) -> EchoDevice<'a, N, E> {
        self.retry = retry;
        self.backoff_ms = retry.initial_ms;
        self
    }

    /// Where the device is.
    pub fn phase(&self) -> Phase {
        match (&self.slot, self.stopped) {
            (_, true) => Phase::Stopped,
            (Slot::Open(_), false) => Phase::Connected,
            _ => Phase::Waiting { until: self.retry_at },
        }
    }

    /// The current connection, if any (its state and statistics).
    pub fn connection(&self) -> Option<&E> {
        match &self.slot {
            Slot::Open(conn) => Some(conn),
            _ => None,
        }
    }

    /// Connection attempts so far.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    /// The oldest report not read yet.
    pub fn poll_report(&mut self) -> Option<Report> {
        self.reports.pop_front()
    }

    /// When the device next needs a poll even if nothing arrives (`None`: only on input, or stopped).
    pub fn next_deadline(&self) -> Option<u64> {
        match (&self.slot, self.stopped) {
            (_, true) => None,
            (Slot::Open(conn), false) => conn.poll_timeout(),
            _ => Some(self.retry_at),
        }
    }

    /// Does everything due at `now` (milliseconds, never decreasing): opens
    /// the socket, connects, reads datagrams, runs timers, echoes messages,
    /// sends datagrams, and reconnects after a close or failure.
    pub fn poll(&mut self, stack: &mut N, now: u64) {
        if self.stopped || !self.ensure_socket(stack, now) {
            return;
        }
        self.start_connection(now);
        let Slot::Open(conn) = &mut self.slot else { return };
        let Some(socket) = self.socket.as_mut() else { return };
        receive(stack, socket, self.peer, self.rx, conn, now);
        if conn.poll_timeout().is_some_and(|at| at <= now) {
            conn.handle_timeout(now);
        }
        self.take_messages(now);
        self.send_outbox();
        self.transmit(stack, now);
        self.take_events();
        self.finish_connection(now);
    }

    /// Opens the UDP socket once; on an error waits a back-off before trying again.
    fn ensure_socket(&mut self, stack: &mut N, now: u64) -> bool {
        if self.socket.is_some() {
            return true;
        }
        if now < self.retry_at {
            return false;
        }
        let opened = stack.socket().and_then(|mut socket| match stack.connect(&mut socket, self.peer) {
            Ok(()) => Ok(socket),
            Err(error) => {
                let _ = stack.close(socket);
                Err(error)
            }
        });
        match opened {
            Ok(socket) => {
                self.socket = Some(socket);
                true
            }
            Err(_) => {
                self.report(Report::SocketError);
                self.retry_at = now.saturating_add(u64::from(self.backoff_ms));
                false
            }
        }
    }

    /// Starts a connection when none is open and the back-off has passed.
    fn start_connection(&mut self, now: u64) {
        if !matches!(self.slot, Slot::Idle(_)) || now < self.retry_at {
            return;
        }
        let Slot::Idle(storage) = core::mem::replace(&mut self.slot, Slot::Empty) else { return };
        self.attempts = self.attempts.saturating_add(1);
        self.echoed = 0;
        self.tx_pending = 0;
        self.report(Report::Connecting { attempt: self.attempts });
        match E::start(self.config, storage, now, next_entropy(&mut self.entropy)) {
            Some(conn) => self.slot = Slot::Open(conn),
            // `new` checked the configuration and storage: this cannot happen, but if it does the device stops.
            None => {
                self.stopped = true;
                self.report(Report::Stopped);
            }
        }
    }

    /// Reads messages while the outbox has room: echoes queue, a close request
    /// stops the reading (the close follows the echoes already queued), and a
    /// message longer than [`MAX_MESSAGE_LEN`] aborts the connection.
    fn take_messages(&mut self, now: u64) {
        let Slot::Open(conn) = &mut self.slot else { return };
        while !self.close_requested && self.outbox.has_room() {
            let mut payload: Vec<u8, MAX_MESSAGE_LEN> = Vec::new();
            // A full-capacity resize of a Vec with that capacity always succeeds.
            let _ = payload.resize_default(MAX_MESSAGE_LEN);
            let received = match conn.recv(&mut payload) {
                Ok(Some(received)) => received,
                Ok(None) => break,
                // longer than any message of the echo protocol, and it cannot
                // be skipped: the peer broke the protocol, so the device ends the
                // connection (and connects again)
                Err(len) => {
                    push_report(&mut self.reports, Report::Dropped { ptype: 0, len });
                    conn.abort(now, ErrorCode::ProtocolViolation);
                    return;
                }
            };
            payload.truncate(received.len);
            match received.ptype {
                ECHO => {
                    // `has_room` held: the push succeeds
                    self.outbox.push(Outgoing { ptype: ECHO, payload });
                }
                CLOSE | STOP => {
                    let stop = received.ptype == STOP;
                    self.close_requested = true;
                    self.stop_requested |= stop;
                    push_report(&mut self.reports, Report::CloseRequested { stop });
                }
                other => push_report(&mut self.reports, Report::Dropped { ptype: other.0, len: received.len }),
            }
        }
        if self.close_requested && self.outbox.is_empty() && conn.state() == seqlink_core::State::Established {
            conn.close(now);
        }
    }

    /// Hands queued echoes to the connection while its send window has room.
    fn send_outbox(&mut self) {
        let Slot::Open(conn) = &mut self.slot else { return };
        while let Some(message) = self.outbox.front() {
            match conn.send(message.ptype, &message.payload) {
                Ok(()) => self.echoed = self.echoed.saturating_add(1),
                Err(SendError::WouldBlock) => break,
                // closing or failed: the echo can no longer go out
                Err(_) => push_report(
                    &mut self.reports,
                    Report::Dropped { ptype: message.ptype.0, len: message.payload.len() },
                ),
            }
            self.outbox.pop();
        }
    }

    /// Sends what the connection has to send; a datagram the stack refuses
    /// for now (`WouldBlock`) waits in `tx` for the next poll.
    fn transmit(&mut self, stack: &mut N, now: u64) {
        let (Slot::Open(conn), Some(socket)) = (&mut self.slot, self.socket.as_mut()) else { return };
        loop {
            if self.tx_pending == 0 {
                match conn.poll_transmit(now, self.tx) {
                    Ok(Some(len)) => self.tx_pending = len,
                    _ => return,
                }
            }
            let datagram = self.tx.get(..self.tx_pending).unwrap_or(&[]);
            match stack.send(socket, datagram) {
                Err(nb::Error::WouldBlock) => return,
                // sent, or lost on the way: the connection retransmits what matters
                Ok(()) | Err(nb::Error::Other(_)) => self.tx_pending = 0,
            }
        }
    }

    /// Turns the connection's events into reports and back-off decisions.
    fn take_events(&mut self) {
        let Slot::Open(conn) = &mut self.slot else { return };
        while let Some(event) = conn.poll_event() {
            match event {
                Event::Connected => {
                    self.backoff_ms = self.retry.initial_ms;
                    push_report(&mut self.reports, Report::Connected);
                }
                Event::Closed => push_report(&mut self.reports, Report::Closed { echoed: self.echoed }),
                Event::Failed(reason) => {
                    let retry_in_ms = self.backoff_ms;
                    self.failure_wait_ms = retry_in_ms;
                    self.backoff_ms = self.backoff_ms.saturating_mul(2).min(self.retry.max_ms);
                    push_report(&mut self.reports, Report::Failed { reason, retry_in_ms });
                }
                Event::MessageDropped { .. } => push_report(&mut self.reports, Report::Dropped { ptype: 0, len: 0 }),
                _ => {}
            }
        }
    }

    /// Once the connection is over (closed after its linger, or failed),
    /// takes its storage back and schedules the next attempt, or stops.
    fn finish_connection(&mut self, now: u64) {
        let Slot::Open(conn) = &self.slot else { return };
        if !conn.is_closed() {
            return;
        }
        let failed = conn.failure().is_some();
        let Slot::Open(conn) = core::mem::replace(&mut self.slot, Slot::Empty) else { return };
        self.slot = Slot::Idle(conn.into_storage());
        self.outbox.clear();
        if self.stop_requested && !failed {
            self.stopped = true;
            self.report(Report::Stopped);
            return;
        }
        self.close_requested = false;
        self.stop_requested = false;
        let wait = if failed { self.failure_wait_ms } else { self.retry.initial_ms };
        self.retry_at = now.saturating_add(u64::from(wait));
    }

    fn report(&mut self, report: Report) {
        push_report(&mut self.reports, report);
    }
}

/// Feeds every datagram waiting on the socket from `peer` to the connection.
fn receive<N: UdpClientStack, E: Engine>(
    stack: &mut N,
    socket: &mut N::UdpSocket,
    peer: SocketAddr,
    rx: &mut [u8],
    conn: &mut E,
    now: u64,
) {
    loop {
        match stack.receive(socket, rx) {
            Ok((len, from)) if from == peer => conn.handle_datagram(now, rx.get(..len).unwrap_or(&[])),
            // from someone else: not ours
            Ok(_) => {}
            Err(_) => return,
        }
    }
}

/// Queues a report, dropping the oldest when the queue is full.
fn push_report(reports: &mut Deque<Report, REPORT_SLOTS>, report: Report) {
    if reports.is_full() {
        reports.pop_front();
    }
    let _ = reports.push_back(report);
}

/// The next 64 random-looking bits from `state` (splitmix64).
fn next_entropy(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}
