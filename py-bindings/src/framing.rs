//! Incremental decoders for byte streams (TCP), serial lines (COBS) and
//! seed 004's length-prefixed messages: `feed(chunk)` returns what the chunk
//! completed.

use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;
use pyo3::types::{PyBytes, PyList};
use seqlink_core::framing::PREFIX_LEN;
use seqlink_core::{Codec, Error, LengthPrefixedDecoder as CoreLengthPrefixed, PacketRepr};
use seqlink_core::{SerialDecoder as CoreSerial, StreamDecoder as CoreStream};

use crate::args::in_range;
use crate::codec::{make_codec, Packet, DETACH_AT};
use crate::errors::{to_py, OrRaise};

/// The default longest length-prefixed message (1 MiB).
const DEFAULT_MAX_MESSAGE: usize = 1 << 20;
/// The longest length-prefixed message a decoder may be made for (its buffer is allocated whole).
const MAX_MESSAGE: u64 = 256 << 20;

/// A packet taken out of a decoder's buffer.
type Owned = (u32, u8, Vec<u8>);

fn owned(repr: &PacketRepr<'_>) -> Owned {
    (repr.seq.value(), repr.ptype.value(), repr.payload.to_vec())
}

/// What one chunk gave: items, skipped errors, and the fatal error that stopped it.
struct Drained<T> {
    items: Vec<T>,
    skipped: Vec<Error>,
    fatal: Option<Error>,
}

/// Runs `next` over `input` until it is all taken or an error is fatal.
fn drain<T>(
    input: &[u8],
    mut next: impl FnMut(&mut &[u8]) -> Option<Result<T, Error>>,
    is_fatal: impl Fn(&Error) -> bool,
) -> Drained<T> {
    let mut input = input;
    let mut out = Drained { items: Vec::new(), skipped: Vec::new(), fatal: None };
    while let Some(result) = next(&mut input) {
        match result {
            Ok(item) => out.items.push(item),
            Err(e) if is_fatal(&e) => {
                out.fatal = Some(e);
                break;
            }
            Err(e) => out.skipped.push(e),
        }
    }
    out
}

/// Skipped errors: how many, and the last one.
#[derive(Default)]
struct Skips {
    count: u64,
    last: Option<Error>,
}

impl Skips {
    fn note(&mut self, skipped: &[Error]) {
        self.count += skipped.len() as u64;
        if let Some(e) = skipped.last() {
            self.last = Some(*e);
        }
    }
}

/// The Python result of a drained chunk: the list, or the fatal error with
/// the items found before it as its `packets` attribute.
fn finish<'py>(py: Python<'py>, list: Bound<'py, PyList>, fatal: Option<Error>) -> PyResult<Bound<'py, PyList>> {
    match fatal {
        None => Ok(list),
        Some(e) => {
            let err = to_py(py, &e);
            err.value(py).setattr("packets", list)?;
            Err(err)
        }
    }
}

fn packets<'py>(py: Python<'py>, found: Vec<Owned>) -> PyResult<Bound<'py, PyList>> {
    let list = PyList::empty(py);
    for (seq, ptype, payload) in found {
        list.append(Packet { seq, ptype, payload: PyBytes::new(py, &payload).unbind() })?;
    }
    Ok(list)
}

/// Whole packets from a byte stream (TCP) fed in chunks of any size.
///
/// A packet whose check fails is skipped (counted in `corrupt`, kept in
/// `last_error`) and decoding goes on. A length field over `max_payload` is
/// fatal: `feed` raises `PayloadTooLargeError` (with the packets found before
/// it in that chunk as its `packets` attribute), and again on every later
/// feed until `reset()`.
#[pyclass(module = "seqlink")]
pub struct StreamDecoder {
    inner: CoreStream<Vec<u8>>,
    skips: Skips,
}

#[pymethods]
impl StreamDecoder {
    #[new]
    #[pyo3(signature = (*, max_payload = None, crc32c = false))]
    fn new(py: Python<'_>, max_payload: Option<&Bound<'_, PyAny>>, crc32c: bool) -> PyResult<StreamDecoder> {
        let codec = make_codec(max_payload, crc32c)?;
        let inner = CoreStream::new(vec![0u8; codec.max_packet_len()], codec).or_raise(py)?;
        Ok(StreamDecoder { inner, skips: Skips::default() })
    }

    /// Takes a chunk; returns the packets it completed, in order.
    fn feed<'py>(&mut self, py: Python<'py>, data: PyBackedBytes) -> PyResult<Bound<'py, PyList>> {
        let inner = &mut self.inner;
        let mut run = || {
            drain(
                &data,
                |input| inner.decode(input).map(|r| r.map(|p| owned(&p))),
                |e| matches!(e, Error::PayloadTooLarge { .. }),
            )
        };
        let found = if data.len() >= DETACH_AT { py.detach(run) } else { run() };
        self.skips.note(&found.skipped);
        finish(py, packets(py, found.items)?, found.fatal)
    }

    /// Takes a chunk; returns the raw bytes of each packet it completed,
    /// delimited by their length fields but not checked (for a connection,
    /// whose checks include its connection id: `Connection.handle_datagram`).
    fn feed_frames<'py>(&mut self, py: Python<'py>, data: PyBackedBytes) -> PyResult<Bound<'py, PyList>> {
        let inner = &mut self.inner;
        let mut run = || drain(&data, |input| inner.decode_frame(input).map(|r| r.map(<[u8]>::to_vec)), |_| true);
        let found = if data.len() >= DETACH_AT { py.detach(run) } else { run() };
        let list = PyList::empty(py);
        for frame in found.items {
            list.append(PyBytes::new(py, &frame))?;
        }
        finish(py, list, found.fatal)
    }

    /// Packets skipped because their check failed.
    #[getter]
    fn corrupt(&self) -> u64 {
        self.skips.count
    }

    /// The last error of a skipped packet, as its exception (or None).
    #[getter]
    fn last_error(&self, py: Python<'_>) -> Option<Py<PyAny>> {
        self.skips.last.map(|e| to_py(py, &e).into_value(py).into_any())
    }

    /// Bytes held of a packet not yet complete.
    #[getter]
    fn buffered(&self) -> usize {
        self.inner.buffered()
    }

    /// Forgets the partial packet and a fatal error: decoding starts afresh.
    fn reset(&mut self) {
        self.inner.reset();
    }
}

/// Packets from a serial line: COBS frames, each ended by a `0x00` byte.
///
/// Nothing is fatal: a broken frame, an over-long frame or a packet whose
/// check fails is skipped (counted in `corrupt`, kept in `last_error`) and
/// the next frame decodes normally.
#[pyclass(module = "seqlink")]
pub struct SerialDecoder {
    inner: CoreSerial<Vec<u8>>,
    skips: Skips,
}

#[pymethods]
impl SerialDecoder {
    #[new]
    #[pyo3(signature = (*, max_payload = None, crc32c = false))]
    fn new(py: Python<'_>, max_payload: Option<&Bound<'_, PyAny>>, crc32c: bool) -> PyResult<SerialDecoder> {
        let codec: Codec = make_codec(max_payload, crc32c)?;
        let inner = CoreSerial::new(vec![0u8; codec.max_packet_len()], codec).or_raise(py)?;
        Ok(SerialDecoder { inner, skips: Skips::default() })
    }

    /// Takes a chunk; returns the packets it completed, in order.
    fn feed<'py>(&mut self, py: Python<'py>, data: PyBackedBytes) -> PyResult<Bound<'py, PyList>> {
        let inner = &mut self.inner;
        let mut run = || drain(&data, |input| inner.decode(input).map(|r| r.map(|p| owned(&p))), |_| false);
        let found = if data.len() >= DETACH_AT { py.detach(run) } else { run() };
        self.skips.note(&found.skipped);
        finish(py, packets(py, found.items)?, found.fatal)
    }

    /// Frames skipped: broken, too long, or failing their packet's checks.
    #[getter]
    fn corrupt(&self) -> u64 {
        self.skips.count
    }

    /// The last error of a skipped frame, as its exception (or None).
    #[getter]
    fn last_error(&self, py: Python<'_>) -> Option<Py<PyAny>> {
        self.skips.last.map(|e| to_py(py, &e).into_value(py).into_any())
    }

    /// Bytes held of a frame not yet complete.
    #[getter]
    fn buffered(&self) -> usize {
        self.inner.buffered()
    }

    /// Forgets the partial frame.
    fn reset(&mut self) {
        self.inner.reset();
    }
}

/// Seed 004's messages, `[u32 big-endian length][payload]`, from a byte
/// stream fed in chunks of any size. A length over `max_len` is fatal:
/// `feed` raises `PayloadTooLargeError` (the messages found before it in its
/// `packets` attribute), and again on every later feed until `reset()`.
#[pyclass(module = "seqlink")]
pub struct LengthPrefixedDecoder {
    inner: CoreLengthPrefixed<Vec<u8>>,
}

#[pymethods]
impl LengthPrefixedDecoder {
    #[new]
    #[pyo3(signature = (*, max_len = None))]
    fn new(py: Python<'_>, max_len: Option<&Bound<'_, PyAny>>) -> PyResult<LengthPrefixedDecoder> {
        // the buffer is allocated whole: keep it within 256 MiB
        let max_len = match max_len {
            Some(max_len) => in_range(max_len, "max_len", MAX_MESSAGE)? as usize,
            None => DEFAULT_MAX_MESSAGE,
        };
        let inner = CoreLengthPrefixed::new(vec![0u8; PREFIX_LEN + max_len], max_len).or_raise(py)?;
        Ok(LengthPrefixedDecoder { inner })
    }

    /// Takes a chunk; returns the messages it completed, in order.
    fn feed<'py>(&mut self, py: Python<'py>, data: PyBackedBytes) -> PyResult<Bound<'py, PyList>> {
        let inner = &mut self.inner;
        let mut run = || drain(&data, |input| inner.decode(input).map(|r| r.map(<[u8]>::to_vec)), |_| true);
        let found = if data.len() >= DETACH_AT { py.detach(run) } else { run() };
        let list = PyList::empty(py);
        for message in found.items {
            list.append(PyBytes::new(py, &message))?;
        }
        finish(py, list, found.fatal)
    }

    /// The longest message accepted.
    #[getter]
    fn max_len(&self) -> usize {
        self.inner.max_len()
    }

    /// Bytes held of a message not yet complete.
    #[getter]
    fn buffered(&self) -> usize {
        self.inner.buffered()
    }

    /// Forgets the partial message and a fatal error.
    fn reset(&mut self) {
        self.inner.reset();
    }
}
