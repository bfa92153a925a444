//! Connection configuration.

use crate::link::{ConfigError, LinkConfig};
use crate::wire::handshake::Params;
use crate::wire::handshake::{CONNECTION_EXTENSION, MAX_HANDSHAKE_PAYLOAD};
use crate::wire::HEADER_LEN;

/// The kind of link a connection runs over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Transport {
    /// Datagrams (UDP): retransmissions and congestion control as configured.
    #[default]
    Datagram,
    /// A reliable byte stream (TCP) with the stream framing: no
    /// retransmissions and no congestion control (the stream does both), but
    /// the handshake, checks, sequence numbers and heartbeats still apply.
    Stream,
}

/// Everything a connection needs to know. The link settings are this
/// side's maxima: the handshake agrees on the smaller of both sides'.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct ConnectionConfig {
    /// Link settings; `max_payload` and the windows are upper bounds for the negotiation.
    pub link: LinkConfig,
    /// Heartbeat interval when nothing is sent, milliseconds (0: none). The smaller non-zero value of both sides wins.
    pub heartbeat_ms: u32,
    /// Silence after which the connection fails, milliseconds (0: never). The smaller non-zero value wins.
    pub idle_timeout_ms: u32,
    /// Time the handshake may take, milliseconds.
    pub connect_timeout_ms: u32,
    /// Time a graceful close may take, milliseconds.
    pub close_timeout_ms: u32,
    /// Time the side that closed first keeps absorbing late duplicates, milliseconds.
    pub linger_ms: u32,
    /// Ask for CRC-32C instead of the Internet checksum (both sides must support it).
    pub prefer_crc: bool,
    /// Extra SYN padding so that the server may send that many extension bytes (at most 32).
    pub server_extension_room: u16,
    /// Extension bytes this side sends in its handshake packets: the first
    /// `extension_len` bytes (room for a key exchange; set both with
    /// [`ConnectionConfig::with_extension`]). The peer's are in
    /// `Connection::peer_extension`.
    pub extension: [u8; CONNECTION_EXTENSION],
    /// How many bytes of `extension` are sent (at most 32).
    pub extension_len: u8,
    /// Datagrams or a byte stream.
    pub transport: Transport,
}

impl ConnectionConfig {
    /// Defaults: [`LinkConfig::new`], heartbeats every 1 s, a 10 s idle timeout,
    /// 10 s to connect, 30 s to close, 2 s of linger.
    pub const fn new() -> ConnectionConfig {
        ConnectionConfig {
            link: LinkConfig::new(),
            heartbeat_ms: 1_000,
            idle_timeout_ms: 10_000,
            connect_timeout_ms: 10_000,
            close_timeout_ms: 30_000,
            linger_ms: 2_000,
            prefer_crc: false,
            server_extension_room: 0,
            extension: [0; CONNECTION_EXTENSION],
            extension_len: 0,
            transport: Transport::Datagram,
        }
    }

    /// The same with `extension` as the handshake's extension bytes;
    /// [`ConfigError::Extension`] when it is longer than 32 bytes.
    pub fn with_extension(mut self, extension: &[u8]) -> Result<ConnectionConfig, ConfigError> {
        let dst = self.extension.get_mut(..extension.len()).ok_or(ConfigError::Extension)?;
        dst.copy_from_slice(extension);
        self.extension_len = extension.len() as u8;
        Ok(self)
    }

    /// The extension bytes this side sends (empty when `extension_len` is out of range).
    pub fn extension(&self) -> &[u8] {
        self.extension.get(..usize::from(self.extension_len)).unwrap_or(&[])
    }

    /// The same with other link settings.
    pub const fn with_link(mut self, link: LinkConfig) -> ConnectionConfig {
        self.link = link;
        self
    }

    /// What this side proposes (a client) or accepts at most (a server).
    pub const fn proposal(&self) -> Params {
        let window =
            if self.link.send_window < self.link.recv_window { self.link.send_window } else { self.link.recv_window };
        Params {
            max_payload: self.link.max_payload,
            window,
            heartbeat_ms: self.heartbeat_ms,
            idle_timeout_ms: self.idle_timeout_ms,
        }
    }

    /// Bytes of link storage a connection needs: enough for any agreement,
    /// since the handshake never agrees on more than these settings.
    pub const fn storage_len(&self) -> usize {
        self.link.storage_len()
    }

    /// The largest datagram a connection emits (CRC-32C's trailer included).
    pub const fn max_datagram_len(&self) -> usize {
        HEADER_LEN + self.unbound_max_payload() as usize + 4
    }

    /// Payload limit of the handshake packets (never below what a SYN may need).
    pub(crate) const fn unbound_max_payload(&self) -> u16 {
        let floor = MAX_HANDSHAKE_PAYLOAD as u16;
        if self.link.max_payload > floor {
            self.link.max_payload
        } else {
            floor
        }
    }
}

impl Default for ConnectionConfig {
    fn default() -> ConnectionConfig {
        ConnectionConfig::new()
    }
}
