//! Bridges the daemon's async export stream to the synchronous archive reader: a pump
//! task moves chunks into a bounded channel, and [`ChannelReader`] (used inside
//! `spawn_blocking`) implements `std::io::Read` over it.
//!
//! Invariants: at most [`CHANNEL_CHUNKS`] chunks are buffered (the daemon is slowed by
//! back-pressure, memory stays bounded); a stream error or a cancellation reaches the
//! reader as an `io::Error`, never as a clean end of file, so a truncated export can
//! never pass for a complete one.

use crate::source::docker::DockerError;
use bytes::{Buf, Bytes};
use futures_util::{Stream, StreamExt};
use parking_lot::Mutex;
use std::io::{self, Read};
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Chunks in flight between the pump and the reader.
pub const CHANNEL_CHUNKS: usize = 16;

/// The first stream error, kept so the engine can report it instead of whatever the
/// parser made of the cut-off data.
pub type StreamFailure = Arc<Mutex<Option<DockerError>>>;

/// Starts pumping `stream` into a channel; returns the blocking reader and the slot
/// where a stream error is recorded.
pub fn spawn_pump<S>(stream: S, cancel: CancellationToken) -> (ChannelReader, StreamFailure)
where
    S: Stream<Item = Result<Bytes, DockerError>> + Send + 'static,
{
    let (tx, rx) = mpsc::channel::<io::Result<Bytes>>(CHANNEL_CHUNKS);
    let failure: StreamFailure = Arc::default();
    let slot = failure.clone();
    tokio::spawn(async move {
        let mut stream = std::pin::pin!(stream);
        loop {
            let next = tokio::select! {
                n = stream.next() => n,
                _ = cancel.cancelled() => Some(Err(DockerError::Daemon {
                    address: String::new(),
                    what: "export the image",
                    message: "cancelled".into(),
                })),
            };
            let item = match next {
                None => break,
                Some(Ok(b)) => Ok(b),
                Some(Err(e)) => {
                    let msg = e.to_string();
                    slot.lock().get_or_insert(e);
                    Err(io::Error::other(msg))
                }
            };
            let failed = item.is_err();
            // The reader went away (finished or failed): stop pulling from the daemon.
            if tx.send(item).await.is_err() || failed {
                break;
            }
        }
    });
    let reader = ChannelReader {
        rx,
        current: Bytes::new(),
    };
    (reader, failure)
}

/// A blocking `Read` over the pumped chunks. Call only from a blocking context.
pub struct ChannelReader {
    rx: mpsc::Receiver<io::Result<Bytes>>,
    current: Bytes,
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.current.is_empty() {
            match self.rx.blocking_recv() {
                Some(Ok(b)) => self.current = b,
                Some(Err(e)) => return Err(e),
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        self.current.advance(n);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn reads_all_chunks_then_eof() {
        let chunks: Vec<Result<Bytes, DockerError>> =
            (0..40u8).map(|i| Ok(Bytes::from(vec![i; 1000]))).collect();
        let (mut r, _) = spawn_pump(futures_util::stream::iter(chunks), CancellationToken::new());
        let out = tokio::task::spawn_blocking(move || {
            let mut v = Vec::new();
            r.read_to_end(&mut v).map(|_| v)
        })
        .await
        .unwrap()
        .unwrap();
        assert_eq!(out.len(), 40_000);
        assert_eq!(out[39_999], 39);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_stream_error_is_a_read_error_not_eof() {
        let chunks = vec![
            Ok(Bytes::from_static(b"abc")),
            Err(DockerError::Stalled {
                id: "x".into(),
                secs: 60,
            }),
        ];
        let (mut r, failure) =
            spawn_pump(futures_util::stream::iter(chunks), CancellationToken::new());
        let res = tokio::task::spawn_blocking(move || {
            let mut v = Vec::new();
            r.read_to_end(&mut v)
        })
        .await
        .unwrap();
        let err = res.unwrap_err().to_string();
        assert!(err.contains("stalled"), "{err}");
        assert!(matches!(
            failure.lock().as_ref(),
            Some(DockerError::Stalled { .. })
        ));
    }
}
