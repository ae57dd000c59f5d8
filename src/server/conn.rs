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
//!
//! The HTTP/JSON port serves HTTP/1.1 and h2c on one socket ([`Framing::Sniff`]): while the
//! client's bytes are a prefix of the HTTP/2 preface they are followed as above (so 23 of its
//! 24 bytes count as a stalled frame); any other byte makes the connection HTTP/1.1, which
//! hyper parses itself: a request's headers must arrive within `read_timeout` (hyper's
//! header-read timeout), its body within the same time (the gateway's), and a connection
//! resting between requests is closed after `idle_timeout`. An HTTP/1.1 request that runs
//! longer than `idle_timeout` without the client sending a byte is cut off with its connection,
//! so `idle_timeout` should stay above the request timeout (its default is ten times it).
//!
//! **Lingering close.** A server that answers before it has read the whole request (415 before
//! the body, 408 or 429 while it is still coming, 413, a header timeout) and then closes its
//! socket with the client's bytes unread makes the kernel reset the connection at once (RFC
//! 1122, 4.2.2.13): the reset drops what of the answer the server has not sent yet, and may
//! erase what the client has received but not read (RFC 9112, section 9.6, which asks servers
//! for this staged close), so the client, still writing, may read nothing; in any case its
//! writes fail. So a dropped [`Guarded`] whose client had neither closed its side nor
//! stalled past a timeout lingers, as nginx's `lingering_close` does: its side is shut down
//! (the answer is followed by a FIN), and what the client still sends is read and discarded
//! while it keeps arriving, each read within `read_timeout`, at most [`LINGER_TIME`] in all,
//! into one small buffer, still holding its place under the cap. The client then reads the
//! answer and closes, which ends the lingering at once.
//!
//! [`Acceptor`] is both ports' accept loop. It caps the connections open at once on its port
//! (`--max-connections`; one over is closed at once), and when accepting fails for want of
//! resources (EMFILE, ENFILE, ENOBUFS, ENOMEM: the pending connection stays in the kernel's
//! queue, so retrying at once fails again at once) it backs off 10 ms, doubling up to 100 ms,
//! and logs once per episode instead of spinning: the timeouts above then free descriptors, and
//! the health service answers again.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::{Instant, Sleep};
use tonic::transport::server::{Connected, TcpConnectInfo};

/// How the bytes a client sends are framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Framing {
    /// Plain HTTP/2: a 24-byte preface, then frames with 9-byte headers.
    Http2,
    /// TLS records with 5-byte headers.
    Tls,
    /// HTTP/2 when the client starts with its preface, else HTTP/1.1 (not followed).
    Sniff,
}

/// The first bytes of every HTTP/2 connection (RFC 9113, section 3.4).
const PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

impl Framing {
    fn header_len(self) -> usize {
        match self {
            Framing::Http2 | Framing::Sniff => 9,
            Framing::Tls => 5,
        }
    }

    fn payload_len(self, header: &[u8]) -> usize {
        match self {
            Framing::Http2 | Framing::Sniff => {
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
    /// This many bytes of the HTTP/2 preface have arrived, and nothing else (sniffing).
    Sniffed(usize),
    /// Not HTTP/2: HTTP/1.1, whose requests hyper times itself; only idleness counts here.
    Opaque,
}

/// Follows frame boundaries in a byte stream.
#[derive(Debug, Clone)]
pub(crate) struct FrameTracker {
    framing: Framing,
    state: State,
    header: [u8; 9],
}

impl FrameTracker {
    /// A tracker at the start of a connection.
    pub(crate) fn new(framing: Framing) -> Self {
        FrameTracker {
            framing,
            state: match framing {
                Framing::Http2 => State::Preface(24),
                Framing::Tls => State::Header(0),
                Framing::Sniff => State::Sniffed(0),
            },
            header: [0; 9],
        }
    }

    /// Whether the stream stands between two frames (a client may rest there).
    pub(crate) fn at_boundary(&self) -> bool {
        matches!(self.state, State::Header(0) | State::Opaque)
    }

    /// Takes in bytes the client sent.
    pub(crate) fn feed(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            match self.state {
                State::Opaque => return,
                State::Sniffed(have) => {
                    let n = (PREFACE.len() - have).min(bytes.len());
                    self.state = if bytes[..n] != PREFACE[have..have + n] {
                        State::Opaque
                    } else if have + n == PREFACE.len() {
                        State::Header(0)
                    } else {
                        State::Sniffed(have + n)
                    };
                    bytes = &bytes[n..];
                }
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
pub(crate) struct Guarded {
    inner: TcpStream,
    frames: FrameTracker,
    idle: Duration,
    read: Duration,
    timer: Pin<Box<Sleep>>,
    /// Whether a read ended the client's side (EOF), failed or timed out: no lingering then.
    done: bool,
    /// The connection's place under its port's cap, free again when it is dropped (or, when
    /// it lingers, after that).
    slot: Option<OwnedSemaphorePermit>,
}

/// The longest a closed connection lingers (see the module documentation).
pub(crate) const LINGER_TIME: Duration = Duration::from_secs(30);

impl Guarded {
    /// Wraps an accepted stream.
    pub(crate) fn new(inner: TcpStream, framing: Framing, idle: Duration, read: Duration) -> Self {
        // Before its first byte a client owes its preface (or TLS hello): the read timeout.
        Guarded {
            inner,
            frames: FrameTracker::new(framing),
            idle,
            read,
            timer: Box::pin(tokio::time::sleep(read)),
            done: false,
            slot: None,
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

/// Connection timeouts and the cap of one port (see the module documentation).
#[derive(Debug, Clone, Copy)]
pub(crate) struct ConnLimits {
    /// How the port's clients frame their bytes.
    pub framing: Framing,
    /// See [`super::Limits::idle_timeout_secs`].
    pub idle: Duration,
    /// See [`super::Limits::read_timeout_secs`].
    pub read: Duration,
    /// See [`super::Limits::max_connections`].
    pub max_connections: usize,
}

/// One port's accept loop (see the module documentation).
pub(crate) struct Acceptor {
    listener: TcpListener,
    limits: ConnLimits,
    slots: Arc<Semaphore>,
    /// The current back-off after a failed accept (zero: the last accept succeeded).
    backoff: Duration,
}

impl Acceptor {
    /// Accepts on `listener` under `limits`.
    pub(crate) fn new(listener: TcpListener, limits: ConnLimits) -> Self {
        Acceptor {
            listener,
            slots: Arc::new(Semaphore::new(limits.max_connections.max(1))),
            limits,
            backoff: Duration::ZERO,
        }
    }

    /// The next connection under the cap, with TCP_NODELAY set (small messages on a socket with
    /// Nagle's algorithm wait for delayed ACKs: 40 ms stalls).
    pub(crate) async fn next(&mut self) -> Guarded {
        loop {
            let stream = match self.listener.accept().await {
                Ok((s, _)) => s,
                Err(e) => {
                    self.back_off(e).await;
                    continue;
                }
            };
            self.backoff = Duration::ZERO;
            let Ok(slot) = self.slots.clone().try_acquire_owned() else {
                tracing::debug!(
                    max = self.limits.max_connections,
                    "connection over --max-connections: closed"
                );
                continue;
            };
            let _ = stream.set_nodelay(true);
            let l = self.limits;
            let mut conn = Guarded::new(stream, l.framing, l.idle, l.read);
            conn.slot = Some(slot);
            return conn;
        }
    }

    /// Waits after a failed accept: at once for errors of one connection (it was reset before
    /// it was accepted), 10 ms doubling to 100 ms for a lack of resources.
    async fn back_off(&mut self, e: io::Error) {
        use io::ErrorKind::*;
        if matches!(
            e.kind(),
            ConnectionAborted | ConnectionReset | ConnectionRefused | Interrupted | WouldBlock
        ) {
            return;
        }
        if self.backoff.is_zero() {
            tracing::warn!(error = %e, "cannot accept connections (out of file descriptors?): retrying every 100 ms at most until one succeeds");
            self.backoff = Duration::from_millis(10);
        } else {
            self.backoff = (self.backoff * 2).min(Duration::from_millis(100));
        }
        tokio::time::sleep(self.backoff).await;
    }

    /// The accepted connections as a stream, for tonic's `serve_with_incoming`. The listener
    /// closes when the stream is dropped.
    pub(crate) fn into_stream(
        mut self,
    ) -> tokio_stream::wrappers::ReceiverStream<io::Result<Guarded>> {
        let (tx, rx) = tokio::sync::mpsc::channel(1);
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    conn = self.next() => {
                        if tx.send(Ok(conn)).await.is_err() {
                            break;
                        }
                    }
                    () = tx.closed() => break,
                }
            }
        });
        tokio_stream::wrappers::ReceiverStream::new(rx)
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
                if got.is_empty() && buf.remaining() > 0 {
                    this.done = true;
                } else if !got.is_empty() {
                    this.frames.feed(got);
                    let limit = this.limit();
                    this.timer.as_mut().reset(Instant::now() + limit);
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => {
                this.done = true;
                Poll::Ready(Err(e))
            }
            Poll::Pending => {
                ready!(this.timer.as_mut().poll(cx));
                this.done = true;
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

impl Drop for Guarded {
    /// Lingers when the client may still be sending (see the module documentation).
    fn drop(&mut self) {
        if self.done {
            return;
        }
        // A second descriptor of the socket keeps it open once `inner` closes its own.
        #[cfg(unix)]
        if let (Ok(runtime), Ok(fd)) = (
            tokio::runtime::Handle::try_current(),
            std::os::fd::AsFd::as_fd(&self.inner).try_clone_to_owned(),
        ) {
            let (slot, each) = (self.slot.take(), self.read);
            runtime.spawn(async move {
                if let Ok(stream) = TcpStream::from_std(std::net::TcpStream::from(fd)) {
                    linger(stream, each).await;
                }
                drop(slot);
            });
        }
    }
}

/// Shuts down our side of `stream` and discards what the client still sends, while each read
/// comes within `each`, for at most [`LINGER_TIME`].
async fn linger(mut stream: TcpStream, each: Duration) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let _ = stream.shutdown().await;
    let end = Instant::now() + LINGER_TIME;
    let mut buf = vec![0u8; 16 << 10];
    let mut discarded = 0usize;
    loop {
        let until = (Instant::now() + each).min(end);
        match tokio::time::timeout_at(until, stream.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => discarded += n,
            _ => break,
        }
    }
    tracing::debug!(peer = ?stream.peer_addr().ok(), discarded, "closed after lingering");
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

    /// A dropped connection whose client is still sending lets it finish and then closes; one
    /// whose client had stalled past its timeout is closed at once.
    #[tokio::test]
    async fn a_dropped_connection_lingers_only_while_its_client_sends() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (each, body) = (Duration::from_secs(5), vec![b'x'; 4 << 20]);
        let mut client = TcpStream::connect(addr).await.unwrap();
        let (server, _) = listener.accept().await.unwrap();
        let mut conn = Guarded::new(server, Framing::Sniff, each, each);
        client.write_all(b"POST / HTTP/1.1\r\n").await.unwrap();
        let mut head = [0u8; 4];
        conn.read_exact(&mut head).await.unwrap();
        conn.write_all(b"HTTP/1.1 415\r\n\r\n").await.unwrap();
        drop(conn);
        // 4 MiB is more than the socket buffers hold: the server must read it.
        client.write_all(&body).await.unwrap();
        let mut answer = Vec::new();
        client.read_to_end(&mut answer).await.unwrap();
        assert_eq!(answer, b"HTTP/1.1 415\r\n\r\n");

        let mut client = TcpStream::connect(addr).await.unwrap();
        let (server, _) = listener.accept().await.unwrap();
        let short = Duration::from_millis(50);
        let mut conn = Guarded::new(server, Framing::Sniff, short, short);
        let mut byte = [0u8; 1];
        let e = conn.read(&mut byte).await.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::TimedOut);
        drop(conn);
        // Closed, not lingering: the client's read ends although it never closes its side.
        let n = tokio::time::timeout(Duration::from_secs(20), client.read(&mut byte)).await;
        assert!(matches!(n, Ok(Ok(0)) | Ok(Err(_))), "{n:?}");
    }

    #[test]
    fn sniffing_tells_http2_from_http1() {
        let mut t = FrameTracker::new(Framing::Sniff);
        assert!(!t.at_boundary(), "before its first byte a client owes one");
        t.feed(&PREFACE[..23]);
        assert!(
            !t.at_boundary(),
            "23 bytes of the preface are a stalled frame"
        );
        t.feed(&PREFACE[23..]);
        assert!(t.at_boundary());
        t.feed(&[0, 0, 2, 4, 0, 0, 0, 0, 0, 1]);
        assert!(
            !t.at_boundary(),
            "HTTP/2 frames are followed after the preface"
        );
        t.feed(&[2]);
        assert!(t.at_boundary());

        let mut t = FrameTracker::new(Framing::Sniff);
        t.feed(b"P");
        assert!(!t.at_boundary());
        t.feed(b"OST / HTTP/1.1\r\n");
        assert!(t.at_boundary(), "HTTP/1.1 is timed by hyper, idle here");
        t.feed(&PREFACE[..]);
        assert!(t.at_boundary());
    }
}
