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

/// What the firmware's drivers would provide: a clock, a radio and an application.
mod io {
    use core::hint::black_box;
    use core::ptr::{addr_of, addr_of_mut, read_volatile, write_volatile};

    /// Longest datagram the connection sends or receives.
    pub const DATAGRAM_LEN: usize = super::Client::MAX_DATAGRAM_LEN;
    /// Longest message the application sends or reads.
    pub const MESSAGE_LEN: usize = super::PAYLOAD;

    static mut CLOCK_MS: u64 = 0;
    static mut ENTROPY: u64 = 0;
    static mut RX_LEN: usize = 0;
    static mut RX_BUF: [u8; DATAGRAM_LEN] = [0; DATAGRAM_LEN];
    static mut TX_LEN: usize = 0;
    static mut TX_BUF: [u8; DATAGRAM_LEN] = [0; DATAGRAM_LEN];
    static mut COMMAND: u8 = 0;
    static mut OUT_LEN: usize = 0;
    static mut OUT_BUF: [u8; MESSAGE_LEN] = [0; MESSAGE_LEN];
    static mut IN_LEN: usize = 0;
    static mut IN_BUF: [u8; MESSAGE_LEN] = [0; MESSAGE_LEN];

    /// What the application asks for this turn.
    pub enum Command {
        Nothing,
        Send,
        Close,
    }

    pub fn now() -> u64 {
        // SAFETY: a plain read of a static nothing else borrows.
        unsafe { read_volatile(addr_of!(CLOCK_MS)) }
    }

    pub fn entropy() -> u64 {
        // SAFETY: as above.
        unsafe { read_volatile(addr_of!(ENTROPY)) }
    }

    /// The datagram the radio received, if any.
    pub fn received() -> Option<&'static [u8]> {
        // SAFETY: the radio's buffer is only read here, between radio turns.
        let (len, buf) = unsafe { (read_volatile(addr_of!(RX_LEN)), &*black_box(addr_of!(RX_BUF))) };
        if len == 0 {
            return None;
        }
        buf.get(..len)
    }

    /// The buffer `poll_transmit` writes into.
    pub fn transmit_buffer() -> &'static mut [u8] {
        // SAFETY: only one borrow at a time (the caller hands it back via `transmit`).
        unsafe { &mut *black_box(addr_of_mut!(TX_BUF)) }
    }

    /// Hands `len` bytes of the transmit buffer to the radio.
    pub fn transmit(len: usize) {
        // SAFETY: a plain write of a static nothing else borrows.
        unsafe { write_volatile(addr_of_mut!(TX_LEN), len) }
    }

    pub fn command() -> Command {
        // SAFETY: as above.
        match unsafe { read_volatile(addr_of!(COMMAND)) } {
            1 => Command::Send,
            2 => Command::Close,
            _ => Command::Nothing,
        }
    }

    /// The message the application wants sent.
    pub fn outgoing() -> &'static [u8] {
        // SAFETY: the application's buffer is only read here.
        let (len, buf) = unsafe { (read_volatile(addr_of!(OUT_LEN)), &*black_box(addr_of!(OUT_BUF))) };
        buf.get(..len).unwrap_or(&[])
    }

    /// The buffer `recv` writes a message into.
    pub fn incoming_buffer() -> &'static mut [u8] {
        // SAFETY: only one borrow at a time (the caller hands it back via `deliver`).
        unsafe { &mut *black_box(addr_of_mut!(IN_BUF)) }
    }

    /// Hands a received message of `len` bytes to the application.
    pub fn deliver(len: usize) {
        // SAFETY: a plain write of a static nothing else borrows.
        unsafe { write_volatile(addr_of_mut!(IN_LEN), len) }
    }

    /// Hands anything else to the application (events, results).
    pub fn report<T>(value: T) {
        black_box(value);
    }
}

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
