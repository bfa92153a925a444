//! CPU time of the calling thread.

use std::time::Duration;

/// User plus system CPU time the calling thread has used so far.
pub fn thread_cpu() -> Duration {
    // SAFETY: getrusage writes one plain struct it is given a valid pointer to.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        if libc::getrusage(libc::RUSAGE_THREAD, &mut usage) != 0 {
            return Duration::ZERO;
        }
        usage
    };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, (t.tv_usec as u32).saturating_mul(1000));
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// Runs `f` and adds the CPU time it used on this thread.
pub fn measured<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let before = thread_cpu();
    let out = f();
    (out, thread_cpu().saturating_sub(before))
}
