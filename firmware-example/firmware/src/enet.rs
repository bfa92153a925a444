//! A small driver for the LM3S6965's Ethernet MAC (the one QEMU's
//! `lm3s6965evb` emulates), polled, as a smoltcp [`phy::Device`].
//!
//! The MAC has no DMA: frames pass through a 2 KiB FIFO, 32 bits at a time,
//! through one DATA register. Received frames come prefixed with a 16-bit
//! length that counts itself, the frame and its 4-byte FCS; a frame to send
//! starts with a 16-bit length of the frame's payload (the frame minus its
//! 14-byte Ethernet header), and TR starts the transmission.

use core::ptr::{read_volatile, write_volatile};
use smoltcp::phy::{self, DeviceCapabilities, Medium};
use smoltcp::time::Instant;

/// Largest Ethernet frame (without FCS) the driver handles.
pub const MAX_FRAME_LEN: usize = 1514;
/// A frame buffer.
pub type FrameBuffer = [u8; MAX_FRAME_LEN];

/// Ethernet header bytes the MAC's length field leaves out.
const ETHERNET_HEADER_LEN: usize = 14;
/// Bytes of the receive length prefix.
const RX_LENGTH_LEN: usize = 2;
/// Bytes of the frame check sequence after a received frame.
const FCS_LEN: usize = 4;

/// The MAC's registers: offsets from the controller's base (LM3S6965 datasheet, "Ethernet Controller").
mod reg {
    /// The Ethernet controller's base address.
    pub const BASE: usize = 0x4004_8000;
    /// Raw interrupt status (read) / acknowledge (write).
    pub const RIS_IACK: usize = 0x00;
    /// Interrupt mask.
    pub const IM: usize = 0x04;
    /// Receive control.
    pub const RCTL: usize = 0x08;
    /// Transmit control.
    pub const TCTL: usize = 0x0C;
    /// The FIFO: reads receive, writes transmit.
    pub const DATA: usize = 0x10;
    /// MAC address bytes 0..4.
    pub const IA0: usize = 0x14;
    /// MAC address bytes 4..6.
    pub const IA1: usize = 0x18;
    /// Number of frames in the receive FIFO.
    pub const NP: usize = 0x34;
    /// Transmission request.
    pub const TR: usize = 0x38;

    pub const RCTL_RXEN: u32 = 0x01;
    pub const RCTL_BADCRC: u32 = 0x08;
    pub const RCTL_RSTFIFO: u32 = 0x10;
    pub const TCTL_TXEN: u32 = 0x01;
    pub const TCTL_PADEN: u32 = 0x02;
    pub const TCTL_CRC: u32 = 0x04;
    pub const TCTL_DUPLEX: u32 = 0x08;
    pub const TR_NEWTX: u32 = 0x01;
    /// Every interrupt source.
    pub const ALL_INTERRUPTS: u32 = 0x7F;

    /// System control: run-mode clock gating 2 (EMAC0 at bit 28, EPHY0 at bit 30).
    pub const RCGC2: usize = 0x400F_E108;
    pub const RCGC2_EMAC0_EPHY0: u32 = (1 << 28) | (1 << 30);
}

fn read(offset: usize) -> u32 {
    // SAFETY: an aligned 32-bit read of one of the MAC's registers, which exist on this part.
    unsafe { read_volatile((reg::BASE + offset) as *const u32) }
}

fn write(offset: usize, value: u32) {
    // SAFETY: an aligned 32-bit write of one of the MAC's registers; only this driver owns them.
    unsafe { write_volatile((reg::BASE + offset) as *mut u32, value) }
}

/// The Ethernet MAC with its two frame buffers.
pub struct Enet {
    rx: &'static mut FrameBuffer,
    tx: &'static mut FrameBuffer,
}

impl Enet {
    /// Clocks the MAC and PHY, enables receive (FIFO flushed, bad-CRC frames
    /// rejected) and transmit (auto padding and CRC, full duplex), interrupts
    /// masked: the driver polls.
    pub fn new(rx: &'static mut FrameBuffer, tx: &'static mut FrameBuffer) -> Enet {
        // SAFETY: a read-modify-write of the clock gating register, done once before the MAC is used.
        unsafe {
            let gating = reg::RCGC2 as *mut u32;
            write_volatile(gating, read_volatile(gating) | reg::RCGC2_EMAC0_EPHY0);
        }
        write(reg::IM, 0);
        write(reg::RIS_IACK, reg::ALL_INTERRUPTS);
        write(reg::TCTL, reg::TCTL_TXEN | reg::TCTL_PADEN | reg::TCTL_CRC | reg::TCTL_DUPLEX);
        write(reg::RCTL, reg::RCTL_RSTFIFO);
        write(reg::RCTL, reg::RCTL_RXEN | reg::RCTL_BADCRC);
        Enet { rx, tx }
    }

    /// The MAC address the controller holds (QEMU sets it from `-nic ...,mac=`).
    pub fn mac_address(&self) -> [u8; 6] {
        let [a, b, c, d] = read(reg::IA0).to_le_bytes();
        let [e, f, _, _] = read(reg::IA1).to_le_bytes();
        [a, b, c, d, e, f]
    }

    /// Reads the next received frame into `rx`; its length, or `None` when
    /// none waits or it was malformed (then it is drained and dropped).
    fn read_frame(&mut self) -> Option<usize> {
        if read(reg::NP) == 0 {
            return None;
        }
        let first = read(reg::DATA).to_le_bytes();
        let counted = usize::from(u16::from_le_bytes([first[0], first[1]]));
        let words = counted.div_ceil(4);
        let frame_len = counted.saturating_sub(RX_LENGTH_LEN + FCS_LEN);
        let fits = (ETHERNET_HEADER_LEN..=MAX_FRAME_LEN).contains(&frame_len);
        // the frame's bytes in FIFO order: the first word's upper half, then whole words
        let mut at = 0;
        for byte in [first[2], first[3]] {
            store(self.rx, &mut at, frame_len, byte);
        }
        for _ in 1..words {
            for byte in read(reg::DATA).to_le_bytes() {
                store(self.rx, &mut at, frame_len, byte);
            }
        }
        fits.then_some(frame_len)
    }

    /// Sends the first `len` bytes of `tx` through the FIFO.
    fn send_frame(frame: &[u8]) {
        while read(reg::TR) & reg::TR_NEWTX != 0 {
            core::hint::spin_loop();
        }
        let payload_len = frame.len().saturating_sub(ETHERNET_HEADER_LEN) as u32;
        let mut bytes = frame.iter().copied();
        let mut next = || bytes.next().unwrap_or(0);
        let (b0, b1) = (next(), next());
        write(reg::DATA, payload_len | u32::from(b0) << 16 | u32::from(b1) << 24);
        for _ in (RX_LENGTH_LEN..frame.len()).step_by(4) {
            write(reg::DATA, u32::from_le_bytes([next(), next(), next(), next()]));
        }
        write(reg::TR, reg::TR_NEWTX);
    }
}

/// Stores the `at`-th byte of a frame of `len` bytes (the FCS after it is dropped).
fn store(buf: &mut FrameBuffer, at: &mut usize, len: usize, byte: u8) {
    if *at < len {
        if let Some(slot) = buf.get_mut(*at) {
            *slot = byte;
        }
    }
    *at += 1;
}

/// A received frame, read from the FIFO already.
pub struct RxToken<'a> {
    frame: &'a [u8],
}

/// Room for one frame to send.
pub struct TxToken<'a> {
    buf: &'a mut FrameBuffer,
}

impl phy::RxToken for RxToken<'_> {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        f(self.frame)
    }
}

impl phy::TxToken for TxToken<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let frame = self.buf.get_mut(..len.min(MAX_FRAME_LEN)).unwrap_or_default();
        let result = f(frame);
        Enet::send_frame(frame);
        result
    }
}

impl phy::Device for Enet {
    type RxToken<'a> = RxToken<'a>;
    type TxToken<'a> = TxToken<'a>;

    fn receive(&mut self, _: Instant) -> Option<(RxToken<'_>, TxToken<'_>)> {
        let len = self.read_frame()?;
        let frame = self.rx.get(..len)?;
        Some((RxToken { frame }, TxToken { buf: self.tx }))
    }

    fn transmit(&mut self, _: Instant) -> Option<TxToken<'_>> {
        Some(TxToken { buf: self.tx })
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ethernet;
        caps.max_transmission_unit = MAX_FRAME_LEN;
        caps.max_burst_size = Some(1);
        caps
    }
}
