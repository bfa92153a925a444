//! Milliseconds since boot from SysTick: the `now` of the seqlink core, the
//! clock of smoltcp-nal, and the defmt timestamp.

use core::sync::atomic::{AtomicU32, Ordering};
use cortex_m::peripheral::syst::SystClkSource;
use cortex_m::peripheral::SYST;
use cortex_m_rt::exception;

/// The core clock QEMU's lm3s6965evb runs at out of reset (12 MHz crystal, no PLL).
const CORE_CLOCK_HZ: u32 = 12_000_000;

/// Milliseconds since [`start`], wrapping after 49 days (only the SysTick handler writes it).
static MILLIS: AtomicU32 = AtomicU32::new(0);

/// Starts a 1 kHz SysTick interrupt.
pub fn start(mut syst: SYST) {
    syst.set_clock_source(SystClkSource::Core);
    syst.set_reload(CORE_CLOCK_HZ / 1_000 - 1);
    syst.clear_current();
    syst.enable_interrupt();
    syst.enable_counter();
}

#[exception]
fn SysTick() {
    // load and store (no read-modify-write atomics on Cortex-M0): the handler is the only writer
    MILLIS.store(MILLIS.load(Ordering::Relaxed).wrapping_add(1), Ordering::Relaxed);
}

/// Milliseconds since [`start`], wrapping.
pub fn millis() -> u32 {
    MILLIS.load(Ordering::Relaxed)
}

/// Milliseconds since [`start`] on 64 bits: call it at least every 49 days.
pub struct Uptime {
    last: u32,
    total: u64,
}

impl Uptime {
    /// Counting from now.
    pub const fn new() -> Uptime {
        Uptime { last: 0, total: 0 }
    }

    /// Milliseconds since boot.
    pub fn now(&mut self) -> u64 {
        let now = millis();
        self.total += u64::from(now.wrapping_sub(self.last));
        self.last = now;
        self.total
    }
}

impl Default for Uptime {
    fn default() -> Uptime {
        Uptime::new()
    }
}

/// The same milliseconds for smoltcp-nal.
pub struct NalClock;

impl embedded_time::Clock for NalClock {
    type T = u32;
    const SCALING_FACTOR: embedded_time::rate::Fraction = embedded_time::rate::Fraction::new(1, 1_000);

    fn try_now(&self) -> Result<embedded_time::Instant<Self>, embedded_time::clock::Error> {
        Ok(embedded_time::Instant::new(millis()))
    }
}

defmt::timestamp!("{=u32:ms}", millis());
