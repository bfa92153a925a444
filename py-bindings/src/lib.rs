//! `seqlink._seqlink`: the compiled half of the `seqlink` Python package.
//!
//! Thin bindings over seqlink-core, one Rust module per core module; the
//! pure-Python package around it (`python/seqlink/`) holds the enums, the
//! exceptions and the socket drivers. Nothing here panics on any input: core
//! errors become the exceptions of `seqlink.errors`.

use pyo3::prelude::*;

mod args;
mod basic;
mod codec;
mod config;
mod connection;
mod endpoint;
mod errors;
mod event;
mod framing;

#[pymodule]
fn _seqlink(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<codec::Packet>()?;
    m.add_function(wrap_pyfunction!(codec::internet_checksum, m)?)?;
    m.add_function(wrap_pyfunction!(codec::encode_packet, m)?)?;
    m.add_function(wrap_pyfunction!(codec::decode_packet, m)?)?;
    m.add_function(wrap_pyfunction!(codec::encode_serial_packet, m)?)?;
    m.add_function(wrap_pyfunction!(codec::encode_length_prefixed_message, m)?)?;
    m.add_function(wrap_pyfunction!(codec::describe, m)?)?;
    m.add_class::<framing::StreamDecoder>()?;
    m.add_class::<framing::SerialDecoder>()?;
    m.add_class::<framing::LengthPrefixedDecoder>()?;
    m.add_class::<config::ConnectionConfig>()?;
    m.add_class::<config::EndpointConfig>()?;
    m.add_class::<connection::Connection>()?;
    m.add_class::<endpoint::Endpoint>()?;
    m.add_class::<endpoint::Handle>()?;
    m.add_class::<endpoint::Incoming>()?;
    m.add_class::<event::Event>()?;
    m.add_class::<event::Message>()?;
    m.add_class::<basic::BasicSession>()?;
    m.add_class::<basic::Outcome>()?;
    Ok(())
}
