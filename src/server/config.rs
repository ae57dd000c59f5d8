//! Server configuration: a TOML file (`--config`) and flags; flags override the file.
//!
//! ```toml
//! listen = "127.0.0.1:50051"
//! metrics_listen = "127.0.0.1:9090"
//! auth_token_file = "/etc/wordvec/token"
//!
//! [[vectors]]
//! name = "news"
//! path = "/data/news.wvec"
//! index = "/data/news.wvec.idx"   # optional
//!
//! [limits]
//! max_top_k = 1000
//! ```

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::error::{Error, Result};

/// Default address: loopback only.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:50051";

/// A vectors model to load.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct ModelSpec {
    /// The name requests use.
    pub name: String,
    /// The vectors file.
    pub path: PathBuf,
    /// An HNSW index built from it (default: `PATH.idx` when it exists).
    #[serde(default)]
    pub index: Option<PathBuf>,
}

/// A classifier to load.
#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct ClassifierSpec {
    /// The name requests use.
    pub name: String,
    /// The model file.
    pub path: PathBuf,
}

/// Request limits.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default)]
pub struct Limits {
    /// Largest request or response message, bytes (4 MiB).
    pub max_message_bytes: usize,
    /// Largest `top_k` (1000).
    pub max_top_k: usize,
    /// Most words (terms, texts, pairs, queries) in one request (1000).
    pub max_words: usize,
    /// Requests processed at once; more are refused at once with RESOURCE_EXHAUSTED (256).
    pub max_concurrent: usize,
    /// Longest a request may run when the client sets no deadline, seconds (30).
    pub request_timeout_secs: f64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_message_bytes: 4 << 20,
            max_top_k: 1000,
            max_words: 1000,
            max_concurrent: 256,
            request_timeout_secs: 30.0,
        }
    }
}

impl Limits {
    /// The server-side time limit of a request.
    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs_f64(self.request_timeout_secs.max(0.001))
    }
}

/// Everything `wordvec serve` needs.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ServeConfig {
    /// gRPC address.
    pub listen: Option<String>,
    /// Prometheus `/metrics` address (none: no metrics endpoint).
    pub metrics_listen: Option<String>,
    /// Vector models; the first is the default. None: the embedded default model.
    pub vectors: Vec<ModelSpec>,
    /// Classifiers.
    pub classifiers: Vec<ClassifierSpec>,
    /// Limits.
    pub limits: Limits,
    /// A file holding the bearer token clients must send (`authorization: Bearer TOKEN`).
    pub auth_token_file: Option<PathBuf>,
    /// PEM certificate chain for TLS.
    pub tls_cert: Option<PathBuf>,
    /// PEM private key for TLS.
    pub tls_key: Option<PathBuf>,
}

impl ServeConfig {
    /// Reads a TOML configuration file.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io("cannot read", path, e))?;
        toml::from_str(&text).map_err(|e| {
            Error::format(
                path,
                None,
                e.span().map_or(0, |s| s.start as u64),
                e.message().to_owned(),
            )
        })
    }

    /// The address to listen on.
    pub fn listen_addr(&self) -> &str {
        self.listen.as_deref().unwrap_or(DEFAULT_LISTEN)
    }

    /// The bearer token, read from `auth_token_file` (surrounding whitespace ignored).
    pub fn auth_token(&self) -> Result<Option<String>> {
        let Some(p) = &self.auth_token_file else {
            return Ok(None);
        };
        let token = std::fs::read_to_string(p)
            .map_err(|e| Error::io("cannot read", p, e))?
            .trim()
            .to_owned();
        if token.is_empty() {
            return Err(Error::format(p, None, 0, "the auth token file is empty"));
        }
        Ok(Some(token))
    }

    /// The TLS certificate and key, when both are configured.
    pub fn tls(&self) -> Result<Option<(Vec<u8>, Vec<u8>)>> {
        match (&self.tls_cert, &self.tls_key) {
            (None, None) => Ok(None),
            (Some(c), Some(k)) => Ok(Some((
                std::fs::read(c).map_err(|e| Error::io("cannot read", c, e))?,
                std::fs::read(k).map_err(|e| Error::io("cannot read", k, e))?,
            ))),
            _ => Err(Error::invalid(
                "TLS needs both a certificate (--tls-cert) and a key (--tls-key)",
            )),
        }
    }
}

/// Parses `NAME=PATH`.
pub fn parse_named(s: &str) -> Result<(String, PathBuf)> {
    match s.split_once('=') {
        Some((n, p)) if !n.is_empty() && !p.is_empty() => Ok((n.to_owned(), PathBuf::from(p))),
        _ => Err(Error::invalid(format!("expected NAME=PATH, got {s:?}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_round_trip_and_defaults() {
        let c: ServeConfig = toml::from_str(
            "listen = \"127.0.0.1:7\"\n[[vectors]]\nname = \"a\"\npath = \"/x.bin\"\n[limits]\nmax_top_k = 5\n",
        )
        .unwrap();
        assert_eq!(c.listen_addr(), "127.0.0.1:7");
        assert_eq!(c.vectors[0].name, "a");
        assert_eq!(c.limits.max_top_k, 5);
        assert_eq!(c.limits.max_words, 1000);
        assert!(toml::from_str::<ServeConfig>("bogus = 1").is_err());
        assert_eq!(ServeConfig::default().listen_addr(), DEFAULT_LISTEN);
    }

    #[test]
    fn named_paths() {
        assert_eq!(
            parse_named("a=/b").unwrap(),
            ("a".into(), PathBuf::from("/b"))
        );
        assert!(parse_named("a").is_err());
        assert!(parse_named("=b").is_err());
    }
}
