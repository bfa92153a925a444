//! Configuration objects with keyword arguments: `ConnectionConfig` and
//! `EndpointConfig`, turned into the core's structs when a connection or an
//! endpoint is made.

use pyo3::prelude::*;
use pyo3::types::PyBytes;
use seqlink_core::{CongestionControl, ConnectionConfig as CoreConnectionConfig, EndpointConfig as CoreEndpointConfig};
use seqlink_core::{LinkConfig, Transport};

use crate::errors::{invalid_argument, OrRaise};

/// Settings of a connection (the core's `ConnectionConfig` and its `LinkConfig`).
///
/// Every argument is a keyword; the defaults are the core's. `max_payload`
/// and `window` are this side's maxima: the handshake agrees on the smaller
/// of both sides'. `stream=True` is for a TCP byte stream (no
/// retransmissions). `timing` is `"low_latency"` (default) or `"standard"`
/// (RFC 6298-style); `congestion` is `"loss_tolerant"` (default),
/// `"new_reno"` or `"off"`.
#[pyclass(module = "seqlink", from_py_object)]
#[derive(Clone, Debug)]
pub struct ConnectionConfig {
    /// Largest packet payload this side sends or accepts (the handshake agrees on the smaller).
    #[pyo3(get, set)]
    pub max_payload: u16,
    /// Packets in flight each way at most (1-256; the handshake agrees on the smaller).
    #[pyo3(get, set)]
    pub window: u16,
    /// Heartbeat interval when nothing is sent, milliseconds (0: none).
    #[pyo3(get, set)]
    pub heartbeat_ms: u32,
    /// Silence after which the connection fails, milliseconds (0: never).
    #[pyo3(get, set)]
    pub idle_timeout_ms: u32,
    /// Time the handshake may take, milliseconds.
    #[pyo3(get, set)]
    pub connect_timeout_ms: u32,
    /// Time a graceful close may take, milliseconds.
    #[pyo3(get, set)]
    pub close_timeout_ms: u32,
    /// Time the side that closed first keeps answering late duplicates, milliseconds.
    #[pyo3(get, set)]
    pub linger_ms: u32,
    /// Ask for CRC-32C instead of the Internet checksum (both sides must support it).
    #[pyo3(get, set)]
    pub prefer_crc: bool,
    /// Over a TCP byte stream (no retransmissions, no congestion control) rather than datagrams.
    #[pyo3(get, set)]
    pub stream: bool,
    /// Unreliable messages buffered each way (0: unreliable delivery off).
    #[pyo3(get, set)]
    pub unreliable_slots: u8,
    /// Retransmission timers: "low_latency" or "standard" (RFC 6298-style).
    #[pyo3(get, set)]
    pub timing: String,
    /// Congestion control: "loss_tolerant", "new_reno" or "off".
    #[pyo3(get, set)]
    pub congestion: String,
    pub extension: Vec<u8>,
}

const TIMINGS: [&str; 2] = ["low_latency", "standard"];
const CONGESTIONS: [&str; 3] = ["loss_tolerant", "new_reno", "off"];

impl ConnectionConfig {
    /// The core's configuration; a bad value is the `ConfigError` (or `seqlink.Error`) it is.
    pub fn to_core(&self, py: Python<'_>) -> PyResult<CoreConnectionConfig> {
        let mut link = match self.timing.as_str() {
            "low_latency" => LinkConfig::low_latency(),
            "standard" => LinkConfig::standard(),
            other => return Err(invalid_argument(py, &format!("timing must be one of {TIMINGS:?}, got {other:?}"))),
        };
        link.congestion_control = match self.congestion.as_str() {
            "loss_tolerant" => CongestionControl::LossTolerant,
            "new_reno" => CongestionControl::NewReno,
            "off" => CongestionControl::Off,
            other => {
                return Err(invalid_argument(py, &format!("congestion must be one of {CONGESTIONS:?}, got {other:?}")))
            }
        };
        link.unreliable_slots = self.unreliable_slots;
        let link = link.with_window(self.window).with_max_payload(self.max_payload);
        link.validate().or_raise(py)?;
        let mut config = CoreConnectionConfig::new().with_link(link).with_extension(&self.extension).or_raise(py)?;
        config.heartbeat_ms = self.heartbeat_ms;
        config.idle_timeout_ms = self.idle_timeout_ms;
        config.connect_timeout_ms = self.connect_timeout_ms;
        config.close_timeout_ms = self.close_timeout_ms;
        config.linger_ms = self.linger_ms;
        config.prefer_crc = self.prefer_crc;
        config.transport = if self.stream { Transport::Stream } else { Transport::Datagram };
        Ok(config)
    }
}

#[pymethods]
impl ConnectionConfig {
    #[new]
    #[pyo3(signature = (
        *,
        max_payload = LinkConfig::new().max_payload,
        window = LinkConfig::new().send_window,
        heartbeat_ms = CoreConnectionConfig::new().heartbeat_ms,
        idle_timeout_ms = CoreConnectionConfig::new().idle_timeout_ms,
        connect_timeout_ms = CoreConnectionConfig::new().connect_timeout_ms,
        close_timeout_ms = CoreConnectionConfig::new().close_timeout_ms,
        linger_ms = CoreConnectionConfig::new().linger_ms,
        prefer_crc = false,
        stream = false,
        unreliable_slots = LinkConfig::new().unreliable_slots,
        timing = "low_latency".to_string(),
        congestion = "loss_tolerant".to_string(),
        extension = Vec::new(),
    ))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        max_payload: u16,
        window: u16,
        heartbeat_ms: u32,
        idle_timeout_ms: u32,
        connect_timeout_ms: u32,
        close_timeout_ms: u32,
        linger_ms: u32,
        prefer_crc: bool,
        stream: bool,
        unreliable_slots: u8,
        timing: String,
        congestion: String,
        extension: Vec<u8>,
    ) -> PyResult<ConnectionConfig> {
        let config = ConnectionConfig {
            max_payload,
            window,
            heartbeat_ms,
            idle_timeout_ms,
            connect_timeout_ms,
            close_timeout_ms,
            linger_ms,
            prefer_crc,
            stream,
            unreliable_slots,
            timing,
            congestion,
            extension,
        };
        config.to_core(py)?;
        Ok(config)
    }

    /// Extension bytes sent in this side's handshake packets (at most 32).
    #[getter]
    fn extension<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.extension)
    }

    #[setter]
    fn set_extension(&mut self, extension: Vec<u8>) {
        self.extension = extension;
    }

    /// Bytes of link storage a connection with these settings holds.
    #[getter]
    fn storage_len(&self, py: Python<'_>) -> PyResult<usize> {
        Ok(self.to_core(py)?.storage_len())
    }

    /// The largest datagram a connection with these settings emits.
    #[getter]
    fn max_datagram_len(&self, py: Python<'_>) -> PyResult<usize> {
        Ok(self.to_core(py)?.max_datagram_len())
    }

    fn __repr__(&self) -> String {
        format!(
            "ConnectionConfig(max_payload={}, window={}, heartbeat_ms={}, idle_timeout_ms={}, connect_timeout_ms={}, \
             close_timeout_ms={}, linger_ms={}, prefer_crc={}, stream={}, unreliable_slots={}, timing={:?}, \
             congestion={:?}, extension={:?})",
            self.max_payload,
            self.window,
            self.heartbeat_ms,
            self.idle_timeout_ms,
            self.connect_timeout_ms,
            self.close_timeout_ms,
            self.linger_ms,
            py_bool(self.prefer_crc),
            py_bool(self.stream),
            self.unreliable_slots,
            self.timing,
            self.congestion,
            self.extension,
        )
    }
}

fn py_bool(b: bool) -> &'static str {
    if b {
        "True"
    } else {
        "False"
    }
}

/// Settings of a server endpoint: the connections' settings and the
/// table's limits. `auto_accept=False` makes proven handshakes wait for
/// `Endpoint.poll_incoming()` and the application's decision.
#[pyclass(module = "seqlink", get_all, set_all)]
pub struct EndpointConfig {
    /// Settings and limits of every connection (the object itself, shared:
    /// `config.connection.window = 64` changes this configuration).
    pub connection: Py<ConnectionConfig>,
    /// Connections at most (the table is allocated whole; at most 1024).
    pub max_connections: u16,
    /// How long a handshake cookie stays valid, milliseconds.
    pub cookie_lifetime_ms: u32,
    /// RESETs sent per second at most, to peers the endpoint does not know.
    pub resets_per_second: u16,
    /// Create connections as soon as a handshake proves its cookie (else they wait in `poll_incoming`).
    pub auto_accept: bool,
}

impl EndpointConfig {
    /// The core's configuration.
    pub fn to_core(&self, py: Python<'_>) -> PyResult<CoreEndpointConfig> {
        let mut config = CoreEndpointConfig::new(self.connection.borrow(py).to_core(py)?);
        config.max_connections = self.max_connections;
        config.cookie_lifetime_ms = self.cookie_lifetime_ms;
        config.resets_per_second = self.resets_per_second;
        config.auto_accept = self.auto_accept;
        Ok(config)
    }
}

#[pymethods]
impl EndpointConfig {
    #[new]
    #[pyo3(signature = (
        *,
        connection = None,
        max_connections = 16,
        cookie_lifetime_ms = CoreEndpointConfig::new(CoreConnectionConfig::new()).cookie_lifetime_ms,
        resets_per_second = CoreEndpointConfig::new(CoreConnectionConfig::new()).resets_per_second,
        auto_accept = true,
    ))]
    fn new(
        py: Python<'_>,
        connection: Option<Py<ConnectionConfig>>,
        max_connections: u16,
        cookie_lifetime_ms: u32,
        resets_per_second: u16,
        auto_accept: bool,
    ) -> PyResult<EndpointConfig> {
        let connection = match connection {
            Some(c) => c,
            None => Py::new(
                py,
                ConnectionConfig::new(
                    py,
                    LinkConfig::new().max_payload,
                    LinkConfig::new().send_window,
                    CoreConnectionConfig::new().heartbeat_ms,
                    CoreConnectionConfig::new().idle_timeout_ms,
                    CoreConnectionConfig::new().connect_timeout_ms,
                    CoreConnectionConfig::new().close_timeout_ms,
                    CoreConnectionConfig::new().linger_ms,
                    false,
                    false,
                    LinkConfig::new().unreliable_slots,
                    "low_latency".into(),
                    "loss_tolerant".into(),
                    Vec::new(),
                )?,
            )?,
        };
        Ok(EndpointConfig { connection, max_connections, cookie_lifetime_ms, resets_per_second, auto_accept })
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "EndpointConfig(connection={}, max_connections={}, cookie_lifetime_ms={}, resets_per_second={}, auto_accept={})",
            self.connection.borrow(py).__repr__(),
            self.max_connections,
            self.cookie_lifetime_ms,
            self.resets_per_second,
            py_bool(self.auto_accept)
        )
    }
}
