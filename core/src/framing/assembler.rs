//! Reassembly of length-delimited frames from a byte stream, shared by the
//! packet stream decoder and the length-prefixed decoder.

use crate::error::Error;
use crate::wire::HEADER_LEN;

/// Where a frame's length lives and how large it may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Layout {
    /// A seqlink packet: 9-byte header whose bytes 5..7 are the payload length.
    Packet { max_payload: usize, trailer: usize },
    /// `[u32 big-endian length][payload]`.
    LengthPrefixed { max_len: usize },
}

impl Layout {
    pub(crate) const fn header_len(&self) -> usize {
        match self {
            Layout::Packet { .. } => HEADER_LEN,
            Layout::LengthPrefixed { .. } => 4,
        }
    }

    /// The largest frame this layout accepts.
    pub(crate) const fn max_frame_len(&self) -> usize {
        match *self {
            Layout::Packet { max_payload, trailer } => HEADER_LEN + max_payload + trailer,
            Layout::LengthPrefixed { max_len } => 4 + max_len,
        }
    }

    /// Total frame length from a complete header, or the fatal error of an over-long one.
    fn frame_len(&self, header: &[u8]) -> Result<usize, Error> {
        match (*self, header) {
            (Layout::Packet { max_payload, trailer }, [_, _, _, _, _, hi, lo, _, _]) => {
                let len = usize::from(u16::from_be_bytes([*hi, *lo]));
                if len > max_payload {
                    return Err(Error::PayloadTooLarge { len, max: max_payload });
                }
                Ok(HEADER_LEN + len + trailer)
            }
            (Layout::LengthPrefixed { max_len }, [a, b, c, d]) => {
                let len = u32::from_be_bytes([*a, *b, *c, *d]) as usize;
                if len > max_len {
                    return Err(Error::PayloadTooLarge { len, max: max_len });
                }
                Ok(4 + len)
            }
            _ => Err(Error::Truncated { needed: self.header_len(), available: header.len() }),
        }
    }
}

/// Progress through the current frame. The frame's bytes live in the
/// caller's buffer; a whole frame found in one input chunk is returned in
/// place, without a copy.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Assembler {
    filled: usize,
    frame_ready: bool,
    failed: Option<Error>,
}

impl Assembler {
    /// Takes bytes from the front of `input` until a whole frame is there and
    /// returns it; `None` means all of `input` was taken and more is needed.
    ///
    /// An over-long length is fatal: the error is returned for this and
    /// every later call with input (which is then all taken), until `reset`.
    pub(crate) fn next<'x, 'b: 'x, 'i: 'x>(
        &mut self,
        buf: &'b mut [u8],
        input: &mut &'i [u8],
        layout: &Layout,
    ) -> Option<Result<&'x [u8], Error>> {
        if let Some(error) = self.failed {
            return self.fail(error, input);
        }
        if self.frame_ready {
            self.filled = 0;
            self.frame_ready = false;
        }
        let header_len = layout.header_len();
        if self.filled == 0 {
            if let Some(header) = input.get(..header_len) {
                match layout.frame_len(header) {
                    Err(error) => return self.fail(error, input),
                    Ok(len) => {
                        if let (Some(frame), Some(rest)) = (input.get(..len), input.get(len..)) {
                            *input = rest;
                            return Some(Ok(frame));
                        }
                    }
                }
            }
        }
        if self.filled < header_len {
            self.take(buf, input, header_len);
            if self.filled < header_len {
                return None;
            }
        }
        let len = match layout.frame_len(buf.get(..header_len).unwrap_or(&[])) {
            Ok(len) => len,
            Err(error) => return self.fail(error, input),
        };
        if len > buf.len() {
            return self.fail(Error::BufferTooSmall { needed: len, available: buf.len() }, input);
        }
        self.take(buf, input, len);
        if self.filled < len {
            return None;
        }
        self.frame_ready = true;
        Some(Ok(buf.get(..len).unwrap_or(&[])))
    }

    /// Copies input bytes into `buf` until `self.filled == upto` or input runs out.
    fn take(&mut self, buf: &mut [u8], input: &mut &[u8], upto: usize) {
        let want = upto.saturating_sub(self.filled).min(input.len());
        if let (Some(dst), Some(src)) = (buf.get_mut(self.filled..self.filled + want), input.get(..want)) {
            dst.copy_from_slice(src);
            self.filled += want;
            *input = input.get(want..).unwrap_or(&[]);
        }
    }

    fn fail<'x>(&mut self, error: Error, input: &mut &[u8]) -> Option<Result<&'x [u8], Error>> {
        if self.failed.is_some() && input.is_empty() {
            return None;
        }
        self.failed = Some(error);
        *input = &[];
        Some(Err(error))
    }

    /// Bytes of an incomplete frame held so far.
    pub(crate) fn buffered(&self) -> usize {
        if self.frame_ready {
            0
        } else {
            self.filled
        }
    }

    /// The fatal error the stream failed with, if any.
    pub(crate) fn failure(&self) -> Option<Error> {
        self.failed
    }

    /// Forgets any partial frame and any failure.
    pub(crate) fn reset(&mut self) {
        *self = Assembler::default();
    }
}
