//! The server-wide budget of request bytes in flight, `--max-inflight-bytes`: one budget for
//! both ports, created once by `serve_on` and shared by the gRPC stack ([`BudgetLayer`]) and
//! the HTTP/JSON gateway (`http`).
//!
//! A message's size on the wire says little about the memory it takes once decoded: a 4 MB
//! GetVectors of one-byte words holds about 1.3M strings, each a heap allocation of its own
//! with its place in a vector, about 130 MB in all. So a request is charged an estimate of its
//! decoded size, not its length, and the estimate must fit in the budget beside the requests
//! already in flight before the message is decoded.
//!
//! **The gRPC side.** [`BudgetLayer`] sits inside the `--max-concurrent` place (`layers`) and
//! before tonic decodes. It reads the gRPC frame's first 5 bytes (a compressed flag and the
//! message length, a big-endian u32), refuses a length over `--max-message-bytes` at once with
//! OUT_OF_RANGE (tonic's own code for it), reserves the length while the message arrives, then
//! reserves the message's decode cost ([`protobuf_cost`]), and only then hands the collected
//! message on. The reservation ends when the response is produced: the handler has dropped the
//! decoded request by then. Waiting for room takes at most `--read-timeout`; a request that
//! then finds none, or whose cost exceeds the whole budget, gets RESOURCE_EXHAUSTED naming
//! `--max-inflight-bytes`. The server accepts no compressed messages (tonic refuses them), so
//! the bytes read are the message itself.
//!
//! Every RPC of `wordvec.v1` is unary: one message per request, which is what the layer reads.
//! Other services pass untouched: health checks (never shed, tiny), and reflection, whose
//! stream of small requests tonic decodes one at a time under its own 4 MiB message limit.
//!
//! **The estimate** ([`protobuf_cost`]): twice the message's bytes (the collected body, and
//! tonic's copy it decodes from; scalars decode to no more than their wire bytes), plus
//! [`DECODED_BYTES_PER_VALUE`] for every length-delimited field (a string, bytes, a packed
//! list or a sub-message). The fields are counted by walking the wire format without
//! allocating; a field's payload that itself reads as a message is walked too, down to
//! [`MAX_DEPTH`] levels, deeper than any message of the proto nests (a batch of queries of
//! terms of vectors is 4), so a field counts whether the schema makes it a string or a
//! message. Unknown fields are skipped by the decoder and cost nothing, so counting them
//! only over-estimates. The walk is linear in the message times the depth.
//!
//! **The HTTP side** charges a JSON body itself (its own estimate, `http::decode_cost`) and
//! marks the gRPC request it sends in process with [`Charged`], so that it is not charged
//! twice.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use http::{Request, Response};
use http_body_util::BodyExt;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tonic::body::Body;
use tonic::Status;

use super::layers::{BoxFuture, Inner, Wrap};

/// Decoded bytes charged per length-delimited value (a string, object or array in JSON): its
/// own heap allocation and its place in a vector.
pub(crate) const DECODED_BYTES_PER_VALUE: usize = 128;

/// Levels of nested messages [`protobuf_cost`] looks into.
pub(crate) const MAX_DEPTH: u32 = 8;

/// The byte budget; clones share it.
#[derive(Clone)]
pub(crate) struct Budget {
    bytes: Arc<Semaphore>,
    total: usize,
    wait: Duration,
}

/// Bytes held in the budget until dropped.
pub(crate) struct Reservation(OwnedSemaphorePermit);

/// Marks a request whose bytes are already charged (by the HTTP/JSON gateway). Extensions exist
/// only in process: no client can send one.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Charged;

impl Budget {
    /// A budget of `total` bytes (at least 1, at most `u32::MAX`); a request waits at most
    /// `wait` for room.
    pub(crate) fn new(total: usize, wait: Duration) -> Self {
        let total = total.clamp(1, u32::MAX as usize);
        Budget {
            bytes: Arc::new(Semaphore::new(total)),
            total,
            wait,
        }
    }

    fn refusal(&self, why: String) -> Status {
        Status::resource_exhausted(format!(
            "{why} (--max-inflight-bytes {}); send fewer or smaller requests at once",
            self.total
        ))
    }

    /// `n` bytes of the budget, waiting for room at most the budget's wait; refused at once
    /// when `n` exceeds the whole budget.
    pub(crate) async fn reserve(&self, n: usize) -> Result<Reservation, Status> {
        let n32 = self.fits(n)?;
        match tokio::time::timeout(self.wait, self.bytes.clone().acquire_many_owned(n32)).await {
            Ok(Ok(p)) => Ok(Reservation(p)),
            _ => Err(self.refusal(format!(
                "no room for the request's {n} bytes among the requests in flight"
            ))),
        }
    }

    /// `held` grown to `n` bytes: at once when the budget has room, else by letting `held` go
    /// and waiting for all `n` (a request never waits while it holds a share, so two requests
    /// cannot each hold what the other waits for).
    pub(crate) async fn grow(
        &self,
        mut held: Reservation,
        n: usize,
    ) -> Result<Reservation, Status> {
        let have = held.0.num_permits();
        if n <= have {
            return Ok(held);
        }
        self.fits(n)?;
        let more = u32::try_from(n - have).map_err(|_| Status::internal("budget overflow"))?;
        match self.bytes.clone().try_acquire_many_owned(more) {
            Ok(p) => {
                held.0.merge(p);
                Ok(held)
            }
            Err(_) => {
                drop(held);
                self.reserve(n).await
            }
        }
    }

    fn fits(&self, n: usize) -> Result<u32, Status> {
        u32::try_from(n.max(1))
            .ok()
            .filter(|&n| n as usize <= self.total)
            .ok_or_else(|| {
                self.refusal(format!(
                    "the request needs about {n} bytes to decode, more than the server holds for all requests"
                ))
            })
    }
}

/// An upper bound of the memory a protobuf message takes while decoded (module documentation).
pub(crate) fn protobuf_cost(message: &[u8]) -> usize {
    message.len().saturating_mul(2).saturating_add(
        delimited_values(message, MAX_DEPTH).saturating_mul(DECODED_BYTES_PER_VALUE),
    )
}

/// Length-delimited fields of `buf` read as a message, and of those of their payloads that read
/// as messages, `depth` levels down. A malformed message counts its fields up to the fault: the
/// decoder allocates at most those before it fails.
fn delimited_values(buf: &[u8], depth: u32) -> usize {
    let mut at = 0;
    let mut n = 0usize;
    while at < buf.len() {
        let Some(key) = varint(buf, &mut at) else {
            break;
        };
        let skip = match key & 7 {
            0 => varint(buf, &mut at).map(|_| 0),
            1 => Some(8),
            5 => Some(4),
            2 => varint(buf, &mut at).and_then(|len| usize::try_from(len).ok()),
            _ => None,
        };
        let Some(end) = skip
            .and_then(|s| at.checked_add(s))
            .filter(|&e| e <= buf.len() && key >> 3 != 0)
        else {
            break;
        };
        if key & 7 == 2 {
            n = n.saturating_add(1);
            if depth > 0 {
                n = n.saturating_add(delimited_values(&buf[at..end], depth - 1));
            }
        }
        at = end;
    }
    n
}

/// The base-128 varint at `*at` (at most 10 bytes), moving `*at` past it.
fn varint(buf: &[u8], at: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..70).step_by(7) {
        let b = *buf.get(*at)?;
        *at += 1;
        v |= u64::from(b & 0x7f) << shift;
        if b < 0x80 {
            return Some(v);
        }
    }
    None
}

/// Charges every unary gRPC request of `wordvec.v1` to the [`Budget`] before tonic decodes it
/// (module documentation).
#[derive(Clone)]
pub(crate) struct BudgetLayer {
    budget: Budget,
    max_message: usize,
    read_timeout: Duration,
}

impl BudgetLayer {
    /// Charges to `budget` messages of at most `max_message` bytes, each of which must arrive
    /// within `read_timeout`.
    pub(crate) fn new(budget: Budget, max_message: usize, read_timeout: Duration) -> Self {
        BudgetLayer {
            budget,
            max_message,
            read_timeout,
        }
    }
}

impl Wrap for BudgetLayer {
    fn handle<S: Inner>(
        &self,
        inner: &mut S,
        req: Request<Body>,
    ) -> BoxFuture<Response<Body>, S::Error> {
        let charged = req.extensions().get::<Charged>().is_some();
        if charged || !req.uri().path().starts_with("/wordvec.v1.") {
            return Box::pin(inner.call(req));
        }
        // The ready service answers this request; a fresh clone waits for the next one.
        let clone = inner.clone();
        let mut inner = std::mem::replace(inner, clone);
        let layer = self.clone();
        Box::pin(async move {
            let (parts, body) = req.into_parts();
            let (body, held) = match layer.admit(body).await {
                Ok(admitted) => admitted,
                Err(status) => return Ok(status.into_http()),
            };
            let answer = inner.call(Request::from_parts(parts, body)).await;
            drop(held);
            answer
        })
    }
}

impl BudgetLayer {
    /// The request's message, collected, with its share of the budget. A body that ends before
    /// its frame does is handed on as it came, for tonic to refuse.
    async fn admit(&self, mut body: Body) -> Result<(Body, Option<Reservation>), Status> {
        let late = || Status::deadline_exceeded("the request's message did not arrive in time");
        let mut buf = Vec::new();
        tokio::time::timeout(self.read_timeout, read_to(&mut body, &mut buf, 5))
            .await
            .map_err(|_| late())??;
        let Some(head) = buf.get(..5) else {
            return Ok((full(buf), None));
        };
        let len = u32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize;
        if len > self.max_message {
            return Err(Status::out_of_range(format!(
                "the request's message of {len} bytes is over the limit of {} bytes (--max-message-bytes)",
                self.max_message
            )));
        }
        let frame = 5 + len;
        let reading = self.budget.reserve(frame).await?;
        buf.reserve_exact(frame.saturating_sub(buf.len()));
        tokio::time::timeout(self.read_timeout, read_to(&mut body, &mut buf, frame))
            .await
            .map_err(|_| late())??;
        // A unary request carries one message: what follows it is not read.
        buf.truncate(frame);
        let cost = protobuf_cost(&buf[5..]);
        let held = self.budget.grow(reading, cost).await?;
        Ok((full(buf), Some(held)))
    }
}

/// Reads `body` into `buf` until it holds `n` bytes or the body ends.
async fn read_to(body: &mut Body, buf: &mut Vec<u8>, n: usize) -> Result<(), Status> {
    while buf.len() < n {
        match body.frame().await {
            Some(Ok(frame)) => {
                if let Ok(data) = frame.into_data() {
                    buf.extend_from_slice(&data);
                }
            }
            Some(Err(e)) => return Err(e),
            None => break,
        }
    }
    Ok(())
}

fn full(buf: Vec<u8>) -> Body {
    Body::new(http_body_util::Full::new(Bytes::from(buf)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::proto;
    use prost::Message;

    #[test]
    fn cost_counts_every_string_however_deep() {
        let words = proto::GetVectorsRequest {
            words: vec!["a".into(); 1000],
            ..Default::default()
        }
        .encode_to_vec();
        assert!(protobuf_cost(&words) >= 1000 * DECODED_BYTES_PER_VALUE);
        // A word that does not read as a message counts once.
        assert!(protobuf_cost(&words) < 1000 * DECODED_BYTES_PER_VALUE + 3 * words.len());
        // A batch of queries of terms: each term's word counts, 3 levels down.
        let term = proto::Term {
            term: Some(proto::term::Term::Word("w".into())),
        };
        let query = proto::MostSimilarRequest {
            positive: vec![term; 100],
            ..Default::default()
        };
        let batch = proto::MostSimilarBatchRequest {
            queries: vec![query; 10],
            ..Default::default()
        }
        .encode_to_vec();
        assert!(protobuf_cost(&batch) >= 1000 * DECODED_BYTES_PER_VALUE);
        // Floats cost their bytes, not a value each.
        let floats = proto::NearestToVectorRequest {
            vector: Some(proto::Vector {
                values: vec![1.5; 10_000],
            }),
            ..Default::default()
        }
        .encode_to_vec();
        assert!(protobuf_cost(&floats) < 3 * floats.len());
    }

    #[test]
    fn malformed_messages_are_walked_safely() {
        assert_eq!(delimited_values(&[], MAX_DEPTH), 0);
        // A length past the end, a varint that never ends, field 0, a group.
        for bad in [&[0x0a, 0x05, b'a'][..], &[0xff; 20], &[0x02, 0x00], &[0x0b]] {
            assert_eq!(delimited_values(bad, MAX_DEPTH), 0, "{bad:?}");
        }
        // Counted up to the fault.
        assert_eq!(
            delimited_values(&[0x12, 0x01, b'a', 0x12, 0x09], MAX_DEPTH),
            1
        );
    }

    #[tokio::test]
    async fn a_reservation_grows_or_waits_with_nothing_held() {
        let b = Budget::new(100, Duration::from_millis(50));
        let r = b.reserve(40).await.unwrap();
        let other = b.reserve(40).await.unwrap();
        // No room to grow at once: the share is let go, and all 70 wait (then fail).
        let e = b.grow(r, 70).await.err().unwrap();
        assert_eq!(e.code(), tonic::Code::ResourceExhausted);
        assert!(
            e.message().contains("--max-inflight-bytes 100"),
            "{}",
            e.message()
        );
        let r = b.grow(b.reserve(10).await.unwrap(), 60).await.unwrap();
        assert_eq!(r.0.num_permits(), 60);
        drop((r, other));
        assert!(b.reserve(101).await.is_err());
        assert_eq!(b.reserve(100).await.unwrap().0.num_permits(), 100);
    }
}
