//! Prometheus metrics: request counts and latency histograms by method and status code, served
//! as text on a separate port (`--metrics-listen`, `GET /metrics`).

use std::sync::Arc;
use std::time::Duration;

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry, TextEncoder,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// The server's metrics.
pub(crate) struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency: HistogramVec,
    methods: std::collections::HashSet<&'static str>,
}

/// The label of every path that names no method this server has.
pub(crate) const UNKNOWN_METHOD: &str = "unknown";

/// Every gRPC method path the server answers (`/package.Service/Method`), read from the
/// descriptor sets of its services, so the list cannot fall behind the proto.
fn known_methods() -> std::collections::HashSet<&'static str> {
    use prost::Message;
    let mut out = std::collections::HashSet::new();
    for set in [
        super::proto::FILE_DESCRIPTOR_SET,
        tonic_health::pb::FILE_DESCRIPTOR_SET,
        tonic_reflection::pb::v1::FILE_DESCRIPTOR_SET,
        tonic_reflection::pb::v1alpha::FILE_DESCRIPTOR_SET,
    ] {
        let Ok(fds) = prost_types::FileDescriptorSet::decode(set) else {
            continue;
        };
        for file in fds.file {
            for service in &file.service {
                for method in &service.method {
                    let path = format!(
                        "/{}{}/{}",
                        file.package
                            .as_deref()
                            .map_or(String::new(), |p| format!("{p}.")),
                        service.name(),
                        method.name()
                    );
                    // A few dozen strings, made once per server.
                    out.insert(&*Box::leak(path.into_boxed_str()));
                }
            }
        }
    }
    out
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Fresh counters.
    pub(crate) fn new() -> Self {
        let registry = Registry::new();
        let requests = IntCounterVec::new(
            Opts::new(
                "wordvec_requests_total",
                "gRPC requests by method and status code",
            ),
            &["method", "code"],
        )
        .expect("valid metric");
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "wordvec_request_duration_seconds",
                "gRPC request latency by method",
            )
            .buckets(vec![
                0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                1.0, 2.5, 5.0,
            ]),
            &["method"],
        )
        .expect("valid metric");
        registry
            .register(Box::new(requests.clone()))
            .expect("unique metric");
        registry
            .register(Box::new(latency.clone()))
            .expect("unique metric");
        Metrics {
            registry,
            requests,
            latency,
            methods: known_methods(),
        }
    }

    /// The label for a request path: the path when it names one of the server's methods, else
    /// [`UNKNOWN_METHOD`].
    pub(crate) fn method_label(&self, path: &str) -> &'static str {
        self.methods.get(path).copied().unwrap_or(UNKNOWN_METHOD)
    }

    /// Records one request.
    pub(crate) fn observe(&self, method: &str, code: tonic::Code, elapsed: Duration) {
        self.requests
            .with_label_values(&[method, &format!("{code:?}")])
            .inc();
        self.latency
            .with_label_values(&[method])
            .observe(elapsed.as_secs_f64());
    }

    /// The Prometheus text exposition.
    pub(crate) fn render(&self) -> String {
        let mut buf = Vec::new();
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut buf);
        String::from_utf8(buf).unwrap_or_default()
    }
}

/// Answers `GET /metrics` with the metrics and anything else with 404, one request per
/// connection. A deliberately small HTTP/1.1 responder: scrapers need nothing more.
pub(crate) async fn serve_metrics(listener: TcpListener, metrics: Arc<Metrics>) {
    loop {
        let Ok((mut conn, _)) = listener.accept().await else {
            continue;
        };
        let metrics = metrics.clone();
        tokio::spawn(async move {
            let mut buf = vec![0u8; 8192];
            let mut n = 0;
            while n < buf.len() {
                match tokio::time::timeout(Duration::from_secs(5), conn.read(&mut buf[n..])).await {
                    Ok(Ok(0)) | Err(_) | Ok(Err(_)) => break,
                    Ok(Ok(k)) => {
                        n += k;
                        if buf[..n].windows(4).any(|w| w == b"\r\n\r\n") {
                            break;
                        }
                    }
                }
            }
            let head = String::from_utf8_lossy(&buf[..n]);
            let (status, body) =
                if head.starts_with("GET /metrics ") || head.starts_with("GET /metrics?") {
                    ("200 OK", metrics.render())
                } else {
                    ("404 Not Found", "not found: try GET /metrics\n".to_owned())
                };
            let resp = format!(
                "HTTP/1.1 {status}\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = conn.write_all(resp.as_bytes()).await;
            let _ = conn.shutdown().await;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_a_fixed_set() {
        let m = Metrics::new();
        assert_eq!(
            m.method_label("/wordvec.v1.Embeddings/MostSimilar"),
            "/wordvec.v1.Embeddings/MostSimilar"
        );
        assert_eq!(
            m.method_label("/wordvec.v1.Classifier/Predict"),
            "/wordvec.v1.Classifier/Predict"
        );
        assert_eq!(
            m.method_label("/grpc.health.v1.Health/Check"),
            "/grpc.health.v1.Health/Check"
        );
        assert_eq!(m.method_label("/x/y"), UNKNOWN_METHOD);
        for i in 0..3000 {
            m.observe(
                m.method_label(&format!("/random.{i}/Path")),
                tonic::Code::Unimplemented,
                Duration::from_millis(1),
            );
        }
        assert!(m.render().len() < 10_000, "{}", m.render().len());
    }
}
