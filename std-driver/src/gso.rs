//! UDP generic segmentation offload (Linux 4.18 on): a run of datagrams of
//! one size to one address goes to the kernel in one call, and the kernel
//! (or the network card) cuts it apart again on the way out. Per datagram
//! this saves most of the kernel's sending work (one route, one buffer
//! and one pass down the stack per run). Elsewhere, or where the kernel
//! refuses, every datagram is sent on its own.

use std::io;
use std::net::UdpSocket;

/// Most datagrams one call may carry (the kernel's `UDP_MAX_SEGMENTS`).
pub(crate) const MAX_SEGMENTS: usize = 64;
/// Most bytes one call may carry (below the 65,507 of a UDP payload over IPv4).
pub(crate) const MAX_BYTES: usize = 65_000;
/// Whether this system can cut runs apart at all.
pub(crate) const AVAILABLE: bool = cfg!(target_os = "linux");

/// Sets the length the kernel cuts what `socket` sends into (`UDP_SEGMENT`;
/// 0: no cutting). A single datagram no longer than it is sent as it is.
#[cfg(target_os = "linux")]
pub(crate) fn set_segment(socket: &UdpSocket, len: usize) -> io::Result<()> {
    let value = libc::c_int::try_from(len).map_err(io::Error::other)?;
    set_int_option(socket, libc::SOL_UDP, libc::UDP_SEGMENT, value)
}

/// Sets the integer socket option `name` of `level` on `socket`.
#[cfg(target_os = "linux")]
pub(crate) fn set_int_option(
    socket: &UdpSocket,
    level: libc::c_int,
    name: libc::c_int,
    value: libc::c_int,
) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let size = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    // SAFETY: setsockopt reads `size` bytes (one c_int) from a pointer valid
    // for the whole call, on a descriptor `socket` keeps open.
    let result =
        unsafe { libc::setsockopt(socket.as_raw_fd(), level, name, (&value as *const libc::c_int).cast(), size) };
    if result == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Sets the length the kernel cuts what `socket` sends into: not on this system.
#[cfg(not(target_os = "linux"))]
pub(crate) fn set_segment(_socket: &UdpSocket, _len: usize) -> io::Result<()> {
    Err(io::ErrorKind::Unsupported.into())
}
