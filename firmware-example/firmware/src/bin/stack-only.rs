//! The size baseline of the firmware example: the same board, stack and
//! logging, with a plain UDP echo in place of the seqlink device (it sends
//! every datagram from the peer straight back). `scripts/test-firmware.sh
//! --size` reports the firmware minus this as the seqlink part.
#![no_std]
#![no_main]

use cortex_m_rt::entry;
use embedded_nal::UdpClientStack;
use seqlink_fw_firmware::{fail, NetworkMemory, PEER};

#[entry]
fn main() -> ! {
    let Some(network) = cortex_m::singleton!(: NetworkMemory = NetworkMemory::new()) else { fail("taken twice") };
    let Some(datagram) = cortex_m::singleton!(: [u8; 160] = [0; 160]) else { fail("taken twice") };
    let (mut stack, _) = seqlink_fw_firmware::start(network);
    let Ok(mut socket) = stack.socket() else { fail("no socket") };
    if stack.connect(&mut socket, PEER).is_err() {
        fail("no route to the peer");
    }
    defmt::info!("plain UDP echo: peer port {=u16}", PEER.port());
    loop {
        let _ = stack.poll();
        while let Ok((len, from)) = stack.receive(&mut socket, datagram) {
            if from == PEER {
                let _ = stack.send(&mut socket, datagram.get(..len).unwrap_or(&[]));
            }
        }
        cortex_m::asm::wfi();
    }
}
