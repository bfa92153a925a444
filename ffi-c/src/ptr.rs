//! Checked conversions of the raw pointers C passes in.

use crate::status::Status;

/// The `len` bytes at `data` (any pointer, null included, when `len` is 0).
pub(crate) fn bytes<'a>(data: *const u8, len: usize) -> Result<&'a [u8], Status> {
    if len == 0 {
        return Ok(&[]);
    }
    if data.is_null() {
        return Err(Status::NULL);
    }
    if len > isize::MAX as usize {
        return Err(Status::INVALID);
    }
    // SAFETY: non-null, and the caller promises `len` readable bytes at `data`
    // that nothing writes while the call runs (the documented contract).
    Ok(unsafe { core::slice::from_raw_parts(data, len) })
}

/// The `len` writable bytes at `data` (any pointer when `len` is 0).
pub(crate) fn bytes_mut<'a>(data: *mut u8, len: usize) -> Result<&'a mut [u8], Status> {
    if len == 0 {
        return Ok(&mut []);
    }
    if data.is_null() {
        return Err(Status::NULL);
    }
    if len > isize::MAX as usize {
        return Err(Status::INVALID);
    }
    // SAFETY: non-null, and the caller promises `len` writable bytes at `data`
    // that nothing else touches while the call runs.
    Ok(unsafe { core::slice::from_raw_parts_mut(data, len) })
}

/// A struct the caller passes in.
pub(crate) fn input<'a, T>(ptr: *const T) -> Result<&'a T, Status> {
    if ptr.is_null() {
        return Err(Status::NULL);
    }
    if !ptr.is_aligned() {
        return Err(Status::MISALIGNED);
    }
    // SAFETY: non-null and aligned; the caller promises an initialized `T`.
    Ok(unsafe { &*ptr })
}

/// Checks an out-pointer before anything is done, so that a call either
/// fails without effect or completes.
pub(crate) fn check_out<T>(ptr: *mut T) -> Result<(), Status> {
    if ptr.is_null() {
        return Err(Status::NULL);
    }
    if !ptr.is_aligned() {
        return Err(Status::MISALIGNED);
    }
    Ok(())
}

/// Writes `value` through an out-pointer (checked with [`check_out`]).
pub(crate) fn put<T>(ptr: *mut T, value: T) -> Result<(), Status> {
    check_out(ptr)?;
    // SAFETY: non-null and aligned; the caller promises room for a `T`.
    // `write` never reads (or drops) what was there.
    unsafe { ptr.write(value) };
    Ok(())
}
