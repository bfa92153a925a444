//! A minimal firmware that drives one seqlink client connection: connect,
//! send, receive, timers and close, over datagrams.
//!
//! Configuration (issue 8's client): window 4, payload 128, no unreliable or
//! trace slots, the Internet checksum (CRC-32C with the `prefer-crc`
//! feature). Every input (the clock, received datagrams, what the
//! application asks for) is read from memory with volatile reads, and every
//! output is written with volatile writes, so the optimiser keeps every code
//! path a real firmware would reach.
//!
//! The connection and its storage live in statics (`CONNECTION`,
//! `LINK_STORAGE`), so RAM shows the state and the stack shows only calls;
//! `nm -S` reads `size_of` of the state from the `CONNECTION` symbol.
#![no_std]
#![no_main]

use core::mem::MaybeUninit;
use core::ptr::addr_of_mut;
use cortex_m_rt::entry;
use seqlink_core::connection::{Connection, ConnectionConfig};
use seqlink_core::link::{Delivery, LinkConfig};
use seqlink_core::PacketType;
use seqlink_footprint as _;

/// The client's configuration, fixed at build time.
const CONFIG: ConnectionConfig = client_config();
/// Bytes of window storage the caller provides.
const STORAGE_LEN: usize = CONFIG.link.storage_len();

const fn client_config() -> ConnectionConfig {
    let mut link = LinkConfig::new().with_window(4).with_max_payload(128);
    link.unreliable_slots = 0;
    link.trace_slots = 0;
    let mut config = ConnectionConfig::new().with_link(link);
    config.prefer_crc = cfg!(feature = "prefer-crc");
    config
}

#[no_mangle]
static mut LINK_STORAGE: [u8; STORAGE_LEN] = [0; STORAGE_LEN];
#[no_mangle]
static mut CONNECTION: MaybeUninit<Connection<&'static mut [u8]>> = MaybeUninit::uninit();
/// Longest datagram the connection sends or receives.
const DATAGRAM_LEN: usize = CONFIG.max_datagram_len();
/// Longest message the application sends or reads.
const MESSAGE_LEN: usize = CONFIG.link.max_message_len();

#[path = "../io.rs"]
mod io;

#[entry]
fn main() -> ! {
    serve(open())
}

/// Starts the client connection in its static. Kept apart from [`serve`]
/// (neither is inlined into `main`) so that the stack estimate gives the
/// start and the steady state separately; the deepest is the larger of the two.
#[inline(never)]
fn open() -> &'static mut Connection<&'static mut [u8]> {
    // SAFETY: called once, from `main`; these are the only borrows of the statics.
    let (storage, slot) = unsafe { (&mut *addr_of_mut!(LINK_STORAGE), &mut *addr_of_mut!(CONNECTION)) };
    match Connection::connect(CONFIG, &mut storage[..], io::now(), io::entropy()) {
        Ok(conn) => slot.write(conn),
        Err(error) => {
            io::report(error);
            loop {
                core::hint::spin_loop();
            }
        }
    }
}

/// The firmware's main loop: datagrams in, timers, application commands,
/// datagrams out, messages and events to the application.
#[inline(never)]
fn serve(conn: &mut Connection<&'static mut [u8]>) -> ! {
    loop {
        let now = io::now();
        if let Some(datagram) = io::received() {
            conn.handle_datagram(now, datagram);
        }
        if conn.poll_timeout().is_some_and(|at| at <= now) {
            conn.handle_timeout(now);
        }
        match io::command() {
            io::Command::Send => io::report(conn.send(PacketType(100), io::outgoing(), Delivery::Reliable)),
            io::Command::Close => conn.close(now),
            io::Command::Nothing => {}
        }
        while let Ok(Some(len)) = conn.poll_transmit(now, io::transmit_buffer()) {
            io::transmit(len);
        }
        loop {
            match conn.recv(io::incoming_buffer()) {
                Ok(Some(message)) => io::deliver(message.len),
                Ok(None) => break,
                Err(error) => {
                    io::report(error);
                    break;
                }
            }
        }
        while let Some(event) = conn.poll_event() {
            io::report(event);
        }
    }
}
