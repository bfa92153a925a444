//! What connections hand the application: events, messages, statistics.

use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;
use pyo3::types::{PyBytes, PyDict};
use seqlink_core::{Delivery, Event as CoreEvent, EventRecord, FailReason};

use crate::args::u8_arg;
use crate::connection::delivery_arg;
use crate::endpoint::Handle;
use crate::errors::to_py;

/// Something that happened to a connection (or, from an endpoint, a refused peer).
///
/// `kind` is the stable code (compare with `seqlink.EventKind`); `name` its
/// snake-case name. A failure has `reason` (60-79) and `error`, the exception
/// it is; a refusal or reset has `peer_code`; a dead peer `seq`; a dropped
/// message `fragments`. An endpoint's events name their connection's
/// `handle`, and a refusal its `peer`.
#[pyclass(frozen, module = "seqlink")]
pub struct Event {
    record: EventRecord,
    failure: Option<FailReason>,
    /// The connection of an endpoint's event (None from a `Connection`, or for a refusal).
    #[pyo3(get)]
    handle: Option<Handle>,
    /// The refused peer of a `peer_refused` event.
    #[pyo3(get)]
    peer: Option<Py<PyAny>>,
}

impl Event {
    /// A connection's event.
    pub fn new(event: CoreEvent, handle: Option<Handle>) -> Event {
        Event { record: EventRecord::new(&event), failure: event.fail_reason(), handle, peer: None }
    }

    /// An endpoint's refusal of `peer`.
    pub fn refused(record: EventRecord, peer: Py<PyAny>) -> Event {
        Event { record, failure: None, handle: None, peer: Some(peer) }
    }
}

const NAMES: [&str; 6] = ["connected", "closed", "writable", "message_dropped", "failed", "peer_refused"];

#[pymethods]
impl Event {
    /// The stable code of the kind (80-99).
    #[getter]
    fn kind(&self) -> u8 {
        self.record.kind
    }

    /// The kind's name: "connected", "closed", "writable", "message_dropped", "failed" or "peer_refused".
    #[getter]
    fn name(&self) -> &'static str {
        usize::from(self.record.kind).checked_sub(80).and_then(|i| NAMES.get(i)).copied().unwrap_or("unknown")
    }

    /// Why it failed (60-79), for a failure.
    #[getter]
    fn reason(&self) -> Option<u8> {
        (self.record.reason != 0).then_some(self.record.reason)
    }

    /// The peer's code byte (section 9.3), for a refusal or reset.
    #[getter]
    fn peer_code(&self) -> Option<u8> {
        match self.failure {
            Some(f) => f.peer_code().map(|c| c.code()),
            None => (self.record.kind == 85).then_some(self.record.peer_code),
        }
    }

    /// The fragments a dropped message declared.
    #[getter]
    fn fragments(&self) -> Option<u16> {
        (self.record.kind == 83).then_some(self.record.fragments)
    }

    /// A dead peer's oldest unacknowledged sequence number.
    #[getter]
    fn seq(&self) -> Option<u32> {
        self.failure.and_then(|f| f.seq()).map(|s| s.value())
    }

    /// The failure as its exception (a `ConnectionFailedError`), or None.
    #[getter]
    fn error(&self, py: Python<'_>) -> Option<Py<PyAny>> {
        self.failure.map(|f| to_py(py, &f).into_value(py).into_any())
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let mut parts = vec![format!("Event.{}", self.name())];
        if let Some(f) = self.failure {
            parts.push(format!("{f}"));
        }
        if let Some(h) = &self.handle {
            parts.push(format!("handle={}", h.index()));
        }
        if let Some(p) = &self.peer {
            parts.push(format!("peer={}", p.bind(py).repr()?));
        }
        Ok(format!("<{}>", parts.join(" ")))
    }
}

/// A received message: its application packet type, its bytes, and how it was sent.
#[pyclass(frozen, module = "seqlink")]
pub struct Message {
    /// The application's packet type.
    #[pyo3(get)]
    pub ptype: u8,
    /// The message's bytes.
    #[pyo3(get)]
    pub payload: Py<PyBytes>,
    /// 0: reliable, 1: unreliable (compare with `seqlink.Delivery`).
    #[pyo3(get)]
    pub delivery: u8,
}

impl Message {
    pub fn new(py: Python<'_>, ptype: u8, payload: &[u8], delivery: Delivery) -> Message {
        Message { ptype, payload: PyBytes::new(py, payload).unbind(), delivery: delivery as u8 }
    }
}

#[pymethods]
impl Message {
    #[new]
    #[pyo3(signature = (ptype, payload, delivery = None), text_signature = "(ptype, payload, delivery=0)")]
    fn py_new(
        py: Python<'_>,
        ptype: &Bound<'_, PyAny>,
        payload: PyBackedBytes,
        delivery: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Message> {
        let ptype = u8_arg(ptype, "ptype")?;
        let delivery = delivery.map(|d| delivery_arg(py, d)).transpose()?.unwrap_or_default();
        Ok(Message::new(py, ptype, &payload, delivery))
    }

    #[classattr]
    fn __match_args__() -> (&'static str, &'static str, &'static str) {
        ("ptype", "payload", "delivery")
    }

    fn __eq__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> bool {
        other.cast::<Message>().is_ok_and(|o| {
            let o = o.get();
            self.ptype == o.ptype && self.delivery == o.delivery && self.payload.as_bytes(py) == o.payload.as_bytes(py)
        })
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let delivery = if self.delivery == 0 { "RELIABLE" } else { "UNRELIABLE" };
        Ok(format!(
            "Message(ptype={}, payload={}, delivery=Delivery.{delivery})",
            self.ptype,
            self.payload.bind(py).repr()?
        ))
    }
}

/// A frozen dataclass of `seqlink.stats` from `(field, value)` pairs.
pub fn stats_object<'py>(py: Python<'py>, class: &str, fields: &[(&str, u64)]) -> PyResult<Bound<'py, PyAny>> {
    let kwargs = PyDict::new(py);
    for (name, value) in fields {
        kwargs.set_item(name, value)?;
    }
    py.import("seqlink.stats")?.getattr(class)?.call((), Some(&kwargs))
}

/// A connection's counters as `seqlink.stats.Stats`.
pub fn link_stats<'py>(py: Python<'py>, s: &seqlink_core::Stats) -> PyResult<Bound<'py, PyAny>> {
    stats_object(
        py,
        "Stats",
        &[
            ("packets_sent", s.packets_sent),
            ("packets_received", s.packets_received),
            ("bytes_sent", s.bytes_sent),
            ("bytes_received", s.bytes_received),
            ("retransmissions", s.retransmissions),
            ("fast_retransmissions", s.fast_retransmissions),
            ("timeouts", s.timeouts),
            ("corrupt_packets", s.corrupt_packets),
            ("malformed_packets", s.malformed_packets),
            ("duplicates", s.duplicates),
            ("out_of_order", s.out_of_order),
            ("out_of_window", s.out_of_window),
            ("nacks_sent", s.nacks_sent),
            ("nacks_received", s.nacks_received),
            ("acks_sent", s.acks_sent),
            ("acks_received", s.acks_received),
            ("messages_sent", s.messages_sent),
            ("messages_delivered", s.messages_delivered),
            ("bytes_delivered", s.bytes_delivered),
            ("unreliable_dropped", s.unreliable_dropped),
            ("trace_overflows", s.trace_overflows),
            ("srtt_ms", u64::from(s.srtt_ms)),
            ("rto_ms", u64::from(s.rto_ms)),
            ("cwnd", u64::from(s.cwnd)),
            ("in_flight", u64::from(s.in_flight)),
        ],
    )
}
