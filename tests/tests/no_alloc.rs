//! A counting global allocator proves that the core allocates nothing while
//! it carries a lossy, reordering transfer of reliable (fragmented too) and
//! unreliable messages: every buffer is allocated before counting starts.

use seqlink_core::link::{Delivery, Link, LinkConfig};
use seqlink_core::PacketType;
use seqlink_tests::sim::Rng;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

struct Counting;

thread_local! {
    static ARMED: Cell<bool> = const { Cell::new(false) };
    static COUNT: Cell<u64> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if ARMED.with(|a| a.get()) {
            COUNT.with(|c| c.set(c.get() + 1));
        }
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if ARMED.with(|a| a.get()) {
            COUNT.with(|c| c.set(c.get() + 1));
        }
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const SLOTS: usize = 512;
const MTU: usize = 1500;

/// A fixed ring of datagrams in flight, reordering by swapping entries.
struct Wire {
    data: Vec<[u8; MTU]>,
    len: Vec<usize>,
    head: usize,
    count: usize,
}

impl Wire {
    fn new() -> Wire {
        Wire { data: vec![[0u8; MTU]; SLOTS], len: vec![0; SLOTS], head: 0, count: 0 }
    }
    fn push(&mut self, bytes: &[u8], rng: &mut Rng) {
        if self.count == SLOTS || rng.chance(0.1) {
            return; // lost
        }
        let i = (self.head + self.count) % SLOTS;
        self.data[i][..bytes.len()].copy_from_slice(bytes);
        self.len[i] = bytes.len();
        self.count += 1;
        if self.count > 1 && rng.chance(0.1) {
            let j = (self.head + rng.below(self.count as u64) as usize) % SLOTS;
            self.data.swap(i, j);
            self.len.swap(i, j);
        }
    }
    fn pop(&mut self, out: &mut [u8; MTU]) -> Option<usize> {
        if self.count == 0 {
            return None;
        }
        let n = self.len[self.head];
        out[..n].copy_from_slice(&self.data[self.head][..n]);
        self.head = (self.head + 1) % SLOTS;
        self.count -= 1;
        Some(n)
    }
}

#[test]
fn a_lossy_transfer_allocates_nothing() {
    let mut config = LinkConfig::new().with_window(32).with_max_payload(1200);
    config.trace_slots = 16;
    let mut a = Link::new(config, vec![0u8; config.storage_len()]).unwrap();
    let mut b = Link::new(config, vec![0u8; config.storage_len()]).unwrap();
    let mut ab = Wire::new();
    let mut ba = Wire::new();
    let mut rng = Rng::new(42);
    let message = vec![0x5au8; 5000];
    let mut buf = [0u8; MTU];
    let mut inbox = vec![0u8; 1 << 16];
    let (mut sent, mut reliable_got, mut unreliable_got) = (0u32, 0u32, 0u32);

    ARMED.with(|a| a.set(true));
    let mut now = 0u64;
    while reliable_got < 2000 && now < 10_000_000 {
        while sent < 2000 {
            let len = (sent as usize * 37) % message.len();
            if a.send(PacketType(100), &message[..len], Delivery::Reliable).is_err() {
                break;
            }
            sent += 1;
            let _ = a.send(PacketType(101), &message[..100], Delivery::Unreliable);
        }
        a.handle_timeout(now);
        b.handle_timeout(now);
        while let Ok(Some(n)) = a.poll_transmit(now, &mut buf) {
            ab.push(&buf[..n], &mut rng);
        }
        while let Ok(Some(n)) = b.poll_transmit(now, &mut buf) {
            ba.push(&buf[..n], &mut rng);
        }
        while let Some(n) = ab.pop(&mut buf) {
            b.handle_datagram(now, &buf[..n]);
        }
        while let Some(n) = ba.pop(&mut buf) {
            a.handle_datagram(now, &buf[..n]);
        }
        while let Ok(Some(r)) = b.recv(&mut inbox) {
            match r.delivery {
                Delivery::Reliable => reliable_got += 1,
                Delivery::Unreliable => unreliable_got += 1,
            }
        }
        while a.poll_trace().is_some() || a.poll_event().is_some() {}
        while b.poll_trace().is_some() || b.poll_event().is_some() {}
        now += 5;
    }
    ARMED.with(|a| a.set(false));

    let allocations = COUNT.with(|c| c.get());
    assert_eq!(reliable_got, 2000, "the transfer completed");
    assert!(unreliable_got > 0);
    assert!(a.stats().retransmissions > 0, "the transfer saw losses");
    assert_eq!(allocations, 0, "the core allocated during the transfer");
}

#[test]
fn the_counter_sees_allocations() {
    ARMED.with(|a| a.set(true));
    let v: Vec<u8> = std::hint::black_box(Vec::with_capacity(64));
    ARMED.with(|a| a.set(false));
    drop(v);
    assert!(COUNT.with(|c| c.get()) > 0);
}
