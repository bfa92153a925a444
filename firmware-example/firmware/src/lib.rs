//! The board support of the firmware example on QEMU's `lm3s6965evb`
//! (Cortex-M3): a SysTick millisecond clock, a driver for the LM3S6965
//! Ethernet MAC, one for UART0 (the serial variant's line), smoltcp with one UDP socket behind smoltcp-nal (an
//! `embedded_nal::UdpClientStack`), defmt logs over semihosting, and a panic
//! handler that ends the emulation.
//!
//! Addresses are QEMU's user-mode network: the board is 10.0.2.15/24 and the
//! host is reached at 10.0.2.2 (QEMU forwards it to the host's loopback).
#![no_std]

pub mod clock;
pub mod echo_loop;
pub mod enet;
pub mod uart;

use core::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use defmt_semihosting as _;
use enet::{Enet, FrameBuffer, MAX_FRAME_LEN};
use smoltcp::iface::{Config, Interface, SocketSet, SocketStorage};
use smoltcp::socket::udp;
use smoltcp::wire::{EthernetAddress, HardwareAddress, IpCidr, Ipv4Address};

/// The board's address on QEMU's user network.
const OWN_ADDRESS: Ipv4Address = Ipv4Address::new(10, 0, 2, 15);
/// The host peer: the host as QEMU's user network shows it, UDP port 7700.
pub const PEER: SocketAddr = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::new(10, 0, 2, 2), 7700));

/// Datagrams smoltcp's UDP socket queues each way.
const UDP_PACKETS: usize = 16;
/// Bytes of datagram payload it queues each way (16 datagrams of up to 160 bytes).
const UDP_BYTES: usize = UDP_PACKETS * 160;

/// The UDP stack the application runs on.
pub type Stack = smoltcp_nal::NetworkStack<'static, Enet, clock::NalClock>;

/// The network's buffers, sized at build time (the caller keeps them in a static).
pub struct NetworkMemory {
    rx_frame: FrameBuffer,
    tx_frame: FrameBuffer,
    sockets: [SocketStorage<'static>; 1],
    udp_rx_meta: [udp::PacketMetadata; UDP_PACKETS],
    udp_rx: [u8; UDP_BYTES],
    udp_tx_meta: [udp::PacketMetadata; UDP_PACKETS],
    udp_tx: [u8; UDP_BYTES],
}

impl NetworkMemory {
    /// All zero.
    pub const fn new() -> NetworkMemory {
        NetworkMemory {
            rx_frame: [0; MAX_FRAME_LEN],
            tx_frame: [0; MAX_FRAME_LEN],
            sockets: [SocketStorage::EMPTY],
            udp_rx_meta: [udp::PacketMetadata::EMPTY; UDP_PACKETS],
            udp_rx: [0; UDP_BYTES],
            udp_tx_meta: [udp::PacketMetadata::EMPTY; UDP_PACKETS],
            udp_tx: [0; UDP_BYTES],
        }
    }
}

impl Default for NetworkMemory {
    fn default() -> NetworkMemory {
        NetworkMemory::new()
    }
}

/// Starts the clock and the Ethernet MAC and builds the UDP stack on them;
/// also returns a seed for the application (QEMU has no random source: a
/// real board would read a hardware RNG or ADC noise here).
pub fn start(memory: &'static mut NetworkMemory) -> (Stack, u64) {
    let Some(peripherals) = cortex_m::Peripherals::take() else { fail("peripherals taken twice") };
    clock::start(peripherals.SYST);
    let mut mac = Enet::new(&mut memory.rx_frame, &mut memory.tx_frame);
    let address = mac.mac_address();
    let [a, b, c, d, e, f] = address;
    let seed = u64::from_le_bytes([a, b, c, d, e, f, 0x5e, 0x9d]);
    defmt::info!("board: MAC {=[u8]:02x}, address {=[u8]}", address, OWN_ADDRESS.octets());
    let mut config = Config::new(HardwareAddress::Ethernet(EthernetAddress(address)));
    config.random_seed = seed;
    let mut iface = Interface::new(config, &mut mac, smoltcp::time::Instant::ZERO);
    iface.update_ip_addrs(|addrs| {
        let _ = addrs.push(IpCidr::new(OWN_ADDRESS.into(), 24));
    });
    let mut sockets = SocketSet::new(&mut memory.sockets[..]);
    sockets.add(udp::Socket::new(
        udp::PacketBuffer::new(&mut memory.udp_rx_meta[..], &mut memory.udp_rx[..]),
        udp::PacketBuffer::new(&mut memory.udp_tx_meta[..], &mut memory.udp_tx[..]),
    ));
    (smoltcp_nal::NetworkStack::new(iface, mac, sockets, clock::NalClock), seed)
}

/// Ends the emulation with `status` (semihosting exit).
pub fn exit(status: i32) -> ! {
    semihosting::process::exit(status)
}

/// Logs `why` and ends the emulation with a failure.
pub fn fail(why: &str) -> ! {
    defmt::error!("firmware failed: {=str}", why);
    exit(1)
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    match info.location() {
        Some(at) => defmt::error!("panic at {=str}:{=u32}", at.file(), at.line()),
        None => defmt::error!("panic"),
    }
    exit(101)
}
