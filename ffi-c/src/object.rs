//! Objects in memory the caller owns, or allocated by `_new`.
//!
//! An object is one block: a small header (a magic number naming its kind,
//! and the size of the allocation when `_new` made it), the Rust value, and
//! then the value's buffers (link storage, decoder buffers, endpoint slots
//! and arena). The C side sees only an opaque pointer to the block's start.
//! The block must not move while the object lives: the value points into
//! its own tail.

use crate::ptr::{check_out, put};
use crate::status::{Outcome, Status, SEQLINK_OK};
use core::ffi::c_void;
use core::mem::{align_of, size_of};
use std::alloc::{alloc_zeroed, dealloc, Layout};

/// The alignment every object's memory must have (a static array of
/// `uint64_t`, or `_Alignas(SEQLINK_ALIGN)`, or anything from `malloc`).
pub const SEQLINK_ALIGN: usize = 16;

/// The block layout, header and value first.
#[repr(C)]
pub(crate) struct Object<T> {
    magic: u32,
    /// Bytes allocated by `_new` (0: the caller's memory).
    owned_len: usize,
    value: T,
}

/// An opaque C type and the Rust value it stands for.
pub(crate) trait Opaque {
    /// The value kept in the object.
    type Inner;
    /// Names the kind in the header; cleared when the object is freed.
    const MAGIC: u32;
}

/// Where the tail starts: after the value, at `SEQLINK_ALIGN`.
const fn tail_offset<T>() -> usize {
    size_of::<Object<T>>().next_multiple_of(SEQLINK_ALIGN)
}

/// Bytes of an object whose tail is `tail` bytes (`None` past `isize::MAX`).
pub(crate) fn size_with_tail<O: Opaque>(tail: usize) -> Option<usize> {
    const { assert!(align_of::<Object<usize>>() <= SEQLINK_ALIGN) };
    tail_offset::<O::Inner>().checked_add(tail).filter(|&n| n <= isize::MAX as usize)
}

/// Builds an object in `mem` (`mem_len` bytes, `owned_len` if `_new`
/// allocated them) of `size` bytes: `build` gets the zeroed tail.
fn create<O: Opaque>(
    mem: *mut u8,
    mem_len: usize,
    size: usize,
    owned_len: usize,
    build: impl FnOnce(&'static mut [u8]) -> Result<O::Inner, Status>,
) -> Result<*mut O, Status> {
    if mem.is_null() {
        return Err(Status::NULL);
    }
    if !(mem as usize).is_multiple_of(SEQLINK_ALIGN) || align_of::<Object<O::Inner>>() > SEQLINK_ALIGN {
        return Err(Status::MISALIGNED);
    }
    if mem_len < size {
        return Err(Status::TOO_SMALL);
    }
    let offset = tail_offset::<O::Inner>();
    let tail_len = size.checked_sub(offset).ok_or(Status::TOO_SMALL)?;
    // SAFETY: `mem` holds `size` bytes (checked above), so the tail
    // `offset..size` is inside it; it is zeroed before a slice is made of it.
    // The slice lives as long as the object: the caller keeps the block in
    // place and untouched until `_free` (the documented contract).
    let tail = unsafe {
        let start = mem.add(offset);
        start.write_bytes(0, tail_len);
        core::slice::from_raw_parts_mut(start, tail_len)
    };
    let value = build(tail)?;
    let object = mem.cast::<Object<O::Inner>>();
    // SAFETY: `mem` is aligned for the object and holds its header and value
    // (`offset` bytes, at most `size`); `write` does not read the old bytes.
    unsafe { object.write(Object { magic: O::MAGIC, owned_len, value }) };
    Ok(mem.cast())
}

/// Allocates `size` zeroed bytes at `SEQLINK_ALIGN` for `_new`.
fn allocate(size: usize) -> Result<*mut u8, Status> {
    let layout = Layout::from_size_align(size.max(1), SEQLINK_ALIGN).map_err(|_| Status::NO_MEMORY)?;
    // SAFETY: the layout's size is not zero.
    let mem = unsafe { alloc_zeroed(layout) };
    if mem.is_null() {
        return Err(Status::NO_MEMORY);
    }
    Ok(mem)
}

/// Gives back memory from [`allocate`].
fn deallocate(mem: *mut u8, size: usize) {
    if let Ok(layout) = Layout::from_size_align(size.max(1), SEQLINK_ALIGN) {
        // SAFETY: `mem` came from `allocate(size)` with this very layout.
        unsafe { dealloc(mem, layout) };
    }
}

/// `_new`: allocates `size` bytes and builds the object in them.
fn create_owned<O: Opaque>(
    size: usize,
    build: impl FnOnce(&'static mut [u8]) -> Result<O::Inner, Status>,
) -> Result<*mut O, Status> {
    let mem = allocate(size)?;
    create::<O>(mem, size, size, size, build).inspect_err(|_| deallocate(mem, size))
}

/// Where an object is built: memory the caller owns (`_init`), or memory
/// allocated for it (`_new`).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Memory {
    /// `_init`: the caller's block and its length.
    Caller(*mut c_void, usize),
    /// `_new`: allocated here, given back by `_free`.
    Allocated,
}

/// The body of every `_init` and `_new`: builds the object of `size` bytes
/// in `memory` and stores it in `*out` (checked before anything is built).
pub(crate) fn make<O: Opaque>(
    memory: Memory,
    size: usize,
    out: *mut *mut O,
    build: impl FnOnce(&'static mut [u8]) -> Result<O::Inner, Status>,
) -> Outcome {
    check_out(out)?;
    let made = match memory {
        Memory::Caller(mem, len) => create::<O>(mem.cast(), len, size, 0, build)?,
        Memory::Allocated => create_owned::<O>(size, build)?,
    };
    put(out, made).and(Ok(SEQLINK_OK))
}

/// The live object at `ptr`, or why there is none.
pub(crate) fn get<'a, O: Opaque>(ptr: *mut O) -> Result<&'a mut O::Inner, Status> {
    let object = ptr.cast::<Object<O::Inner>>();
    if object.is_null() {
        return Err(Status::NULL);
    }
    if !object.is_aligned() {
        return Err(Status::MISALIGNED);
    }
    // SAFETY: non-null and aligned; the caller promises a pointer an `_init`
    // or `_new` function returned, whose magic is read without reading the
    // value. A stale or foreign block fails the magic check.
    let magic = unsafe { core::ptr::addr_of!((*object).magic).read() };
    if magic != O::MAGIC {
        return Err(Status::BAD_OBJECT);
    }
    // SAFETY: the magic says the block holds a live value of this kind.
    Ok(unsafe { &mut (*object).value })
}

/// `_free`: ends the object; gives its memory back if `_new` allocated it.
/// Null is a no-op.
pub(crate) fn free<O: Opaque>(ptr: *mut O) -> Result<(), Status> {
    if ptr.is_null() {
        return Ok(());
    }
    get::<O>(ptr)?;
    let object = ptr.cast::<Object<O::Inner>>();
    // SAFETY: `get` found a live object of this kind at `ptr`: its value is
    // dropped once, the magic cleared so that later calls fail, and the block
    // is deallocated only if `_new` allocated it (`owned_len` bytes).
    unsafe {
        let owned_len = (*object).owned_len;
        core::ptr::drop_in_place(core::ptr::addr_of_mut!((*object).value));
        (*object).magic = 0;
        if owned_len > 0 {
            deallocate(ptr.cast(), owned_len);
        }
    }
    Ok(())
}
