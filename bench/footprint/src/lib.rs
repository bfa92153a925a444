//! Runtime shared by the size probe and its empty baseline: a panic handler
//! that halts (the `panic-halt` behaviour, written out: no message is ever
//! formatted). The reset handler, vector table and linker script come from
//! `cortex-m-rt`.
#![no_std]

use core::panic::PanicInfo;

#[panic_handler]
fn halt(_: &PanicInfo) -> ! {
    loop {
        core::hint::spin_loop();
    }
}
