//! The serial variant of the firmware example: the same echo device, over
//! UART0 with COBS frames (`SerialStack`) instead of Ethernet and UDP, so
//! seqlink runs with no IP stack at all. QEMU's `-serial tcp:HOST:PORT`
//! carries the line to the host peer (`seqlink-fw-host-peer --serial`).
//! Logs and exit are as in the Ethernet firmware.
#![no_std]
#![no_main]

use cortex_m_rt::entry;
use seqlink_core::framing::max_serial_frame_len;
use seqlink_core::ConnectionConfig;
use seqlink_fw_app::{device_config, Buffers, EchoDevice, Report, SerialStack};
use seqlink_fw_firmware::uart::Uart0;
use seqlink_fw_firmware::{clock, exit, fail, PEER};

/// The device's connection settings.
const CONFIG: ConnectionConfig = device_config();
const STORAGE_LEN: usize = CONFIG.storage_len();
const DATAGRAM_LEN: usize = CONFIG.max_datagram_len();
const FRAME_LEN: usize = max_serial_frame_len(DATAGRAM_LEN);

/// Every buffer, sized at build time.
struct Memory {
    link_storage: [u8; STORAGE_LEN],
    datagram_tx: [u8; DATAGRAM_LEN],
    datagram_rx: [u8; DATAGRAM_LEN],
    line_rx: [u8; DATAGRAM_LEN],
    line_tx: [u8; FRAME_LEN],
}

type Line = SerialStack<'static, Uart0>;

#[entry]
fn main() -> ! {
    let Some(memory) = cortex_m::singleton!(: Memory = Memory {
        link_storage: [0; STORAGE_LEN],
        datagram_tx: [0; DATAGRAM_LEN],
        datagram_rx: [0; DATAGRAM_LEN],
        line_rx: [0; DATAGRAM_LEN],
        line_tx: [0; FRAME_LEN],
    }) else {
        fail("taken twice")
    };
    let Some(peripherals) = cortex_m::Peripherals::take() else { fail("peripherals taken twice") };
    clock::start(peripherals.SYST);
    let Ok(mut line) = SerialStack::new(Uart0::start(), &mut memory.line_rx, &mut memory.line_tx) else {
        fail("line buffers too small")
    };
    let buffers = Buffers {
        storage: memory.link_storage.as_mut_slice(),
        tx: &mut memory.datagram_tx,
        rx: &mut memory.datagram_rx,
    };
    // QEMU has no random source: a real board would read a hardware RNG or ADC noise here
    let Ok(device) = EchoDevice::<Line>::new(CONFIG, PEER, buffers, 0x5e9d_11e7 ^ u64::from(clock::millis())) else {
        fail("invalid device configuration")
    };
    let Some(device) = cortex_m::singleton!(: EchoDevice<'static, Line> = device) else { fail("taken twice") };
    defmt::info!("echo device on UART0 (COBS frames), {=usize} B of window storage", STORAGE_LEN);

    let mut uptime = clock::Uptime::new();
    loop {
        device.poll(&mut line, uptime.now());
        while let Some(report) = device.poll_report() {
            match report {
                Report::Failed { .. } | Report::SocketError | Report::Dropped { .. } => defmt::warn!("{}", report),
                _ => defmt::info!("{}", report),
            }
            if report == Report::Stopped {
                defmt::info!("echo device stopped after {=u32} connections", device.attempts());
                exit(0);
            }
        }
        // the 1 kHz SysTick wakes the core, so the UART's 16-byte receive FIFO is
        // drained every millisecond (QEMU holds further bytes back meanwhile;
        // a real board would enable the UART's receive interrupt as well)
        cortex_m::asm::wfi();
    }
}
