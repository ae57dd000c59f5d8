//! Tower layers around every gRPC service: bearer-token auth, a concurrency limit that refuses
//! excess requests at once (and counts a request's work until it really stops), and
//! per-request metrics and logs under a fixed set of method labels.
//!
//! Each layer, and the byte budget of `budget`, says only what it does with one request
//! ([`Wrap`]); the tower plumbing around that (readiness, the boxed answer, the `Layer` that
//! wraps a service) is written once ([`Wrapped`]).

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use http::{Request, Response};
use tokio::sync::Semaphore;
use tonic::body::Body;
use tonic::Status;
use tower::{Layer, Service};

use super::metrics::Metrics;

pub(crate) type BoxFuture<T, E> = Pin<Box<dyn Future<Output = Result<T, E>> + Send>>;

/// What one of the server's layers does with a request, given the ready service inside it: all
/// that differs between them (auth, the concurrency limit, metrics, the byte budget of
/// `budget`). [`Wrapped`] is the tower plumbing they share.
pub(crate) trait Wrap: Clone + Send + Sync + 'static {
    /// Answers `req` itself, or hands it to `inner`.
    fn handle<S: Inner>(
        &self,
        inner: &mut S,
        req: Request<Body>,
    ) -> BoxFuture<Response<Body>, S::Error>;
}

/// A service a [`Wrap`] layer wraps: tonic's routes, or the layers around them.
pub(crate) trait Inner:
    Service<Request<Body>, Response = Response<Body>, Future: Send + 'static, Error: Send + 'static>
    + Clone
    + Send
    + 'static
{
}

impl<S> Inner for S
where
    S: Service<Request<Body>, Response = Response<Body>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
{
}

/// A service inside one of the server's layers (`L`, a [`Wrap`]): ready when the inner service
/// is, and answering as `L` says.
#[derive(Clone)]
pub(crate) struct Wrapped<L, S> {
    layer: L,
    inner: S,
}

impl<L: Wrap, S: Inner> Service<Request<Body>> for Wrapped<L, S> {
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        self.layer.handle(&mut self.inner, req)
    }
}

/// Each [`Wrap`] is a tower [`Layer`] that wraps a service in [`Wrapped`].
macro_rules! wrap_layers {
    ($($layer:ty),*) => {
        $(impl<S> Layer<S> for $layer {
            type Service = Wrapped<$layer, S>;
            fn layer(&self, inner: S) -> Self::Service {
                Wrapped {
                    layer: self.clone(),
                    inner,
                }
            }
        })*
    };
}

wrap_layers!(
    AuthLayer,
    LoadShedLayer,
    MetricsLayer,
    super::budget::BudgetLayer
);

/// An answer of the layer's own, without calling the service inside.
fn answer<E: Send + 'static>(status: Status) -> BoxFuture<Response<Body>, E> {
    Box::pin(std::future::ready(Ok(status.into_http())))
}

/// Health checks stay reachable without a token and under overload.
fn is_health(path: &str) -> bool {
    path.starts_with("/grpc.health.v1.")
}

/// Requires `authorization: Bearer TOKEN` on every request but health checks.
#[derive(Clone)]
pub(crate) struct AuthLayer {
    token: Option<Arc<str>>,
}

impl AuthLayer {
    /// No token: every request passes.
    pub(crate) fn new(token: Option<String>) -> Self {
        AuthLayer {
            token: token.map(Into::into),
        }
    }
}

impl Wrap for AuthLayer {
    fn handle<S: Inner>(
        &self,
        inner: &mut S,
        req: Request<Body>,
    ) -> BoxFuture<Response<Body>, S::Error> {
        if let Some(token) = &self.token {
            if !is_health(req.uri().path()) {
                let given = req
                    .headers()
                    .get("authorization")
                    .and_then(|v| v.to_str().ok());
                let ok = given
                    .and_then(bearer_token)
                    .is_some_and(|t| constant_time_eq(t.as_bytes(), token.as_bytes()));
                if !ok {
                    let msg = if given.is_none() {
                        "missing bearer token (authorization: Bearer TOKEN)"
                    } else {
                        "invalid bearer token"
                    };
                    return answer(Status::unauthenticated(msg));
                }
            }
        }
        Box::pin(inner.call(req))
    }
}

/// The token of an `authorization` value: the scheme is case-insensitive (RFC 7235, section
/// 2.1) and separated from the token by one or more spaces.
fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, rest) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| rest.trim_start_matches(' '))
}

/// Compares without an early exit, so timing does not reveal how much of a token matched.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A request's place under `--max-concurrent`, shared between the layer and the request's
/// blocking work (a request extension): the place is free again when the last holder lets go.
/// The HTTP/JSON gateway takes one ([`LoadShedLayer::try_permit`]) before it reads a body and
/// hands it on with the request; the layer lets a request that carries one pass (extensions
/// exist only in process: no client can send one).
#[derive(Clone)]
pub(crate) struct WorkPermit(#[allow(dead_code)] Arc<tokio::sync::OwnedSemaphorePermit>);

/// Lets at most `max` requests run at once; the next one is refused at once with
/// RESOURCE_EXHAUSTED instead of waiting in a queue that grows without bound. It also drains the
/// server on shutdown ([`LoadShedLayer::drain`]).
#[derive(Clone)]
pub(crate) struct LoadShedLayer {
    permits: Arc<Semaphore>,
    max: usize,
    draining: Arc<AtomicBool>,
}

impl LoadShedLayer {
    /// A limit of `max` requests in flight.
    pub(crate) fn new(max: usize) -> Self {
        LoadShedLayer {
            permits: Arc::new(Semaphore::new(max.max(1))),
            max: max.max(1),
            draining: Arc::new(AtomicBool::new(false)),
        }
    }

    /// Refuses new requests with UNAVAILABLE and waits (at most `limit`) until every request in
    /// flight has answered. Closing connections only then means no answer is cut off: HTTP/2
    /// servers that close a connection while a client's bytes are still unread make the kernel
    /// reset it, and a client can lose the end of an answer it had not read yet.
    pub(crate) async fn drain(&self, limit: std::time::Duration) {
        self.draining.store(true, Ordering::SeqCst);
        let all = u32::try_from(self.max).unwrap_or(u32::MAX);
        let _ = tokio::time::timeout(limit, self.permits.acquire_many(all)).await;
        // Let the connections write out the last answers before they are closed.
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }

    /// A place under the limit, or the status that refuses the request: UNAVAILABLE while
    /// draining, RESOURCE_EXHAUSTED when every place is taken.
    pub(crate) fn try_permit(&self) -> Result<WorkPermit, Status> {
        if self.draining.load(Ordering::SeqCst) {
            return Err(Status::unavailable("server shutting down"));
        }
        match self.permits.clone().try_acquire_owned() {
            Ok(p) => Ok(WorkPermit(Arc::new(p))),
            Err(_) => Err(Status::resource_exhausted(format!(
                "server busy: {} requests in flight (--max-concurrent); retry later",
                self.max
            ))),
        }
    }
}

impl Wrap for LoadShedLayer {
    fn handle<S: Inner>(
        &self,
        inner: &mut S,
        mut req: Request<Body>,
    ) -> BoxFuture<Response<Body>, S::Error> {
        if is_health(req.uri().path()) {
            return Box::pin(inner.call(req));
        }
        if req.extensions().get::<WorkPermit>().is_some() {
            // The gateway took this request's place before reading its body.
            return Box::pin(inner.call(req));
        }
        match self.try_permit() {
            Ok(permit) => {
                // The handler hands a clone to its blocking work, so the permit is released
                // when both the answer and the work are done.
                req.extensions_mut().insert(permit.clone());
                let fut = inner.call(req);
                Box::pin(async move {
                    let r = fut.await;
                    drop(permit);
                    r
                })
            }
            Err(status) => answer(status),
        }
    }
}

/// When a request reached the server's own layers (just inside tonic's transport), stored in the
/// request's extensions for the handlers' deadline arithmetic.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Arrival(pub Instant);

/// Counts requests and their latency by method and status, logs each, and stamps its
/// [`Arrival`].
#[derive(Clone)]
pub(crate) struct MetricsLayer {
    metrics: Arc<Metrics>,
}

impl MetricsLayer {
    /// Records into `metrics`.
    pub(crate) fn new(metrics: Arc<Metrics>) -> Self {
        MetricsLayer { metrics }
    }
}

impl Wrap for MetricsLayer {
    fn handle<S: Inner>(
        &self,
        inner: &mut S,
        mut req: Request<Body>,
    ) -> BoxFuture<Response<Body>, S::Error> {
        // A fixed set of labels: a client choosing paths must not grow the metrics.
        let method = self.metrics.method_label(req.uri().path());
        let start = Instant::now();
        req.extensions_mut().insert(Arrival(start));
        let metrics = self.metrics.clone();
        let fut = inner.call(req);
        Box::pin(async move {
            let r = fut.await;
            // Errors from handlers travel in the headers (trailers-only responses); a successful
            // unary response has no grpc-status header yet, its status comes in the trailers.
            let code = match &r {
                Ok(resp) => resp
                    .headers()
                    .get("grpc-status")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|s| s.parse::<i32>().ok())
                    .unwrap_or(0),
                Err(_) => 13,
            };
            let code = tonic::Code::from_i32(code);
            let elapsed = start.elapsed();
            metrics.observe(method, code, elapsed);
            tracing::info!(method, code = ?code, latency_us = elapsed.as_micros() as u64, "request");
            r
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_scheme_is_case_insensitive() {
        assert_eq!(bearer_token("Bearer abc"), Some("abc"));
        assert_eq!(bearer_token("bearer abc"), Some("abc"));
        assert_eq!(bearer_token("BEARER   abc"), Some("abc"));
        assert_eq!(bearer_token("Basic abc"), None);
        assert_eq!(bearer_token("Bearerabc"), None);
    }
}
