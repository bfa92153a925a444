//! The tiny-client variant of the firmware example: the same echo device,
//! board, stack and host peer as the Ethernet firmware, with the small
//! `TinyClient` engine (window 8, payloads of 128 bytes: the longest echo)
//! in place of the full `Connection`. Logs and exit are as in the Ethernet
//! firmware.
#![no_std]
#![no_main]

use cortex_m_rt::entry;
use seqlink_fw_app::{tiny_config, Buffers, TinyDeviceClient, TinyDeviceWindow, TinyEchoDevice};
use seqlink_fw_firmware::{clock, fail, NetworkMemory, Stack, PEER};

const DATAGRAM_LEN: usize = TinyDeviceClient::MAX_DATAGRAM_LEN;

/// The device's buffers, sized at build time.
struct DeviceMemory {
    window: TinyDeviceWindow,
    datagram_tx: [u8; DATAGRAM_LEN],
    datagram_rx: [u8; DATAGRAM_LEN],
}

#[entry]
fn main() -> ! {
    let Some(network) = cortex_m::singleton!(: NetworkMemory = NetworkMemory::new()) else { fail("taken twice") };
    let Some(memory) = cortex_m::singleton!(: DeviceMemory = DeviceMemory {
        window: TinyDeviceWindow::new(),
        datagram_tx: [0; DATAGRAM_LEN],
        datagram_rx: [0; DATAGRAM_LEN],
    }) else {
        fail("taken twice")
    };
    let (mut stack, seed) = seqlink_fw_firmware::start(network);
    let buffers = Buffers { storage: &mut memory.window, tx: &mut memory.datagram_tx, rx: &mut memory.datagram_rx };
    let Ok(device) = TinyEchoDevice::new(tiny_config(), PEER, buffers, seed ^ u64::from(clock::millis())) else {
        fail("invalid device configuration")
    };
    // in a static too, so that the RAM figures show the client's state
    let Some(device) = cortex_m::singleton!(: TinyEchoDevice<'static, Stack> = device) else { fail("taken twice") };
    defmt::info!(
        "tiny echo device: {=usize} B of client state, {=usize} B of window storage, peer port {=u16}",
        core::mem::size_of::<TinyDeviceClient<'static>>(),
        core::mem::size_of::<TinyDeviceWindow>(),
        PEER.port()
    );
    seqlink_fw_firmware::echo_loop::run(device, &mut stack)
}
