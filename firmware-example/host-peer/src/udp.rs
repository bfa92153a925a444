//! The host peer over UDP: a seqlink-std `UdpServer` with injected loss.

use crate::{Host, Plan};
use seqlink_core::{ConnectionConfig, ConnectionHandle, Delivery, EndpointConfig, EndpointEvent, Event, PacketType};
use seqlink_std::{Impairment, Message, UdpServer};
use std::time::{Duration, Instant};

/// A UDP server on the plan's address; a crash rebinds it.
pub struct UdpHost {
    server: UdpServer,
    plan: Plan,
    /// Servers bound so far (each gets its own loss seed).
    generation: u64,
}

impl UdpHost {
    /// Binds the plan's address, with the plan's loss each way.
    pub fn bind(plan: &Plan) -> Result<UdpHost, String> {
        Ok(UdpHost { server: bind(plan, plan.seed)?, plan: *plan, generation: 0 })
    }
}

fn bind(plan: &Plan, seed: u64) -> Result<UdpServer, String> {
    let config = EndpointConfig::new(ConnectionConfig::new());
    let server = UdpServer::bind(plan.bind, config, 4).map_err(|e| format!("bind {}: {e}", plan.bind))?;
    Ok(server.with_impairment(Impairment::loss(plan.loss, seed)))
}

impl Host for UdpHost {
    fn accept(&mut self, timeout: Duration) -> Result<Option<ConnectionHandle>, String> {
        self.server.accept(Some(timeout)).map_err(|e| format!("accept: {e}"))
    }

    fn send(&mut self, handle: ConnectionHandle, ptype: PacketType, data: &[u8]) -> Result<(), String> {
        self.server.send(handle, ptype, data, Delivery::Reliable).map_err(|e| e.to_string())
    }

    fn recv(&mut self, timeout: Duration) -> Result<Option<(ConnectionHandle, Message)>, String> {
        self.server.recv(Some(timeout)).map_err(|e| e.to_string())
    }

    fn wait_closed(&mut self, handle: ConnectionHandle, deadline: Instant) -> Result<(), String> {
        let mut outcome = None;
        self.server
            .drive(Some(deadline), |s| {
                while let Some(event) = s.poll_event() {
                    match event {
                        EndpointEvent::Connection(h, Event::Closed) if h == handle => outcome = Some(Ok(())),
                        EndpointEvent::Connection(h, Event::Failed(reason)) if h == handle => {
                            outcome = Some(Err(format!("the connection failed while closing: {}", reason.as_str())))
                        }
                        _ => {}
                    }
                }
                outcome.is_some()
            })
            .map_err(|e| format!("waiting for the close: {e}"))?;
        outcome.unwrap_or_else(|| Err("the device did not close in time".to_string()))
    }

    fn retransmissions(&mut self, handle: ConnectionHandle) -> u64 {
        self.server.endpoint().connection(handle).map_or(0, |conn| conn.stats().retransmissions)
    }

    fn describe(&mut self, handle: ConnectionHandle) -> String {
        self.server.endpoint().peer(handle).map_or_else(|| "?".to_string(), |peer| peer.to_string())
    }

    fn linger(&mut self, duration: Duration) -> Result<(), String> {
        self.server.drive(Some(Instant::now() + duration), |_| false).map_err(|e| format!("lingering: {e}"))?;
        Ok(())
    }

    fn crash(&mut self) -> Result<(), String> {
        self.generation += 1;
        // the old socket must be gone before the new one binds the same port
        let placeholder = bind(&Plan { bind: "127.0.0.1:0".parse().map_err(|_| "address")?, ..self.plan }, 0)?;
        drop(std::mem::replace(&mut self.server, placeholder));
        self.server = bind(&self.plan, self.plan.seed.wrapping_add(self.generation))?;
        Ok(())
    }
}
