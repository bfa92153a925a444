//! The codec level: the Internet checksum, one packet to and from bytes,
//! the `Packet` class and the stable codes' descriptions.

use pyo3::prelude::*;
use pyo3::pybacked::PyBackedBytes;
use pyo3::types::PyBytes;
use seqlink_core::framing::{encode_length_prefixed, encode_serial, max_serial_frame_len, PREFIX_LEN};
use seqlink_core::wire::HEADER_LEN;
use seqlink_core::{checksum, Codec, Integrity, PacketRepr, PacketType, Seq};

use crate::args::{u16_arg, u32_arg, u8_arg};
use crate::errors::OrRaise;

/// Inputs at least this long are checksummed with the GIL released.
pub const DETACH_AT: usize = 16 * 1024;

/// The codec of the keyword arguments `max_payload` and `crc32c`.
/// (`None`: seed 000's 65535 bytes).
pub fn make_codec(max_payload: Option<&Bound<'_, PyAny>>, crc32c: bool) -> PyResult<Codec> {
    let integrity = if crc32c { Integrity::Crc32c } else { Integrity::InternetChecksum };
    let codec = Codec::new().with_integrity(integrity);
    Ok(match max_payload {
        Some(max) => codec.with_max_payload(u16_arg(max, "max_payload")?),
        None => codec,
    })
}

/// A packet: sequence number, type and payload.
///
/// Immutable; equal when all three are. `ptype` is a plain int (compare it
/// with `PacketType` members).
#[pyclass(frozen, module = "seqlink")]
pub struct Packet {
    /// The sequence number (0 to 2**32 - 1).
    #[pyo3(get)]
    pub seq: u32,
    /// The packet type (0-255; see `PacketType`).
    #[pyo3(get)]
    pub ptype: u8,
    /// The payload bytes.
    #[pyo3(get)]
    pub payload: Py<PyBytes>,
}

impl Packet {
    /// A Python packet from a parsed one (the payload copied into `bytes`).
    pub fn from_repr(py: Python<'_>, repr: &PacketRepr<'_>) -> Packet {
        Packet { seq: repr.seq.value(), ptype: repr.ptype.value(), payload: PyBytes::new(py, repr.payload).unbind() }
    }
}

#[pymethods]
impl Packet {
    #[new]
    #[pyo3(signature = (seq, ptype, payload = None))]
    fn new(
        py: Python<'_>,
        seq: &Bound<'_, PyAny>,
        ptype: &Bound<'_, PyAny>,
        payload: Option<PyBackedBytes>,
    ) -> PyResult<Packet> {
        let payload = payload.as_deref().unwrap_or_default();
        Ok(Packet {
            seq: u32_arg(seq, "seq")?,
            ptype: u8_arg(ptype, "ptype")?,
            payload: PyBytes::new(py, payload).unbind(),
        })
    }

    #[classattr]
    fn __match_args__() -> (&'static str, &'static str, &'static str) {
        ("seq", "ptype", "payload")
    }

    /// The packet's bytes on the wire (a datagram, or the next packet of a stream).
    fn encode<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        encode(py, self.seq, self.ptype, self.payload.as_bytes(py), &Codec::new())
    }

    fn __eq__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> bool {
        match other.cast::<Packet>() {
            Ok(other) => {
                let other = other.get();
                self.seq == other.seq
                    && self.ptype == other.ptype
                    && self.payload.as_bytes(py) == other.payload.as_bytes(py)
            }
            Err(_) => false,
        }
    }

    fn __hash__(&self, py: Python<'_>) -> PyResult<isize> {
        (self.seq, self.ptype, self.payload.bind(py)).into_pyobject(py)?.hash()
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let name = PacketType(self.ptype).name().map_or_else(|| self.ptype.to_string(), |n| format!("PacketType.{n}"));
        let payload = self.payload.bind(py).repr()?;
        Ok(format!("Packet(seq={}, ptype={name}, payload={payload})", self.seq))
    }
}

fn encode<'py>(py: Python<'py>, seq: u32, ptype: u8, payload: &[u8], codec: &Codec) -> PyResult<Bound<'py, PyBytes>> {
    let repr = PacketRepr::new(Seq(seq), PacketType(ptype), payload);
    let mut out = vec![0u8; repr.buffer_len(codec)];
    let n =
        if payload.len() >= DETACH_AT { py.detach(|| repr.emit(&mut out, codec)) } else { repr.emit(&mut out, codec) }
            .or_raise(py)?;
    Ok(PyBytes::new(py, out.get(..n).unwrap_or_default()))
}

/// The RFC 1071 Internet checksum of `data` (the value a header carries when
/// its checksum field is zero during the sum).
#[pyfunction]
pub fn internet_checksum(py: Python<'_>, data: PyBackedBytes) -> u16 {
    if data.len() >= DETACH_AT {
        py.detach(|| checksum::internet_checksum(&data))
    } else {
        checksum::internet_checksum(&data)
    }
}

/// One packet as bytes: the 9-byte header (seq, type, length, checksum,
/// big-endian) then the payload. `crc32c=True` appends a CRC-32C trailer instead.
#[pyfunction]
#[pyo3(signature = (seq, ptype, payload = None, *, crc32c = false))]
pub fn encode_packet<'py>(
    py: Python<'py>,
    seq: &Bound<'py, PyAny>,
    ptype: &Bound<'py, PyAny>,
    payload: Option<PyBackedBytes>,
    crc32c: bool,
) -> PyResult<Bound<'py, PyBytes>> {
    let codec = make_codec(None, crc32c)?;
    encode(py, u32_arg(seq, "seq")?, u8_arg(ptype, "ptype")?, payload.as_deref().unwrap_or_default(), &codec)
}

/// Parses `data` as exactly one packet (datagram rules: no short or trailing
/// bytes). Raises `TruncatedError`, `LengthMismatchError`, `ChecksumError` or
/// `PayloadTooLargeError` (all `DecodeError`s).
#[pyfunction]
#[pyo3(signature = (data, *, max_payload = None, crc32c = false))]
pub fn decode_packet(
    py: Python<'_>,
    data: PyBackedBytes,
    max_payload: Option<&Bound<'_, PyAny>>,
    crc32c: bool,
) -> PyResult<Packet> {
    let codec = make_codec(max_payload, crc32c)?;
    // the payload of a parsed packet always follows the header
    let parse = || PacketRepr::decode(&data, &codec).map(|r| (r.seq, r.ptype, r.payload.len()));
    let (seq, ptype, len) = if data.len() >= DETACH_AT { py.detach(parse) } else { parse() }.or_raise(py)?;
    let payload = data.get(HEADER_LEN..HEADER_LEN + len).unwrap_or_default();
    Ok(Packet::from_repr(py, &PacketRepr::new(seq, ptype, payload)))
}

/// One packet as a serial frame: COBS-encoded, then the `0x00` delimiter.
#[pyfunction]
#[pyo3(name = "encode_serial", signature = (seq, ptype, payload = None))]
pub fn encode_serial_packet<'py>(
    py: Python<'py>,
    seq: &Bound<'py, PyAny>,
    ptype: &Bound<'py, PyAny>,
    payload: Option<PyBackedBytes>,
) -> PyResult<Bound<'py, PyBytes>> {
    let codec = Codec::new();
    let payload = payload.as_deref().unwrap_or_default();
    let repr = PacketRepr::new(Seq(u32_arg(seq, "seq")?), PacketType(u8_arg(ptype, "ptype")?), payload);
    let mut out = vec![0u8; max_serial_frame_len(repr.buffer_len(&codec))];
    let n = encode_serial(&repr, &codec, &mut out).or_raise(py)?;
    Ok(PyBytes::new(py, out.get(..n).unwrap_or_default()))
}

/// One message of seed 004's framing: a 4-byte big-endian length, then the payload.
#[pyfunction]
#[pyo3(name = "encode_length_prefixed")]
pub fn encode_length_prefixed_message<'py>(py: Python<'py>, payload: PyBackedBytes) -> PyResult<Bound<'py, PyBytes>> {
    let mut out = vec![0u8; PREFIX_LEN + payload.len()];
    let n = encode_length_prefixed(&payload, &mut out).or_raise(py)?;
    Ok(PyBytes::new(py, out.get(..n).unwrap_or_default()))
}

/// The core's short description of any stable code ("none" for 0, "unknown code" for unassigned ones).
#[pyfunction]
pub fn describe(code: &Bound<'_, PyAny>) -> PyResult<&'static str> {
    Ok(seqlink_core::describe(u8_arg(code, "code")?))
}
