//! Hot reload: the models a server answers from, swapped whole while it runs.
//!
//! [`LiveModels`] holds the current [`Models`] behind an `Arc`. Every request takes the `Arc` of
//! the moment it starts and keeps it to the end, so a reload never changes the models under a
//! request in flight: it loads the new set first (the caller's [`Reloader`], which re-reads the
//! configured files), and only when every file opened cleanly swaps the pointer. A reload that
//! fails (a missing or corrupt file) leaves the old models serving and says why. Reloads run one
//! at a time.
//!
//! A model with a log (`--wal-dir`) is not read again: the reload keeps its live model, the one
//! writer of its log (see [`super::models`]); its writes and its compacted base stay.

use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

use tonic::{Request, Response, Status};

use super::models::Models;
use super::proto::{self, admin_server::Admin};
use crate::error::{Error, Result};

/// Loads the models afresh: the caller's own loading (its flags, its configuration file).
pub type Reloader = Arc<dyn Fn() -> Result<Models> + Send + Sync>;

/// What a reload swapped in.
#[derive(Debug, Clone, PartialEq)]
pub struct Reloaded {
    /// Vector models now served, default first.
    pub vectors: Vec<String>,
    /// Classifiers now served.
    pub classifiers: Vec<String>,
    /// How many reloads have succeeded since the server started.
    pub generation: u64,
    /// Seconds the loading took.
    pub seconds: f64,
}

/// The models of a running server (see the module documentation).
pub struct LiveModels {
    current: RwLock<Arc<Models>>,
    reloader: Option<Reloader>,
    reloading: Mutex<u64>,
}

impl LiveModels {
    /// Models that never change (reloading them is an error).
    pub fn fixed(models: Arc<Models>) -> Arc<LiveModels> {
        Arc::new(LiveModels {
            current: RwLock::new(models),
            reloader: None,
            reloading: Mutex::new(0),
        })
    }

    /// Models that `reloader` loads afresh on [`reload`](Self::reload).
    pub fn reloadable(models: Arc<Models>, reloader: Reloader) -> Arc<LiveModels> {
        Arc::new(LiveModels {
            current: RwLock::new(models),
            reloader: Some(reloader),
            reloading: Mutex::new(0),
        })
    }

    /// The models of this moment; hold the `Arc` for the whole of a request.
    pub fn current(&self) -> Arc<Models> {
        match self.current.read() {
            Ok(m) => m.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Loads the models afresh and swaps them in; on any error the old ones stay. Blocks for as
    /// long as the loading takes (call it off the async runtime).
    pub fn reload(&self) -> Result<Reloaded> {
        let Some(reloader) = &self.reloader else {
            return Err(Error::invalid(
                "this server's models were given to it, not loaded from files: nothing to reload",
            ));
        };
        let mut generation = self
            .reloading
            .lock()
            .map_err(|_| Error::internal("an earlier reload panicked"))?;
        let start = Instant::now();
        let fresh = match reloader() {
            Ok(m) => Arc::new(m),
            Err(e) => {
                tracing::error!(error = %e, "reload failed; still serving the previous models");
                return Err(e.context("reload failed; still serving the previous models"));
            }
        };
        let report = Reloaded {
            vectors: fresh.names(),
            classifiers: fresh
                .all_classifiers()
                .iter()
                .map(|c| c.name.clone())
                .collect(),
            generation: *generation + 1,
            seconds: start.elapsed().as_secs_f64(),
        };
        match self.current.write() {
            Ok(mut m) => *m = fresh,
            Err(poisoned) => *poisoned.into_inner() = fresh,
        }
        *generation += 1;
        tracing::info!(models = ?report.vectors, classifiers = ?report.classifiers, generation = report.generation, seconds = report.seconds, "reloaded");
        Ok(report)
    }
}

/// Implements `wordvec.v1.Admin`. Its calls need the server's bearer token: a server started
/// without one refuses them (FAILED_PRECONDITION), as anyone could otherwise make it reload. A
/// reload whose files are missing or unreadable is FAILED_PRECONDITION too, not UNAVAILABLE
/// (which clients retry): see `status::reload_failed`.
pub struct AdminService {
    live: Arc<LiveModels>,
    has_token: bool,
}

impl AdminService {
    /// The admin service of `live`; `has_token` says whether the auth layer checks a token.
    pub fn new(live: Arc<LiveModels>, has_token: bool) -> Self {
        AdminService { live, has_token }
    }
}

#[tonic::async_trait]
impl Admin for AdminService {
    async fn reload(
        &self,
        _req: Request<proto::ReloadRequest>,
    ) -> Result<Response<proto::ReloadResponse>, Status> {
        if !self.has_token {
            return Err(Status::failed_precondition(
                "Reload needs a server started with --auth-token-file; without one, send SIGHUP",
            ));
        }
        let t = Instant::now();
        let live = self.live.clone();
        let r = tokio::task::spawn_blocking(move || live.reload())
            .await
            .map_err(|e| Status::internal(format!("the reload task failed: {e}")))?
            .map_err(super::status::reload_failed)?;
        Ok(Response::new(proto::ReloadResponse {
            models: r.vectors,
            classifiers: r.classifiers,
            generation: r.generation,
            server_time_us: t.elapsed().as_micros() as u64,
        }))
    }

    async fn compact(
        &self,
        req: Request<proto::CompactRequest>,
    ) -> Result<Response<proto::CompactResponse>, Status> {
        if !self.has_token {
            return Err(super::status::writes_need_token("Compact"));
        }
        let t = Instant::now();
        let r = req.into_inner();
        let model = self.live.current().vectors(&r.model)?;
        let writer = super::writes::writer(&model)?.clone();
        let c = tokio::task::spawn_blocking(move || writer.compact())
            .await
            .map_err(|e| Status::internal(format!("the compaction task failed: {e}")))?
            .map_err(super::status::write_failed)?;
        Ok(Response::new(proto::CompactResponse {
            model: model.name.clone(),
            base: c.base.map(|p| p.display().to_string()).unwrap_or_default(),
            lsn: c.lsn,
            rows: c.rows as u64,
            written: c.written,
            seconds: c.seconds,
            server_time_us: t.elapsed().as_micros() as u64,
        }))
    }
}
