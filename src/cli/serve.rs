//! `wordvec serve`: loads models and runs the gRPC daemon until SIGINT/SIGTERM.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::Args;
use wordvec::server::config::{parse_named, ClassifierSpec, ModelSpec, ServeConfig};
use wordvec::server::models::{Logs, Models};
use wordvec::server::{Listeners, LiveModels};
use wordvec::LoadOptions;

use super::{load_options, LoadArgs};

#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// A vectors model, NAME=PATH (repeatable; the first is the default). None: the embedded
    /// default model, named "default".
    #[arg(long = "vectors", value_name = "NAME=PATH")]
    pub vectors: Vec<String>,
    /// An HNSW index for a model, NAME=PATH (default: the model's PATH.idx when it exists).
    #[arg(long = "index", value_name = "NAME=PATH")]
    pub index: Vec<String>,
    /// A text classifier, NAME=PATH (repeatable).
    #[arg(long = "classifier", value_name = "NAME=PATH")]
    pub classifier: Vec<String>,
    /// TOML configuration file (see README); flags override it.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// gRPC address [default: 127.0.0.1:50051].
    #[arg(long)]
    pub listen: Option<String>,
    /// Address for Prometheus metrics (GET /metrics), e.g. 127.0.0.1:9090.
    #[arg(long)]
    pub metrics_listen: Option<String>,
    /// Address for HTTP/JSON (every RPC as POST /v1/Service/Method, GET /openapi.json), e.g.
    /// 127.0.0.1:8080.
    #[arg(long)]
    pub http_listen: Option<String>,
    /// Serve no explorer page at / of the HTTP port (the JSON API stays).
    #[arg(long)]
    pub no_explorer: bool,
    /// File holding the bearer token clients must send; health checks stay open.
    #[arg(long)]
    pub auth_token_file: Option<PathBuf>,
    /// PEM certificate chain: serve TLS (with --tls-key).
    #[arg(long)]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for --tls-cert.
    #[arg(long)]
    pub tls_key: Option<PathBuf>,
    /// Largest message in bytes [default: 4194304].
    #[arg(long)]
    pub max_message_bytes: Option<usize>,
    /// Largest top_k [default: 1000].
    #[arg(long)]
    pub max_top_k: Option<usize>,
    /// Most words/terms/texts per request [default: 1000].
    #[arg(long)]
    pub max_words: Option<usize>,
    /// Requests processed at once; excess ones get RESOURCE_EXHAUSTED at once [default: 256].
    #[arg(long)]
    pub max_concurrent: Option<usize>,
    /// Longest a request may run without a client deadline, seconds [default: 30].
    #[arg(long)]
    pub request_timeout: Option<f64>,
    /// Largest HNSW candidate list (ef) a request may ask for [default: 4096].
    #[arg(long)]
    pub max_ef: Option<usize>,
    /// Close a connection that sends nothing for this long, seconds [default: 300].
    #[arg(long)]
    pub idle_timeout: Option<f64>,
    /// Close a connection that stalls inside a frame for this long, seconds [default: 10].
    #[arg(long)]
    pub read_timeout: Option<f64>,
    /// On SIGTERM, close connections still open this long after the last answer, seconds
    /// [default: 5].
    #[arg(long)]
    pub shutdown_grace: Option<f64>,
    // Connections and request bodies.
    /// Most connections open at once on each port; more are closed at once [default: 1000].
    #[arg(long)]
    pub max_connections: Option<usize>,
    /// Most bytes of request bodies in flight at once, gRPC and HTTP/JSON together, counted as
    /// read and as decoded [default: 67108864].
    #[arg(long)]
    pub max_inflight_bytes: Option<usize>,
    /// A host name the HTTP port answers (the Host header), besides IP literals and localhost;
    /// repeatable.
    #[arg(long = "http-allowed-host", value_name = "NAME")]
    pub http_allowed_host: Vec<String>,
    /// Longest word a request may hold (term, filter word, text token, model name), bytes
    /// [default: 1024].
    #[arg(long)]
    pub max_word_bytes: Option<usize>,
    /// Take writes (Upsert, Delete, Compact; they need --auth-token-file) for every vectors
    /// model, each with its write-ahead log DIR/NAME.wal and its compacted files in DIR. A
    /// reload keeps these models as they are (one writer per log).
    #[arg(long, value_name = "DIR")]
    pub wal_dir: Option<PathBuf>,
    /// Compact a model in the background once its added, replaced and deleted words pass this
    /// share of its base rows; 0: never [default: 0.25].
    #[arg(long, value_name = "SHARE")]
    pub compact_at: Option<f64>,
    /// Be a reader replica of the writer whose --wal-dir is DIR (a shared read-only volume):
    /// serve each model's last compacted base there (else its configured file) and reload
    /// when a compaction writes a new one. Takes no writes.
    #[arg(long, value_name = "DIR", conflicts_with = "wal_dir")]
    pub follow_dir: Option<PathBuf>,
    /// How often --follow-dir looks for a new compaction, seconds [default: 10].
    #[arg(long, value_name = "SECONDS")]
    pub follow_every: Option<f64>,

    #[command(flatten)]
    pub load: LoadArgs,
}

fn config(a: &ServeArgs) -> Result<ServeConfig> {
    let mut c = match &a.config {
        Some(p) => ServeConfig::from_file(p)?,
        None => ServeConfig::default(),
    };
    if !a.vectors.is_empty() {
        c.vectors = a
            .vectors
            .iter()
            .map(|s| {
                parse_named(s).map(|(name, path)| ModelSpec {
                    name,
                    path,
                    index: None,
                })
            })
            .collect::<Result<_, _>>()?;
    }
    for s in &a.index {
        let (name, path) = parse_named(s)?;
        let m = c
            .vectors
            .iter_mut()
            .find(|m| m.name == name)
            .with_context(|| format!("--index {s}: no model named {name}"))?;
        m.index = Some(path);
    }
    if !a.classifier.is_empty() {
        c.classifiers = a
            .classifier
            .iter()
            .map(|s| parse_named(s).map(|(name, path)| ClassifierSpec { name, path }))
            .collect::<Result<_, _>>()?;
    }
    if a.no_explorer {
        c.no_explorer = true;
    }
    macro_rules! over {
        ($($f:ident => $t:expr),*) => { $( if let Some(v) = &a.$f { $t = v.clone().into(); } )* };
    }
    over!(listen => c.listen, metrics_listen => c.metrics_listen, http_listen => c.http_listen, auth_token_file => c.auth_token_file, tls_cert => c.tls_cert, tls_key => c.tls_key);
    over!(
        max_message_bytes => c.limits.max_message_bytes,
        max_top_k => c.limits.max_top_k,
        max_words => c.limits.max_words,
        max_concurrent => c.limits.max_concurrent,
        request_timeout => c.limits.request_timeout_secs,
        max_ef => c.limits.max_ef,
        idle_timeout => c.limits.idle_timeout_secs,
        read_timeout => c.limits.read_timeout_secs,
        shutdown_grace => c.limits.shutdown_grace_secs
    );
    over!(max_connections => c.limits.max_connections, max_inflight_bytes => c.limits.max_inflight_bytes);
    c.http_allowed_hosts
        .extend(a.http_allowed_host.iter().cloned());
    over!(max_word_bytes => c.limits.max_word_bytes, wal_dir => c.wal_dir, compact_at => c.compact_at);
    over!(follow_dir => c.follow_dir, follow_every => c.follow_every);
    c.validate()?;
    Ok(c)
}

/// How the load flags read every model file: without a progress bar (reloads), or with one for a
/// large file ([`load_options`]; a file it cannot open gets none, and the load says why).
fn read_options(load: &LoadArgs, progress: bool) -> impl Fn(&ModelSpec) -> LoadOptions + '_ {
    move |spec| {
        let plain = || {
            LoadOptions::default()
                .format(load.format.map(Into::into))
                .unicode_errors(load.unicode_errors.into())
                .limit(load.limit)
        };
        if progress {
            load_options(&spec.path, load).unwrap_or_else(|_| plain())
        } else {
            plain()
        }
    }
}

pub(crate) fn run(a: ServeArgs) -> Result<()> {
    let c = config(&a)?;
    // The live models (--wal-dir) opened once, kept across reloads: one writer per log.
    let logs = Arc::new(Logs::default());
    // What a follower serves, read before the load: a compaction in between costs one reload
    // more, never a missed one.
    let followed = match c.follow_dir {
        Some(_) => Some(c.followed_bases()?),
        None => None,
    };
    let models = Arc::new(Models::load_logged(&c, read_options(&a.load, true), &logs)?);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        // Every port is bound before the first request, port 0 included: the lines below say
        // where (the gRPC one last: a caller waiting for it has them all).
        let listeners = Listeners::bind(&c).await?;
        let addrs = listeners.addrs()?;
        if let Some(addr) = addrs.http {
            eprintln!("wordvec HTTP/JSON on {addr}");
        }
        if let Some(addr) = addrs.metrics {
            eprintln!("wordvec metrics on {addr}");
        }
        let classifiers: Vec<&str> = models
            .all_classifiers()
            .iter()
            .map(|m| m.name.as_str())
            .collect();
        eprintln!(
            "wordvec serving {}{} on {}",
            models.names().join(", "),
            if classifiers.is_empty() {
                String::new()
            } else {
                format!(" and classifiers {}", classifiers.join(", "))
            },
            addrs.grpc
        );
        // Reloads (SIGHUP, or the Admin service's Reload) read the same configuration again.
        let reload_config = c.clone();
        let load = a.load.clone();
        let live = LiveModels::reloadable(
            models,
            Arc::new(move || {
                Models::load_logged(&reload_config, read_options(&load, false), &logs)
            }),
        );
        #[cfg(unix)]
        tokio::spawn(reload_on_sighup(live.clone()));
        if followed.is_some() {
            tokio::spawn(follow(live.clone(), c.clone(), followed));
        }
        wordvec::server::serve_on(live, &c, listeners, shutdown_signal()).await?;
        Ok(())
    })
}

/// A reader replica (`--follow-dir`): every `--follow-every` seconds, reads the writer's
/// manifests and reloads when one names another base than the models were loaded from. A failed
/// look or reload keeps the models and is tried again at the next tick (a compaction may have
/// removed a base between the manifest's read and the file's).
async fn follow(
    live: Arc<LiveModels>,
    c: wordvec::server::ServeConfig,
    mut served: Option<Vec<PathBuf>>,
) {
    let every = std::time::Duration::from_secs_f64(c.follow_interval());
    let look = |c: &wordvec::server::ServeConfig| c.followed_bases().map_err(|e| e.to_string());
    loop {
        tokio::time::sleep(every).await;
        let now = match look(&c) {
            Ok(now) => now,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the followed manifests; trying again");
                continue;
            }
        };
        if served.as_ref() == Some(&now) {
            continue;
        }
        let l = live.clone();
        match tokio::task::spawn_blocking(move || l.reload()).await {
            Ok(Ok(r)) => {
                eprintln!(
                    "followed a compaction (generation {}): {} in {:.2} s",
                    r.generation,
                    r.vectors.join(", "),
                    r.seconds
                );
                served = Some(now);
            }
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "cannot load the followed bases; trying again")
            }
            Err(e) => tracing::warn!(error = %e, "the reload task failed; trying again"),
        }
    }
}

/// Reloads the models on every SIGHUP; a failed reload keeps the old ones (and says why).
#[cfg(unix)]
async fn reload_on_sighup(live: Arc<LiveModels>) {
    use tokio::signal::unix::{signal, SignalKind};
    let Ok(mut hup) = signal(SignalKind::hangup()) else {
        tracing::warn!("cannot listen for SIGHUP: reloads only through the Admin service");
        return;
    };
    while hup.recv().await.is_some() {
        let l = live.clone();
        match tokio::task::spawn_blocking(move || l.reload()).await {
            Ok(Ok(r)) => eprintln!(
                "reloaded (generation {}): {} in {:.2} s",
                r.generation,
                r.vectors.join(", "),
                r.seconds
            ),
            Ok(Err(e)) => eprintln!("error: {e}"),
            Err(e) => eprintln!("error: the reload task failed: {e}"),
        }
    }
}

/// Completes on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    eprintln!("shutting down: finishing requests in flight");
}
