//! The sans-IO client connection: feed datagrams, poll datagrams to send,
//! run the timers, send and receive messages, read events. Time is the
//! caller's, in integer milliseconds.

use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;
use pyo3::types::{PyBytes, PyList};
use seqlink_core::{Connection as CoreConnection, Delivery, ErrorCode, PacketType, Role, State};

use crate::args::{or_default, u64_arg, u8_arg};
use crate::config::ConnectionConfig;
use crate::errors::{to_py, OrRaise};
use crate::event::{link_stats, Event, Message};

/// Datagrams at least this long are handled with the GIL released.
pub const DETACH_DATAGRAM: usize = 512;

/// The snake-case name of a state (the values of `seqlink.State`).
pub fn state_name(state: State) -> &'static str {
    match state {
        State::SynSent => "syn_sent",
        State::Confirming => "confirming",
        State::Established => "established",
        State::Closing => "closing",
        State::Linger => "linger",
        State::Closed => "closed",
        State::Failed => "failed",
    }
}

/// The delivery of an int argument (0 reliable, 1 unreliable).
pub fn delivery_arg(py: Python<'_>, value: &Bound<'_, PyAny>) -> PyResult<Delivery> {
    match u8_arg(value, "delivery")? {
        0 => Ok(Delivery::Reliable),
        1 => Ok(Delivery::Unreliable),
        other => Err(crate::errors::invalid_argument(py, &format!("delivery must be 0 or 1, got {other}"))),
    }
}

/// A random u64 from the operating system (`os.urandom`).
pub fn random_u64(py: Python<'_>) -> PyResult<u64> {
    let bytes: Vec<u8> = py.import("os")?.call_method1("urandom", (8,))?.extract()?;
    let mut word = [0u8; 8];
    for (dst, src) in word.iter_mut().zip(bytes) {
        *dst = src;
    }
    Ok(u64::from_le_bytes(word))
}

/// The next message of a connection, sized to fit.
pub fn next_message(py: Python<'_>, conn: &mut CoreConnection<Vec<u8>>) -> PyResult<Option<Message>> {
    let Some(len) = conn.next_message_len() else { return Ok(None) };
    let mut buf = vec![0u8; len];
    Ok(conn
        .recv(&mut buf)
        .or_raise(py)?
        .map(|r| Message::new(py, r.ptype.value(), buf.get(..r.len).unwrap_or_default(), r.delivery)))
}

/// A client connection, sans-IO: the first `poll_transmit` sends the SYN.
///
/// The caller's loop: `handle_datagram(now, data)` for what arrives,
/// `handle_timeout(now)` when `poll_timeout()` is due, `poll_transmit(now)`
/// (or `transmit(now)`) until it has nothing more, then `poll_event()` and
/// `recv()`. `now` is milliseconds on any monotonic clock, never decreasing.
#[pyclass(module = "seqlink")]
pub struct Connection {
    inner: CoreConnection<Vec<u8>>,
    datagram: Vec<u8>,
}

#[pymethods]
impl Connection {
    /// Starts a client connection at time `now` with `config` (defaults when
    /// None); `entropy` seeds the connection id and initial sequence number
    /// (the default comes from `os.urandom`).
    #[new]
    #[pyo3(signature = (now, config = None, *, entropy = None))]
    fn new(
        py: Python<'_>,
        now: &Bound<'_, PyAny>,
        config: Option<ConnectionConfig>,
        entropy: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Connection> {
        let config = match config {
            Some(c) => c.to_core(py)?,
            None => seqlink_core::ConnectionConfig::new(),
        };
        let entropy = match entropy {
            Some(e) => u64_arg(e, "entropy")?,
            None => random_u64(py)?,
        };
        let inner = CoreConnection::connect(config, vec![0u8; config.storage_len()], u64_arg(now, "now")?, entropy)
            .or_raise(py)?;
        Ok(Connection { inner, datagram: vec![0u8; config.max_datagram_len()] })
    }

    /// Feeds one datagram (or one packet of a stream) that arrived at `now`.
    /// Bad packets are dropped and counted, never raised.
    fn handle_datagram(&mut self, py: Python<'_>, now: &Bound<'_, PyAny>, data: PyBackedBytes) -> PyResult<()> {
        let now = u64_arg(now, "now")?;
        let inner = &mut self.inner;
        if data.len() >= DETACH_DATAGRAM {
            py.detach(|| inner.handle_datagram(now, &data));
        } else {
            inner.handle_datagram(now, &data);
        }
        Ok(())
    }

    /// The next datagram to send, or None when there is nothing to send now.
    fn poll_transmit<'py>(&mut self, py: Python<'py>, now: &Bound<'_, PyAny>) -> PyResult<Option<Bound<'py, PyBytes>>> {
        let now = u64_arg(now, "now")?;
        let n = self.inner.poll_transmit(now, &mut self.datagram).or_raise(py)?;
        Ok(n.map(|n| PyBytes::new(py, self.datagram.get(..n).unwrap_or_default())))
    }

    /// Every datagram there is to send now, in order (the GIL released while
    /// they are written).
    fn transmit<'py>(&mut self, py: Python<'py>, now: &Bound<'_, PyAny>) -> PyResult<Bound<'py, PyList>> {
        let now = u64_arg(now, "now")?;
        let (inner, buf) = (&mut self.inner, &mut self.datagram);
        let datagrams = py.detach(|| {
            let mut out = Vec::new();
            while let Some(n) = inner.poll_transmit(now, buf)? {
                out.push(buf.get(..n).unwrap_or_default().to_vec());
            }
            Ok::<_, seqlink_core::Error>(out)
        });
        let list = PyList::empty(py);
        for d in datagrams.or_raise(py)? {
            list.append(PyBytes::new(py, &d))?;
        }
        Ok(list)
    }

    /// When `handle_timeout` must run next (milliseconds), or None.
    fn poll_timeout(&self) -> Option<u64> {
        self.inner.poll_timeout()
    }

    /// Runs the timers due at `now` (retransmissions, heartbeats, timeouts).
    fn handle_timeout(&mut self, now: &Bound<'_, PyAny>) -> PyResult<()> {
        self.inner.handle_timeout(u64_arg(now, "now")?);
        Ok(())
    }

    /// Queues a message of application type `ptype` (0-19 or 48-255).
    /// Raises a `SendError`: `NotConnectedError` before the handshake
    /// completed, `WouldBlockError` when the window is full, ...
    #[pyo3(signature = (ptype, message, delivery = None))]
    fn send(
        &mut self,
        py: Python<'_>,
        ptype: &Bound<'_, PyAny>,
        message: PyBackedBytes,
        delivery: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let delivery = delivery.map(|d| delivery_arg(py, d)).transpose()?.unwrap_or_default();
        self.inner.send(PacketType(u8_arg(ptype, "ptype")?), &message, delivery).or_raise(py)
    }

    /// The next received message, or None.
    fn recv(&mut self, py: Python<'_>) -> PyResult<Option<Message>> {
        next_message(py, &mut self.inner)
    }

    /// The next event, or None.
    fn poll_event(&mut self) -> Option<Event> {
        self.inner.poll_event().map(|e| Event::new(e, None))
    }

    /// Starts a graceful close: a FIN follows everything queued.
    fn close(&mut self, now: &Bound<'_, PyAny>) -> PyResult<()> {
        self.inner.close(u64_arg(now, "now")?);
        Ok(())
    }

    /// Aborts at once: a RESET with `code` (section 9.3; 7 "aborted" by default) goes to the peer.
    #[pyo3(signature = (now, code = None), text_signature = "(self, now, code=7)")]
    fn abort(&mut self, now: &Bound<'_, PyAny>, code: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
        self.inner.abort(u64_arg(now, "now")?, ErrorCode::from_u8(or_default(code, "code", u8_arg, 7)?));
        Ok(())
    }

    /// The transport underneath ended (a TCP stream closed).
    fn transport_closed(&mut self) {
        self.inner.transport_closed();
    }

    /// The state: "syn_sent", "confirming", "established", "closing", "linger", "closed" or "failed".
    #[getter]
    fn state(&self) -> &'static str {
        state_name(self.inner.state())
    }

    /// "client" (a `Connection` made here is always a client).
    #[getter]
    fn role(&self) -> &'static str {
        match self.inner.role() {
            Role::Client => "client",
            Role::Server => "server",
        }
    }

    /// Whether messages flow both ways.
    #[getter]
    fn is_established(&self) -> bool {
        self.inner.is_established()
    }

    /// Whether the connection is over (closed or failed).
    #[getter]
    fn is_closed(&self) -> bool {
        self.inner.is_closed()
    }

    /// Whether the peer finished sending (its FIN arrived): no message
    /// follows the ones `recv` still has.
    #[getter]
    fn peer_finished(&self) -> bool {
        self.inner.link().peer_finished()
    }

    /// Why the connection failed, as its exception (a `ConnectionFailedError`), or None.
    #[getter]
    fn failure(&self, py: Python<'_>) -> Option<Py<PyAny>> {
        self.inner.failure().map(|f| to_py(py, &f).into_value(py).into_any())
    }

    /// The connection id both sides agreed on (0 before the handshake).
    #[getter]
    fn connection_id(&self) -> u32 {
        self.inner.connection_id()
    }

    /// The extension bytes of the peer's handshake.
    #[getter]
    fn peer_extension<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, self.inner.peer_extension())
    }

    /// The counters, as a `seqlink.Stats` dataclass.
    #[getter]
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        link_stats(py, &self.inner.stats())
    }

    fn __repr__(&self) -> String {
        format!("<Connection {} id={:#010x}>", self.state(), self.inner.connection_id())
    }
}
