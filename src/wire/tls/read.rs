//! The answer over a stream, within a byte bound. The caller applies the
//! time bound (the flow's budget) by racing this future.

use tokio::io::{AsyncRead, AsyncReadExt};

use super::error::TlsWireError;
use super::server_hello::{Answer, Scan, scan_answer};

/// Most bytes read while waiting for one answer: the largest ServerHello
/// split over records, with room for their headers.
pub const MAX_ANSWER_BYTES: usize = super::MAX_SERVER_HELLO + 4 + 16 * 5 + (1 << 14);

/// Reads until the first answer is complete; never reads past the bytes
/// [`scan_answer`] asks for, so at most [`MAX_ANSWER_BYTES`] are buffered.
pub async fn read_answer<S: AsyncRead + Unpin>(stream: &mut S) -> Result<Answer, TlsWireError> {
    let mut buf: Vec<u8> = Vec::new();
    let mut filled = 0usize;
    loop {
        let need = match scan_answer(&buf[..filled])? {
            Scan::Done(answer) => return Ok(answer),
            Scan::Need(n) => n,
        };
        if need > MAX_ANSWER_BYTES {
            return Err(TlsWireError::AnswerTooLarge {
                limit: MAX_ANSWER_BYTES,
            });
        }
        if buf.len() < need {
            buf.resize(need, 0);
        }
        while filled < need {
            let n = stream.read(&mut buf[filled..need]).await?;
            if n == 0 {
                return Err(TlsWireError::Closed { received: filled });
            }
            filled += n;
        }
    }
}
