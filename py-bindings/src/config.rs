//! Configuration objects with keyword arguments: `ConnectionConfig` and
//! `EndpointConfig`, turned into the core's structs when a connection or an
//! endpoint is made.

use pyo3::prelude::*;
use pyo3::types::PyBytes;
use seqlink_core::{CongestionControl, ConnectionConfig as CoreConnectionConfig, EndpointConfig as CoreEndpointConfig};
use seqlink_core::{LinkConfig, Transport};

use crate::args::{bytes_arg, or_default, u16_arg, u32_arg, u8_arg};
use crate::errors::{invalid_argument, OrRaise};

/// Settings of a connection (the core's `ConnectionConfig` and its `LinkConfig`).
///
/// Every argument is a keyword; the defaults are the core's. `max_payload`
/// and `window` are this side's maxima: the handshake agrees on the smaller
/// of both sides'. `stream=True` is for a TCP byte stream (no
/// retransmissions). `timing` is `"low_latency"` (default) or `"standard"`
/// (RFC 6298-style); `congestion` is `"loss_tolerant"` (default),
/// `"new_reno"` or `"off"`.
#[pyclass(module = "seqlink", from_py_object, eq)]
#[derive(Clone, Debug, PartialEq)]
pub struct ConnectionConfig {
    /// Largest packet payload this side sends or accepts (the handshake agrees on the smaller).
    #[pyo3(get)]
    pub max_payload: u16,
    /// Packets in flight each way at most (1-256; the handshake agrees on the smaller).
    #[pyo3(get)]
    pub window: u16,
    /// Heartbeat interval when nothing is sent, milliseconds (0: none).
    #[pyo3(get)]
    pub heartbeat_ms: u32,
    /// Silence after which the connection fails, milliseconds (0: never).
    #[pyo3(get)]
    pub idle_timeout_ms: u32,
    /// Time the handshake may take, milliseconds.
    #[pyo3(get)]
    pub connect_timeout_ms: u32,
    /// Time a graceful close may take, milliseconds.
    #[pyo3(get)]
    pub close_timeout_ms: u32,
    /// Time the side that closed first keeps answering late duplicates, milliseconds.
    #[pyo3(get)]
    pub linger_ms: u32,
    /// Ask for CRC-32C instead of the Internet checksum (both sides must support it).
    #[pyo3(get, set)]
    pub prefer_crc: bool,
    /// Over a TCP byte stream (no retransmissions, no congestion control) rather than datagrams.
    #[pyo3(get, set)]
    pub stream: bool,
    /// Unreliable messages buffered each way (0: unreliable delivery off).
    #[pyo3(get)]
    pub unreliable_slots: u8,
    /// Retransmission timers: "low_latency" or "standard" (RFC 6298-style).
    #[pyo3(get)]
    pub timing: String,
    /// Congestion control: "loss_tolerant", "new_reno" or "off".
    #[pyo3(get)]
    pub congestion: String,
    pub extension: Vec<u8>,
    /// How long new data may wait to share a datagram with more
    /// (coalescing, docs/PROTOCOL.md 6.8), milliseconds (0: never waits).
    #[pyo3(get)]
    pub coalesce_wait_ms: u16,
    /// How many earlier unacknowledged packets a datagram of a thin stream
    /// may carry again when it has room (redundant bundling,
    /// docs/PROTOCOL.md 6.8.1; 0: none). Each copy costs bytes; a lost
    /// datagram is then repaired by the next one instead of a round trip later.
    #[pyo3(get)]
    pub redundancy: u8,
}

const TIMINGS: [&str; 2] = ["low_latency", "standard"];
const CONGESTIONS: [&str; 3] = ["loss_tolerant", "new_reno", "off"];

impl ConnectionConfig {
    /// The core's defaults.
    fn core_defaults() -> ConnectionConfig {
        let (link, connection) = (LinkConfig::new(), CoreConnectionConfig::new());
        ConnectionConfig {
            max_payload: link.max_payload,
            window: link.send_window,
            heartbeat_ms: connection.heartbeat_ms,
            idle_timeout_ms: connection.idle_timeout_ms,
            connect_timeout_ms: connection.connect_timeout_ms,
            close_timeout_ms: connection.close_timeout_ms,
            linger_ms: connection.linger_ms,
            prefer_crc: false,
            stream: false,
            unreliable_slots: link.unreliable_slots,
            timing: "low_latency".into(),
            congestion: "loss_tolerant".into(),
            extension: Vec::new(),
            coalesce_wait_ms: link.coalesce_wait_ms,
            redundancy: link.redundancy,
        }
    }

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
        link.coalesce_wait_ms = self.coalesce_wait_ms;
        link.redundancy = self.redundancy;
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
        max_payload = None,
        window = None,
        heartbeat_ms = None,
        idle_timeout_ms = None,
        connect_timeout_ms = None,
        close_timeout_ms = None,
        linger_ms = None,
        prefer_crc = false,
        stream = false,
        unreliable_slots = None,
        timing = "low_latency".to_string(),
        congestion = "loss_tolerant".to_string(),
        extension = None,
        coalesce_wait_ms = None,
        redundancy = None,
    ), text_signature = "(*, max_payload=1200, window=256, heartbeat_ms=1000, idle_timeout_ms=10000, \
        connect_timeout_ms=10000, close_timeout_ms=30000, linger_ms=2000, prefer_crc=False, stream=False, \
        unreliable_slots=8, timing='low_latency', congestion='loss_tolerant', extension=b'', coalesce_wait_ms=0, \
        redundancy=1)")]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        max_payload: Option<&Bound<'_, PyAny>>,
        window: Option<&Bound<'_, PyAny>>,
        heartbeat_ms: Option<&Bound<'_, PyAny>>,
        idle_timeout_ms: Option<&Bound<'_, PyAny>>,
        connect_timeout_ms: Option<&Bound<'_, PyAny>>,
        close_timeout_ms: Option<&Bound<'_, PyAny>>,
        linger_ms: Option<&Bound<'_, PyAny>>,
        prefer_crc: bool,
        stream: bool,
        unreliable_slots: Option<&Bound<'_, PyAny>>,
        timing: String,
        congestion: String,
        extension: Option<&Bound<'_, PyAny>>,
        coalesce_wait_ms: Option<&Bound<'_, PyAny>>,
        redundancy: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<ConnectionConfig> {
        let defaults = ConnectionConfig::core_defaults();
        let config = ConnectionConfig {
            max_payload: or_default(max_payload, "max_payload", u16_arg, defaults.max_payload)?,
            window: or_default(window, "window", u16_arg, defaults.window)?,
            heartbeat_ms: or_default(heartbeat_ms, "heartbeat_ms", u32_arg, defaults.heartbeat_ms)?,
            idle_timeout_ms: or_default(idle_timeout_ms, "idle_timeout_ms", u32_arg, defaults.idle_timeout_ms)?,
            connect_timeout_ms: or_default(
                connect_timeout_ms,
                "connect_timeout_ms",
                u32_arg,
                defaults.connect_timeout_ms,
            )?,
            close_timeout_ms: or_default(close_timeout_ms, "close_timeout_ms", u32_arg, defaults.close_timeout_ms)?,
            linger_ms: or_default(linger_ms, "linger_ms", u32_arg, defaults.linger_ms)?,
            prefer_crc,
            stream,
            unreliable_slots: or_default(unreliable_slots, "unreliable_slots", u8_arg, defaults.unreliable_slots)?,
            timing,
            congestion,
            extension: extension.map(bytes_arg).transpose()?.unwrap_or_default(),
            coalesce_wait_ms: or_default(coalesce_wait_ms, "coalesce_wait_ms", u16_arg, defaults.coalesce_wait_ms)?,
            redundancy: or_default(redundancy, "redundancy", u8_arg, defaults.redundancy)?,
        };
        config.to_core(py)?;
        Ok(config)
    }

    #[setter]
    fn set_max_payload(&mut self, value: &Bound<'_, PyAny>) -> PyResult<()> {
        self.max_payload = u16_arg(value, "max_payload")?;
        Ok(())
    }

    #[setter]
    fn set_window(&mut self, value: &Bound<'_, PyAny>) -> PyResult<()> {
        self.window = u16_arg(value, "window")?;
        Ok(())
    }

    #[setter]
    fn set_heartbeat_ms(&mut self, value: &Bound<'_, PyAny>) -> PyResult<()> {
        self.heartbeat_ms = u32_arg(value, "heartbeat_ms")?;
        Ok(())
    }

    #[setter]
    fn set_idle_timeout_ms(&mut self, value: &Bound<'_, PyAny>) -> PyResult<()> {
        self.idle_timeout_ms = u32_arg(value, "idle_timeout_ms")?;
        Ok(())
    }

    #[setter]
    fn set_connect_timeout_ms(&mut self, value: &Bound<'_, PyAny>) -> PyResult<()> {
        self.connect_timeout_ms = u32_arg(value, "connect_timeout_ms")?;
        Ok(())
    }

    #[setter]
    fn set_close_timeout_ms(&mut self, value: &Bound<'_, PyAny>) -> PyResult<()> {
        self.close_timeout_ms = u32_arg(value, "close_timeout_ms")?;
        Ok(())
    }

    #[setter]
    fn set_linger_ms(&mut self, value: &Bound<'_, PyAny>) -> PyResult<()> {
        self.linger_ms = u32_arg(value, "linger_ms")?;
        Ok(())
    }

    #[setter]
    fn set_timing(&mut self, py: Python<'_>, value: String) -> PyResult<()> {
        self.timing = one_of(py, "timing", value, &TIMINGS)?;
        Ok(())
    }

    #[setter]
    fn set_congestion(&mut self, py: Python<'_>, value: String) -> PyResult<()> {
        self.congestion = one_of(py, "congestion", value, &CONGESTIONS)?;
        Ok(())
    }

    #[setter]
    fn set_coalesce_wait_ms(&mut self, value: &Bound<'_, PyAny>) -> PyResult<()> {
        self.coalesce_wait_ms = u16_arg(value, "coalesce_wait_ms")?;
        Ok(())
    }

    #[setter]
    fn set_redundancy(&mut self, value: &Bound<'_, PyAny>) -> PyResult<()> {
        self.redundancy = u8_arg(value, "redundancy")?;
        Ok(())
    }

    #[setter]
    fn set_unreliable_slots(&mut self, value: &Bound<'_, PyAny>) -> PyResult<()> {
        self.unreliable_slots = u8_arg(value, "unreliable_slots")?;
        Ok(())
    }

    /// Extension bytes sent in this side's handshake packets (at most 32).
    #[getter]
    fn extension<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.extension)
    }

    #[setter]
    fn set_extension(&mut self, extension: &Bound<'_, PyAny>) -> PyResult<()> {
        self.extension = bytes_arg(extension)?;
        Ok(())
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
             congestion={:?}, extension={:?}, coalesce_wait_ms={}, redundancy={})",
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
            self.coalesce_wait_ms,
            self.redundancy,
        )
    }
}

/// `value` if it is one of `choices`, else a `seqlink.Error` naming `name` and the choices.
fn one_of(py: Python<'_>, name: &str, value: String, choices: &[&str]) -> PyResult<String> {
    if choices.contains(&value.as_str()) {
        Ok(value)
    } else {
        Err(invalid_argument(py, &format!("{name} must be one of {choices:?}, got {value:?}")))
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
#[pyclass(module = "seqlink", get_all)]
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
        max_connections = None,
        cookie_lifetime_ms = None,
        resets_per_second = None,
        auto_accept = true,
    ), text_signature = "(*, connection=None, max_connections=16, cookie_lifetime_ms=10000, resets_per_second=50, \
        auto_accept=True)")]
    fn new(
        py: Python<'_>,
        connection: Option<Py<ConnectionConfig>>,
        max_connections: Option<&Bound<'_, PyAny>>,
        cookie_lifetime_ms: Option<&Bound<'_, PyAny>>,
        resets_per_second: Option<&Bound<'_, PyAny>>,
        auto_accept: bool,
    ) -> PyResult<EndpointConfig> {
        let defaults = CoreEndpointConfig::new(CoreConnectionConfig::new());
        let connection = match connection {
            Some(c) => c,
            None => Py::new(py, ConnectionConfig::core_defaults())?,
        };
        Ok(EndpointConfig {
            connection,
            max_connections: or_default(max_connections, "max_connections", u16_arg, 16)?,
            cookie_lifetime_ms: or_default(
                cookie_lifetime_ms,
                "cookie_lifetime_ms",
                u32_arg,
                defaults.cookie_lifetime_ms,
            )?,
            resets_per_second: or_default(resets_per_second, "resets_per_second", u16_arg, defaults.resets_per_second)?,
            auto_accept,
        })
    }

    #[setter]
    fn set_connection(&mut self, value: Py<ConnectionConfig>) {
        self.connection = value;
    }

    #[setter]
    fn set_max_connections(&mut self, value: &Bound<'_, PyAny>) -> PyResult<()> {
        self.max_connections = u16_arg(value, "max_connections")?;
        Ok(())
    }

    #[setter]
    fn set_cookie_lifetime_ms(&mut self, value: &Bound<'_, PyAny>) -> PyResult<()> {
        self.cookie_lifetime_ms = u32_arg(value, "cookie_lifetime_ms")?;
        Ok(())
    }

    #[setter]
    fn set_resets_per_second(&mut self, value: &Bound<'_, PyAny>) -> PyResult<()> {
        self.resets_per_second = u16_arg(value, "resets_per_second")?;
        Ok(())
    }

    #[setter]
    fn set_auto_accept(&mut self, value: bool) {
        self.auto_accept = value;
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
