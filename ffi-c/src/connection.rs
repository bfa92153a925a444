//! A client connection, sans-IO: the caller moves datagrams and time.
//!
//! The loop: feed every datagram that arrives (`_handle_datagram`), run the
//! timers when `_poll_timeout`'s deadline has come (`_handle_timeout`), send
//! every datagram `_poll_transmit` gives, then read `_poll_event` and
//! `_recv`. Time is the caller's clock in integer milliseconds (`now`),
//! never going back.
//!
//! Memory: `seqlink_connection_size` says how many bytes the configuration
//! needs (the link storage of its windows and payload size included);
//! `seqlink_connection_init` builds the connection in caller memory of that
//! size aligned to `SEQLINK_ALIGN` (kept in place until `_free`), or
//! `seqlink_connection_new` allocates it. A connection is not thread-safe:
//! one thread at a time (it may move between threads).

use crate::config::SeqlinkConnectionConfig;
use crate::object::{free, get, make, size_with_tail, Memory, Opaque};
use crate::ptr::{bytes, bytes_mut, check_out, input, put};
use crate::records::{SeqlinkEvent, SeqlinkParams, SeqlinkReceived, SeqlinkStats, SeqlinkTrace};
use crate::status::{guard, ready, Outcome, Status, SEQLINK_OK};
use core::ffi::{c_int, c_void};
use seqlink_core::{Connection, ConnectionConfig, Delivery, ErrorCode, Event, PacketType, State};

/// A client connection: opaque, in caller memory (`_size`, `_init`) or
/// from `_new`; ended by `_free`. One thread at a time.
pub struct SeqlinkConnection {
    _opaque: [u8; 0],
}

pub(crate) type CoreConnection = Connection<&'static mut [u8]>;

impl Opaque for SeqlinkConnection {
    type Inner = CoreConnection;
    const MAGIC: u32 = 0x5351_0010;
}

fn sized(config: *const SeqlinkConnectionConfig) -> Result<(ConnectionConfig, usize), Status> {
    let config = input(config)?.to_core()?;
    let size = size_with_tail::<SeqlinkConnection>(config.storage_len()).ok_or(Status::INVALID)?;
    Ok((config, size))
}

fn make_connection(
    memory: Memory,
    config: *const SeqlinkConnectionConfig,
    now: u64,
    entropy: u64,
    out: *mut *mut SeqlinkConnection,
) -> Outcome {
    let (config, size) = sized(config)?;
    make(memory, size, out, |storage| Connection::connect(config, storage, now, entropy).map_err(Status::from))
}

pub(crate) fn delivery(code: u8) -> Result<Delivery, Status> {
    match code {
        0 => Ok(Delivery::Reliable),
        1 => Ok(Delivery::Unreliable),
        _ => Err(Status::INVALID),
    }
}

pub(crate) fn state_code(state: State) -> u8 {
    match state {
        State::SynSent => 0,
        State::Confirming => 1,
        State::Established => 2,
        State::Closing => 3,
        State::Linger => 4,
        State::Closed => 5,
        State::Failed => 6,
    }
}

/// Reads the next message into `buf`: shared by connections and endpoints
/// (`None`: the endpoint has no such connection).
pub(crate) fn recv_into(
    conn: Option<&mut CoreConnection>,
    buf: *mut u8,
    buf_len: usize,
    received: *mut SeqlinkReceived,
) -> Outcome {
    let buf = bytes_mut(buf, buf_len)?;
    check_out(received)?;
    let conn = conn.ok_or(Status(crate::status::SEQLINK_E_UNKNOWN_HANDLE))?;
    match conn.recv(buf)? {
        Some(r) => put(received, SeqlinkReceived::from_core(&r)).and(ready(true)),
        None => ready(false),
    }
}

/// Copies `src` into the caller's buffer and its length into `*len`.
pub(crate) fn copy_out(src: &[u8], buf: *mut u8, buf_len: usize, len: *mut usize) -> Outcome {
    let dst = bytes_mut(buf, buf_len)?;
    check_out(len)?;
    let dst = dst.get_mut(..src.len()).ok_or(Status(crate::status::SEQLINK_E_BUFFER_TOO_SMALL))?;
    dst.copy_from_slice(src);
    put(len, src.len()).and(Ok(SEQLINK_OK))
}

/// The failure as an event record (kind `SEQLINK_EVENT_FAILED`), if any.
pub(crate) fn failure_into(conn: &CoreConnection, event: *mut SeqlinkEvent) -> Outcome {
    check_out(event)?;
    match conn.failure() {
        Some(reason) => put(event, SeqlinkEvent::from_core(&Event::Failed(reason))).and(ready(true)),
        None => ready(false),
    }
}

/// Bytes of memory a connection with `config` needs (header and link
/// storage), into `*size`. Returns 0, -SEQLINK_E_NULL, -SEQLINK_E_INVALID,
/// -SEQLINK_E_BAD_WINDOW, -SEQLINK_E_BAD_PAYLOAD, -SEQLINK_E_BAD_EXTENSION.
#[no_mangle]
pub extern "C" fn seqlink_connection_size(config: *const SeqlinkConnectionConfig, size: *mut usize) -> c_int {
    guard(|| put(size, sized(config)?.1).and(Ok(SEQLINK_OK)))
}

/// The largest datagram a connection with `config` emits, into `*len`:
/// the buffer size for `_poll_transmit` and for receiving.
#[no_mangle]
pub extern "C" fn seqlink_connection_max_datagram_len(
    config: *const SeqlinkConnectionConfig,
    len: *mut usize,
) -> c_int {
    guard(|| put(len, sized(config)?.0.max_datagram_len()).and(Ok(SEQLINK_OK)))
}

/// Starts a client connection in the caller's `mem` (`mem_len` bytes,
/// aligned to `SEQLINK_ALIGN`, at least `seqlink_connection_size`'s) and
/// stores it in `*conn`; the first `_poll_transmit` sends the SYN. `entropy`
/// seeds the connection id and first sequence number: take it from a real
/// random source. Returns 0, -SEQLINK_E_NULL, -SEQLINK_E_MISALIGNED,
/// -SEQLINK_E_TOO_SMALL, or a configuration error as `_size`.
#[no_mangle]
pub extern "C" fn seqlink_connection_init(
    mem: *mut c_void,
    mem_len: usize,
    config: *const SeqlinkConnectionConfig,
    now: u64,
    entropy: u64,
    conn: *mut *mut SeqlinkConnection,
) -> c_int {
    guard(|| make_connection(Memory::Caller(mem, mem_len), config, now, entropy, conn))
}

/// Starts a client connection in memory it allocates (as `_init`); end it
/// with `seqlink_connection_free`. Also -SEQLINK_E_NO_MEMORY.
#[no_mangle]
pub extern "C" fn seqlink_connection_new(
    config: *const SeqlinkConnectionConfig,
    now: u64,
    entropy: u64,
    conn: *mut *mut SeqlinkConnection,
) -> c_int {
    guard(|| make_connection(Memory::Allocated, config, now, entropy, conn))
}

/// Ends a connection at once (nothing more is sent: `_close` first for a
/// graceful end). Frees what `_new` allocated; caller memory from `_init` is
/// the caller's again. Null is a no-op. Returns 0 or -SEQLINK_E_BAD_OBJECT.
#[no_mangle]
pub extern "C" fn seqlink_connection_free(conn: *mut SeqlinkConnection) -> c_int {
    guard(|| free(conn).and(Ok(SEQLINK_OK)))
}

/// Feeds one received datagram (`len` bytes at `data`). Damaged, foreign or
/// late datagrams are counted and dropped, never an error. Returns 0,
/// -SEQLINK_E_NULL, -SEQLINK_E_BAD_OBJECT.
#[no_mangle]
pub extern "C" fn seqlink_connection_handle_datagram(
    conn: *mut SeqlinkConnection,
    now: u64,
    data: *const u8,
    len: usize,
) -> c_int {
    guard(|| {
        let conn = get(conn)?;
        conn.handle_datagram(now, bytes(data, len)?);
        Ok(SEQLINK_OK)
    })
}

/// Writes the next datagram to send into `buf` (room for
/// `seqlink_connection_max_datagram_len`) and its length into `*len`.
/// Returns 1 with a datagram, 0 when there is none (call again until 0),
/// -SEQLINK_E_BUFFER_TOO_SMALL, -SEQLINK_E_NULL, -SEQLINK_E_BAD_OBJECT.
#[no_mangle]
pub extern "C" fn seqlink_connection_poll_transmit(
    conn: *mut SeqlinkConnection,
    now: u64,
    buf: *mut u8,
    buf_len: usize,
    len: *mut usize,
) -> c_int {
    guard(|| {
        let conn = get(conn)?;
        let buf = bytes_mut(buf, buf_len)?;
        check_out(len)?;
        match conn.poll_transmit(now, buf)? {
            Some(n) => put(len, n).and(ready(true)),
            None => ready(false),
        }
    })
}

/// The next deadline (in the caller's milliseconds) into `*deadline`:
/// returns 1 with one, 0 when no timer runs.
#[no_mangle]
pub extern "C" fn seqlink_connection_poll_timeout(conn: *mut SeqlinkConnection, deadline: *mut u64) -> c_int {
    guard(|| {
        let conn = get(conn)?;
        check_out(deadline)?;
        match conn.poll_timeout() {
            Some(at) => put(deadline, at).and(ready(true)),
            None => ready(false),
        }
    })
}

/// Runs the timers due at `now` (retransmissions, heartbeats, timeouts).
#[no_mangle]
pub extern "C" fn seqlink_connection_handle_timeout(conn: *mut SeqlinkConnection, now: u64) -> c_int {
    guard(|| {
        get(conn)?.handle_timeout(now);
        Ok(SEQLINK_OK)
    })
}

/// Queues a message of type `ptype` (not 20..=47) with `delivery`
/// (`SEQLINK_DELIVERY_*`). Returns 0; -SEQLINK_E_WOULD_BLOCK (window full:
/// retry after `SEQLINK_EVENT_WRITABLE`), -SEQLINK_E_NOT_CONNECTED (before
/// `SEQLINK_EVENT_CONNECTED`), -SEQLINK_E_CLOSING, -SEQLINK_E_FAILED,
/// -SEQLINK_E_MESSAGE_TOO_LARGE, -SEQLINK_E_RESERVED_TYPE,
/// -SEQLINK_E_UNRELIABLE_DISABLED; -SEQLINK_E_INVALID, -SEQLINK_E_NULL.
#[no_mangle]
pub extern "C" fn seqlink_connection_send(
    conn: *mut SeqlinkConnection,
    ptype: u8,
    message: *const u8,
    len: usize,
    delivery_mode: u8,
) -> c_int {
    guard(|| {
        let conn = get(conn)?;
        let message = bytes(message, len)?;
        conn.send(PacketType(ptype), message, delivery(delivery_mode)?)?;
        Ok(SEQLINK_OK)
    })
}

/// Reads the next message into `buf` and describes it in `*received`.
/// Returns 1 with a message, 0 when none is waiting,
/// -SEQLINK_E_BUFFER_TOO_SMALL (the message stays: see `_next_message_len`).
#[no_mangle]
pub extern "C" fn seqlink_connection_recv(
    conn: *mut SeqlinkConnection,
    buf: *mut u8,
    buf_len: usize,
    received: *mut SeqlinkReceived,
) -> c_int {
    guard(|| recv_into(Some(get(conn)?), buf, buf_len, received))
}

/// The length of the next message into `*len`: 1 if one is waiting, else 0.
#[no_mangle]
pub extern "C" fn seqlink_connection_next_message_len(conn: *mut SeqlinkConnection, len: *mut usize) -> c_int {
    guard(|| {
        let conn = get(conn)?;
        check_out(len)?;
        match conn.next_message_len() {
            Some(n) => put(len, n).and(ready(true)),
            None => ready(false),
        }
    })
}

/// The next event into `*event`: 1 with one, 0 when none is waiting.
#[no_mangle]
pub extern "C" fn seqlink_connection_poll_event(conn: *mut SeqlinkConnection, event: *mut SeqlinkEvent) -> c_int {
    guard(|| {
        let conn = get(conn)?;
        check_out(event)?;
        match conn.poll_event() {
            Some(e) => put(event, SeqlinkEvent::from_core(&e)).and(ready(true)),
            None => ready(false),
        }
    })
}

/// The oldest unread trace record into `*trace`: 1 with one, else 0
/// (records are kept only with `link.trace_slots` above 0).
#[no_mangle]
pub extern "C" fn seqlink_connection_poll_trace(conn: *mut SeqlinkConnection, trace: *mut SeqlinkTrace) -> c_int {
    guard(|| {
        let conn = get(conn)?;
        check_out(trace)?;
        match conn.poll_trace() {
            Some(t) => put(trace, SeqlinkTrace::from_core(&t)).and(ready(true)),
            None => ready(false),
        }
    })
}

/// Starts a graceful close: queued messages are delivered, then both FINs
/// are exchanged (`SEQLINK_EVENT_CLOSED`). Nothing more can be sent.
#[no_mangle]
pub extern "C" fn seqlink_connection_close(conn: *mut SeqlinkConnection, now: u64) -> c_int {
    guard(|| {
        get(conn)?.close(now);
        Ok(SEQLINK_OK)
    })
}

/// Aborts at once: a RESET with the wire error `code` (0..=8, others are
/// sent as 0) goes to the peer; queued data is dropped.
#[no_mangle]
pub extern "C" fn seqlink_connection_abort(conn: *mut SeqlinkConnection, now: u64, code: u8) -> c_int {
    guard(|| {
        get(conn)?.abort(now, ErrorCode::from_u8(code));
        Ok(SEQLINK_OK)
    })
}

/// The stream underneath ended (a TCP connection closed).
#[no_mangle]
pub extern "C" fn seqlink_connection_transport_closed(conn: *mut SeqlinkConnection) -> c_int {
    guard(|| {
        get(conn)?.transport_closed();
        Ok(SEQLINK_OK)
    })
}

/// The state (`SEQLINK_STATE_*`) into `*state`.
#[no_mangle]
pub extern "C" fn seqlink_connection_state(conn: *mut SeqlinkConnection, state: *mut u8) -> c_int {
    guard(|| {
        let conn = get(conn)?;
        put(state, state_code(conn.state())).and(Ok(SEQLINK_OK))
    })
}

/// Why the connection failed, as a `SEQLINK_EVENT_FAILED` record into
/// `*event`: 1 if it failed, else 0.
#[no_mangle]
pub extern "C" fn seqlink_connection_failure(conn: *mut SeqlinkConnection, event: *mut SeqlinkEvent) -> c_int {
    guard(|| failure_into(get(conn)?, event))
}

/// The link's statistics into `*stats`.
#[no_mangle]
pub extern "C" fn seqlink_connection_stats(conn: *mut SeqlinkConnection, stats: *mut SeqlinkStats) -> c_int {
    guard(|| {
        let conn = get(conn)?;
        put(stats, SeqlinkStats::from_core(&conn.stats())).and(Ok(SEQLINK_OK))
    })
}

/// What the handshake agreed on into `*params`: 1 once it did, else 0.
#[no_mangle]
pub extern "C" fn seqlink_connection_agreement(conn: *mut SeqlinkConnection, params: *mut SeqlinkParams) -> c_int {
    guard(|| {
        let conn = get(conn)?;
        check_out(params)?;
        match conn.agreement() {
            Some(a) => put(params, SeqlinkParams::from_core(&a.params)).and(ready(true)),
            None => ready(false),
        }
    })
}

/// The connection id (0 before the handshake) into `*id`.
#[no_mangle]
pub extern "C" fn seqlink_connection_id(conn: *mut SeqlinkConnection, id: *mut u32) -> c_int {
    guard(|| {
        let conn = get(conn)?;
        put(id, conn.connection_id()).and(Ok(SEQLINK_OK))
    })
}

/// Copies the peer's handshake extension bytes (at most 32) into `buf` and
/// their count into `*len`. -SEQLINK_E_BUFFER_TOO_SMALL if they do not fit.
#[no_mangle]
pub extern "C" fn seqlink_connection_peer_extension(
    conn: *mut SeqlinkConnection,
    buf: *mut u8,
    buf_len: usize,
    len: *mut usize,
) -> c_int {
    guard(|| copy_out(get(conn)?.peer_extension(), buf, buf_len, len))
}

/// Copies the reason text of the peer's ERR_MSG (if it sent one; else 0
/// bytes) into `buf` and its length into `*len`.
#[no_mangle]
pub extern "C" fn seqlink_connection_error_reason(
    conn: *mut SeqlinkConnection,
    buf: *mut u8,
    buf_len: usize,
    len: *mut usize,
) -> c_int {
    guard(|| copy_out(get(conn)?.error_reason(), buf, buf_len, len))
}
