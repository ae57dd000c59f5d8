//! The gRPC daemon (`wordvec serve`): the `Embeddings` and `Classifier` services of
//! `proto/wordvec/v1/wordvec.proto`, standard health checks and reflection, bearer-token auth,
//! request limits, TLS, Prometheus metrics, and graceful shutdown.
//!
//! The core library knows nothing of this module; this module only translates. Handlers are
//! thin: every one opens its request the same way (`handlers::open`: the clock, the deadline and
//! concurrency permit, the model, the request's own checks) and runs its library call on a
//! blocking thread (`handlers::blocking`) so that CPU-bound searches never stall the async
//! reactor; what is left in a handler is what differs. Library
//! errors become gRPC statuses in one place (`status`). Auth, the concurrency limit and metrics
//! are tower layers around every service (`layers`), and so is the byte budget that both ports
//! share (`budget`).

pub(crate) mod budget;
pub(crate) mod classifier;
pub mod config;
pub(crate) mod conn;
pub(crate) mod handlers;
pub mod http;
pub(crate) mod layers;
pub mod metrics;
pub mod models;
pub mod reload;
pub(crate) mod status;

/// Generated messages, clients and servers.
pub mod proto {
    #![allow(missing_docs, clippy::all)]
    tonic::include_proto!("wordvec.v1");
    include!(concat!(env!("OUT_DIR"), "/wordvec.v1.serde.rs"));
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
pub use reload::{LiveModels, Reloaded, Reloader};

/// Serves `models` on `listener` until `shutdown` completes, then stops accepting, lets requests
/// in flight finish, and returns. The models never change; [`serve_live`] serves models that
/// reload.
pub async fn serve(
    models: Arc<Models>,
    config: &ServeConfig,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    serve_live(LiveModels::fixed(models), config, listener, shutdown).await
}

/// [`serve`] for models that may be swapped while serving ([`LiveModels::reload`], from the
/// Admin service's Reload or from the caller, on SIGHUP say).
pub async fn serve_live(
    live: Arc<LiveModels>,
    config: &ServeConfig,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    let http = match &config.http_listen {
        Some(addr) => Some(
            TcpListener::bind(addr)
                .await
                .map_err(|e| Error::network("cannot listen on", addr, e))?,
        ),
        None => None,
    };
    serve_all(live, config, listener, http, shutdown).await
}

/// [`serve_live`] on listeners of the caller's: gRPC on `listener`, and HTTP/JSON
/// ([`http`]) on `http` when given.
pub async fn serve_all(
    live: Arc<LiveModels>,
    config: &ServeConfig,
    listener: TcpListener,
    http: Option<TcpListener>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    config.validate()?;
    let limits = config.limits.clone();
    let metrics = Arc::new(metrics::Metrics::new());
    let token = config.auth_token()?;
    let admin = proto::admin_server::AdminServer::new(reload::AdminService::new(
        live.clone(),
        token.is_some(),
    ));

    let (health_reporter, health_service) = tonic_health::server::health_reporter();
    health_reporter
        .set_serving::<proto::embeddings_server::EmbeddingsServer<handlers::EmbeddingsService>>()
        .await;
    health_reporter
        .set_serving::<proto::classifier_server::ClassifierServer<classifier::ClassifierService>>()
        .await;
    // Reflection in both versions: v1, and v1alpha, which grpcio's reflection client, several
    // GUI clients and older grpcurl builds still ask.
    let reflection_builder = || {
        tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(proto::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
    };
    let reflection = reflection_builder()
        .build_v1()
        .map_err(|e| Error::internal(format!("reflection: {e}")))?;
    let reflection_v1alpha = reflection_builder()
        .build_v1alpha()
        .map_err(|e| Error::internal(format!("reflection (v1alpha): {e}")))?;

    let embeddings = proto::embeddings_server::EmbeddingsServer::new(
        handlers::EmbeddingsService::new(live.clone(), limits.clone()),
    )
    .max_decoding_message_size(limits.max_message_bytes)
    .max_encoding_message_size(limits.max_message_bytes);
    let classifier = proto::classifier_server::ClassifierServer::new(
        classifier::ClassifierService::new(live.clone(), limits.clone()),
    )
    .max_decoding_message_size(limits.max_message_bytes)
    .max_encoding_message_size(limits.max_message_bytes);

    // Keep-alive pings find peers that vanished; a live client answers them, which also keeps
    // it under the idle timeout of `conn::Guarded`.
    let ping = (limits.idle_timeout() / 3).clamp(
        std::time::Duration::from_secs(1),
        std::time::Duration::from_secs(60),
    );
    let mut builder = Server::builder()
        .http2_keepalive_interval(Some(ping))
        .http2_keepalive_timeout(Some(limits.read_timeout()));
    let tls = config.tls()?;
    let framing = if tls.is_some() {
        conn::Framing::Tls
    } else {
        conn::Framing::Http2
    };
    if let Some((cert, key)) = tls {
        builder = builder
            .tls_config(ServerTlsConfig::new().identity(Identity::from_pem(cert, key)))
            .map_err(|e| Error::invalid(format!("TLS configuration: {e}")))?;
    }
    let shed = layers::LoadShedLayer::new(limits.max_concurrent);
    let drain = shed.clone();
    let shed_http = shed.clone();
    let conn_limits = |framing| conn::ConnLimits {
        framing,
        idle: limits.idle_timeout(),
        read: limits.read_timeout(),
        max_connections: limits.max_connections,
    };
    let drain_limit = limits.request_timeout();
    // Set once the requests in flight have answered: from then on, connections have
    // `shutdown_grace` to close before they are closed.
    let drained = Arc::new(tokio::sync::Notify::new());
    let drained_tx = drained.clone();
    // The HTTP/JSON port stops accepting when the gRPC port does.
    let (stopping_tx, mut stopping_rx) = tokio::sync::watch::channel(false);
    let shutdown = async move {
        shutdown.await;
        let _ = stopping_tx.send(true);
        tracing::info!("shutdown requested: refusing new requests, finishing those in flight");
        drain.drain(drain_limit).await;
        drained_tx.notify_one();
    };
    // One budget of bytes in flight for both ports; messages are charged inside their place
    // under --max-concurrent, before they are decoded.
    let budget = budget::Budget::new(limits.max_inflight_bytes, limits.read_timeout());
    let layer = tower::ServiceBuilder::new()
        .layer(layers::MetricsLayer::new(metrics.clone()))
        .layer(layers::AuthLayer::new(token))
        .layer(shed)
        .layer(budget::BudgetLayer::new(
            budget.clone(),
            limits.max_message_bytes,
            limits.read_timeout(),
        ));
    let routes = tonic::service::Routes::new(health_service)
        .add_service(reflection)
        .add_service(reflection_v1alpha)
        .add_service(embeddings)
        .add_service(classifier)
        .add_service(admin);
    let http_task = match http {
        Some(l) => {
            let addr = l.local_addr().map_err(|e| {
                Error::network("cannot read the address of", "the HTTP listener", e)
            })?;
            tracing::info!(%addr, "HTTP/JSON listening");
            let stack = tower::util::BoxCloneSyncService::new(
                tower::ServiceBuilder::new()
                    .layer(layer.clone())
                    .service(routes.clone()),
            );
            let app = http::router(
                stack,
                http::Options {
                    max_body: limits.max_message_bytes,
                    read_timeout: limits.read_timeout(),
                    budget: budget.clone(),
                    shed: shed_http,
                    allowed_hosts: config.http_allowed_hosts.clone(),
                    explorer: !config.no_explorer,
                },
            );
            Some(tokio::spawn(http::serve_http(
                conn::Acceptor::new(l, conn_limits(conn::Framing::Sniff)),
                app,
                limits.read_timeout(),
                async move {
                    let _ = stopping_rx.wait_for(|s| *s).await;
                },
            )))
        }
        None => None,
    };
    let router = builder.layer(layer).add_routes(routes);

    let metrics_task = match &config.metrics_listen {
        Some(addr) => {
            let l = TcpListener::bind(addr)
                .await
                .map_err(|e| Error::network("cannot listen on", addr, e))?;
            tracing::info!(addr = %l.local_addr().map_err(|e| Error::network("cannot read address of", addr, e))?, "metrics endpoint listening");
            Some(tokio::spawn(metrics::serve_metrics(l, metrics.clone())))
        }
        None => None,
    };
    let addr: SocketAddr = listener
        .local_addr()
        .map_err(|e| Error::network("cannot read the address of", "the listener", e))?;
    tracing::info!(%addr, models = ?live.current().names(), "serving");
    // Connections time out, are capped, and accept errors back off (`conn`).
    let incoming = conn::Acceptor::new(listener, conn_limits(framing)).into_stream();
    let grace = limits.shutdown_grace();
    let server = router.serve_with_incoming_shutdown(incoming, shutdown);
    let result = tokio::select! {
        r = server => r.map_err(|e| {
            Error::network("server failed on", addr, std::io::Error::other(e))
        }),
        () = async {
            drained.notified().await;
            tokio::time::sleep(grace).await;
        } => {
            tracing::warn!(grace_s = grace.as_secs_f64(), "connections still open after the shutdown grace period: closing them");
            Ok(())
        }
    };
    if let Some(t) = metrics_task {
        t.abort();
    }
    if let Some(t) = http_task {
        // Its graceful shutdown started with the gRPC one; give it the same grace.
        if tokio::time::timeout(grace, t).await.is_err() {
            tracing::warn!("HTTP connections still open after the shutdown grace period");
        }
    }
    tracing::info!("server stopped");
    result
}
