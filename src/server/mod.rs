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
pub(crate) mod metrics;
pub mod models;
pub mod reload;
pub(crate) mod status;
pub(crate) mod writes;

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
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;
use tonic::service::Routes;
use tonic::transport::{Identity, Server, ServerTlsConfig};
use tower::layer::util::{Identity as Bare, Stack};
use tower::ServiceBuilder;

use crate::error::{Error, Result};
pub use config::{Limits, ServeConfig};
pub use models::Models;
pub use reload::{LiveModels, Reloaded, Reloader};

/// The ports a server answers on, bound: gRPC, and HTTP/JSON and Prometheus metrics when
/// configured. Any address may have port 0 (the system picks a free port): binding every port
/// before serving lets the caller learn where each one is ([`Listeners::addrs`]) before the
/// first request, so nobody has to pick a free port and hope it stays free. `wordvec serve`
/// prints the addresses; tests connect to them.
pub struct Listeners {
    /// The gRPC port.
    pub grpc: TcpListener,
    /// The HTTP/JSON port ([`http`]).
    pub http: Option<TcpListener>,
    /// The Prometheus port (`GET /metrics`).
    pub metrics: Option<TcpListener>,
}

/// Where the ports of [`Listeners`] are bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Addrs {
    /// The gRPC port.
    pub grpc: SocketAddr,
    /// The HTTP/JSON port.
    pub http: Option<SocketAddr>,
    /// The Prometheus port.
    pub metrics: Option<SocketAddr>,
}

impl Listeners {
    /// Binds every address `config` names: `listen` ([`ServeConfig::listen_addr`]),
    /// `http_listen` and `metrics_listen`.
    ///
    /// ```
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let config = wordvec::server::ServeConfig {
    ///     listen: Some("127.0.0.1:0".into()),
    ///     metrics_listen: Some("127.0.0.1:0".into()),
    ///     ..Default::default()
    /// };
    /// let addrs = wordvec::server::Listeners::bind(&config).await?.addrs()?;
    /// assert_ne!(addrs.grpc.port(), 0);
    /// assert!(addrs.metrics.is_some_and(|a| a.port() != 0));
    /// assert_eq!(addrs.http, None);
    /// # Ok::<(), wordvec::Error>(())
    /// # }).unwrap();
    /// ```
    pub async fn bind(config: &ServeConfig) -> Result<Self> {
        let grpc = bind(config.listen_addr()).await?;
        Self::beside(grpc, config).await
    }

    /// `grpc`, with the HTTP/JSON and metrics ports that `config` names bound beside it.
    pub async fn beside(grpc: TcpListener, config: &ServeConfig) -> Result<Self> {
        Ok(Listeners {
            grpc,
            http: bind_some(config.http_listen.as_deref()).await?,
            metrics: bind_some(config.metrics_listen.as_deref()).await?,
        })
    }

    /// Where each port is bound.
    pub fn addrs(&self) -> Result<Addrs> {
        let some = |l: &Option<TcpListener>, what| l.as_ref().map(|l| addr_of(l, what)).transpose();
        Ok(Addrs {
            grpc: addr_of(&self.grpc, "the gRPC listener")?,
            http: some(&self.http, "the HTTP listener")?,
            metrics: some(&self.metrics, "the metrics listener")?,
        })
    }
}

async fn bind(addr: &str) -> Result<TcpListener> {
    TcpListener::bind(addr)
        .await
        .map_err(|e| Error::network("cannot listen on", addr, e))
}

async fn bind_some(addr: Option<&str>) -> Result<Option<TcpListener>> {
    match addr {
        Some(a) => Ok(Some(bind(a).await?)),
        None => Ok(None),
    }
}

fn addr_of(l: &TcpListener, what: &str) -> Result<SocketAddr> {
    l.local_addr()
        .map_err(|e| Error::network("cannot read the address of", what, e))
}

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
/// Admin service's Reload or from the caller, on SIGHUP say). The HTTP/JSON and metrics ports
/// that `config` names are bound here ([`Listeners::beside`]).
pub async fn serve_live(
    live: Arc<LiveModels>,
    config: &ServeConfig,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    let listeners = Listeners::beside(listener, config).await?;
    serve_on(live, config, listeners, shutdown).await
}

/// [`serve_live`] on listeners of the caller's: gRPC on `listener`, and HTTP/JSON
/// ([`http`]) on `http` when given; the metrics port, when `config` names one, is bound here
/// ([`serve_on`] takes every port bound).
pub async fn serve_all(
    live: Arc<LiveModels>,
    config: &ServeConfig,
    listener: TcpListener,
    http: Option<TcpListener>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    let metrics = bind_some(config.metrics_listen.as_deref()).await?;
    let listeners = Listeners {
        grpc: listener,
        http,
        metrics,
    };
    serve_on(live, config, listeners, shutdown).await
}

/// The layers around every service of both ports, outermost first: metrics, auth, the concurrency limit,
/// the byte budget.
type Layers = ServiceBuilder<
    Stack<
        budget::BudgetLayer,
        Stack<layers::LoadShedLayer, Stack<layers::AuthLayer, Stack<layers::MetricsLayer, Bare>>>,
    >,
>;

/// [`serve_live`] on ports the caller bound ([`Listeners::bind`]): serves until `shutdown`
/// completes, then stops accepting on every port, lets the requests in flight answer (for at
/// most the request timeout), gives connections still open the shutdown grace, and returns.
pub async fn serve_on(
    live: Arc<LiveModels>,
    config: &ServeConfig,
    listeners: Listeners,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    config.validate()?;
    let limits = &config.limits;
    let addrs = listeners.addrs()?;
    let metrics = Arc::new(metrics::Metrics::new());
    let token = config.auth_token()?;
    let writes = writes::WriteSettings::new(token.is_some(), config.compact_share());
    let routes = routes(&live, limits, writes).await?;
    let (server, framing) = grpc_server(config)?;
    // One place per request under --max-concurrent and one budget of bytes in flight (charged
    // inside that place, before a message is decoded), for both ports.
    let shed = layers::LoadShedLayer::new(limits.max_concurrent);
    let budget = budget::Budget::new(limits.max_inflight_bytes, limits.read_timeout());
    let stack = ServiceBuilder::new()
        .layer(layers::MetricsLayer::new(metrics.clone()))
        .layer(layers::AuthLayer::new(token))
        .layer(shed.clone())
        .layer(budget::BudgetLayer::new(
            budget.clone(),
            limits.max_message_bytes,
            limits.read_timeout(),
        ));
    let stop = stop_on(shutdown, shed.clone(), limits.request_timeout());
    let http_task = listeners.http.map(|l| {
        tracing::info!(addr = ?addrs.http, "HTTP/JSON listening");
        let gateway = Gateway {
            stack: &stack,
            routes: &routes,
            budget,
            shed,
        };
        gateway.spawn(l, config, stop.stopping.clone())
    });
    let metrics_task = listeners.metrics.map(|l| {
        tracing::info!(addr = ?addrs.metrics, "metrics endpoint listening");
        tokio::spawn(metrics::serve_metrics(l, metrics))
    });
    tracing::info!(addr = %addrs.grpc, models = ?live.current().names(), "serving");
    // Connections time out, are capped, and accept errors back off (`conn`).
    let incoming = conn::Acceptor::new(listeners.grpc, conn_limits(limits, framing)).into_stream();
    let grpc = server
        .layer(stack)
        .add_routes(routes)
        .serve_with_incoming_shutdown(incoming, stop.requested);
    let result = until_stopped(grpc, addrs.grpc, &stop.drained, limits.shutdown_grace()).await;
    finish(metrics_task, http_task, limits.shutdown_grace()).await;
    result
}

/// Every gRPC service: health (each API service serving), reflection (v1, and v1alpha, which
/// grpcio's reflection client, several GUI clients and older grpcurl builds still ask),
/// `Embeddings` and `Classifier` under the message limit, and `Admin`; the writes of both (and the
/// admin calls) are told whether requests need a token (`writes`).
async fn routes(
    live: &Arc<LiveModels>,
    limits: &Limits,
    writes: writes::WriteSettings,
) -> Result<Routes> {
    use proto::{classifier_server::ClassifierServer, embeddings_server::EmbeddingsServer};
    let (health_reporter, health_service) = tonic_health::server::health_reporter();
    health_reporter
        .set_serving::<EmbeddingsServer<handlers::EmbeddingsService>>()
        .await;
    health_reporter
        .set_serving::<ClassifierServer<classifier::ClassifierService>>()
        .await;
    let reflection = || {
        tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(proto::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
    };
    let v1 = reflection()
        .build_v1()
        .map_err(|e| Error::internal(format!("reflection: {e}")))?;
    let v1alpha = reflection()
        .build_v1alpha()
        .map_err(|e| Error::internal(format!("reflection (v1alpha): {e}")))?;
    let max = limits.max_message_bytes;
    let auth = writes.auth;
    let embeddings = EmbeddingsServer::new(handlers::EmbeddingsService::new(
        live.clone(),
        limits.clone(),
        writes,
    ))
    .max_decoding_message_size(max)
    .max_encoding_message_size(max);
    let classifier = ClassifierServer::new(classifier::ClassifierService::new(
        live.clone(),
        limits.clone(),
    ))
    .max_decoding_message_size(max)
    .max_encoding_message_size(max);
    let admin =
        proto::admin_server::AdminServer::new(reload::AdminService::new(live.clone(), auth));
    Ok(Routes::new(health_service)
        .add_service(v1)
        .add_service(v1alpha)
        .add_service(embeddings)
        .add_service(classifier)
        .add_service(admin))
}

/// The gRPC server's transport: keep-alive pings, which find peers that vanished (a live client
/// answers them, which also keeps it under the idle timeout of `conn::Guarded`), and TLS when
/// configured; with how its connections are framed.
fn grpc_server(config: &ServeConfig) -> Result<(Server, conn::Framing)> {
    let limits = &config.limits;
    let ping = (limits.idle_timeout() / 3).clamp(Duration::from_secs(1), Duration::from_secs(60));
    let server = Server::builder()
        .http2_keepalive_interval(Some(ping))
        .http2_keepalive_timeout(Some(limits.read_timeout()));
    let Some((cert, key)) = config.tls()? else {
        return Ok((server, conn::Framing::Http2));
    };
    let server = server
        .tls_config(ServerTlsConfig::new().identity(Identity::from_pem(cert, key)))
        .map_err(|e| Error::invalid(format!("TLS configuration: {e}")))?;
    Ok((server, conn::Framing::Tls))
}

/// How a port's connections time out and how many may be open (`conn`).
fn conn_limits(limits: &Limits, framing: conn::Framing) -> conn::ConnLimits {
    conn::ConnLimits {
        framing,
        idle: limits.idle_timeout(),
        read: limits.read_timeout(),
        max_connections: limits.max_connections,
    }
}

/// The shutdown sequence, begun when the caller's shutdown future completes.
struct Stop<F> {
    /// The gRPC server's shutdown signal: completes once shutdown is requested and the requests
    /// in flight have answered (or the request timeout passed).
    requested: F,
    /// The HTTP/JSON port's: turns true when shutdown is requested (that port stops accepting
    /// when the gRPC one does).
    stopping: watch::Receiver<bool>,
    /// Told once the requests in flight have answered: from then on, connections have the
    /// shutdown grace to close before they are closed.
    drained: Arc<Notify>,
}

/// [`Stop`] on `shutdown`: new requests are refused from then on (`shed` drains), and those in
/// flight get at most `limit` to answer.
fn stop_on(
    shutdown: impl Future<Output = ()> + Send + 'static,
    shed: layers::LoadShedLayer,
    limit: Duration,
) -> Stop<impl Future<Output = ()> + Send + 'static> {
    let (stopping_tx, stopping) = watch::channel(false);
    let drained = Arc::new(Notify::new());
    let drained_tx = drained.clone();
    let requested = async move {
        shutdown.await;
        let _ = stopping_tx.send(true);
        tracing::info!("shutdown requested: refusing new requests, finishing those in flight");
        shed.drain(limit).await;
        drained_tx.notify_one();
    };
    Stop {
        requested,
        stopping,
        drained,
    }
}

/// What the HTTP/JSON gateway shares with the gRPC port: the layers, the services, the byte
/// budget and the concurrency limit.
struct Gateway<'a> {
    stack: &'a Layers,
    routes: &'a Routes,
    budget: budget::Budget,
    shed: layers::LoadShedLayer,
}

impl Gateway<'_> {
    /// Serves the gateway ([`http`]) on `listener` until `stopping` turns true.
    fn spawn(
        self,
        listener: TcpListener,
        config: &ServeConfig,
        mut stopping: watch::Receiver<bool>,
    ) -> JoinHandle<std::io::Result<()>> {
        let limits = &config.limits;
        let grpc = tower::util::BoxCloneSyncService::new(
            ServiceBuilder::new()
                .layer(self.stack.clone())
                .service(self.routes.clone()),
        );
        let options = http::Options {
            max_body: limits.max_message_bytes,
            read_timeout: limits.read_timeout(),
            budget: self.budget,
            shed: self.shed,
            allowed_hosts: config.http_allowed_hosts.clone(),
            explorer: !config.no_explorer,
        };
        let acceptor = conn::Acceptor::new(listener, conn_limits(limits, conn::Framing::Sniff));
        tokio::spawn(http::serve_http(
            acceptor,
            http::router(grpc, options),
            limits.read_timeout(),
            async move {
                let _ = stopping.wait_for(|s| *s).await;
            },
        ))
    }
}

/// Waits for the gRPC server to stop after its shutdown signal, or for connections still open
/// `grace` after the requests in flight answered (`drained`): then they are closed.
async fn until_stopped(
    server: impl Future<Output = std::result::Result<(), tonic::transport::Error>>,
    addr: SocketAddr,
    drained: &Notify,
    grace: Duration,
) -> Result<()> {
    tokio::select! {
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
    }
}

/// After the gRPC port stopped: stops the metrics port, and gives the HTTP/JSON port (whose
/// graceful shutdown started with the gRPC one) the same `grace`.
async fn finish(
    metrics: Option<JoinHandle<()>>,
    http: Option<JoinHandle<std::io::Result<()>>>,
    grace: Duration,
) {
    if let Some(t) = metrics {
        t.abort();
    }
    if let Some(t) = http {
        if tokio::time::timeout(grace, t).await.is_err() {
            tracing::warn!("HTTP connections still open after the shutdown grace period");
        }
    }
    tracing::info!("server stopped");
}
