//! UART0 of the LM3S6965 (a PL011), polled, as the [`ByteLine`] of a serial
//! seqlink link. QEMU's `-serial` connects it to the host.

use core::ptr::{read_volatile, write_volatile};
use seqlink_fw_app::ByteLine;

/// UART0's registers (LM3S6965 datasheet, "Universal Asynchronous Receivers/Transmitters").
mod reg {
    pub const BASE: usize = 0x4000_C000;
    /// Data: reads receive, writes transmit.
    pub const DR: usize = 0x000;
    /// Flags.
    pub const FR: usize = 0x018;
    pub const FR_RXFE: u32 = 0x10;
    pub const FR_TXFF: u32 = 0x20;
    /// Integer and fractional baud-rate divisors.
    pub const IBRD: usize = 0x024;
    pub const FBRD: usize = 0x028;
    /// Line control: 8 data bits, FIFOs on.
    pub const LCRH: usize = 0x02C;
    pub const LCRH_8N1_FIFO: u32 = 0x60 | 0x10;
    /// Control: UART, transmitter and receiver enabled.
    pub const CTL: usize = 0x030;
    pub const CTL_ENABLE: u32 = 0x001 | 0x100 | 0x200;

    /// System control: run-mode clock gating 1 (UART0 at bit 0) and 2 (GPIO port A at bit 0).
    pub const RCGC1: usize = 0x400F_E104;
    pub const RCGC2: usize = 0x400F_E108;
    /// GPIO port A: PA0/PA1 to the UART (alternate function, digital).
    pub const GPIOA_AFSEL: usize = 0x4000_4420;
    pub const GPIOA_DEN: usize = 0x4000_451C;
    pub const PA0_PA1: u32 = 0b11;
}

fn read(address: usize) -> u32 {
    // SAFETY: an aligned 32-bit read of a UART0, GPIO or system control register of this part.
    unsafe { read_volatile(address as *const u32) }
}

fn write(address: usize, value: u32) {
    // SAFETY: an aligned 32-bit write of a UART0, GPIO or system control register; only this driver owns them.
    unsafe { write_volatile(address as *mut u32, value) }
}

fn set_bits(address: usize, bits: u32) {
    write(address, read(address) | bits);
}

/// UART0 at 115200 baud, 8N1, FIFOs on.
pub struct Uart0(());

impl Uart0 {
    /// Clocks UART0 and port A, routes PA0/PA1 to it, and enables it at
    /// 115200 baud from the 12 MHz clock (divisor 6.5104: 6 and 33/64).
    pub fn start() -> Uart0 {
        set_bits(reg::RCGC1, 1);
        set_bits(reg::RCGC2, 1);
        set_bits(reg::GPIOA_AFSEL, reg::PA0_PA1);
        set_bits(reg::GPIOA_DEN, reg::PA0_PA1);
        write(reg::BASE + reg::CTL, 0);
        write(reg::BASE + reg::IBRD, 6);
        write(reg::BASE + reg::FBRD, 33);
        write(reg::BASE + reg::LCRH, reg::LCRH_8N1_FIFO);
        write(reg::BASE + reg::CTL, reg::CTL_ENABLE);
        Uart0(())
    }
}

impl ByteLine for Uart0 {
    fn read_byte(&mut self) -> Option<u8> {
        if read(reg::BASE + reg::FR) & reg::FR_RXFE != 0 {
            return None;
        }
        Some(read(reg::BASE + reg::DR) as u8)
    }

    fn write_byte(&mut self, byte: u8) -> bool {
        if read(reg::BASE + reg::FR) & reg::FR_TXFF != 0 {
            return false;
        }
        write(reg::BASE + reg::DR, u32::from(byte));
        true
    }
}
