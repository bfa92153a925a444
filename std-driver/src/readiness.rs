//! Waiting until sockets are ready, with poll(2) (WSAPoll on Windows)
//! through rustix's safe wrapper, instead of sleeping and retrying.

use rustix::event::{poll, Timespec};
pub(crate) use rustix::event::{PollFd, PollFlags};
use std::io;
use std::time::Duration;

/// Waits at most `timeout` until one of `fds` is ready as asked, and fills
/// in their `revents`. A wait cut short by a signal counts as a timeout.
pub(crate) fn wait(fds: &mut [PollFd<'_>], timeout: Duration) -> io::Result<()> {
    let timeout = Timespec::try_from(timeout).map_err(io::Error::other)?;
    match poll(fds, Some(&timeout)) {
        Ok(_) => Ok(()),
        Err(rustix::io::Errno::INTR) => {
            fds.iter_mut().for_each(PollFd::clear_revents);
            Ok(())
        }
        Err(e) => Err(e.into()),
    }
}

/// Whether `revents` says there is something to read (data, the end of the stream, or an error to collect).
pub(crate) fn readable(revents: PollFlags) -> bool {
    revents.intersects(PollFlags::IN | PollFlags::HUP | PollFlags::ERR)
}

/// Whether `revents` says a write would make progress (or fail at once).
pub(crate) fn writable(revents: PollFlags) -> bool {
    revents.intersects(PollFlags::OUT | PollFlags::HUP | PollFlags::ERR)
}
