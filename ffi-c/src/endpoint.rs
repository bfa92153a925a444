//! A server endpoint: the connections of many peers over one socket, with
//! stateless cookies and optional admission by the application.
//!
//! Peers are named by a `SeqlinkAddress`: up to 28 opaque bytes the caller
//! chooses (a `struct sockaddr_in` or `sockaddr_in6` copied in, say); two
//! addresses are the same peer when their `len` and first `len` bytes are.
//! Connections are named by a `uint32_t` handle, stale once the connection
//! left the table (calls with it then fail with -SEQLINK_E_UNKNOWN_HANDLE);
//! waiting handshakes by a `uint32_t` ticket.
//!
//! The loop is a connection's, with the peer address beside each datagram;
//! also read `_poll_event` (and `_poll_incoming` without `auto_accept`) and
//! drain every connection's messages: a finished connection keeps its slot
//! until its events are read and its messages drained, or `_release`.
//!
//! Memory: `seqlink_endpoint_size(config, max_peers)` bytes aligned to
//! `SEQLINK_ALIGN` hold the endpoint, its table of `max_peers` slots and
//! every connection's link storage. Not thread-safe: one thread at a time.

use crate::config::SeqlinkEndpointConfig;
use crate::connection::{delivery, failure_into, recv_into, state_code, CoreConnection};
use crate::object::{free, get, make, size_with_tail, Memory, Opaque, SEQLINK_ALIGN};
use crate::ptr::{bytes, bytes_mut, check_out, input, put};
use crate::records::{SeqlinkEndpointStats, SeqlinkEvent, SeqlinkParams, SeqlinkReceived, SeqlinkStats, SeqlinkTrace};
use crate::status::{guard, ready, Outcome, Status, SEQLINK_E_UNKNOWN_HANDLE, SEQLINK_OK};
use core::ffi::{c_int, c_void};
use core::mem::{align_of, size_of};
use seqlink_core::{
    ArenaSlot, ConnectionHandle, Endpoint, EndpointConfig, ErrorCode, IncomingTicket, PacketType, Slot,
};

/// Bytes a `SeqlinkAddress` holds at most (a `struct sockaddr_in6`).
pub const SEQLINK_ADDRESS_MAX: usize = 28;

/// A peer's address: `len` opaque bytes the caller chooses.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct SeqlinkAddress {
    /// Bytes used (at most `SEQLINK_ADDRESS_MAX`).
    pub len: u8,
    /// The address; bytes past `len` are ignored.
    pub bytes: [u8; SEQLINK_ADDRESS_MAX],
}

impl SeqlinkAddress {
    /// The same address with the unused bytes zeroed, so that equal
    /// addresses compare equal.
    fn normalized(&self) -> Result<SeqlinkAddress, Status> {
        let used = self.bytes.get(..usize::from(self.len)).ok_or(Status::INVALID)?;
        let mut out = SeqlinkAddress { len: self.len, bytes: [0; SEQLINK_ADDRESS_MAX] };
        out.bytes.get_mut(..used.len()).ok_or(Status::INVALID)?.copy_from_slice(used);
        Ok(out)
    }
}

/// Something an endpoint reports.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SeqlinkEndpointEvent {
    /// The connection's handle (0 for `SEQLINK_EVENT_PEER_REFUSED`).
    pub handle: u32,
    /// The event; `SEQLINK_EVENT_PEER_REFUSED` with the code sent in `peer_code` for a refusal.
    pub event: SeqlinkEvent,
    /// The peer (of the connection while it is in the table, or the refused peer).
    pub peer: SeqlinkAddress,
}

/// A proven handshake waiting for `seqlink_endpoint_accept_incoming` or
/// `seqlink_endpoint_refuse` (only without `auto_accept`).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SeqlinkIncoming {
    /// What to pass to accept or refuse.
    pub ticket: u32,
    /// The peer.
    pub peer: SeqlinkAddress,
    /// What the handshake agreed on.
    pub params: SeqlinkParams,
    /// The extension bytes of the peer's handshake (the first `extension_len`).
    pub extension: [u8; 32],
    /// How many of `extension` are used.
    pub extension_len: u8,
}

/// A server endpoint and all its connections: opaque, in caller memory
/// (`_size`, `_init`) or from `_new`; ended by `_free`. One thread at a time.
pub struct SeqlinkEndpoint {
    _opaque: [u8; 0],
}

type Table = &'static mut [ArenaSlot<'static, SeqlinkAddress>];
type CoreEndpoint = Endpoint<SeqlinkAddress, &'static mut [u8], Table>;

impl Opaque for SeqlinkEndpoint {
    type Inner = CoreEndpoint;
    const MAGIC: u32 = 0x5351_0020;
}

const SLOT_LEN: usize = size_of::<ArenaSlot<'static, SeqlinkAddress>>();

fn sized(config: *const SeqlinkEndpointConfig, max_peers: usize) -> Result<(EndpointConfig, usize), Status> {
    let config = input(config)?.to_core()?;
    if max_peers > usize::from(u16::MAX) {
        return Err(Status::INVALID);
    }
    let tail = SLOT_LEN.checked_mul(max_peers).and_then(|slots| slots.checked_add(config.storage_len(max_peers)));
    let size = tail.and_then(size_with_tail::<SeqlinkEndpoint>).ok_or(Status::INVALID)?;
    Ok((config, size))
}

/// Cuts the tail into the slot table and the arena, and makes the endpoint.
fn build(
    config: EndpointConfig,
    max_peers: usize,
    secret: [u8; 16],
    entropy: u64,
    tail: &'static mut [u8],
) -> Result<CoreEndpoint, Status> {
    const { assert!(align_of::<ArenaSlot<'static, SeqlinkAddress>>() <= SEQLINK_ALIGN) };
    let (table, arena) = tail.split_at_mut_checked(SLOT_LEN * max_peers).ok_or(Status::TOO_SMALL)?;
    let slots = table.as_mut_ptr().cast::<ArenaSlot<'static, SeqlinkAddress>>();
    // SAFETY: the tail starts at `SEQLINK_ALIGN`, enough for a slot (asserted
    // above), and `table` holds `max_peers` slots; each is written before the
    // slice is made, and the bytes belong to the object alone from now on.
    let slots: Table = unsafe {
        for i in 0..max_peers {
            slots.add(i).write(Slot::vacant());
        }
        core::slice::from_raw_parts_mut(slots, max_peers)
    };
    Endpoint::with_arena(config, slots, arena, secret, entropy).map_err(Status::from)
}

fn make_endpoint(
    memory: Memory,
    config: *const SeqlinkEndpointConfig,
    max_peers: usize,
    secret: *const u8,
    entropy: u64,
    out: *mut *mut SeqlinkEndpoint,
) -> Outcome {
    let (config, size) = sized(config, max_peers)?;
    let secret = secret_of(secret)?;
    make(memory, size, out, |tail| build(config, max_peers, secret, entropy, tail))
}

fn secret_of(secret: *const u8) -> Result<[u8; 16], Status> {
    let mut key = [0u8; 16];
    key.copy_from_slice(bytes(secret, 16)?);
    Ok(key)
}

/// The live connection behind `handle`, or -SEQLINK_E_UNKNOWN_HANDLE.
fn connection(endpoint: &mut CoreEndpoint, handle: u32) -> Result<&mut CoreConnection, Status> {
    endpoint.connection(ConnectionHandle::from_bits(handle)).ok_or(Status(SEQLINK_E_UNKNOWN_HANDLE))
}

/// Bytes of memory an endpoint with `config` for `max_peers` peers (at most
/// 65535) needs, into `*size`. Returns 0, -SEQLINK_E_NULL,
/// -SEQLINK_E_INVALID, or a configuration error.
#[no_mangle]
pub extern "C" fn seqlink_endpoint_size(
    config: *const SeqlinkEndpointConfig,
    max_peers: usize,
    size: *mut usize,
) -> c_int {
    guard(|| put(size, sized(config, max_peers)?.1).and(Ok(SEQLINK_OK)))
}

/// Makes an endpoint for `max_peers` peers in the caller's `mem` (`mem_len`
/// bytes, aligned to `SEQLINK_ALIGN`, at least `_size`'s) into `*endpoint`.
/// `secret` (16 bytes) keys the cookies: random per process, kept secret;
/// `entropy` seeds connection ids. Returns 0, -SEQLINK_E_NULL,
/// -SEQLINK_E_MISALIGNED, -SEQLINK_E_TOO_SMALL, or as `_size`.
#[no_mangle]
pub extern "C" fn seqlink_endpoint_init(
    mem: *mut c_void,
    mem_len: usize,
    config: *const SeqlinkEndpointConfig,
    max_peers: usize,
    secret: *const u8,
    entropy: u64,
    endpoint: *mut *mut SeqlinkEndpoint,
) -> c_int {
    guard(|| make_endpoint(Memory::Caller(mem, mem_len), config, max_peers, secret, entropy, endpoint))
}

/// Makes an endpoint in memory it allocates (as `_init`); end it with
/// `seqlink_endpoint_free`. Also -SEQLINK_E_NO_MEMORY.
#[no_mangle]
pub extern "C" fn seqlink_endpoint_new(
    config: *const SeqlinkEndpointConfig,
    max_peers: usize,
    secret: *const u8,
    entropy: u64,
    endpoint: *mut *mut SeqlinkEndpoint,
) -> c_int {
    guard(|| make_endpoint(Memory::Allocated, config, max_peers, secret, entropy, endpoint))
}

/// Ends an endpoint and every connection in it at once. Null is a no-op.
#[no_mangle]
pub extern "C" fn seqlink_endpoint_free(endpoint: *mut SeqlinkEndpoint) -> c_int {
    guard(|| free(endpoint).and(Ok(SEQLINK_OK)))
}

/// Feeds one datagram received from `from`. Returns 0, -SEQLINK_E_NULL,
/// -SEQLINK_E_INVALID (an address `len` above 28), -SEQLINK_E_BAD_OBJECT.
#[no_mangle]
pub extern "C" fn seqlink_endpoint_handle_datagram(
    endpoint: *mut SeqlinkEndpoint,
    now: u64,
    from: *const SeqlinkAddress,
    data: *const u8,
    len: usize,
) -> c_int {
    guard(|| {
        let endpoint = get(endpoint)?;
        let from = input(from)?.normalized()?;
        endpoint.handle_datagram(now, from, bytes(data, len)?);
        Ok(SEQLINK_OK)
    })
}

/// Writes the next datagram into `buf`, its destination into `*to` and its
/// length into `*len`: 1 with a datagram, 0 when there is none.
#[no_mangle]
pub extern "C" fn seqlink_endpoint_poll_transmit(
    endpoint: *mut SeqlinkEndpoint,
    now: u64,
    buf: *mut u8,
    buf_len: usize,
    to: *mut SeqlinkAddress,
    len: *mut usize,
) -> c_int {
    guard(|| {
        let endpoint = get(endpoint)?;
        let buf = bytes_mut(buf, buf_len)?;
        check_out(to)?;
        check_out(len)?;
        match endpoint.poll_transmit(now, buf)? {
            Some((peer, n)) => put(to, peer).and(put(len, n)).and(ready(true)),
            None => ready(false),
        }
    })
}

/// The next deadline into `*deadline`: 1 with one, 0 when no timer runs.
#[no_mangle]
pub extern "C" fn seqlink_endpoint_poll_timeout(endpoint: *mut SeqlinkEndpoint, deadline: *mut u64) -> c_int {
    guard(|| {
        let endpoint = get(endpoint)?;
        check_out(deadline)?;
        match endpoint.poll_timeout() {
            Some(at) => put(deadline, at).and(ready(true)),
            None => ready(false),
        }
    })
}

/// Runs every timer due at `now`.
#[no_mangle]
pub extern "C" fn seqlink_endpoint_handle_timeout(endpoint: *mut SeqlinkEndpoint, now: u64) -> c_int {
    guard(|| {
        get(endpoint)?.handle_timeout(now);
        Ok(SEQLINK_OK)
    })
}

/// The next event into `*event`: 1 with one, 0 when none is waiting.
#[no_mangle]
pub extern "C" fn seqlink_endpoint_poll_event(
    endpoint: *mut SeqlinkEndpoint,
    event: *mut SeqlinkEndpointEvent,
) -> c_int {
    guard(|| {
        let endpoint = get(endpoint)?;
        check_out(event)?;
        let Some(e) = endpoint.poll_event() else { return ready(false) };
        let handle = e.handle();
        let peer = match (handle, e.refused_peer()) {
            (_, Some(peer)) => peer,
            (Some(h), None) => endpoint.peer(h).unwrap_or_default(),
            (None, None) => SeqlinkAddress::default(),
        };
        let record = SeqlinkEvent::from_record(e.record());
        let handle = handle.map_or(0, ConnectionHandle::to_bits);
        put(event, SeqlinkEndpointEvent { handle, event: record, peer }).and(ready(true))
    })
}

/// The oldest connection not yet accepted into `*handle`: 1 with one, else 0
/// (optional: `SEQLINK_EVENT_CONNECTED` carries the handle too).
#[no_mangle]
pub extern "C" fn seqlink_endpoint_accept(endpoint: *mut SeqlinkEndpoint, handle: *mut u32) -> c_int {
    guard(|| {
        let endpoint = get(endpoint)?;
        check_out(handle)?;
        match endpoint.accept() {
            Some(h) => put(handle, h.to_bits()).and(ready(true)),
            None => ready(false),
        }
    })
}

/// The next proven handshake waiting for a decision into `*incoming`
/// (`auto_accept` false): 1 with one, else 0.
#[no_mangle]
pub extern "C" fn seqlink_endpoint_poll_incoming(
    endpoint: *mut SeqlinkEndpoint,
    incoming: *mut SeqlinkIncoming,
) -> c_int {
    guard(|| {
        let endpoint = get(endpoint)?;
        check_out(incoming)?;
        let Some(i) = endpoint.poll_incoming() else { return ready(false) };
        let mut out = SeqlinkIncoming {
            ticket: i.ticket().to_bits(),
            peer: i.peer(),
            params: SeqlinkParams::from_core(&i.params()),
            ..SeqlinkIncoming::default()
        };
        let extension = i.extension();
        if let Some(dst) = out.extension.get_mut(..extension.len()) {
            dst.copy_from_slice(extension);
            out.extension_len = extension.len() as u8;
        }
        put(incoming, out).and(ready(true))
    })
}

/// Accepts a waiting handshake: its connection's handle into `*handle`.
/// Returns 0, -SEQLINK_E_STALE_TICKET (decided, expired or replaced),
/// -SEQLINK_E_TABLE_FULL (it keeps waiting).
#[no_mangle]
pub extern "C" fn seqlink_endpoint_accept_incoming(
    endpoint: *mut SeqlinkEndpoint,
    ticket: u32,
    now: u64,
    handle: *mut u32,
) -> c_int {
    guard(|| {
        let endpoint = get(endpoint)?;
        check_out(handle)?;
        let h = endpoint.accept_incoming(IncomingTicket::from_bits(ticket), now)?;
        put(handle, h.to_bits()).and(Ok(SEQLINK_OK))
    })
}

/// Refuses a waiting handshake with the wire error `code` (4 is "refused";
/// the client fails with it). Returns 0 or -SEQLINK_E_STALE_TICKET.
#[no_mangle]
pub extern "C" fn seqlink_endpoint_refuse(endpoint: *mut SeqlinkEndpoint, ticket: u32, code: u8) -> c_int {
    guard(|| {
        get(endpoint)?.refuse(IncomingTicket::from_bits(ticket), ErrorCode::from_u8(code))?;
        Ok(SEQLINK_OK)
    })
}

/// Queues a message on a connection; returns as `seqlink_connection_send`,
/// and -SEQLINK_E_UNKNOWN_HANDLE.
#[no_mangle]
pub extern "C" fn seqlink_endpoint_send(
    endpoint: *mut SeqlinkEndpoint,
    handle: u32,
    ptype: u8,
    message: *const u8,
    len: usize,
    delivery_mode: u8,
) -> c_int {
    guard(|| {
        let endpoint = get(endpoint)?;
        let message = bytes(message, len)?;
        let mode = delivery(delivery_mode)?;
        endpoint.send(ConnectionHandle::from_bits(handle), PacketType(ptype), message, mode)?;
        Ok(SEQLINK_OK)
    })
}

/// Reads a connection's next message; returns as `seqlink_connection_recv`,
/// and -SEQLINK_E_UNKNOWN_HANDLE.
#[no_mangle]
pub extern "C" fn seqlink_endpoint_recv(
    endpoint: *mut SeqlinkEndpoint,
    handle: u32,
    buf: *mut u8,
    buf_len: usize,
    received: *mut SeqlinkReceived,
) -> c_int {
    guard(|| {
        let endpoint = get(endpoint)?;
        recv_into(endpoint.connection(ConnectionHandle::from_bits(handle)), buf, buf_len, received)
    })
}

/// Starts a graceful close of a connection. Returns 0 or -SEQLINK_E_UNKNOWN_HANDLE.
#[no_mangle]
pub extern "C" fn seqlink_endpoint_close(endpoint: *mut SeqlinkEndpoint, handle: u32, now: u64) -> c_int {
    guard(|| {
        connection(get(endpoint)?, handle)?.close(now);
        Ok(SEQLINK_OK)
    })
}

/// Forgets a connection now, whatever its state; its slot is free again.
/// Returns 0 or -SEQLINK_E_UNKNOWN_HANDLE.
#[no_mangle]
pub extern "C" fn seqlink_endpoint_release(endpoint: *mut SeqlinkEndpoint, handle: u32) -> c_int {
    guard(|| {
        let endpoint = get(endpoint)?;
        connection(endpoint, handle)?;
        endpoint.release(ConnectionHandle::from_bits(handle));
        Ok(SEQLINK_OK)
    })
}

/// A connection's peer address into `*peer`. Returns 0 or -SEQLINK_E_UNKNOWN_HANDLE.
#[no_mangle]
pub extern "C" fn seqlink_endpoint_peer(
    endpoint: *mut SeqlinkEndpoint,
    handle: u32,
    peer: *mut SeqlinkAddress,
) -> c_int {
    guard(|| {
        let endpoint = get(endpoint)?;
        check_out(peer)?;
        let address = endpoint.peer(ConnectionHandle::from_bits(handle)).ok_or(Status(SEQLINK_E_UNKNOWN_HANDLE))?;
        put(peer, address).and(Ok(SEQLINK_OK))
    })
}

/// A connection's state (`SEQLINK_STATE_*`) into `*state`.
#[no_mangle]
pub extern "C" fn seqlink_endpoint_connection_state(
    endpoint: *mut SeqlinkEndpoint,
    handle: u32,
    state: *mut u8,
) -> c_int {
    guard(|| {
        let conn = connection(get(endpoint)?, handle)?;
        put(state, state_code(conn.state())).and(Ok(SEQLINK_OK))
    })
}

/// A connection's statistics into `*stats`.
#[no_mangle]
pub extern "C" fn seqlink_endpoint_connection_stats(
    endpoint: *mut SeqlinkEndpoint,
    handle: u32,
    stats: *mut SeqlinkStats,
) -> c_int {
    guard(|| {
        let conn = connection(get(endpoint)?, handle)?;
        put(stats, SeqlinkStats::from_core(&conn.stats())).and(Ok(SEQLINK_OK))
    })
}

/// Why a connection failed, as `seqlink_connection_failure`.
#[no_mangle]
pub extern "C" fn seqlink_endpoint_connection_failure(
    endpoint: *mut SeqlinkEndpoint,
    handle: u32,
    event: *mut SeqlinkEvent,
) -> c_int {
    guard(|| failure_into(connection(get(endpoint)?, handle)?, event))
}

/// A connection's oldest unread trace record into `*trace`: 1 with one,
/// else 0 (kept only with `link.trace_slots` above 0).
#[no_mangle]
pub extern "C" fn seqlink_endpoint_connection_poll_trace(
    endpoint: *mut SeqlinkEndpoint,
    handle: u32,
    trace: *mut SeqlinkTrace,
) -> c_int {
    guard(|| {
        check_out(trace)?;
        match connection(get(endpoint)?, handle)?.poll_trace() {
            Some(t) => put(trace, SeqlinkTrace::from_core(&t)).and(ready(true)),
            None => ready(false),
        }
    })
}

/// The endpoint's counters into `*stats`.
#[no_mangle]
pub extern "C" fn seqlink_endpoint_stats(endpoint: *mut SeqlinkEndpoint, stats: *mut SeqlinkEndpointStats) -> c_int {
    guard(|| {
        let endpoint = get(endpoint)?;
        put(stats, SeqlinkEndpointStats::from_core(&endpoint.stats())).and(Ok(SEQLINK_OK))
    })
}

/// Connections in the table (any state) into `*count`.
#[no_mangle]
pub extern "C" fn seqlink_endpoint_connection_count(endpoint: *mut SeqlinkEndpoint, count: *mut usize) -> c_int {
    guard(|| {
        let endpoint = get(endpoint)?;
        put(count, endpoint.connection_count()).and(Ok(SEQLINK_OK))
    })
}
