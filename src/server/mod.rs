//! The gRPC daemon (`wordvec serve`): the `Embeddings` and `Classifier` services of
//! `proto/wordvec/v1/wordvec.proto`, standard health checks and reflection, bearer-token auth,
//! request limits, TLS, Prometheus metrics, and graceful shutdown.
//!
//! The core library knows nothing of this module; this module only translates. Handlers are
//! thin: they check limits, turn messages into library calls, and run those on blocking threads
//! ([`handlers::blocking`]) so that CPU-bound searches never stall the async reactor. Library
//! errors become gRPC statuses in one place ([`status`]). Auth, the concurrency limit and metrics
//! are tower layers around every service ([`layers`]).

pub mod classifier;
pub mod config;
pub mod handlers;
pub mod layers;
pub mod metrics;
pub mod models;
pub mod status;

/// Generated messages, clients and servers.
pub mod proto {
    #![allow(missing_docs, clippy::all)]
    tonic::include_proto!("wordvec.v1");
    /// The encoded descriptor set of the API, for reflection.
    pub const FILE_DESCRIPTOR_SET: &[u8] =
        tonic::include_file_descriptor_set!("wordvec_descriptor");
}

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tonic::transport::{Identity, Server, ServerTlsConfig};

use crate::error::{Error, Result};
pub use config::{Limits, ServeConfig};
pub use models::Models;

/// Serves `models` on `listener` until `shutdown` completes, then stops accepting, lets requests
/// in flight finish, and returns.
pub async fn serve(
    models: Arc<Models>,
    config: &ServeConfig,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    let limits = config.limits.clone();
    let metrics = Arc::new(metrics::Metrics::new());
    let token = config.auth_token()?;

    let (health_reporter, health_service) = tonic_health::server::health_reporter();
    health_reporter
        .set_serving::<proto::embeddings_server::EmbeddingsServer<handlers::EmbeddingsService>>()
        .await;
    health_reporter
        .set_serving::<proto::classifier_server::ClassifierServer<classifier::ClassifierService>>()
        .await;
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .build_v1()
        .map_err(|e| Error::invalid(format!("reflection: {e}")))?;

    let embeddings = proto::embeddings_server::EmbeddingsServer::new(
        handlers::EmbeddingsService::new(models.clone(), limits.clone()),
    )
    .max_decoding_message_size(limits.max_message_bytes)
    .max_encoding_message_size(limits.max_message_bytes);
    let classifier = proto::classifier_server::ClassifierServer::new(
        classifier::ClassifierService::new(models.clone(), limits.clone()),
    )
    .max_decoding_message_size(limits.max_message_bytes)
    .max_encoding_message_size(limits.max_message_bytes);

    let mut builder = Server::builder();
    if let Some((cert, key)) = config.tls()? {
        builder = builder
            .tls_config(ServerTlsConfig::new().identity(Identity::from_pem(cert, key)))
            .map_err(|e| Error::invalid(format!("TLS configuration: {e}")))?;
    }
    let shed = layers::LoadShedLayer::new(limits.max_concurrent);
    let drain = shed.clone();
    let drain_limit = limits.request_timeout();
    let shutdown = async move {
        shutdown.await;
        tracing::info!("shutdown requested: refusing new requests, finishing those in flight");
        drain.drain(drain_limit).await;
    };
    let layer = tower::ServiceBuilder::new()
        .layer(layers::MetricsLayer::new(metrics.clone()))
        .layer(layers::AuthLayer::new(token))
        .layer(shed);
    let router = builder
        .layer(layer)
        .add_service(health_service)
        .add_service(reflection)
        .add_service(embeddings)
        .add_service(classifier);

    let metrics_task = match &config.metrics_listen {
        Some(addr) => {
            let l = TcpListener::bind(addr)
                .await
                .map_err(|e| Error::io("cannot listen on", addr, e))?;
            tracing::info!(addr = %l.local_addr().map_err(|e| Error::io("cannot read address of", addr, e))?, "metrics endpoint listening");
            Some(tokio::spawn(metrics::serve_metrics(l, metrics.clone())))
        }
        None => None,
    };
    let addr: SocketAddr = listener
        .local_addr()
        .map_err(|e| Error::io("cannot read address of", "listener", e))?;
    tracing::info!(%addr, models = ?models.names(), "serving");
    // Small gRPC messages on a socket with Nagle's algorithm wait for delayed ACKs (40 ms
    // stalls), so every accepted connection gets TCP_NODELAY.
    let incoming = tokio_stream::StreamExt::map(
        tokio_stream::wrappers::TcpListenerStream::new(listener),
        |conn| {
            conn.inspect(|s| {
                let _ = s.set_nodelay(true);
            })
        },
    );
    let result = router
        .serve_with_incoming_shutdown(incoming, shutdown)
        .await
        .map_err(|e| {
            Error::io(
                "server failed on",
                addr.to_string(),
                std::io::Error::other(e),
            )
        });
    if let Some(t) = metrics_task {
        t.abort();
    }
    tracing::info!("server stopped");
    result
}
