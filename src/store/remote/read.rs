//! Reading an object's bytes from the bucket as a plain [`Read`], one chunk of
//! the response at a time (memory bounded by a chunk, whatever the size).

use std::io::{self, Read};

use bytes::Bytes;
use futures_util::StreamExt as _;
use futures_util::stream::BoxStream;

use super::client::{Client, io_error};

/// An object's bytes as they arrive.
pub struct ObjectReader {
    client: Client,
    stream: Option<BoxStream<'static, object_store::Result<Bytes>>>,
    chunk: Bytes,
}

impl ObjectReader {
    /// Reads `stream`, the body of a GET, with `client`'s runtime.
    #[must_use]
    pub fn new(client: Client, stream: BoxStream<'static, object_store::Result<Bytes>>) -> Self {
        ObjectReader {
            client,
            stream: Some(stream),
            chunk: Bytes::new(),
        }
    }
}

impl Read for ObjectReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.chunk.is_empty() {
            let Some(mut stream) = self.stream.take() else {
                return Ok(0);
            };
            let (next, stream) = self.client.run(async move {
                let next = stream.next().await;
                (next, stream)
            })?;
            match next {
                Some(Ok(chunk)) => {
                    self.chunk = chunk;
                    self.stream = Some(stream);
                }
                Some(Err(e)) => return Err(io_error(e)),
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.chunk.len());
        buf[..n].copy_from_slice(&self.chunk.split_to(n));
        Ok(n)
    }
}
