//! The firmware's main loop, whichever engine its echo device runs on.

use crate::{clock, exit, Stack};
use seqlink_fw_app::{EchoDevice, Engine, Report};

/// Polls the board's UDP stack and `device` at each SysTick wake-up and
/// logs the device's reports; ends the emulation (semihosting exit 0) once
/// the peer's STOP completed.
pub fn run<E: Engine>(device: &mut EchoDevice<'static, Stack, E>, stack: &mut Stack) -> ! {
    let mut uptime = clock::Uptime::new();
    loop {
        let now = uptime.now();
        let _ = stack.poll();
        device.poll(stack, now);
        let _ = stack.poll();
        while let Some(report) = device.poll_report() {
            log(&report, device);
            if report == Report::Stopped {
                defmt::info!("echo device stopped after {=u32} connections", device.attempts());
                exit(0);
            }
        }
        // the 1 kHz SysTick wakes the core: frames are picked up within a millisecond
        cortex_m::asm::wfi();
    }
}

fn log<E: Engine>(report: &Report, device: &EchoDevice<'_, Stack, E>) {
    match report {
        Report::Failed { .. } | Report::SocketError | Report::Dropped { .. } => defmt::warn!("{}", report),
        Report::Closed { .. } => match device.connection().and_then(|conn| conn.retransmissions()) {
            Some(retransmissions) => {
                defmt::info!("{} ({=u64} retransmissions by the device)", report, retransmissions)
            }
            None => defmt::info!("{}", report),
        },
        _ => defmt::info!("{}", report),
    }
}
