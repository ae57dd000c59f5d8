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
#[serde(deny_unknown_fields)]
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
#[serde(deny_unknown_fields)]
pub struct ClassifierSpec {
    /// The name requests use.
    pub name: String,
    /// The model file.
    pub path: PathBuf,
}

/// Request and connection limits. [`Limits::validate`] checks every value: they size
/// semaphores, buffers and timers.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
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
    /// Largest HNSW candidate list (`ef`) a request may ask for (4096).
    pub max_ef: usize,
    /// A connection that sends nothing at all for this long is closed, seconds (300). Live
    /// clients answer the server's HTTP/2 keep-alive pings, which counts.
    pub idle_timeout_secs: f64,
    /// A connection that stops in the middle of a frame (or of its preface) for this long is
    /// closed, seconds (10): a slow or half-open client cannot hold a connection open.
    pub read_timeout_secs: f64,
    /// After SIGTERM and the requests in flight, connections still open are closed after this
    /// long, seconds (5).
    pub shutdown_grace_secs: f64,
    // Connections and request bodies (`conn`, `http`).
    /// Most connections open at once on each port (1000); the next one is closed at once. Each
    /// port counts its own, so that clients of the HTTP port cannot shut out the gRPC port's
    /// health checks.
    pub max_connections: usize,
    /// Most bytes that request bodies may hold at once, gRPC messages and HTTP/JSON bodies
    /// together (one budget for both ports, `server::budget`), counted as read and as decoded
    /// (64 MiB): a body that would not fit waits for room (at most the read timeout), and one
    /// that can never fit is refused with RESOURCE_EXHAUSTED.
    pub max_inflight_bytes: usize,
    /// Longest word a request may hold, bytes (1024, [`crate::limits::DEFAULT_MAX_WORD_BYTES`]):
    /// a query term, a filter word, a text's token, a model name. A longer one is
    /// INVALID_ARGUMENT before any work; it also bounds the n-gram work of an unknown word.
    pub max_word_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_message_bytes: 4 << 20,
            max_top_k: 1000,
            max_words: 1000,
            max_concurrent: 256,
            request_timeout_secs: 30.0,
            max_ef: 4096,
            idle_timeout_secs: 300.0,
            read_timeout_secs: 10.0,
            shutdown_grace_secs: 5.0,
            max_connections: 1000,
            max_inflight_bytes: 64 << 20,
            max_word_bytes: crate::limits::DEFAULT_MAX_WORD_BYTES,
        }
    }
}

/// Longest time any limit may name: one day.
const MAX_SECS: f64 = 86_400.0;

impl Limits {
    /// Checks every limit: counts between 1 and a sane maximum, times finite, positive and at
    /// most a day.
    pub fn validate(&self) -> Result<()> {
        use crate::limits::between_1_and;
        between_1_and("max_message_bytes", self.max_message_bytes, 1 << 30)?;
        between_1_and("max_top_k", self.max_top_k, 1_000_000)?;
        between_1_and("max_words", self.max_words, 1_000_000)?;
        between_1_and("max_concurrent", self.max_concurrent, 100_000)?;
        between_1_and("max_ef", self.max_ef, crate::limits::MAX_EF)?;
        between_1_and("max_connections", self.max_connections, 1_000_000)?;
        // A budget counted by a semaphore of 32-bit permits, that one largest message must fit.
        between_1_and(
            "max_inflight_bytes",
            self.max_inflight_bytes,
            u32::MAX as usize,
        )?;
        if self.max_inflight_bytes < self.max_message_bytes {
            return Err(Error::invalid(format!(
                "max_inflight_bytes ({}) must be at least max_message_bytes ({}): a request of the largest size must fit",
                self.max_inflight_bytes, self.max_message_bytes
            )));
        }
        between_1_and(
            "max_word_bytes",
            self.max_word_bytes,
            crate::limits::MAX_TEXT_BYTES,
        )?;
        for (what, v) in [
            ("request_timeout", self.request_timeout_secs),
            ("idle_timeout", self.idle_timeout_secs),
            ("read_timeout", self.read_timeout_secs),
            ("shutdown_grace", self.shutdown_grace_secs),
        ] {
            if !(v.is_finite() && v > 0.0 && v <= MAX_SECS) {
                return Err(Error::invalid(format!(
                    "{what} must be a number of seconds above 0 and at most {MAX_SECS}, not {v}"
                )));
            }
        }
        Ok(())
    }

    /// The server-side time limit of a request.
    pub fn request_timeout(&self) -> Duration {
        secs(self.request_timeout_secs)
    }

    /// See [`Limits::idle_timeout_secs`].
    pub fn idle_timeout(&self) -> Duration {
        secs(self.idle_timeout_secs)
    }

    /// See [`Limits::read_timeout_secs`].
    pub fn read_timeout(&self) -> Duration {
        secs(self.read_timeout_secs)
    }

    /// See [`Limits::shutdown_grace_secs`].
    pub fn shutdown_grace(&self) -> Duration {
        secs(self.shutdown_grace_secs)
    }
}

/// Seconds as a duration, clamped into what [`Limits::validate`] accepts (never a panic).
fn secs(v: f64) -> Duration {
    Duration::try_from_secs_f64(v.clamp(0.001, MAX_SECS)).unwrap_or(Duration::from_secs(1))
}

/// Everything `wordvec serve` needs.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ServeConfig {
    /// gRPC address.
    pub listen: Option<String>,
    /// Prometheus `/metrics` address (none: no metrics endpoint).
    pub metrics_listen: Option<String>,
    /// HTTP/JSON address (none: gRPC only): every RPC as `POST /v1/Service/Method`, and
    /// `/openapi.json`.
    pub http_listen: Option<String>,
    /// Serve no explorer page at `/` of the HTTP port.
    pub no_explorer: bool,
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
    /// Host names the HTTP port answers besides IP literals and `localhost` (see
    /// [`super::http`]'s Host check).
    pub http_allowed_hosts: Vec<String>,
    /// A folder for write-ahead logs (`wal_dir = "/var/lib/wordvec"`): every vectors model takes
    /// writes, its log `DIR/NAME.wal` (see [`crate::live`]). None: no model takes writes.
    pub wal_dir: Option<PathBuf>,
    /// Compact a model in the background once its delta rows and tombstones pass this share of
    /// its base rows ([`ServeConfig::compact_share`]; 0 turns it off).
    pub compact_at: Option<f64>,
    /// A writer's log folder to follow (`follow_dir = "/var/lib/wordvec"`): a reader replica
    /// serves, for every vectors model, the base the writer's last compaction wrote there
    /// (`DIR/NAME.manifest`), else its configured file, and reloads when a compaction names a
    /// new one. Takes no writes; not with `wal_dir`.
    pub follow_dir: Option<PathBuf>,
    /// How often a follower looks at the manifests, seconds (default [`DEFAULT_FOLLOW_EVERY`]).
    pub follow_every: Option<f64>,
}

/// How often a reader that follows a writer's folder looks for a new compaction, seconds.
pub const DEFAULT_FOLLOW_EVERY: f64 = 10.0;

/// The share of a model's base rows past which its writes are compacted when the configuration
/// names none.
pub const DEFAULT_COMPACT_AT: f64 = 0.25;

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

    /// Checks the whole configuration: limits, and model names (non-empty, unique within
    /// vectors and within classifiers).
    pub fn validate(&self) -> Result<()> {
        self.limits.validate()?;
        let share = self.compact_share();
        if !(share.is_finite() && share >= 0.0) {
            return Err(Error::invalid(format!(
                "compact_at (--compact-at) is {share}: it must be a share of the base rows, 0 or more (0: never)"
            )));
        }
        if self.follow_dir.is_some() && self.wal_dir.is_some() {
            return Err(Error::invalid(
                "follow_dir (--follow-dir) makes a reader of a writer's folder, wal_dir (--wal-dir) a writer: give one",
            ));
        }
        let every = self.follow_interval();
        if !(every.is_finite() && (0.1..=86_400.0).contains(&every)) {
            return Err(Error::invalid(format!(
                "follow_every (--follow-every) is {every}: it must be 0.1 to 86400 seconds"
            )));
        }
        for (kind, names) in [
            (
                "vectors model",
                self.vectors.iter().map(|m| &m.name).collect::<Vec<_>>(),
            ),
            (
                "classifier",
                self.classifiers.iter().map(|m| &m.name).collect(),
            ),
        ] {
            let mut seen = std::collections::HashSet::new();
            for n in names {
                if n.trim().is_empty() {
                    return Err(Error::invalid(format!("a {kind} has an empty name")));
                }
                if !seen.insert(n) {
                    return Err(Error::invalid(format!(
                        "two {kind}s are named {n:?}: names must be unique"
                    )));
                }
            }
        }
        Ok(())
    }

    /// The share of base rows past which a model's writes are compacted
    /// ([`crate::live::LiveStats::delta_share`]); 0: never. Default [`DEFAULT_COMPACT_AT`].
    pub fn compact_share(&self) -> f64 {
        self.compact_at.unwrap_or(DEFAULT_COMPACT_AT)
    }

    /// How often a follower looks for a new compaction ([`ServeConfig::follow_dir`]), seconds.
    pub fn follow_interval(&self) -> f64 {
        self.follow_every.unwrap_or(DEFAULT_FOLLOW_EVERY)
    }

    /// The base each vectors model would be served from now (following
    /// [`ServeConfig::follow_dir`]): what a follower compares to see that a reload is due.
    pub fn followed_bases(&self) -> Result<Vec<PathBuf>> {
        self.vectors
            .iter()
            .map(|m| m.following(self.follow_dir.as_deref()).map(|s| s.path))
            .collect()
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
        let bytes = std::fs::read(p).map_err(|e| Error::io("cannot read", p, e))?;
        parse_token(&bytes)
            .map(Some)
            .map_err(|(offset, m)| Error::format(p, None, offset as u64, m))
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

/// The token of a token file: surrounding whitespace (a final newline) is dropped; what is left
/// must be one non-empty run of visible ASCII (RFC 6750's token characters are a subset), since
/// that is all a client can send in an `authorization` header. Errors carry a byte offset.
pub fn parse_token(bytes: &[u8]) -> std::result::Result<String, (usize, String)> {
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .ok_or((0, "the auth token file is empty".to_owned()))?;
    let end = bytes
        .iter()
        .rposition(|b| !b.is_ascii_whitespace())
        .map_or(start, |e| e + 1);
    if let Some(i) = bytes[start..end].iter().position(|b| !b.is_ascii_graphic()) {
        let b = bytes[start + i];
        return Err((
            start + i,
            format!(
                "the auth token holds byte {b:#04x}: a token is one line of visible ASCII (no spaces, line breaks, NUL, byte-order mark or other Unicode)"
            ),
        ));
    }
    Ok(String::from_utf8_lossy(&bytes[start..end]).into_owned())
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
    fn wal_dir_and_compact_at() {
        let c: ServeConfig = toml::from_str("wal_dir = \"/logs\"\ncompact_at = 0.5\n").unwrap();
        assert_eq!(c.wal_dir.as_deref(), Some(Path::new("/logs")));
        assert_eq!(c.compact_share(), 0.5);
        assert_eq!(ServeConfig::default().compact_share(), DEFAULT_COMPACT_AT);
        for bad in [-0.5, f64::NAN, f64::INFINITY] {
            let c = ServeConfig {
                compact_at: Some(bad),
                ..Default::default()
            };
            let e = c.validate().unwrap_err().to_string();
            assert!(e.contains("compact_at"), "{e}");
        }
    }

    #[test]
    fn a_follower_is_not_a_writer_and_looks_at_a_sane_pace() {
        let follower = ServeConfig {
            follow_dir: Some("/wal".into()),
            ..Default::default()
        };
        assert!(follower.validate().is_ok());
        assert_eq!(follower.follow_interval(), DEFAULT_FOLLOW_EVERY);
        let both = ServeConfig {
            wal_dir: Some("/wal".into()),
            ..follower.clone()
        };
        assert!(both
            .validate()
            .unwrap_err()
            .to_string()
            .contains("follow_dir"));
        for bad in [0.0, 0.01, -1.0, f64::NAN, f64::INFINITY, 1e9] {
            let c = ServeConfig {
                follow_every: Some(bad),
                ..follower.clone()
            };
            let e = c.validate().unwrap_err().to_string();
            assert!(e.contains("follow_every"), "{bad}: {e}");
        }
    }

    #[test]
    fn limits_are_checked() {
        assert!(Limits::default().validate().is_ok());
        for (f, v) in [
            ("inf", f64::INFINITY),
            ("1e20", 1e20),
            ("nan", f64::NAN),
            ("-1", -1.0),
            ("0", 0.0),
        ] {
            let l = Limits {
                request_timeout_secs: v,
                ..Limits::default()
            };
            let e = l.validate().unwrap_err().to_string();
            assert!(e.contains("request_timeout"), "{f}: {e}");
            // Never a panic, even unchecked.
            let _ = l.request_timeout();
        }
        let l = Limits {
            max_concurrent: usize::MAX,
            ..Limits::default()
        };
        assert!(l
            .validate()
            .unwrap_err()
            .to_string()
            .contains("max_concurrent"));
        let l = Limits {
            max_top_k: 0,
            ..Limits::default()
        };
        assert!(l.validate().is_err());
        // The budget of bytes in flight must hold one largest message.
        let l = Limits {
            max_inflight_bytes: 1 << 20,
            ..Limits::default()
        };
        assert!(l
            .validate()
            .unwrap_err()
            .to_string()
            .contains("max_inflight_bytes"));
        for bad in [0, (1 << 20) + 1] {
            let l = Limits {
                max_word_bytes: bad,
                ..Limits::default()
            };
            let e = l.validate().unwrap_err().to_string();
            assert!(e.contains("max_word_bytes"), "{bad}: {e}");
        }
    }

    #[test]
    fn unknown_keys_and_bad_names_are_refused() {
        for bad in [
            "[limits]\nmax_topk = 5\n",
            "[[vectors]]\nname = \"a\"\npath = \"/x\"\nindx = \"/y\"\n",
            "[[classifiers]]\nname = \"a\"\npath = \"/x\"\nextra = 1\n",
        ] {
            assert!(toml::from_str::<ServeConfig>(bad).is_err(), "{bad}");
        }
        let dup: ServeConfig = toml::from_str(
            "[[vectors]]\nname = \"a\"\npath = \"/x\"\n[[vectors]]\nname = \"a\"\npath = \"/y\"\n",
        )
        .unwrap();
        assert!(dup.validate().unwrap_err().to_string().contains("unique"));
        let empty: ServeConfig =
            toml::from_str("[[vectors]]\nname = \" \"\npath = \"/x\"\n").unwrap();
        assert!(empty
            .validate()
            .unwrap_err()
            .to_string()
            .contains("empty name"));
    }

    #[test]
    fn tokens() {
        assert_eq!(
            parse_token(b"  abc-123_x.~+/=\n").unwrap(),
            "abc-123_x.~+/="
        );
        for bad in [
            &b""[..],
            b"\n \n",
            b"one\ntwo\n",
            b"a b",
            b"ab\0cd",
            b"\xef\xbb\xbfabc",
            "t\u{f6}ken".as_bytes(),
        ] {
            assert!(parse_token(bad).is_err(), "{bad:?}");
        }
        assert_eq!(parse_token(b"ab\0cd").unwrap_err().0, 2);
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
