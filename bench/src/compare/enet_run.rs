//! ENet (libenet 1.3.17, the reliable channel) through a hand-written FFI.

use super::workload::{Sink, Source};
use super::{Shared, Started};
use std::net::{SocketAddr, SocketAddrV4, UdpSocket};
use std::sync::Arc;
use std::time::Instant;

/// The declarations of `<enet/enet.h>` (1.3.17, x86_64 Linux) this module uses.
#[allow(non_camel_case_types, dead_code)]
mod ffi {
    use std::ffi::c_void;

    /// `ENetAddress`: host in network byte order, port in host byte order.
    #[repr(C)]
    pub struct ENetAddress {
        pub host: u32,
        pub port: u16,
    }

    /// `ENetPacket` (its public fields, in order).
    #[repr(C)]
    pub struct ENetPacket {
        pub reference_count: usize,
        pub flags: u32,
        pub data: *mut u8,
        pub data_length: usize,
        pub free_callback: *mut c_void,
        pub user_data: *mut c_void,
    }

    /// `ENetEvent`; `kind` is the `ENetEventType` enum (an int).
    #[repr(C)]
    pub struct ENetEvent {
        pub kind: i32,
        pub peer: *mut c_void,
        pub channel_id: u8,
        pub data: u32,
        pub packet: *mut ENetPacket,
    }

    pub const EVENT_CONNECT: i32 = 1;
    pub const EVENT_DISCONNECT: i32 = 2;
    pub const EVENT_RECEIVE: i32 = 3;
    pub const PACKET_FLAG_RELIABLE: u32 = 1;
    /// `ENET_HOST_DEFAULT_MTU`.
    pub const DEFAULT_MTU: usize = 1400;
    /// `sizeof(ENetProtocolHeader)` + `sizeof(ENetProtocolSendFragment)`: a
    /// packet longer than MTU minus this is fragmented.
    pub const FRAGMENT_OVERHEAD: usize = 4 + 24;

    #[link(name = "enet")]
    extern "C" {
        pub fn enet_initialize() -> i32;
        pub fn enet_host_create(
            address: *const ENetAddress,
            peers: usize,
            channels: usize,
            incoming_bandwidth: u32,
            outgoing_bandwidth: u32,
        ) -> *mut c_void;
        pub fn enet_host_destroy(host: *mut c_void);
        pub fn enet_host_connect(
            host: *mut c_void,
            address: *const ENetAddress,
            channels: usize,
            data: u32,
        ) -> *mut c_void;
        pub fn enet_host_service(host: *mut c_void, event: *mut ENetEvent, timeout_ms: u32) -> i32;
        pub fn enet_host_flush(host: *mut c_void);
        pub fn enet_packet_create(data: *const c_void, len: usize, flags: u32) -> *mut ENetPacket;
        pub fn enet_packet_destroy(packet: *mut ENetPacket);
        pub fn enet_peer_send(peer: *mut c_void, channel: u8, packet: *mut ENetPacket) -> i32;
        pub fn enet_peer_disconnect(peer: *mut c_void, data: u32);
    }
}

/// One ENet host, destroyed on drop.
struct Host(*mut std::ffi::c_void);

impl Host {
    /// A host bound to `bind` (any port with `None`) with room for one peer and one channel.
    fn new(bind: Option<SocketAddrV4>) -> Result<Host, String> {
        let address = bind.map(address);
        let ptr = address.as_ref().map_or(std::ptr::null(), |a| a as *const ffi::ENetAddress);
        // SAFETY: `ptr` is null or points to an address that lives for the call.
        let host = unsafe { ffi::enet_host_create(ptr, 1, 1, 0, 0) };
        if host.is_null() {
            Err("enet_host_create failed".into())
        } else {
            Ok(Host(host))
        }
    }

    /// Services the host for up to `timeout_ms`; the event if one came.
    fn service(&mut self, timeout_ms: u32) -> Result<Option<ffi::ENetEvent>, String> {
        let mut event = ffi::ENetEvent {
            kind: 0,
            peer: std::ptr::null_mut(),
            channel_id: 0,
            data: 0,
            packet: std::ptr::null_mut(),
        };
        // SAFETY: the host is live and `event` is a valid ENetEvent to fill.
        match unsafe { ffi::enet_host_service(self.0, &mut event, timeout_ms) } {
            0 => Ok(None),
            r if r > 0 => Ok(Some(event)),
            _ => Err("enet_host_service failed".into()),
        }
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        // SAFETY: the host was created by enet_host_create and is destroyed once.
        unsafe { ffi::enet_host_destroy(self.0) }
    }
}

fn address(a: SocketAddrV4) -> ffi::ENetAddress {
    ffi::ENetAddress { host: u32::from_ne_bytes(a.ip().octets()), port: a.port() }
}

fn v4(a: SocketAddr) -> Result<SocketAddrV4, String> {
    match a {
        SocketAddr::V4(a) => Ok(a),
        SocketAddr::V6(_) => Err("ENet runs on IPv4 only".into()),
    }
}

/// Picks the receiver's port and starts both threads.
pub fn start(mut source: Source, mut sink: Sink, shared: &Arc<Shared>) -> Result<Started, String> {
    // SAFETY: enet_initialize has no preconditions (it only sets up Windows sockets elsewhere).
    if unsafe { ffi::enet_initialize() } != 0 {
        return Err("enet_initialize failed".into());
    }
    // a free port for the receiver's host (ENet does not say which port it bound)
    let addr = UdpSocket::bind("127.0.0.1:0").and_then(|s| s.local_addr()).map_err(|e| e.to_string())?;
    source.set_chunk(ffi::DEFAULT_MTU - ffi::FRAGMENT_OVERHEAD);
    let mut host = Host::new(Some(v4(addr)?))?;

    let receiver = move |_: super::RelayAddrs, s: &Shared| {
        let last = receive(&mut host, &mut sink, s)?;
        Ok((sink, last))
    };
    let sender = move |(relay, _): super::RelayAddrs, s: &Shared| send(v4(relay)?, &mut source, s);
    Ok(super::spawn_pair(addr, shared, receiver, sender))
}

// SAFETY: a host is handed to one thread, which alone uses it from then on.
unsafe impl Send for Host {}

fn receive(host: &mut Host, sink: &mut Sink, shared: &Shared) -> Result<Option<Instant>, String> {
    let mut wait = 5;
    while !shared.should_stop() {
        let Some(event) = host.service(wait)? else {
            wait = 5;
            continue;
        };
        wait = 0;
        if event.kind == ffi::EVENT_RECEIVE && !event.packet.is_null() {
            // SAFETY: a receive event carries a live packet whose data has data_length bytes.
            unsafe {
                let p = &*event.packet;
                sink.absorb(std::slice::from_raw_parts(p.data, p.data_length), shared.epoch);
                ffi::enet_packet_destroy(event.packet);
            }
            if sink.complete() {
                host.service(0)?;
                return Ok(Some(Instant::now()));
            }
        }
    }
    Ok(None)
}

fn send(relay: SocketAddrV4, source: &mut Source, shared: &Shared) -> Result<Instant, String> {
    let mut host = Host::new(None)?;
    let to = address(relay);
    // SAFETY: the host is live; the address lives for the call.
    let peer = unsafe { ffi::enet_host_connect(host.0, &to, 1, 0) };
    if peer.is_null() {
        return Err("enet_host_connect failed".into());
    }
    loop {
        if shared.should_stop() {
            return Err("ENet did not connect".into());
        }
        match host.service(5)? {
            Some(e) if e.kind == ffi::EVENT_CONNECT => break,
            Some(e) if e.kind == ffi::EVENT_DISCONNECT => return Err("ENet connection refused".into()),
            _ => {}
        }
    }
    let start = source.start();
    while !shared.should_stop() {
        let mut queued = false;
        while let Some(message) = source.peek(Instant::now()) {
            // SAFETY: the packet copies `message`; the peer is live; a refused packet is ours to destroy.
            unsafe {
                let packet = ffi::enet_packet_create(message.as_ptr().cast(), message.len(), ffi::PACKET_FLAG_RELIABLE);
                if packet.is_null() {
                    return Err("enet_packet_create failed".into());
                }
                if ffi::enet_peer_send(peer, 0, packet) < 0 {
                    ffi::enet_packet_destroy(packet);
                    return Err("enet_peer_send failed".into());
                }
            }
            source.advance();
            queued = true;
        }
        if queued {
            // SAFETY: the host is live.
            unsafe { ffi::enet_host_flush(host.0) };
        }
        let wait = source
            .next_due()
            .map_or(5, |due| due.saturating_duration_since(Instant::now()).as_micros().div_ceil(1000).min(5) as u32);
        if let Some(e) = host.service(wait)? {
            if e.kind == ffi::EVENT_DISCONNECT {
                return Err("ENet peer disconnected".into());
            }
        }
    }
    Ok(start)
}
