//! Bounded buffering of what the server sends.
//!
//! Reads go through one buffer whose size is set by what the caller is
//! waiting for: at most one line (255 bytes) while looking for the
//! identification, at most one packet once its length is known and checked.
//! A server that sends 10 MB without a newline therefore costs 255 bytes.
//! State lives in this struct, not in the future: dropping the exchange on a
//! timeout loses nothing that matters.

use std::io;
use tokio::io::{AsyncRead, AsyncReadExt};

pub(super) struct Inbound {
    /// Allocated window; `buf[consumed..filled]` is unread data.
    buf: Vec<u8>,
    consumed: usize,
    filled: usize,
}

/// Result of waiting for a line.
pub(super) enum LineRead<'a> {
    /// A complete line, terminator (`\n` or `\r\n`) removed.
    Line(&'a [u8]),
    /// `max_line_bytes` arrived without a newline.
    TooLong,
    /// The peer closed; any partial line is discarded.
    Closed,
}

impl Inbound {
    pub(super) fn new() -> Self {
        Inbound {
            buf: Vec::new(),
            consumed: 0,
            filled: 0,
        }
    }

    fn unread(&self) -> &[u8] {
        &self.buf[self.consumed..self.filled]
    }

    /// Moves unread bytes to the front and makes the window `window` bytes.
    fn prepare(&mut self, window: usize) {
        self.buf.copy_within(self.consumed..self.filled, 0);
        self.filled -= self.consumed;
        self.consumed = 0;
        if self.buf.len() < window {
            self.buf.resize(window, 0);
        }
    }

    /// One read syscall into the free part of the window; `Ok(0)` is EOF.
    async fn fill<S: AsyncRead + Unpin>(&mut self, stream: &mut S) -> io::Result<usize> {
        let n = stream.read(&mut self.buf[self.filled..]).await?;
        self.filled += n;
        Ok(n)
    }

    /// Waits for the next line of at most `max_line_bytes`, terminator included.
    pub(super) async fn line<S: AsyncRead + Unpin>(
        &mut self,
        stream: &mut S,
        max_line_bytes: usize,
    ) -> io::Result<LineRead<'_>> {
        loop {
            let unread = self.unread();
            let searched = &unread[..unread.len().min(max_line_bytes)];
            if let Some(newline) = searched.iter().position(|&b| b == b'\n') {
                let start = self.consumed;
                self.consumed += newline + 1;
                let line = &self.buf[start..start + newline];
                return Ok(LineRead::Line(line.strip_suffix(b"\r").unwrap_or(line)));
            }
            if unread.len() >= max_line_bytes {
                return Ok(LineRead::TooLong);
            }
            // Never read past one line's worth: the window is the line limit.
            self.prepare(max_line_bytes);
            if self.fill(stream).await? == 0 {
                return Ok(LineRead::Closed);
            }
        }
    }

    /// Waits until `needed` unread bytes are buffered and returns them without
    /// consuming; `Err(received)` when the peer closed first.
    pub(super) async fn peek<S: AsyncRead + Unpin>(
        &mut self,
        stream: &mut S,
        needed: usize,
    ) -> io::Result<Result<&[u8], usize>> {
        if self.filled - self.consumed < needed {
            self.prepare(needed);
            while self.filled < needed {
                if self.fill(stream).await? == 0 {
                    return Ok(Err(self.filled));
                }
            }
        }
        Ok(Ok(&self.buf[self.consumed..self.consumed + needed]))
    }

    /// Bytes received but not yet returned as a line or consumed: a partial
    /// line when the peer closed.
    pub(super) fn pending(&self) -> usize {
        self.filled - self.consumed
    }

    /// Marks `n` peeked bytes as read.
    pub(super) fn consume(&mut self, n: usize) {
        self.consumed = (self.consumed + n).min(self.filled);
    }

    /// Bytes currently allocated, for tests of the memory bound.
    #[cfg(test)]
    pub(super) fn allocated(&self) -> usize {
        self.buf.capacity()
    }
}
