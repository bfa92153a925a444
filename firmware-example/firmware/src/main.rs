//! The firmware example: the echo device of `seqlink-fw-app` over the
//! board's UDP stack, connected to the host peer at 10.0.2.2:7700. Logs are
//! defmt frames over semihosting; the firmware ends the emulation
//! (semihosting exit 0) once the peer's STOP completed, or with status 101 on
//! a panic.
#![no_std]
#![no_main]

use cortex_m_rt::entry;
use seqlink_core::ConnectionConfig;
use seqlink_fw_app::{device_config, Buffers, EchoDevice};
use seqlink_fw_firmware::{clock, fail, NetworkMemory, Stack, PEER};

/// The device's connection settings.
const CONFIG: ConnectionConfig = device_config();
const STORAGE_LEN: usize = CONFIG.storage_len();
const DATAGRAM_LEN: usize = CONFIG.max_datagram_len();

/// The device's buffers, sized at build time.
struct DeviceMemory {
    link_storage: [u8; STORAGE_LEN],
    datagram_tx: [u8; DATAGRAM_LEN],
    datagram_rx: [u8; DATAGRAM_LEN],
}

#[entry]
fn main() -> ! {
    let Some(network) = cortex_m::singleton!(: NetworkMemory = NetworkMemory::new()) else { fail("taken twice") };
    let Some(memory) = cortex_m::singleton!(: DeviceMemory = DeviceMemory {
        link_storage: [0; STORAGE_LEN],
        datagram_tx: [0; DATAGRAM_LEN],
        datagram_rx: [0; DATAGRAM_LEN],
    }) else {
        fail("taken twice")
    };
    let (mut stack, seed) = seqlink_fw_firmware::start(network);
    let buffers = Buffers {
        storage: memory.link_storage.as_mut_slice(),
        tx: &mut memory.datagram_tx,
        rx: &mut memory.datagram_rx,
    };
    let Ok(device) = EchoDevice::new(CONFIG, PEER, buffers, seed ^ u64::from(clock::millis())) else {
        fail("invalid device configuration")
    };
    // in a static too, so that the RAM figures show the connection's state
    let Some(device) = cortex_m::singleton!(: EchoDevice<'static, Stack> = device) else { fail("taken twice") };
    defmt::info!(
        "echo device: {=usize} B of connection state, {=usize} B of window storage, peer port {=u16}",
        core::mem::size_of::<seqlink_core::Connection<&mut [u8]>>(),
        STORAGE_LEN,
        PEER.port()
    );
    seqlink_fw_firmware::echo_loop::run(device, &mut stack)
}
