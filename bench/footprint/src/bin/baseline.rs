//! The empty program the probe is measured against: the same runtime
//! (vector table, reset handler, panic handler) and nothing else.
#![no_std]
#![no_main]

use cortex_m_rt::entry;
use seqlink_footprint as _;

#[entry]
fn main() -> ! {
    loop {
        core::hint::spin_loop();
    }
}
