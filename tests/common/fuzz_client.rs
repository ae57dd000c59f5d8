//! The request fuzzer's tools (tests/request_fuzz.rs): a seeded generator, the `wordvec serve`
//! process with its addresses and last log lines, a monitor of its RSS, CPU time and exit, a
//! gRPC client that sends raw message bytes (so mutated protobuf reaches the server as sent), a
//! raw HTTP/1.1 exchange, and connections that stall.
//!
//! What is read from /proc (Linux): `VmRSS` of /proc/PID/status (kB), and fields 14 and 15 of
//! /proc/PID/stat (utime, stime, in clock ticks of `getconf CLK_TCK`).
#![allow(dead_code)]

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Write as _};
use std::net::SocketAddr;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use prost::bytes::{Buf, BufMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::transport::Channel;
use tonic::{Request, Status};

/// xorshift64*: a seeded, dependency-free generator; the same seed gives the same requests.
#[derive(Clone)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Rng {
        // Zero is xorshift's fixed point; mix the seed so nearby seeds diverge at once.
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// A number in `0..n` (`n` > 0).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
    /// True with probability `percent` / 100.
    pub(crate) fn percent(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
    pub(crate) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// `wordvec serve` as a child process, on free loopback ports.
pub(crate) struct Daemon {
    pub child: Arc<Mutex<Child>>,
    pub pid: u32,
    pub grpc: SocketAddr,
    pub http: SocketAddr,
    /// Its last 200 log lines, for failure messages.
    pub log: Arc<Mutex<VecDeque<String>>>,
}

impl Daemon {
    /// Starts `wordvec serve --listen 127.0.0.1:0 --http-listen 127.0.0.1:0 ARGS` and waits for
    /// its "serving" line.
    pub(crate) fn start(args: &[String]) -> Daemon {
        let mut child = Command::new(env!("CARGO_BIN_EXE_wordvec"))
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(["--http-listen", "127.0.0.1:0"])
            .args(args)
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("wordvec serve starts");
        let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
        let addr_of = |l: &str| l.rsplit(' ').next().unwrap().parse::<SocketAddr>().unwrap();
        let mut http = None;
        let mut seen = Vec::new();
        let grpc = loop {
            let Some(Ok(l)) = lines.next() else {
                let _ = child.kill();
                panic!("wordvec serve {args:?} did not start: {seen:?}");
            };
            if l.starts_with("wordvec HTTP/JSON on ") {
                http = Some(addr_of(&l));
            } else if l.starts_with("wordvec serving ") {
                break addr_of(&l);
            }
            seen.push(l);
        };
        // What it said before serving (a log replayed, a torn tail cut) stays in its log.
        let log = Arc::new(Mutex::new(VecDeque::from(seen)));
        let sink = log.clone();
        // Keep draining stderr so the daemon never blocks on a full pipe; with WORDVEC_FUZZ_LOG
        // set (and RUST_LOG for the daemon's level), every line also goes to that file.
        let mut file = std::env::var_os("WORDVEC_FUZZ_LOG")
            .and_then(|p| std::fs::File::create(p).ok())
            .map(std::io::LineWriter::new);
        std::thread::spawn(move || {
            for l in lines.map_while(Result::ok) {
                if let Some(f) = file.as_mut() {
                    let _ = writeln!(f, "{l}");
                }
                let mut q = sink.lock().unwrap();
                if q.len() == 200 {
                    q.pop_front();
                }
                q.push_back(l);
            }
        });
        Daemon {
            pid: child.id(),
            child: Arc::new(Mutex::new(child)),
            grpc,
            http: http.expect("the HTTP/JSON address line"),
            log,
        }
    }

    /// The exit status, if the daemon has exited.
    pub(crate) fn exited(&self) -> Option<ExitStatus> {
        self.child.lock().unwrap().try_wait().ok().flatten()
    }

    pub(crate) fn log_tail(&self, n: usize) -> String {
        let q = self.log.lock().unwrap();
        let skip = q.len().saturating_sub(n);
        q.iter().skip(skip).cloned().collect::<Vec<_>>().join("\n")
    }

    pub(crate) fn url(&self) -> String {
        format!("http://{}", self.grpc)
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let mut c = self.child.lock().unwrap();
        let _ = c.kill();
        let _ = c.wait();
    }
}

/// Resident set size of `pid`, KiB (None once the process is gone).
pub(crate) fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// User plus system CPU time of `pid`, in clock ticks.
pub(crate) fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces: count after it.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3, so utime (14) and stime (15) are its 11th and 12th.
    Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
}

/// Clock ticks per second (`getconf CLK_TCK`; 100 where that cannot be run).
pub(crate) fn clock_ticks() -> u64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100)
}

/// Samples the daemon's RSS (and whether it is alive) every 100 ms until stopped.
pub(crate) struct Monitor {
    /// When sampling started: sample times count from here.
    pub started: Instant,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<Samples>>,
}

#[derive(Default)]
pub(crate) struct Samples {
    /// (milliseconds since the monitor started, RSS KiB).
    pub rss: Vec<(u64, u64)>,
    /// The exit status, when the daemon exited while watched.
    pub exit: Option<String>,
}

impl Samples {
    pub(crate) fn peak_kib(&self) -> u64 {
        self.rss.iter().map(|s| s.1).max().unwrap_or(0)
    }
}

impl Monitor {
    pub(crate) fn start(daemon: &Daemon) -> Monitor {
        let stop = Arc::new(AtomicBool::new(false));
        let (flag, child, pid) = (stop.clone(), daemon.child.clone(), daemon.pid);
        let started = Instant::now();
        let thread = std::thread::spawn(move || {
            let t0 = started;
            let mut s = Samples::default();
            while !flag.load(Ordering::SeqCst) {
                if let Ok(Some(status)) = child.lock().unwrap().try_wait() {
                    s.exit = Some(status.to_string());
                    break;
                }
                if let Some(kib) = rss_kib(pid) {
                    s.rss.push((t0.elapsed().as_millis() as u64, kib));
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            s
        });
        Monitor {
            started,
            stop,
            thread: Some(thread),
        }
    }

    pub(crate) fn finish(mut self) -> Samples {
        self.stop.store(true, Ordering::SeqCst);
        self.thread.take().unwrap().join().unwrap()
    }
}

/// Sends message bytes as they are and hands back the answer's bytes: the client for mutated
/// protobuf (and for every other message, encoded by the generated types beforehand).
#[derive(Clone, Copy, Default)]
pub(crate) struct RawCodec;

pub(crate) struct RawBytes;

impl Codec for RawCodec {
    type Encode = Vec<u8>;
    type Decode = Vec<u8>;
    type Encoder = RawBytes;
    type Decoder = RawBytes;
    fn encoder(&mut self) -> RawBytes {
        RawBytes
    }
    fn decoder(&mut self) -> RawBytes {
        RawBytes
    }
}

impl Encoder for RawBytes {
    type Item = Vec<u8>;
    type Error = Status;
    fn encode(&mut self, item: Vec<u8>, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put_slice(&item);
        Ok(())
    }
}

impl Decoder for RawBytes {
    type Item = Vec<u8>;
    type Error = Status;
    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Vec<u8>>, Status> {
        let mut v = vec![0; src.remaining()];
        src.copy_to_slice(&mut v);
        Ok(Some(v))
    }
}

/// One unary call of `path` (e.g. "/wordvec.v1.Embeddings/GetVectors") with `body` as the
/// message bytes, and `deadline` as its grpc-timeout header.
pub(crate) async fn raw_unary(
    channel: Channel,
    path: &'static str,
    body: Vec<u8>,
    deadline: Option<Duration>,
) -> Result<Vec<u8>, Status> {
    let mut grpc = tonic::client::Grpc::new(channel)
        .max_decoding_message_size(256 << 20)
        .max_encoding_message_size(256 << 20);
    grpc.ready()
        .await
        .map_err(|e| Status::unavailable(format!("client not ready: {e}")))?;
    let mut req = Request::new(body);
    if let Some(d) = deadline {
        req.set_timeout(d);
    }
    let path = http::uri::PathAndQuery::from_static(path);
    grpc.unary(req, path, RawCodec)
        .await
        .map(|r| r.into_inner())
}

/// One HTTP/1.1 exchange on a fresh connection: writes `request`, reads until the server
/// closes (the request should say `connection: close`), and returns the status and body.
pub(crate) async fn http_exchange(
    addr: SocketAddr,
    request: &[u8],
    limit: Duration,
) -> Result<(u16, String), String> {
    let run = async {
        let mut s = TcpStream::connect(addr)
            .await
            .map_err(|e| format!("connect: {e}"))?;
        // A server may answer (413, 431) and close before reading all of a large request.
        let write = s.write_all(request).await;
        let mut out = Vec::new();
        let read = s.read_to_end(&mut out).await;
        if out.is_empty() {
            return Err(format!(
                "no answer (write: {write:?}, read: {:?})",
                read.map(|_| ())
            ));
        }
        Ok(out)
    };
    let out = tokio::time::timeout(limit, run)
        .await
        .map_err(|_| format!("no answer within {limit:?}"))??;
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| format!("not an HTTP answer: {}", excerpt(&text, 200)))?;
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let chunked = head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked");
    Ok((status, if chunked { dechunk(body) } else { body.into() }))
}

/// The body of a chunked answer.
fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        s = rest[n..].trim_start_matches("\r\n");
    }
    out
}

/// Connects, sends `bytes` and then nothing more; returns how long after that the server closed
/// the connection (None: still open at `limit`).
pub(crate) async fn closed_after(
    addr: SocketAddr,
    bytes: Vec<u8>,
    limit: Duration,
) -> Option<Duration> {
    let mut conn = TcpStream::connect(addr).await.ok()?;
    conn.write_all(&bytes).await.ok()?;
    let t = Instant::now();
    let mut sink = Vec::new();
    tokio::time::timeout(limit, async {
        // An answer (408, 400) may come before the close: read to the end either way.
        let _ = conn.read_to_end(&mut sink).await;
    })
    .await
    .ok()
    .map(|_| t.elapsed())
}

/// At most `n` bytes of `s` (cut at a character boundary), with the full length when cut.
pub(crate) fn excerpt(s: &str, n: usize) -> String {
    if s.len() <= n {
        return s.to_owned();
    }
    let mut end = n;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}... ({} bytes)", &s[..end], s.len())
}
