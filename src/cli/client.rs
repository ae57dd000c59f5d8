//! The CLI as a client of a running daemon (`--server URL`).

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use tonic::metadata::MetadataValue;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint};
use wordvec::server::proto::admin_client::AdminClient;
use wordvec::server::proto::embeddings_client::EmbeddingsClient;
use wordvec::server::proto::{self, ListModelsRequest};
use wordvec::Neighbor;

/// Options to reach a daemon.
#[derive(Debug, Clone, Args)]
pub(crate) struct ServerArgs {
    /// Ask a running `wordvec serve` at this URL (http://HOST:PORT, or https:// with --tls-ca)
    /// instead of opening vectors here.
    #[arg(long, value_name = "URL")]
    pub server: Option<String>,
    /// Model name on the server [default: the server's default model].
    #[arg(long, default_value = "")]
    pub model: String,
    /// File holding the bearer token the server requires.
    #[arg(long)]
    pub auth_token_file: Option<PathBuf>,
    /// PEM CA certificate to trust for an https:// server.
    #[arg(long)]
    pub tls_ca: Option<PathBuf>,
}

type Intercept =
    Box<dyn FnMut(tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> + Send>;

/// A connected client and a runtime to drive it from synchronous code.
pub(crate) struct Client {
    pub rt: tokio::runtime::Runtime,
    pub inner: EmbeddingsClient<InterceptedService<Channel, Intercept>>,
    /// The Admin service on the same connection, with the same token.
    pub admin: AdminClient<InterceptedService<Channel, Intercept>>,
    pub model: String,
}

/// Sends `header` (the bearer token) with every request.
fn intercept(header: Option<MetadataValue<tonic::metadata::Ascii>>) -> Intercept {
    Box::new(move |mut req: tonic::Request<()>| {
        if let Some(h) = &header {
            req.metadata_mut().insert("authorization", h.clone());
        }
        Ok(req)
    })
}

impl Client {
    /// Connects to `args.server`.
    pub(crate) fn connect(args: &ServerArgs) -> Result<Self> {
        let url = args.server.clone().context("no --server given")?;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let token = match &args.auth_token_file {
            Some(p) => Some(
                std::fs::read_to_string(p)
                    .with_context(|| format!("cannot read {}", p.display()))?
                    .trim()
                    .to_owned(),
            ),
            None => None,
        };
        let header: Option<MetadataValue<_>> = match token {
            Some(t) => Some(
                format!("Bearer {t}")
                    .parse()
                    .context("the token is not a valid header value")?,
            ),
            None => None,
        };
        let mut endpoint =
            Endpoint::from_shared(url.clone()).with_context(|| format!("bad server URL {url}"))?;
        if let Some(ca) = &args.tls_ca {
            let pem = std::fs::read(ca).with_context(|| format!("cannot read {}", ca.display()))?;
            endpoint = endpoint
                .tls_config(ClientTlsConfig::new().ca_certificate(Certificate::from_pem(pem)))?;
        }
        let channel = rt
            .block_on(endpoint.connect())
            .with_context(|| format!("cannot connect to {url}"))?;
        Ok(Client {
            rt,
            inner: EmbeddingsClient::with_interceptor(channel.clone(), intercept(header.clone())),
            admin: AdminClient::with_interceptor(channel, intercept(header)),
            model: args.model.clone(),
        })
    }

    /// How the server describes the model (the same words as the local CLI's).
    pub(crate) fn describe(&mut self) -> Result<String> {
        let models = self
            .rt
            .block_on(self.inner.list_models(ListModelsRequest {}))?
            .into_inner()
            .models;
        let m = if self.model.is_empty() {
            models.iter().find(|m| m.is_default)
        } else {
            models.iter().find(|m| m.name == self.model)
        };
        m.map(|m| m.description.clone())
            .with_context(|| format!("the server has no model named {:?}", self.model))
    }
}

/// Proto neighbours to library ones.
pub(crate) fn neighbors(r: proto::NeighborsResponse) -> Vec<Neighbor> {
    r.neighbors
        .into_iter()
        .map(|n| Neighbor {
            word: n.word,
            index: n.index as usize,
            score: n.score,
        })
        .collect()
}

/// A word term.
pub(crate) fn word(w: &str) -> proto::Term {
    proto::Term {
        term: Some(proto::term::Term::Word(w.to_owned())),
    }
}

/// Turns a gRPC error into a CLI error with the server's message.
pub(crate) fn status_error(s: tonic::Status) -> anyhow::Error {
    anyhow::anyhow!("{} (from the server: {:?})", s.message(), s.code())
}
