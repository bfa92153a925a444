//! The basic profile: seed 000 exactly (no handshake, sequence numbers from
//! 0, in order or discarded), for peers that speak only seed 000.

use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;
use pyo3::types::{PyBytes, PyList};
use seqlink_core::{BasicConfig, BasicSession as CoreSession, Error, OutOfOrder, Outcome as CoreOutcome, PacketRepr};
use seqlink_core::{PacketType, StreamDecoder as CoreStream};

use crate::args::u8_arg;
use crate::codec::{make_codec, Packet};
use crate::errors::{invalid_argument, to_py, OrRaise};
use crate::event::stats_object;

/// What the basic profile made of one received packet.
///
/// `kind` is "deliver" (`packet` is the application's), "control" (an ACK or
/// NACK in order: `ptype` and the `seq` it names), "corrupt" (`error` says
/// why; discarded) or "out_of_sequence" (`expected` and `got`; discarded).
#[pyclass(frozen, module = "seqlink")]
pub struct Outcome {
    /// "deliver", "control", "corrupt" or "out_of_sequence".
    #[pyo3(get)]
    kind: &'static str,
    /// The delivered packet.
    #[pyo3(get)]
    packet: Option<Py<Packet>>,
    /// ACK or NACK, for a control packet.
    #[pyo3(get)]
    ptype: Option<u8>,
    /// The sequence number an ACK or NACK names.
    #[pyo3(get)]
    seq: Option<u32>,
    /// Why a corrupt packet was discarded (a `DecodeError`).
    #[pyo3(get)]
    error: Option<Py<PyAny>>,
    /// The sequence number that was expected, for an out-of-sequence packet.
    #[pyo3(get)]
    expected: Option<u32>,
    /// The sequence number that came instead.
    #[pyo3(get)]
    got: Option<u32>,
}

impl Outcome {
    fn of(py: Python<'_>, outcome: CoreOutcome<'_>) -> PyResult<Outcome> {
        let mut out =
            Outcome { kind: "deliver", packet: None, ptype: None, seq: None, error: None, expected: None, got: None };
        match outcome {
            CoreOutcome::Deliver(repr) => out.packet = Some(Py::new(py, Packet::from_repr(py, &repr))?),
            CoreOutcome::Control { ptype, seq } => {
                (out.kind, out.ptype, out.seq) = ("control", Some(ptype.value()), Some(seq.value()));
            }
            CoreOutcome::Corrupt(e) => {
                (out.kind, out.error) = ("corrupt", Some(to_py(py, &e).into_value(py).into_any()))
            }
            CoreOutcome::OutOfSequence { expected, got } => {
                (out.kind, out.expected, out.got) = ("out_of_sequence", Some(expected.value()), Some(got.value()));
            }
        }
        Ok(out)
    }
}

#[pymethods]
impl Outcome {
    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(match self.kind {
            "deliver" => format!(
                "<Outcome deliver {}>",
                self.packet.as_ref().map(|p| p.bind(py).repr()).transpose()?.map(|r| r.to_string()).unwrap_or_default()
            ),
            "control" => format!("<Outcome control ptype={:?} seq={:?}>", self.ptype, self.seq),
            "corrupt" => format!(
                "<Outcome corrupt {}>",
                self.error.as_ref().map(|e| e.bind(py).str()).transpose()?.map(|s| s.to_string()).unwrap_or_default()
            ),
            _ => format!("<Outcome out_of_sequence expected={:?} got={:?}>", self.expected, self.got),
        })
    }
}

/// One side of a seed 000 conversation.
///
/// `encode` numbers the packets this side sends from 0; `receive(datagram)`
/// (UDP) or `feed(chunk)` (TCP) judges what arrives; `poll_control()` gives
/// the ACKs and NACKs to send (with `acks=True` and `out_of_order="nack"`).
#[pyclass(module = "seqlink")]
pub struct BasicSession {
    inner: CoreSession,
    stream: CoreStream<Vec<u8>>,
    control: Vec<u8>,
}

#[pymethods]
impl BasicSession {
    #[new]
    #[pyo3(signature = (*, out_of_order = "discard", acks = false, max_payload = None))]
    fn new(
        py: Python<'_>,
        out_of_order: &str,
        acks: bool,
        max_payload: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<BasicSession> {
        let out_of_order = match out_of_order {
            "discard" => OutOfOrder::Discard,
            "nack" => OutOfOrder::Nack,
            other => {
                return Err(invalid_argument(
                    py,
                    &format!("out_of_order must be \"discard\" or \"nack\", got {other:?}"),
                ))
            }
        };
        let codec = make_codec(max_payload, false)?;
        let stream = CoreStream::new(vec![0u8; codec.max_packet_len()], codec).or_raise(py)?;
        Ok(BasicSession {
            inner: CoreSession::new(BasicConfig { codec, out_of_order, acks }),
            stream,
            control: vec![0u8; 64],
        })
    }

    /// The next packet this side sends, as bytes (the next sequence number).
    #[pyo3(signature = (ptype, payload = None))]
    fn encode<'py>(
        &mut self,
        py: Python<'py>,
        ptype: &Bound<'_, PyAny>,
        payload: Option<PyBackedBytes>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let payload = payload.as_deref().unwrap_or_default();
        let mut out = vec![0u8; self.inner.codec().packet_len(payload.len())];
        let n = self.inner.encode(PacketType(u8_arg(ptype, "ptype")?), payload, &mut out).or_raise(py)?;
        Ok(PyBytes::new(py, out.get(..n).unwrap_or_default()))
    }

    /// Judges one datagram.
    fn receive(&mut self, py: Python<'_>, datagram: PyBackedBytes) -> PyResult<Outcome> {
        let parsed = PacketRepr::decode(&datagram, self.inner.codec());
        Outcome::of(py, self.inner.receive(parsed))
    }

    /// Judges every packet a chunk of a TCP stream completes. A length over
    /// the maximum cannot be delimited: `PayloadTooLargeError` is raised (the
    /// outcomes before it in its `packets` attribute).
    fn feed<'py>(&mut self, py: Python<'py>, chunk: PyBackedBytes) -> PyResult<Bound<'py, PyList>> {
        let list = PyList::empty(py);
        let mut input: &[u8] = &chunk;
        while let Some(result) = self.stream.decode(&mut input) {
            if let Err(fatal @ Error::PayloadTooLarge { .. }) = result {
                let err = to_py(py, &fatal);
                err.value(py).setattr("packets", list)?;
                return Err(err);
            }
            list.append(Outcome::of(py, self.inner.receive(result))?)?;
        }
        Ok(list)
    }

    /// The next ACK or NACK to send, as bytes, or None.
    fn poll_control<'py>(&mut self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyBytes>>> {
        let n = self.inner.poll_control(&mut self.control).or_raise(py)?;
        Ok(n.map(|n| PyBytes::new(py, self.control.get(..n).unwrap_or_default())))
    }

    /// The sequence number the next received packet must carry.
    #[getter]
    fn expected(&self) -> u32 {
        self.inner.expected().value()
    }

    /// Seed 000 section 5's statistics, as a `seqlink.BasicStats` dataclass.
    #[getter]
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let s = self.inner.stats();
        stats_object(
            py,
            "BasicStats",
            &[
                ("packets_received_raw", s.packets_received_raw),
                ("detected_corruptions", s.detected_corruptions),
                ("successfully_processed_packets", s.successfully_processed_packets),
                ("out_of_sequence_packets", s.out_of_sequence_packets),
                ("packets_sent", s.packets_sent),
                ("acks_received", s.acks_received),
                ("nacks_received", s.nacks_received),
            ],
        )
    }
}
