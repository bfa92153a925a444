//! The host peer over a serial line: COBS frames (docs/PROTOCOL.md 4.3) on a
//! TCP stream, as QEMU's `-serial tcp:HOST:PORT` gives a UART to the host,
//! driving a seqlink server endpoint with injected loss (whole frames are
//! dropped each way, as a noisy line would).

use crate::{Host, Plan};
use seqlink_core::framing::{encode_serial_frame, max_serial_frame_len, SerialDecoder};
use seqlink_core::wire::{Codec, HEADER_LEN};
use seqlink_core::{
    ConnectionConfig, ConnectionHandle, Delivery, Endpoint, EndpointConfig, EndpointEvent, Event, PacketType,
    SendError, Slot,
};
use seqlink_std::{entropy, secret, Clock, Impairment, Message};
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

type SerialEndpoint = Endpoint<SocketAddr, Vec<u8>, Vec<Slot<SocketAddr, Vec<u8>>>>;

/// How long one turn waits for bytes from the line.
const TURN: Duration = Duration::from_millis(1);
/// The error of a turn on a line the far end closed.
const LINE_CLOSED: &str = "the serial line closed";

/// A seqlink server on the far end of a serial line.
pub struct SerialHost {
    stream: TcpStream,
    /// The line's other end, as the endpoint knows it.
    peer: SocketAddr,
    endpoint: SerialEndpoint,
    config: EndpointConfig,
    decoder: SerialDecoder<Vec<u8>>,
    impairment: Impairment,
    clock: Clock,
    datagram: Vec<u8>,
    frame: Vec<u8>,
    message: Vec<u8>,
    events: Vec<EndpointEvent<SocketAddr>>,
    handles: Vec<ConnectionHandle>,
}

impl SerialHost {
    /// Listens on the plan's address and waits up to its step timeout for the
    /// line (QEMU connects its UART there).
    pub fn listen(plan: &Plan) -> Result<SerialHost, String> {
        let listener = TcpListener::bind(plan.bind).map_err(|e| format!("bind {}: {e}", plan.bind))?;
        listener.set_nonblocking(true).map_err(|e| e.to_string())?;
        let deadline = Instant::now() + plan.step_timeout;
        loop {
            match listener.accept() {
                Ok((stream, peer)) => return SerialHost::over(stream, peer, plan),
                Err(e) if e.kind() == ErrorKind::WouldBlock && Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(10))
                }
                Err(e) => return Err(format!("no serial line on {} within {:?}: {e}", plan.bind, plan.step_timeout)),
            }
        }
    }

    /// A host on a connected stream.
    pub fn over(stream: TcpStream, peer: SocketAddr, plan: &Plan) -> Result<SerialHost, String> {
        stream.set_nonblocking(false).map_err(|e| e.to_string())?;
        stream.set_read_timeout(Some(TURN)).map_err(|e| e.to_string())?;
        stream.set_nodelay(true).map_err(|e| e.to_string())?;
        let config = EndpointConfig::new(ConnectionConfig::new());
        let datagram_len = config.connection.max_datagram_len();
        let codec = Codec::new().with_max_payload((datagram_len - HEADER_LEN) as u16);
        let decoder = SerialDecoder::new(vec![0u8; datagram_len], codec).map_err(|e| e.as_str().to_string())?;
        Ok(SerialHost {
            stream,
            peer,
            endpoint: new_endpoint(config),
            config,
            decoder,
            impairment: Impairment::loss(plan.loss, plan.seed),
            clock: Clock::new(),
            datagram: vec![0u8; datagram_len],
            frame: vec![0u8; max_serial_frame_len(datagram_len)],
            message: vec![0u8; config.connection.link.max_message_len()],
            events: Vec::new(),
            handles: Vec::new(),
        })
    }

    /// One turn: frames in (waiting up to [`TURN`] for bytes), timers, frames out, events.
    fn turn(&mut self) -> Result<(), String> {
        let mut bytes = [0u8; 512];
        let read = match self.stream.read(&mut bytes) {
            Ok(0) => return Err(LINE_CLOSED.to_string()),
            Ok(n) => n,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => 0,
            Err(e) => return Err(format!("serial line: {e}")),
        };
        let now = self.clock.now();
        let mut input = bytes.get(..read).unwrap_or_default();
        while let Some(frame) = self.decoder.decode_frame(&mut input) {
            if let Ok(datagram) = frame {
                if !self.impairment.drop_next() {
                    self.endpoint.handle_datagram(now, self.peer, datagram);
                }
            }
        }
        if self.endpoint.poll_timeout().is_some_and(|at| at <= now) {
            self.endpoint.handle_timeout(now);
        }
        while let Ok(Some((_, len))) = self.endpoint.poll_transmit(now, &mut self.datagram) {
            if self.impairment.drop_next() {
                continue;
            }
            let datagram = self.datagram.get(..len).unwrap_or_default();
            let n = encode_serial_frame(datagram, &mut self.frame).map_err(|e| e.as_str().to_string())?;
            self.stream.write_all(self.frame.get(..n).unwrap_or_default()).map_err(|e| format!("serial line: {e}"))?;
        }
        while let Some(event) = self.endpoint.poll_event() {
            self.events.push(event);
        }
        Ok(())
    }

    /// Turns until `done` holds or `deadline` passes; whether `done` held.
    fn turn_until(&mut self, deadline: Instant, mut done: impl FnMut(&mut SerialHost) -> bool) -> Result<bool, String> {
        loop {
            self.turn()?;
            if done(self) {
                return Ok(true);
            }
            if Instant::now() >= deadline {
                return Ok(false);
            }
        }
    }
}

fn new_endpoint(config: EndpointConfig) -> SerialEndpoint {
    let len = config.connection.link.storage_len();
    let slots = (0..4).map(|_| Slot::new(vec![0u8; len])).collect();
    Endpoint::new(config, slots, secret(), entropy())
}

impl Host for SerialHost {
    fn accept(&mut self, timeout: Duration) -> Result<Option<ConnectionHandle>, String> {
        let mut accepted = None;
        self.turn_until(Instant::now() + timeout, |host| {
            accepted = host.endpoint.accept();
            accepted.is_some()
        })?;
        if let Some(handle) = accepted {
            self.handles.push(handle);
        }
        Ok(accepted)
    }

    fn send(&mut self, handle: ConnectionHandle, ptype: PacketType, data: &[u8]) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            match self.endpoint.send(handle, ptype, data, Delivery::Reliable) {
                Ok(()) => return self.turn(),
                Err(SendError::WouldBlock) if Instant::now() < deadline => self.turn()?,
                Err(e) => return Err(e.as_str().to_string()),
            }
        }
    }

    fn recv(&mut self, timeout: Duration) -> Result<Option<(ConnectionHandle, Message)>, String> {
        let mut found = None;
        let handles = self.handles.clone();
        self.turn_until(Instant::now() + timeout, |host| {
            for &handle in &handles {
                if let Ok(Some(received)) = host.endpoint.recv(handle, &mut host.message) {
                    let data = host.message.get(..received.len).unwrap_or_default().to_vec();
                    found = Some((handle, Message { ptype: received.ptype, data, delivery: received.delivery }));
                    return true;
                }
            }
            false
        })?;
        Ok(found)
    }

    fn wait_closed(&mut self, handle: ConnectionHandle, deadline: Instant) -> Result<(), String> {
        let mut outcome = None;
        self.turn_until(deadline, |host| {
            for event in host.events.drain(..) {
                match event {
                    EndpointEvent::Connection(h, Event::Closed) if h == handle => outcome = Some(Ok(())),
                    EndpointEvent::Connection(h, Event::Failed(reason)) if h == handle => {
                        outcome = Some(Err(format!("the connection failed while closing: {}", reason.as_str())))
                    }
                    _ => {}
                }
            }
            outcome.is_some()
        })?;
        outcome.unwrap_or_else(|| Err("the device did not close in time".to_string()))
    }

    fn retransmissions(&mut self, handle: ConnectionHandle) -> u64 {
        self.endpoint.connection(handle).map_or(0, |conn| conn.stats().retransmissions)
    }

    fn describe(&mut self, _: ConnectionHandle) -> String {
        format!("the serial line ({})", self.peer)
    }

    fn linger(&mut self, duration: Duration) -> Result<(), String> {
        match self.turn_until(Instant::now() + duration, |_| false) {
            // the device stopped and its emulation ended: nothing is left to answer
            Err(e) if e == LINE_CLOSED => Ok(()),
            other => other.map(|_| ()),
        }
    }

    fn crash(&mut self) -> Result<(), String> {
        self.endpoint = new_endpoint(self.config);
        self.handles.clear();
        self.events.clear();
        Ok(())
    }
}
