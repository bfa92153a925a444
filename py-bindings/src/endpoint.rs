//! The sans-IO server endpoint: many peers on one socket, stateless
//! cookies, a bounded connection table, admission by the application.
//!
//! Peers are named by what Python's sockets use: an `(ip, port)` tuple (IPv4
//! or IPv6, as `recvfrom` returns it) or, for tests and custom transports, an int.

use std::net::IpAddr;

use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;
use pyo3::types::{PyBytes, PyInt, PyList, PyTuple};
use seqlink_core::endpoint::IncomingTicket;
use seqlink_core::{ConnectionHandle, Endpoint as CoreEndpoint, EndpointEvent, ErrorCode, PacketType, Slot};

use crate::args::{or_default, u16_arg, u32_arg, u64_arg, u8_arg};
use crate::config::EndpointConfig;
use crate::connection::{delivery_arg, next_message, random_u64, state_name, DETACH_DATAGRAM};
use crate::errors::{invalid_argument, OrRaise};
use crate::event::{link_stats, stats_object, Event, Message};

/// A peer address, kept by value (the core's address type must be `Copy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Peer {
    Id(u64),
    V4([u8; 4], u16),
    V6([u8; 16], u16, u32),
}

impl Peer {
    /// A peer from an int or an `(ip, port[, flowinfo, scope_id])` tuple.
    pub fn from_py(value: &Bound<'_, PyAny>) -> PyResult<Peer> {
        if value.is_instance_of::<PyInt>() {
            return Ok(Peer::Id(u64_arg(value, "peer")?));
        }
        let wrong = || PyTypeError::new_err(format!("peer must be an int or an (ip, port) tuple, got {value}"));
        let tuple = value.cast::<PyTuple>().map_err(|_| wrong())?;
        if tuple.len() < 2 {
            return Err(wrong());
        }
        let host: String = tuple.get_item(0)?.extract()?;
        let port = u16_arg(&tuple.get_item(1)?, "port")?;
        let ip: IpAddr =
            host.parse().map_err(|_| invalid_argument(value.py(), &format!("not a numeric IP address: {host:?}")))?;
        Ok(match ip {
            IpAddr::V4(v4) => Peer::V4(v4.octets(), port),
            IpAddr::V6(v6) => {
                let scope = if tuple.len() >= 4 { u32_arg(&tuple.get_item(3)?, "scope_id")? } else { 0 };
                Peer::V6(v6.octets(), port, scope)
            }
        })
    }

    /// The Python form: an int, `(ip, port)` or `(ip, port, 0, scope_id)`.
    pub fn to_py(self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        Ok(match self {
            Peer::Id(id) => id.into_pyobject(py)?.into_any().unbind(),
            Peer::V4(ip, port) => (IpAddr::from(ip).to_string(), port).into_pyobject(py)?.into_any().unbind(),
            Peer::V6(ip, port, scope) => {
                (IpAddr::from(ip).to_string(), port, 0u32, scope).into_pyobject(py)?.into_any().unbind()
            }
        })
    }
}

/// Names a connection of an endpoint; stale once its slot is reused.
#[pyclass(frozen, eq, hash, module = "seqlink", from_py_object)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Handle(pub ConnectionHandle);

#[pymethods]
impl Handle {
    /// The slot index (stable while the connection lives).
    #[getter]
    pub fn index(&self) -> usize {
        self.0.index()
    }

    fn __repr__(&self) -> String {
        format!("<Handle {}>", self.0.index())
    }
}

/// A handshake whose cookie the peer proved, waiting for
/// `Endpoint.accept_incoming` or `Endpoint.refuse`.
#[pyclass(frozen, module = "seqlink")]
pub struct Incoming {
    ticket: IncomingTicket,
    /// The client's address.
    #[pyo3(get)]
    peer: Py<PyAny>,
    /// The agreed maximum payload.
    #[pyo3(get)]
    max_payload: u16,
    /// The agreed window.
    #[pyo3(get)]
    window: u16,
    /// The agreed heartbeat interval, milliseconds.
    #[pyo3(get)]
    heartbeat_ms: u32,
    /// The agreed idle timeout, milliseconds.
    #[pyo3(get)]
    idle_timeout_ms: u32,
    /// The extension bytes of the client's handshake.
    #[pyo3(get)]
    extension: Py<PyBytes>,
}

#[pymethods]
impl Incoming {
    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!("<Incoming from {}>", self.peer.bind(py).repr()?))
    }
}

/// Connections an endpoint holds at most (its table is allocated whole).
const MAX_PEERS: u16 = 1024;
/// Bytes of link storage an endpoint may allocate at most (1 GiB), so that a
/// configuration can never make the process run out of memory.
const MAX_STORAGE: usize = 1 << 30;

type Core = CoreEndpoint<Peer, Vec<u8>, Vec<Slot<Peer, Vec<u8>>>>;

/// A server endpoint over one socket, sans-IO.
///
/// Feed it every datagram with its sender (`handle_datagram(now, peer,
/// data)`), send what `poll_transmit(now)` returns to the peer it names, run
/// `handle_timeout(now)` when `poll_timeout()` is due, and read
/// `poll_event()` and each connection's `recv(handle)`. With
/// `auto_accept=False`, proven handshakes wait in `poll_incoming()`.
#[pyclass(module = "seqlink")]
pub struct Endpoint {
    inner: Core,
    datagram: Vec<u8>,
}

fn handle_of(value: &Bound<'_, PyAny>) -> PyResult<ConnectionHandle> {
    Ok(value.extract::<Handle>()?.0)
}

#[pymethods]
impl Endpoint {
    /// An endpoint with room for `config.max_connections` connections.
    /// `secret` (16 bytes) keys the cookies and `entropy` seeds ids; both
    /// default to `os.urandom`.
    #[new]
    #[pyo3(signature = (config = None, *, secret = None, entropy = None))]
    fn new(
        py: Python<'_>,
        config: Option<PyRef<'_, EndpointConfig>>,
        secret: Option<PyBackedBytes>,
        entropy: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Endpoint> {
        let config = match config {
            Some(c) => c.to_core(py)?,
            None => seqlink_core::EndpointConfig::new(seqlink_core::ConnectionConfig::new()),
        };
        let mut key = [0u8; 16];
        match secret {
            Some(s) if s.len() == 16 => key.copy_from_slice(&s),
            Some(s) => return Err(invalid_argument(py, &format!("secret must be 16 bytes, got {}", s.len()))),
            None => {
                key[..8].copy_from_slice(&random_u64(py)?.to_le_bytes());
                key[8..].copy_from_slice(&random_u64(py)?.to_le_bytes());
            }
        }
        let entropy = match entropy {
            Some(e) => u64_arg(e, "entropy")?,
            None => random_u64(py)?,
        };
        let peers = usize::from(config.max_connections.min(MAX_PEERS));
        let needed = config.storage_len(peers);
        if needed > MAX_STORAGE {
            let message = format!(
                "{peers} connections of {} bytes need {needed} bytes of storage, more than the {MAX_STORAGE} allowed: \
                 lower max_connections, window or max_payload",
                config.connection.storage_len()
            );
            return Err(invalid_argument(py, &message));
        }
        let slots = (0..peers).map(|_| Slot::new(vec![0u8; config.connection.storage_len()])).collect();
        Ok(Endpoint {
            inner: CoreEndpoint::new(config, slots, key, entropy),
            datagram: vec![0u8; config.connection.max_datagram_len()],
        })
    }

    /// Feeds one datagram from `peer` that arrived at `now`.
    fn handle_datagram(
        &mut self,
        py: Python<'_>,
        now: &Bound<'_, PyAny>,
        peer: &Bound<'_, PyAny>,
        data: PyBackedBytes,
    ) -> PyResult<()> {
        let (now, peer) = (u64_arg(now, "now")?, Peer::from_py(peer)?);
        let inner = &mut self.inner;
        if data.len() >= DETACH_DATAGRAM {
            py.detach(|| inner.handle_datagram(now, peer, &data));
        } else {
            inner.handle_datagram(now, peer, &data);
        }
        Ok(())
    }

    /// The next `(peer, datagram)` to send, or None.
    fn poll_transmit<'py>(
        &mut self,
        py: Python<'py>,
        now: &Bound<'_, PyAny>,
    ) -> PyResult<Option<(Py<PyAny>, Bound<'py, PyBytes>)>> {
        let now = u64_arg(now, "now")?;
        match self.inner.poll_transmit(now, &mut self.datagram).or_raise(py)? {
            Some((peer, n)) => {
                Ok(Some((peer.to_py(py)?, PyBytes::new(py, self.datagram.get(..n).unwrap_or_default()))))
            }
            None => Ok(None),
        }
    }

    /// Every `(peer, datagram)` there is to send now (the GIL released while they are written).
    fn transmit<'py>(&mut self, py: Python<'py>, now: &Bound<'_, PyAny>) -> PyResult<Bound<'py, PyList>> {
        let now = u64_arg(now, "now")?;
        let (inner, buf) = (&mut self.inner, &mut self.datagram);
        let datagrams = py.detach(|| {
            let mut out = Vec::new();
            while let Some((peer, n)) = inner.poll_transmit(now, buf)? {
                out.push((peer, buf.get(..n).unwrap_or_default().to_vec()));
            }
            Ok::<_, seqlink_core::Error>(out)
        });
        let list = PyList::empty(py);
        for (peer, d) in datagrams.or_raise(py)? {
            list.append((peer.to_py(py)?, PyBytes::new(py, &d)))?;
        }
        Ok(list)
    }

    /// When `handle_timeout` must run next (milliseconds), or None.
    fn poll_timeout(&self) -> Option<u64> {
        self.inner.poll_timeout()
    }

    /// Runs every connection's timers due at `now`.
    fn handle_timeout(&mut self, now: &Bound<'_, PyAny>) -> PyResult<()> {
        self.inner.handle_timeout(u64_arg(now, "now")?);
        Ok(())
    }

    /// The next event of any connection (with its `handle`), or of a refused peer.
    fn poll_event(&mut self, py: Python<'_>) -> PyResult<Option<Event>> {
        Ok(match self.inner.poll_event() {
            None => None,
            Some(EndpointEvent::Connection(handle, event)) => Some(Event::new(event, Some(Handle(handle)))),
            Some(refused @ EndpointEvent::Refused { peer, .. }) => {
                Some(Event::refused(refused.record(), peer.to_py(py)?))
            }
        })
    }

    /// The next proven handshake waiting for a decision (`auto_accept=False`), or None.
    fn poll_incoming(&mut self, py: Python<'_>) -> PyResult<Option<Incoming>> {
        let Some(incoming) = self.inner.poll_incoming() else { return Ok(None) };
        let params = incoming.params();
        Ok(Some(Incoming {
            ticket: incoming.ticket(),
            peer: incoming.peer().to_py(py)?,
            max_payload: params.max_payload,
            window: params.window,
            heartbeat_ms: params.heartbeat_ms,
            idle_timeout_ms: params.idle_timeout_ms,
            extension: PyBytes::new(py, incoming.extension()).unbind(),
        }))
    }

    /// Creates the connection of a waiting handshake; returns its handle.
    /// Raises `StaleTicketError` or `TableFullError` (the handshake keeps waiting).
    fn accept_incoming(
        &mut self,
        py: Python<'_>,
        incoming: &Bound<'_, Incoming>,
        now: &Bound<'_, PyAny>,
    ) -> PyResult<Handle> {
        let ticket = incoming.get().ticket;
        self.inner.accept_incoming(ticket, u64_arg(now, "now")?).map(Handle).or_raise(py)
    }

    /// Refuses a waiting handshake with `code` (section 9.3; 4 "refused" by default).
    #[pyo3(signature = (incoming, code = None), text_signature = "(self, incoming, code=4)")]
    fn refuse(
        &mut self,
        py: Python<'_>,
        incoming: &Bound<'_, Incoming>,
        code: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let code = or_default(code, "code", u8_arg, 4)?;
        let ticket = incoming.get().ticket;
        self.inner.refuse(ticket, ErrorCode::from_u8(code)).or_raise(py)
    }

    /// The oldest connection not accepted yet, or None (optional: `Connected` events carry handles too).
    fn accept(&mut self) -> Option<Handle> {
        self.inner.accept().map(Handle)
    }

    /// Queues a message on a connection (raises a `SendError`, `UnknownHandleError` for a stale handle).
    #[pyo3(signature = (handle, ptype, message, delivery = None))]
    fn send(
        &mut self,
        py: Python<'_>,
        handle: &Bound<'_, PyAny>,
        ptype: &Bound<'_, PyAny>,
        message: PyBackedBytes,
        delivery: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let delivery = delivery.map(|d| delivery_arg(py, d)).transpose()?.unwrap_or_default();
        self.inner.send(handle_of(handle)?, PacketType(u8_arg(ptype, "ptype")?), &message, delivery).or_raise(py)
    }

    /// The next message of a connection, or None.
    fn recv(&mut self, py: Python<'_>, handle: &Bound<'_, PyAny>) -> PyResult<Option<Message>> {
        match self.inner.connection(handle_of(handle)?) {
            Some(conn) => next_message(py, conn),
            None => Ok(None),
        }
    }

    /// Starts a graceful close of a connection.
    fn close(&mut self, handle: &Bound<'_, PyAny>, now: &Bound<'_, PyAny>) -> PyResult<()> {
        self.inner.close(handle_of(handle)?, u64_arg(now, "now")?);
        Ok(())
    }

    /// Aborts a connection: a RESET with `code` (7 "aborted" by default) goes to the peer.
    #[pyo3(signature = (handle, now, code = None), text_signature = "(self, handle, now, code=7)")]
    fn abort(
        &mut self,
        handle: &Bound<'_, PyAny>,
        now: &Bound<'_, PyAny>,
        code: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let (now, code) = (u64_arg(now, "now")?, ErrorCode::from_u8(or_default(code, "code", u8_arg, 7)?));
        if let Some(conn) = self.inner.connection(handle_of(handle)?) {
            conn.abort(now, code);
        }
        Ok(())
    }

    /// The transport of a connection ended (its TCP stream closed): a
    /// lingering connection is done, any other fails as reset.
    fn transport_closed(&mut self, handle: &Bound<'_, PyAny>) -> PyResult<()> {
        if let Some(conn) = self.inner.connection(handle_of(handle)?) {
            conn.transport_closed();
        }
        Ok(())
    }

    /// Forgets a connection now; its slot is free again.
    fn release(&mut self, handle: &Bound<'_, PyAny>) -> PyResult<()> {
        self.inner.release(handle_of(handle)?);
        Ok(())
    }

    /// The peer of a connection, or None for a stale handle.
    fn peer(&mut self, py: Python<'_>, handle: &Bound<'_, PyAny>) -> PyResult<Option<Py<PyAny>>> {
        self.inner.peer(handle_of(handle)?).map(|p| p.to_py(py)).transpose()
    }

    /// The state of a connection (as `Connection.state`), or None for a stale handle.
    fn state(&mut self, handle: &Bound<'_, PyAny>) -> PyResult<Option<&'static str>> {
        Ok(self.inner.connection(handle_of(handle)?).map(|c| state_name(c.state())))
    }

    /// Whether a connection's peer finished sending (its FIN arrived); False for a stale handle.
    fn peer_finished(&mut self, handle: &Bound<'_, PyAny>) -> PyResult<bool> {
        Ok(self.inner.connection(handle_of(handle)?).is_some_and(|c| c.link().peer_finished()))
    }

    /// Whether the handle names a connection still in the table.
    fn is_open(&mut self, handle: &Bound<'_, PyAny>) -> PyResult<bool> {
        Ok(self.inner.is_open(handle_of(handle)?))
    }

    /// A connection's counters (`seqlink.Stats`), or None for a stale handle.
    fn connection_stats<'py>(
        &mut self,
        py: Python<'py>,
        handle: &Bound<'_, PyAny>,
    ) -> PyResult<Option<Bound<'py, PyAny>>> {
        match self.inner.connection(handle_of(handle)?) {
            Some(conn) => link_stats(py, &conn.stats()).map(Some),
            None => Ok(None),
        }
    }

    /// Connections in the table (any state).
    #[getter]
    fn connection_count(&self) -> usize {
        self.inner.connection_count()
    }

    /// Proven handshakes waiting for a decision.
    #[getter]
    fn incoming_count(&self) -> usize {
        self.inner.incoming_count()
    }

    /// The endpoint's counters, as a `seqlink.EndpointStats` dataclass.
    #[getter]
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let s = self.inner.stats();
        stats_object(
            py,
            "EndpointStats",
            &[
                ("syn_acks_sent", s.syn_acks_sent),
                ("refused", s.refused),
                ("bad_cookies", s.bad_cookies),
                ("replays", s.replays),
                ("accepted", s.accepted),
                ("incoming_queued", s.incoming_queued),
                ("incoming_dropped", s.incoming_dropped),
                ("incoming_expired", s.incoming_expired),
                ("resets_sent", s.resets_sent),
                ("suppressed", s.suppressed),
                ("dropped", s.dropped),
            ],
        )
    }

    fn __repr__(&self) -> String {
        format!("<Endpoint connections={}>", self.inner.connection_count())
    }
}
