//! The client engine an [`EchoDevice`](crate::EchoDevice) drives: a full
//! [`Connection`] or the small [`TinyClient`]. Both speak the same protocol
//! with the same calls; this trait names what the device uses of them.

use seqlink_core::{
    ConfigError, Connection, ConnectionConfig, Delivery, Error, ErrorCode, Event, FailReason, PacketType, Received,
    SendError, State, TinyClient, TinyConfig, TinyWindow,
};

/// A seqlink client connection as the echo device uses it: started over
/// caller-owned storage, which it gives back once the connection is over.
pub trait Engine: Sized {
    /// Its settings.
    type Config: Copy;
    /// The caller-owned storage it runs on (lent again for each connection).
    type Storage;

    /// Whether `config` is valid and `storage` large enough for it.
    fn validate(config: &Self::Config, storage: &Self::Storage) -> Result<(), ConfigError>;
    /// The longest datagram it sends or takes.
    fn max_datagram_len(config: &Self::Config) -> usize;
    /// Starts a connection attempt (`None`: the configuration was refused).
    fn start(config: Self::Config, storage: Self::Storage, now: u64, entropy: u64) -> Option<Self>;
    /// Ends it and gives the storage back.
    fn into_storage(self) -> Self::Storage;

    /// Its state (`docs/PROTOCOL.md` 7.8).
    fn state(&self) -> State;
    /// Whether it is over (closed or failed).
    fn is_closed(&self) -> bool;
    /// Why it failed, if it did.
    fn failure(&self) -> Option<FailReason>;
    /// Packets it retransmitted, where it counts them.
    fn retransmissions(&self) -> Option<u64>;

    /// Takes a datagram from the peer.
    fn handle_datagram(&mut self, now: u64, datagram: &[u8]);
    /// When its timers next need [`Engine::handle_timeout`].
    fn poll_timeout(&self) -> Option<u64>;
    /// Runs the timers due at `now`.
    fn handle_timeout(&mut self, now: u64);
    /// The next datagram to send, written to `buf`.
    fn poll_transmit(&mut self, now: u64, buf: &mut [u8]) -> Result<Option<usize>, Error>;
    /// The next event.
    fn poll_event(&mut self) -> Option<Event>;
    /// Reads the next message into `buf`; `Err(len)` when it is longer than `buf`.
    fn recv(&mut self, buf: &mut [u8]) -> Result<Option<Received>, usize>;
    /// Queues a message, delivered reliably.
    fn send(&mut self, ptype: PacketType, message: &[u8]) -> Result<(), SendError>;
    /// Starts a graceful close.
    fn close(&mut self, now: u64);
    /// Aborts with `code`.
    fn abort(&mut self, now: u64, code: ErrorCode);
}

/// The full connection over a byte slice of `config.storage_len()` bytes.
impl<'a> Engine for Connection<&'a mut [u8]> {
    type Config = ConnectionConfig;
    type Storage = &'a mut [u8];

    fn validate(config: &ConnectionConfig, storage: &&'a mut [u8]) -> Result<(), ConfigError> {
        config.link.validate()?;
        let needed = config.storage_len();
        if storage.len() < needed {
            return Err(ConfigError::Storage { needed, available: storage.len() });
        }
        Ok(())
    }
    fn max_datagram_len(config: &ConnectionConfig) -> usize {
        config.max_datagram_len()
    }
    fn start(config: ConnectionConfig, storage: &'a mut [u8], now: u64, entropy: u64) -> Option<Self> {
        Connection::connect(config, storage, now, entropy).ok()
    }
    fn into_storage(self) -> &'a mut [u8] {
        Connection::into_storage(self)
    }
    fn state(&self) -> State {
        Connection::state(self)
    }
    fn is_closed(&self) -> bool {
        Connection::is_closed(self)
    }
    fn failure(&self) -> Option<FailReason> {
        Connection::failure(self)
    }
    fn retransmissions(&self) -> Option<u64> {
        Some(self.stats().retransmissions)
    }
    fn handle_datagram(&mut self, now: u64, datagram: &[u8]) {
        Connection::handle_datagram(self, now, datagram);
    }
    fn poll_timeout(&self) -> Option<u64> {
        Connection::poll_timeout(self)
    }
    fn handle_timeout(&mut self, now: u64) {
        Connection::handle_timeout(self, now);
    }
    fn poll_transmit(&mut self, now: u64, buf: &mut [u8]) -> Result<Option<usize>, Error> {
        Connection::poll_transmit(self, now, buf)
    }
    fn poll_event(&mut self) -> Option<Event> {
        Connection::poll_event(self)
    }
    fn recv(&mut self, buf: &mut [u8]) -> Result<Option<Received>, usize> {
        Connection::recv(self, buf).map_err(|_| self.next_message_len().unwrap_or(0))
    }
    fn send(&mut self, ptype: PacketType, message: &[u8]) -> Result<(), SendError> {
        Connection::send(self, ptype, message, Delivery::Reliable)
    }
    fn close(&mut self, now: u64) {
        Connection::close(self, now);
    }
    fn abort(&mut self, now: u64, code: ErrorCode) {
        Connection::abort(self, now, code);
    }
}

/// The tiny client over a window of `W` packets of `P` bytes each way (its
/// size is checked when the program is built).
impl<'a, const W: usize, const P: usize> Engine for TinyClient<'a, W, P> {
    type Config = TinyConfig;
    type Storage = &'a mut TinyWindow<W, P>;

    fn validate(_: &TinyConfig, _: &&'a mut TinyWindow<W, P>) -> Result<(), ConfigError> {
        Ok(())
    }
    fn max_datagram_len(_: &TinyConfig) -> usize {
        Self::MAX_DATAGRAM_LEN
    }
    fn start(config: TinyConfig, window: &'a mut TinyWindow<W, P>, now: u64, entropy: u64) -> Option<Self> {
        Some(TinyClient::connect(config, window, now, entropy))
    }
    fn into_storage(self) -> &'a mut TinyWindow<W, P> {
        self.into_window()
    }
    fn state(&self) -> State {
        TinyClient::state(self)
    }
    fn is_closed(&self) -> bool {
        TinyClient::is_closed(self)
    }
    fn failure(&self) -> Option<FailReason> {
        TinyClient::failure(self)
    }
    fn retransmissions(&self) -> Option<u64> {
        None
    }
    fn handle_datagram(&mut self, now: u64, datagram: &[u8]) {
        TinyClient::handle_datagram(self, now, datagram);
    }
    fn poll_timeout(&self) -> Option<u64> {
        TinyClient::poll_timeout(self)
    }
    fn handle_timeout(&mut self, now: u64) {
        TinyClient::handle_timeout(self, now);
    }
    fn poll_transmit(&mut self, now: u64, buf: &mut [u8]) -> Result<Option<usize>, Error> {
        TinyClient::poll_transmit(self, now, buf)
    }
    fn poll_event(&mut self) -> Option<Event> {
        TinyClient::poll_event(self)
    }
    fn recv(&mut self, buf: &mut [u8]) -> Result<Option<Received>, usize> {
        TinyClient::recv(self, buf).map_err(|error| match error {
            Error::BufferTooSmall { needed, .. } => needed,
            _ => 0,
        })
    }
    fn send(&mut self, ptype: PacketType, message: &[u8]) -> Result<(), SendError> {
        TinyClient::send(self, ptype, message)
    }
    fn close(&mut self, now: u64) {
        TinyClient::close(self, now);
    }
    fn abort(&mut self, now: u64, code: ErrorCode) {
        TinyClient::abort(self, now, code);
    }
}
