//! The size probe of the tiny client engine (`seqlink_core::TinyClient`):
//! the same firmware as `probe`, driving a `TinyClient` instead of a
//! `Connection`: connect, send, receive, timers and close, over datagrams.
//!
//! Configuration (issue 8's client): window 4, payload 128, the Internet
//! checksum (the only integrity mode a tiny client speaks). Every input (the clock, received datagrams, what the
//! application asks for) is read from memory with volatile reads, and every
//! output is written with volatile writes, so the optimiser keeps every code
//! path a real firmware would reach.
//!
//! The client and its window storage live in statics (`CONNECTION`,
//! `LINK_STORAGE`: the names report.py reads for both probes), so RAM shows
//! the state and the stack shows only calls; `nm -S` reads `size_of` of the
//! state from the `CONNECTION` symbol.
#![no_std]
#![no_main]

use core::mem::MaybeUninit;
use core::ptr::addr_of_mut;
use cortex_m_rt::entry;
use seqlink_core::{PacketType, TinyClient, TinyConfig, TinyWindow};
use seqlink_footprint as _;

/// Window (packets each way) and largest payload: issue 8's client.
const WINDOW: usize = 4;
const PAYLOAD: usize = 128;
type Client = TinyClient<'static, WINDOW, PAYLOAD>;

/// The client's configuration, fixed at build time.
const CONFIG: TinyConfig = TinyConfig::new();

#[no_mangle]
static mut LINK_STORAGE: TinyWindow<WINDOW, PAYLOAD> = TinyWindow::new();
#[no_mangle]
static mut CONNECTION: MaybeUninit<Client> = MaybeUninit::uninit();
/// Longest datagram the connection sends or receives.
const DATAGRAM_LEN: usize = Client::MAX_DATAGRAM_LEN;
/// Longest message the application sends or reads.
const MESSAGE_LEN: usize = PAYLOAD;

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
fn open() -> &'static mut Client {
    // SAFETY: called once, from `main`; these are the only borrows of the statics.
    let (storage, slot) = unsafe { (&mut *addr_of_mut!(LINK_STORAGE), &mut *addr_of_mut!(CONNECTION)) };
    slot.write(TinyClient::connect(CONFIG, storage, io::now(), io::entropy()))
}

/// The firmware's main loop: datagrams in, timers, application commands,
/// datagrams out, messages and events to the application.
#[inline(never)]
fn serve(conn: &mut Client) -> ! {
    loop {
        let now = io::now();
        if let Some(datagram) = io::received() {
            conn.handle_datagram(now, datagram);
        }
        if conn.poll_timeout().is_some_and(|at| at <= now) {
            conn.handle_timeout(now);
        }
        match io::command() {
            io::Command::Send => io::report(conn.send(PacketType(100), io::outgoing())),
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
