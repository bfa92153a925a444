//! What both servers keep about their connections for the application.

use crate::{core_error, Message};
use seqlink_core::{AdmissionError, ConnectionHandle, Endpoint, EndpointEvent, Slot};
use std::collections::VecDeque;
use std::io;
use std::net::SocketAddr;

/// The connection table of a std server.
pub(crate) type Table = Vec<Slot<SocketAddr, Vec<u8>>>;
/// The endpoint of a std server.
pub(crate) type ServerEndpoint = Endpoint<SocketAddr, Vec<u8>, Table>;

/// Open connections, the ones not yet accepted by the application, and events.
#[derive(Debug, Default)]
pub(crate) struct Registry {
    pub open: Vec<ConnectionHandle>,
    pub new: VecDeque<ConnectionHandle>,
    pub events: VecDeque<EndpointEvent<SocketAddr>>,
    next: usize,
}

impl Registry {
    /// Takes new connections and events from the endpoint, forgets finished connections.
    pub fn collect(&mut self, endpoint: &mut ServerEndpoint) {
        while let Some(handle) = endpoint.accept() {
            self.open.push(handle);
            self.new.push_back(handle);
        }
        while let Some(e) = endpoint.poll_event() {
            self.events.push_back(e);
        }
        self.open.retain(|&h| endpoint.connection(h).is_some());
    }

    /// A connection the application accepted from a waiting handshake (the
    /// endpoint's accept queue does not hold it).
    pub fn admit(&mut self, handle: ConnectionHandle) {
        self.open.push(handle);
    }

    /// A connection with a message waiting, round robin.
    pub fn ready(&mut self, endpoint: &mut ServerEndpoint) -> Option<ConnectionHandle> {
        let n = self.open.len();
        for i in 0..n {
            let handle = self.open[(self.next + i) % n];
            if endpoint.connection(handle).and_then(|c| c.next_message_len()).is_some() {
                self.next = (self.next + i + 1) % n;
                return Some(handle);
            }
        }
        None
    }

    /// Reads the waiting message of `handle`.
    pub fn take(
        endpoint: &mut ServerEndpoint,
        handle: Option<ConnectionHandle>,
        buf: &mut [u8],
    ) -> io::Result<Option<(ConnectionHandle, Message)>> {
        let Some(handle) = handle else { return Ok(None) };
        Ok(endpoint.recv(handle, buf).map_err(core_error)?.map(|r| (handle, Message::read(r, buf))))
    }
}

/// Why a waiting handshake could not be accepted or refused.
pub(crate) fn admission_error(e: AdmissionError) -> io::Error {
    match e {
        AdmissionError::StaleTicket => {
            io::Error::new(io::ErrorKind::NotFound, "no such waiting handshake (decided, expired or replaced)")
        }
        AdmissionError::Full => io::Error::other("the connection table is full"),
    }
}
