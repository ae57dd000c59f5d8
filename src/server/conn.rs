//! Accepted connections with read timeouts: a client that sends nothing, or stops in the middle
//! of a frame, cannot hold a connection (and the server's shutdown) open.
//!
//! HTTP/2 servers wait for a client's preface and frames as long as it takes, and tonic offers no
//! header-read timeout. [`Guarded`] wraps each TCP stream and follows the framing of what the
//! client sends, without interpreting it: the 24-byte HTTP/2 preface and then 9-byte frame
//! headers with a 24-bit payload length, or, under TLS, 5-byte record headers with a 16-bit
//! length. Two timers follow from that:
//!
//! - inside a frame (or before the preface is complete), no byte for `read_timeout` closes the
//!   connection: a slow or half-open client that started a request must finish it;
//! - between frames, no byte for `idle_timeout` closes it. A live client answers the server's
//!   HTTP/2 keep-alive pings (set by [`super::serve`]), which counts as bytes, so only clients
//!   that stopped talking are closed.
//!
//! A timed-out read returns `TimedOut`, and hyper then drops the connection.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::{Instant, Sleep};
use tonic::transport::server::{Connected, TcpConnectInfo};

/// How the bytes a client sends are framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// Plain HTTP/2: a 24-byte preface, then frames with 9-byte headers.
    Http2,
    /// TLS records with 5-byte headers.
    Tls,
}

impl Framing {
    fn header_len(self) -> usize {
        match self {
            Framing::Http2 => 9,
            Framing::Tls => 5,
        }
    }

    fn payload_len(self, header: &[u8]) -> usize {
        match self {
            Framing::Http2 => {
                (usize::from(header[0]) << 16)
                    | (usize::from(header[1]) << 8)
                    | usize::from(header[2])
            }
            Framing::Tls => (usize::from(header[3]) << 8) | usize::from(header[4]),
        }
    }
}

/// Where the client's byte stream stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// This many bytes of the preface are still to come (HTTP/2 only).
    Preface(usize),
    /// This many bytes of a frame header have arrived (0: between frames).
    Header(usize),
    /// This many payload bytes are still to come.
    Payload(usize),
}

/// Follows frame boundaries in a byte stream.
#[derive(Debug, Clone)]
pub struct FrameTracker {
    framing: Framing,
    state: State,
    header: [u8; 9],
}

impl FrameTracker {
    /// A tracker at the start of a connection.
    pub fn new(framing: Framing) -> Self {
        FrameTracker {
            framing,
            state: match framing {
                Framing::Http2 => State::Preface(24),
                Framing::Tls => State::Header(0),
            },
            header: [0; 9],
        }
    }

    /// Whether the stream stands between two frames (a client may rest there).
    pub fn at_boundary(&self) -> bool {
        self.state == State::Header(0)
    }

    /// Takes in bytes the client sent.
    pub fn feed(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            match self.state {
                State::Preface(left) => {
                    let n = left.min(bytes.len());
                    bytes = &bytes[n..];
                    self.state = if n == left {
                        State::Header(0)
                    } else {
                        State::Preface(left - n)
                    };
                }
                State::Header(have) => {
                    let want = self.framing.header_len();
                    let n = (want - have).min(bytes.len());
                    self.header[have..have + n].copy_from_slice(&bytes[..n]);
                    bytes = &bytes[n..];
                    self.state = if have + n == want {
                        match self.framing.payload_len(&self.header[..want]) {
                            0 => State::Header(0),
                            len => State::Payload(len),
                        }
                    } else {
                        State::Header(have + n)
                    };
                }
                State::Payload(left) => {
                    let n = left.min(bytes.len());
                    bytes = &bytes[n..];
                    self.state = if n == left {
                        State::Header(0)
                    } else {
                        State::Payload(left - n)
                    };
                }
            }
        }
    }
}

/// A TCP connection whose reads time out (see the module documentation).
pub struct Guarded {
    inner: TcpStream,
    frames: FrameTracker,
    idle: Duration,
    read: Duration,
    timer: Pin<Box<Sleep>>,
}

impl Guarded {
    /// Wraps an accepted stream.
    pub fn new(inner: TcpStream, framing: Framing, idle: Duration, read: Duration) -> Self {
        // Before its first byte a client owes its preface (or TLS hello): the read timeout.
        Guarded {
            inner,
            frames: FrameTracker::new(framing),
            idle,
            read,
            timer: Box::pin(tokio::time::sleep(read)),
        }
    }

    fn limit(&self) -> Duration {
        if self.frames.at_boundary() {
            self.idle
        } else {
            self.read
        }
    }
}

impl AsyncRead for Guarded {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        let before = buf.filled().len();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                let got = &buf.filled()[before..];
                if !got.is_empty() {
                    this.frames.feed(got);
                    let limit = this.limit();
                    this.timer.as_mut().reset(Instant::now() + limit);
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => {
                ready!(this.timer.as_mut().poll(cx));
                let what = if this.frames.at_boundary() {
                    "idle"
                } else {
                    "stalled inside a frame"
                };
                tracing::debug!(peer = ?this.inner.peer_addr().ok(), what, "closing a connection");
                Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("connection {what} past its timeout"),
                )))
            }
        }
    }
}

impl AsyncWrite for Guarded {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

impl Connected for Guarded {
    type ConnectInfo = TcpConnectInfo;
    fn connect_info(&self) -> Self::ConnectInfo {
        self.inner.connect_info()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_followed_across_reads() {
        let mut t = FrameTracker::new(Framing::Http2);
        assert!(!t.at_boundary());
        t.feed(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
        assert!(t.at_boundary());
        // A SETTINGS frame with 6 payload bytes, fed one byte at a time.
        let frame = [0, 0, 6, 4, 0, 0, 0, 0, 0, 1, 2, 3, 4, 5, 6];
        for (i, b) in frame.iter().enumerate() {
            t.feed(&[*b]);
            assert_eq!(t.at_boundary(), i == frame.len() - 1, "byte {i}");
        }
        // Two empty frames and half of a third in one read.
        t.feed(&[
            0, 0, 0, 4, 1, 0, 0, 0, 0, 0, 0, 0, 4, 1, 0, 0, 0, 0, 0, 0, 1,
        ]);
        assert!(!t.at_boundary());
        t.feed(&[4, 0, 0, 0, 0, 0, 9]);
        assert!(t.at_boundary());

        let mut t = FrameTracker::new(Framing::Tls);
        assert!(t.at_boundary());
        t.feed(&[22, 3, 1, 0, 2, 7]);
        assert!(!t.at_boundary());
        t.feed(&[7]);
        assert!(t.at_boundary());
    }
}
