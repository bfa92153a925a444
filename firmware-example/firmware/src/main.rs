//! The firmware example on QEMU's `lm3s6965evb` (Cortex-M3): the echo device
//! of `seqlink-fw-app` over smoltcp, smoltcp-nal and the board's Ethernet MAC.
//!
//! Addresses are QEMU's user-mode network: the board is 10.0.2.15/24 and the
//! host peer is reached at 10.0.2.2 (QEMU forwards it to the host's loopback),
//! UDP port [`PEER_PORT`]. Logs are defmt frames over semihosting; the
//! firmware ends the emulation (semihosting exit 0) once the peer's STOP
//! completed, or with status 101 on a panic.
#![no_std]
#![no_main]

mod clock;
mod enet;

use core::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use cortex_m_rt::entry;
use defmt_semihosting as _;
use enet::{Enet, FrameBuffer, MAX_FRAME_LEN};
use seqlink_core::ConnectionConfig;
use seqlink_fw_app::{device_config, Buffers, EchoDevice, Report};
use smoltcp::iface::{Config, Interface, SocketSet, SocketStorage};
use smoltcp::socket::udp;
use smoltcp::wire::{EthernetAddress, HardwareAddress, IpCidr, Ipv4Address};

/// The board's address on QEMU's user network.
const OWN_ADDRESS: Ipv4Address = Ipv4Address::new(10, 0, 2, 15);
/// The host, as QEMU's user network shows it.
const PEER_ADDRESS: Ipv4Addr = Ipv4Addr::new(10, 0, 2, 2);
/// The host peer's UDP port.
const PEER_PORT: u16 = 7700;

/// The device's connection settings.
const CONFIG: ConnectionConfig = device_config();
const STORAGE_LEN: usize = CONFIG.storage_len();
const DATAGRAM_LEN: usize = CONFIG.max_datagram_len();

/// Datagrams smoltcp's UDP socket queues each way.
const UDP_PACKETS: usize = 16;
/// Bytes of datagram payload it queues each way.
const UDP_BYTES: usize = UDP_PACKETS * DATAGRAM_LEN;

/// Every buffer of the firmware, sized at build time, in one static.
struct Memory {
    rx_frame: FrameBuffer,
    tx_frame: FrameBuffer,
    sockets: [SocketStorage<'static>; 1],
    udp_rx_meta: [udp::PacketMetadata; UDP_PACKETS],
    udp_rx: [u8; UDP_BYTES],
    udp_tx_meta: [udp::PacketMetadata; UDP_PACKETS],
    udp_tx: [u8; UDP_BYTES],
    link_storage: [u8; STORAGE_LEN],
    datagram_tx: [u8; DATAGRAM_LEN],
    datagram_rx: [u8; DATAGRAM_LEN],
}

#[entry]
fn main() -> ! {
    let Some(memory) = cortex_m::singleton!(: Memory = Memory {
        rx_frame: [0; MAX_FRAME_LEN],
        tx_frame: [0; MAX_FRAME_LEN],
        sockets: [SocketStorage::EMPTY],
        udp_rx_meta: [udp::PacketMetadata::EMPTY; UDP_PACKETS],
        udp_rx: [0; UDP_BYTES],
        udp_tx_meta: [udp::PacketMetadata::EMPTY; UDP_PACKETS],
        udp_tx: [0; UDP_BYTES],
        link_storage: [0; STORAGE_LEN],
        datagram_tx: [0; DATAGRAM_LEN],
        datagram_rx: [0; DATAGRAM_LEN],
    }) else {
        fail("memory taken twice")
    };
    let Some(peripherals) = cortex_m::Peripherals::take() else { fail("peripherals taken twice") };
    clock::start(peripherals.SYST);

    let mut mac = Enet::new(&mut memory.rx_frame, &mut memory.tx_frame);
    let address = mac.mac_address();
    defmt::info!("seqlink firmware: MAC {=[u8]:02x}, {} B of connection storage", address, STORAGE_LEN);
    let mut config = Config::new(HardwareAddress::Ethernet(EthernetAddress(address)));
    config.random_seed = seed(&address);
    let mut iface = Interface::new(config, &mut mac, smoltcp::time::Instant::ZERO);
    iface.update_ip_addrs(|addrs| {
        let _ = addrs.push(IpCidr::new(OWN_ADDRESS.into(), 24));
    });
    let mut sockets = SocketSet::new(&mut memory.sockets[..]);
    sockets.add(udp::Socket::new(
        udp::PacketBuffer::new(&mut memory.udp_rx_meta[..], &mut memory.udp_rx[..]),
        udp::PacketBuffer::new(&mut memory.udp_tx_meta[..], &mut memory.udp_tx[..]),
    ));
    let mut stack = smoltcp_nal::NetworkStack::new(iface, mac, sockets, clock::NalClock);

    let peer = SocketAddr::V4(SocketAddrV4::new(PEER_ADDRESS, PEER_PORT));
    let buffers = Buffers {
        storage: &mut memory.link_storage,
        tx: &mut memory.datagram_tx,
        rx: &mut memory.datagram_rx,
    };
    let Ok(mut device) = EchoDevice::new(CONFIG, peer, buffers, seed(&address)) else {
        fail("invalid device configuration")
    };
    defmt::info!("echo device: peer {=[u8]}:{=u16}", PEER_ADDRESS.octets(), PEER_PORT);

    let mut uptime = clock::Uptime::new();
    loop {
        let now = uptime.now();
        let _ = stack.poll();
        device.poll(&mut stack, now);
        let _ = stack.poll();
        while let Some(report) = device.poll_report() {
            log(&report, &device);
            if report == Report::Stopped {
                defmt::info!("echo device stopped after {=u32} connections", device.attempts());
                semihosting::process::exit(0);
            }
        }
        // the 1 kHz SysTick wakes the core: frames are picked up within a millisecond
        cortex_m::asm::wfi();
    }
}

fn log<N: embedded_nal::UdpClientStack>(report: &Report, device: &EchoDevice<'_, N>) {
    match report {
        Report::Failed { .. } | Report::SocketError | Report::Dropped { .. } => defmt::warn!("{}", report),
        Report::Closed { .. } => {
            let retransmissions = device.connection().map_or(0, |conn| conn.stats().retransmissions);
            defmt::info!("{} ({=u64} retransmissions by the device)", report, retransmissions);
        }
        _ => defmt::info!("{}", report),
    }
}

/// A seed from the MAC address: QEMU has no random source. A real board
/// would read a hardware RNG or noise from an ADC here.
fn seed(mac: &[u8; 6]) -> u64 {
    let [a, b, c, d, e, f] = *mac;
    u64::from_le_bytes([a, b, c, d, e, f, 0x5e, 0x9d]) ^ u64::from(clock::millis())
}

/// Logs `why` and ends the emulation with a failure.
fn fail(why: &str) -> ! {
    defmt::error!("firmware failed: {=str}", why);
    semihosting::process::exit(1)
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    match info.location() {
        Some(at) => defmt::error!("panic at {=str}:{=u32}", at.file(), at.line()),
        None => defmt::error!("panic"),
    }
    semihosting::process::exit(101)
}
