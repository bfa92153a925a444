//! The one loop every blocking driver runs (the UDP client, the UDP server
//! and the TCP client): take what arrived, run the timers that are due, send
//! what is ready, hand events to the application, then wait on the socket's
//! readiness until the next timer.

use crate::{wait_time, Clock};
use std::io;
use std::time::{Duration, Instant};

/// The longest single wait: a blocking call still notices its own deadline.
const POLL_CAP: Duration = Duration::from_millis(50);

/// One driver's steps; [`EventLoop::run`] runs them in order.
pub(crate) trait EventLoop {
    /// Processes everything waiting on the socket, without waiting.
    fn receive(&mut self) -> io::Result<()>;
    /// The core's next deadline.
    fn next_timer(&self) -> Option<u64>;
    /// Runs the core's timers due at `now`.
    fn run_timers(&mut self, now: u64);
    /// Sends what the core has ready.
    fn send_ready(&mut self) -> io::Result<()>;
    /// Moves events where the application reads them.
    fn collect(&mut self);
    /// Waits at most `timeout` for the socket; returns whether there is something to read.
    fn wait(&mut self, timeout: Duration) -> io::Result<bool>;
    /// The driver's clock.
    fn clock(&self) -> &Clock;

    /// Receives, runs timers and sends without waiting: one turn for
    /// applications with their own loop.
    fn turn(&mut self) -> io::Result<()> {
        self.receive()?;
        self.advance()
    }

    /// Runs the timers that are due, sends what is ready, collects events.
    fn advance(&mut self) -> io::Result<()> {
        let now = self.clock().now();
        if self.next_timer().is_some_and(|t| now >= t) {
            self.run_timers(now);
        }
        self.send_ready()?;
        self.collect();
        Ok(())
    }

    /// Runs turns until `done` holds or `deadline` passes; returns whether `done` held.
    /// The socket is read on the way in (whatever is already waiting), then
    /// whenever its readiness says there is something. (A build that read
    /// only on readiness saw the impaired CLI interop case stall in 2 of 7
    /// runs; 20 later runs of that build did not, so the link is not proven.)
    fn run(&mut self, deadline: Option<Instant>, mut done: impl FnMut(&mut Self) -> bool) -> io::Result<bool>
    where
        Self: Sized,
    {
        let mut readable = true; // first, whatever is already waiting
        loop {
            if readable {
                self.receive()?;
            }
            self.advance()?;
            if done(self) {
                return Ok(true);
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return Ok(false);
            }
            readable = self.wait(wait_time(self.clock(), self.next_timer(), deadline, POLL_CAP))?;
        }
    }
}
