//! A serial line as a UDP stack: each datagram travels as one COBS frame
//! (docs/PROTOCOL.md 4.3), so the same [`EchoDevice`](crate::EchoDevice)
//! runs over a UART with no IP stack at all.
//!
//! The line joins exactly two ends, so there is one socket, and every frame
//! received is taken as coming from the address the socket was connected to.

use core::net::SocketAddr;
use embedded_nal::{nb, UdpClientStack};
use seqlink_core::framing::{encode_serial_frame, SerialDecoder};
use seqlink_core::wire::{Codec, HEADER_LEN};

/// A byte-wide serial line, polled.
pub trait ByteLine {
    /// The next received byte, if one waits.
    fn read_byte(&mut self) -> Option<u8>;
    /// Sends a byte; false when the line cannot take one now.
    fn write_byte(&mut self, byte: u8) -> bool;
}

/// What the serial stack refuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum SerialError {
    /// The line's one socket is open already.
    InUse,
    /// Send before connect.
    NotConnected,
    /// The datagram does not fit the transmit buffer once framed.
    TooLarge,
}

/// The one socket of a serial line.
#[derive(Debug)]
pub struct SerialSocket(());

/// A [`UdpClientStack`] over a [`ByteLine`], with caller-owned frame buffers.
pub struct SerialStack<'a, L> {
    line: L,
    decoder: SerialDecoder<&'a mut [u8]>,
    tx: &'a mut [u8],
    /// The framed datagram in `tx`: `tx_sent..tx_len` is still to go.
    tx_len: usize,
    tx_sent: usize,
    peer: Option<SocketAddr>,
    open: bool,
}

impl<'a, L: ByteLine> SerialStack<'a, L> {
    /// A stack over `line` that receives datagrams up to `rx.len()` bytes and
    /// sends those whose COBS frame fits `tx`
    /// (`seqlink_core::framing::max_serial_frame_len` of the datagram).
    /// Fails when `rx` cannot hold a packet header.
    pub fn new(line: L, rx: &'a mut [u8], tx: &'a mut [u8]) -> Result<SerialStack<'a, L>, seqlink_core::Error> {
        let max_payload = rx.len().saturating_sub(HEADER_LEN).min(usize::from(u16::MAX)) as u16;
        let decoder = SerialDecoder::new(rx, Codec::new().with_max_payload(max_payload))?;
        Ok(SerialStack { line, decoder, tx, tx_len: 0, tx_sent: 0, peer: None, open: false })
    }

    /// Sends what is left of the pending frame while the line takes bytes;
    /// whether the frame is gone.
    pub fn flush(&mut self) -> bool {
        while self.tx_sent < self.tx_len {
            let Some(&byte) = self.tx.get(self.tx_sent) else { break };
            if !self.line.write_byte(byte) {
                return false;
            }
            self.tx_sent += 1;
        }
        self.tx_sent = 0;
        self.tx_len = 0;
        true
    }

    /// The line, for its owner.
    pub fn line(&mut self) -> &mut L {
        &mut self.line
    }
}

impl<L: ByteLine> UdpClientStack for SerialStack<'_, L> {
    type UdpSocket = SerialSocket;
    type Error = SerialError;

    fn socket(&mut self) -> Result<SerialSocket, SerialError> {
        if self.open {
            return Err(SerialError::InUse);
        }
        self.open = true;
        Ok(SerialSocket(()))
    }

    fn connect(&mut self, _: &mut SerialSocket, remote: SocketAddr) -> Result<(), SerialError> {
        self.peer = Some(remote);
        Ok(())
    }

    fn send(&mut self, _: &mut SerialSocket, datagram: &[u8]) -> nb::Result<(), SerialError> {
        if self.peer.is_none() {
            return Err(nb::Error::Other(SerialError::NotConnected));
        }
        if !self.flush() {
            return Err(nb::Error::WouldBlock);
        }
        self.tx_len = encode_serial_frame(datagram, self.tx).map_err(|_| nb::Error::Other(SerialError::TooLarge))?;
        self.flush();
        Ok(())
    }

    fn receive(&mut self, _: &mut SerialSocket, buf: &mut [u8]) -> nb::Result<(usize, SocketAddr), SerialError> {
        let peer = self.peer.ok_or(nb::Error::Other(SerialError::NotConnected))?;
        self.flush();
        while let Some(byte) = self.line.read_byte() {
            let mut input = &[byte][..];
            // a broken or overlong frame is line noise: the next delimiter starts afresh
            if let Some(Ok(frame)) = self.decoder.decode_frame(&mut input) {
                if let Some(dst) = buf.get_mut(..frame.len()) {
                    dst.copy_from_slice(frame);
                    return Ok((frame.len(), peer));
                }
            }
        }
        Err(nb::Error::WouldBlock)
    }

    fn close(&mut self, _: SerialSocket) -> Result<(), SerialError> {
        self.open = false;
        Ok(())
    }
}
