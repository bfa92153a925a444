//! The link under odd clocks: a `now` near `u64::MAX` (deadlines past the
//! end of the clock), a clock that jumps forward by hours, one that stands
//! still, and one that runs backwards by some milliseconds. Two links
//! exchange numbered messages both ways through a lossy channel; every
//! message must arrive, in order, without a panic (these tests run with
//! overflow checks on) and without the link failing.

use seqlink_core::link::{Delivery, Link, LinkConfig, SendError};
use seqlink_core::PacketType;
use seqlink_tests::sim::Rng;

/// Messages each side sends.
const MESSAGES: u32 = 300;
/// A side offers its next message every `PACE` steps, so that the traffic
/// lasts through the clock's oddities.
const PACE: u64 = 4;
/// Milliseconds per step of a normal clock.
const TICK: u64 = 5;

struct Side {
    link: Link<Vec<u8>>,
    next: u32,
    received: u32,
    inbound: Vec<Vec<u8>>,
}

/// Runs the exchange: at step `k` both sides are told the time is
/// `clock(k)`, and the channel loses `loss(k)` of the datagrams sent then;
/// the others arrive at the next step. Returns the steps it took.
fn exchange(name: &str, clock: impl Fn(u64) -> u64, loss: impl Fn(u64) -> f64, max_steps: u64) -> u64 {
    let config = LinkConfig::new().with_window(8).with_max_payload(64);
    let mut sides: Vec<Side> = (0..2)
        .map(|_| Side {
            link: Link::new(config, vec![0u8; config.storage_len()]).unwrap(),
            next: 0,
            received: 0,
            inbound: Vec::new(),
        })
        .collect();
    let mut rng = Rng::new(0xc10c);
    let mut buf = vec![0u8; config.max_datagram_len()];
    for step in 0..max_steps {
        let now = clock(step);
        let mut outbound: [Vec<Vec<u8>>; 2] = [Vec::new(), Vec::new()];
        for (me, side) in sides.iter_mut().enumerate() {
            let link = &mut side.link;
            while side.next < MESSAGES && u64::from(side.next) <= step / PACE {
                match link.send(PacketType(100), &side.next.to_be_bytes(), Delivery::Reliable) {
                    Ok(()) => side.next += 1,
                    Err(SendError::WouldBlock) => break,
                    Err(e) => panic!("{name}: step {step}: send: {e:?}"),
                }
            }
            for datagram in side.inbound.drain(..) {
                link.handle_datagram(now, &datagram);
            }
            if link.poll_timeout().is_some_and(|t| t <= now) {
                link.handle_timeout(now);
            }
            let mut sent = 0;
            while let Some(n) = link.poll_transmit(now, &mut buf).unwrap() {
                sent += 1;
                assert!(sent < 100, "{name}: step {step}: side {me} transmits without end at {now}");
                if !rng.chance(loss(step)) {
                    outbound[1 - me].push(buf[..n].to_vec());
                }
            }
            let mut message = [0u8; 64];
            while let Some(r) = link.recv(&mut message).unwrap() {
                let index = u32::from_be_bytes(message[..r.len].try_into().unwrap());
                assert_eq!(index, side.received, "{name}: side {me} got message {index} out of order");
                side.received += 1;
            }
            assert_eq!(link.failure(), None, "{name}: step {step}: side {me} failed at {now}: {:?}", link.stats());
        }
        for (side, datagrams) in sides.iter_mut().zip(outbound) {
            side.inbound = datagrams;
        }
        if sides.iter().all(|s| s.received == MESSAGES) {
            return step;
        }
    }
    let got: Vec<u32> = sides.iter().map(|s| s.received).collect();
    panic!("{name}: after {max_steps} steps (clock {}) only {got:?} of {MESSAGES} delivered", clock(max_steps));
}

#[test]
fn clock_near_its_end() {
    // Starts 3 s before the end of the clock and reaches it after 600
    // steps, halfway through the traffic: retransmission deadlines, delayed
    // ACKs and NACK intervals run past u64::MAX. Then the clock stands at
    // u64::MAX and the network turns lossless (no timer can expire there).
    let start = u64::MAX - 3_000;
    let end_step = 3_000 / TICK;
    let steps =
        exchange("near u64::MAX", |k| start.saturating_add(k * TICK), |k| if k < end_step { 0.1 } else { 0.0 }, 20_000);
    assert!(steps > end_step + 100, "the traffic ran past the end ({steps} steps)");
}

#[test]
fn clock_jumping_forward_by_hours() {
    // every 150 steps the clock jumps 3 hours ahead
    let steps = exchange("jumps", |k| 1_000 + k * TICK + (k / 150) * 3 * 3_600_000, |_| 0.1, 200_000);
    assert!(steps > 150, "the traffic saw a jump");
}

#[test]
fn clock_standing_still() {
    // 100 of every 250 steps the clock stands still
    let clock = |k: u64| 1_000 + ((k / 250) * 150 + (k % 250).min(150)) * TICK;
    exchange("standing still", clock, |_| 0.1, 200_000);
}

#[test]
fn clock_running_backwards() {
    // every 20 steps the clock goes back 45 ms, then runs on from there
    let clock = |k: u64| 1_000 + k * TICK - (k / 20) * (45 + TICK);
    exchange("backwards", clock, |_| 0.1, 200_000);
}
