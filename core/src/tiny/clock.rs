//! A tiny client's time: the caller's 64-bit milliseconds kept as 32-bit
//! counts that wrap, compared as RFC 1982 serial numbers (`docs/PROTOCOL.md`
//! 6.9). Every interval is below 2^31 ms (24.8 days): longer configured
//! times are cut to that. On a 32-bit CPU this halves the cost of every
//! compare, add and `min` of a deadline.

/// Milliseconds modulo 2^32.
pub(super) type Time = u32;

/// The longest interval a deadline may lie ahead: 2^31 - 1 ms.
const MAX_INTERVAL: u32 = i32::MAX as u32;

/// The low 32 bits of the caller's clock.
pub(super) const fn time(now: u64) -> Time {
    now as Time
}

/// `ms` after `t` (at most [`MAX_INTERVAL`]).
pub(super) fn after(t: Time, ms: u32) -> Time {
    t.wrapping_add(ms.min(MAX_INTERVAL))
}

/// Whether `deadline` has come at `now`.
pub(super) fn due(now: Time, deadline: Time) -> bool {
    now.wrapping_sub(deadline) <= MAX_INTERVAL
}

/// The later of two times.
pub(super) fn later(a: Time, b: Time) -> Time {
    if due(a, b) {
        a
    } else {
        b
    }
}

/// The earlier of two times.
pub(super) fn earlier(a: Time, b: Time) -> Time {
    if due(a, b) {
        b
    } else {
        a
    }
}

/// Milliseconds from `since` to `now`; 0 if the clock went backwards.
pub(super) fn elapsed(now: Time, since: Time) -> u32 {
    if due(now, since) {
        now.wrapping_sub(since)
    } else {
        0
    }
}

/// `deadline` on the caller's clock, given `clock`, the latest time the caller passed.
pub(super) fn on_clock(clock: u64, deadline: Time) -> u64 {
    let ahead = deadline.wrapping_sub(clock as Time) as i32;
    clock.saturating_add_signed(i64::from(ahead))
}
