//! What the firmware's drivers would provide: a clock, a radio and an
//! application, every input a volatile read and every output a volatile
//! write. Shared by the `probe` and `tiny` binaries (`#[path]`), which each
//! define `DATAGRAM_LEN` and `MESSAGE_LEN` beside it.
use core::hint::black_box;
use core::ptr::{addr_of, addr_of_mut, read_volatile, write_volatile};

use super::{DATAGRAM_LEN, MESSAGE_LEN};

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
