//! The request fuzzer: the real `wordvec serve` (a word2vec model with an HNSW index, a fastText
//! model, a classifier; gRPC and HTTP/JSON ports) gets thousands of generated and mutated
//! requests over both ports at once, from several tasks, while stalled and half-open connections
//! sit on both ports. It asserts what the daemon promises any client:
//!
//! 1. it never exits (its exit status is polled every 100 ms throughout);
//! 2. every answer is OK or a documented error code ([`grpc_code_allowed`], [`HTTP_ALLOWED`]);
//!    INTERNAL, UNKNOWN, DATA_LOSS and a dropped connection are failures, and so is no answer
//!    within [`ANSWER_LIMIT`] (the daemon's own `--request-timeout` is 5 s);
//! 3. its RSS stays under [`rss_bound`], computed from the configured limits, in each phase:
//!    the generated requests, then a storm of near-limit words (fastText n-gram work), then a
//!    storm of near-limit messages of tiny words and long texts with a 1 s deadline;
//! 4. its CPU returns to idle within 1 s of the last answer;
//! 5. connections that send nothing, part of a preface, part of the headers or part of a body
//!    are closed within [`STALL_LIMIT`].
//!
//! The run is seeded: WORDVEC_FUZZ_SEED picks the seed (else a fixed one), WORDVEC_FUZZ_REQUESTS
//! the number of requests (default [`SHORT_RUN`]; benches/request_fuzz.sh runs 20,000 on a
//! release build). Given the seed, every task sends the same requests in the same order; only
//! their interleaving depends on timing. The RSS curve is written to
//! target/request_fuzz_rss.csv (time_ms,rss_kib). A failure names the seed, the request's kind,
//! the port and an excerpt of the request.

use crate::common;
use crate::common::fuzz_client;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fuzz_client::{closed_after, excerpt, http_exchange, raw_unary, Daemon, Monitor, Rng};
use prost::Message;
use tonic::transport::{Channel, Endpoint};
use tonic::Code;
use wordvec::server::proto::{self, term, Term};

/// The daemon's configured limits: small, so that the RSS bound is meaningful.
const MAX_CONCURRENT: usize = 8;
const MAX_MESSAGE: usize = 4 << 20;
const MAX_WORDS: usize = 1000;
const MAX_TOP_K: u32 = 1000;
const MAX_EF: u32 = 4096;
/// The default `--max-word-bytes`.
const MAX_WORD: usize = wordvec::limits::DEFAULT_MAX_WORD_BYTES;
const READ_TIMEOUT_S: f64 = 1.0;
const IDLE_TIMEOUT_S: f64 = 3.0;
const REQUEST_TIMEOUT_S: f64 = 5.0;

/// Requests of a plain `cargo test` run.
const SHORT_RUN: usize = 2000;
/// Concurrent client tasks: half mostly gRPC, half mostly HTTP/JSON.
const TASKS: usize = 8;
/// The longest an answer may take (the daemon gives up on a request after 5 s).
const ANSWER_LIMIT: Duration = Duration::from_secs(30);
/// The longest a stalled connection may stay open (the timeouts are 1 s and 3 s).
const STALL_LIMIT: Duration = Duration::from_secs(15);
/// Dimensions of the fixtures: w2vc-sg-d32.bin and fastText's ft-sg.bin.
const W2V_DIMS: usize = 32;
const FT_DIMS: usize = 16;

fn daemon_args(dir: &Path) -> Vec<String> {
    let s = |p: &Path| p.to_str().unwrap().to_owned();
    let vectors = common::data("w2vc-sg-d32.bin");
    let index = dir.join("w2v.idx");
    common::wordvec()
        .args(["index", "build", &s(&vectors), "-o", &s(&index)])
        .args(["--m", "8", "--ef-construction", "40"])
        .assert()
        .success();
    let data = common::labelled_csv(dir, "tone.csv", 600, 2, false);
    let classifier = dir.join("tone.wvcls");
    common::wordvec()
        .args(["classify", "train", &s(&data), "-o", &s(&classifier)])
        .args(["--min-count", "2", "--lr", "0.02", "--epochs", "5"])
        .assert()
        .success();
    [
        format!("--vectors=w2v={}", s(&vectors)),
        format!("--index=w2v={}", s(&index)),
        format!("--vectors=ft={}", s(&common::data("fasttext/ft-sg.bin"))),
        format!("--classifier=tone={}", s(&classifier)),
        format!("--max-concurrent={MAX_CONCURRENT}"),
        format!("--max-message-bytes={MAX_MESSAGE}"),
        format!("--max-words={MAX_WORDS}"),
        format!("--max-top-k={MAX_TOP_K}"),
        format!("--max-ef={MAX_EF}"),
        format!("--read-timeout={READ_TIMEOUT_S}"),
        format!("--idle-timeout={IDLE_TIMEOUT_S}"),
        format!("--request-timeout={REQUEST_TIMEOUT_S}"),
        // The clients here name themselves `fuzz` in the Host header.
        "--http-allowed-host=fuzz".to_string(),
        // Every model has a log, and the daemon no token: Upsert and Delete are decoded and
        // refused (the test checks at the end that no write got through).
        format!("--wal-dir={}", s(&dir.join("wal"))),
    ]
    .into()
}

/// The RSS the daemon may reach while serving requests of `shape`, KiB:
///
/// ```text
/// baseline + max_concurrent x per_request + in_flight + slack
/// per_request = Shape::per_request_messages() x max_message   (8 for a few big words, 40 for
///                                  many tiny ones; see there)
/// in_flight   = max_concurrent x max_message   (request bodies read but not yet admitted: the
///                                  daemon's in-flight byte budget holds them to about one
///                                  message per permit)
/// slack       = 64 MiB            (allocator arenas of the worker threads, connection buffers)
/// ```
///
/// `baseline` is the RSS when the phase starts (the first: after the models are loaded and
/// every RPC has answered once). With these limits the work of a request is bounded by its
/// message (words are at most `--max-word-bytes`, n-grams are streamed, bodies are decoded only
/// under a permit), so nothing a client sends should go past this.
fn rss_bound(baseline_kib: u64, shape: Shape) -> u64 {
    let msg = (MAX_MESSAGE as u64) / 1024;
    let per_request = shape.per_request_messages() * msg;
    let in_flight = MAX_CONCURRENT as u64 * msg;
    baseline_kib + MAX_CONCURRENT as u64 * per_request + in_flight + 64 * 1024
}

/// A stretch of the run with its own RSS bound.
struct Phase {
    name: &'static str,
    shape: Shape,
    baseline_kib: u64,
    /// Milliseconds since the monitor started.
    from_ms: u64,
    to_ms: u64,
}

impl Phase {
    fn bound(&self) -> u64 {
        rss_bound(self.baseline_kib, self.shape)
    }
    /// The highest RSS sampled in the phase (and 300 ms after it, for memory freed late).
    fn peak(&self, s: &fuzz_client::Samples) -> u64 {
        s.rss
            .iter()
            .filter(|(t, _)| *t >= self.from_ms && *t <= self.to_ms + 300)
            .map(|s| s.1)
            .max()
            .unwrap_or(0)
    }
}

macro_rules! kinds {
    ($($v:ident $service:literal $method:literal: $req:ty => $resp:ty;)*) => {
        /// A request of one RPC, built from the crate's generated messages.
        #[derive(Clone, Debug)]
        enum Msg { $($v($req),)* }

        impl Msg {
            fn kind(&self) -> &'static str {
                match self { $(Msg::$v(_) => concat!($service, "/", $method),)* }
            }
            fn grpc_path(&self) -> &'static str {
                match self { $(Msg::$v(_) => concat!("/wordvec.v1.", $service, "/", $method),)* }
            }
            fn http_path(&self) -> &'static str {
                match self { $(Msg::$v(_) => concat!("/v1/", $service, "/", $method),)* }
            }
            fn encode(&self) -> Vec<u8> {
                match self { $(Msg::$v(m) => m.encode_to_vec(),)* }
            }
            fn json(&self) -> String {
                match self { $(Msg::$v(m) => serde_json::to_string(m).unwrap(),)* }
            }
            /// Whether `bytes` is an answer of this RPC.
            fn answer_decodes(&self, bytes: &[u8]) -> bool {
                match self { $(Msg::$v(_) => <$resp>::decode(bytes).is_ok(),)* }
            }
            /// Whether `json` is an answer of this RPC in the JSON mapping.
            fn answer_json_decodes(&self, json: &str) -> bool {
                match self { $(Msg::$v(_) => serde_json::from_str::<$resp>(json).is_ok(),)* }
            }
        }
    };
}

kinds! {
    ListModels "Embeddings" "ListModels": proto::ListModelsRequest => proto::ListModelsResponse;
    GetVectors "Embeddings" "GetVectors": proto::GetVectorsRequest => proto::GetVectorsResponse;
    Similarity "Embeddings" "Similarity": proto::SimilarityRequest => proto::SimilarityResponse;
    MostSimilar "Embeddings" "MostSimilar": proto::MostSimilarRequest => proto::NeighborsResponse;
    Cosmul "Embeddings" "MostSimilarCosmul": proto::MostSimilarRequest => proto::NeighborsResponse;
    Analogy "Embeddings" "Analogy": proto::AnalogyRequest => proto::NeighborsResponse;
    DoesntMatch "Embeddings" "DoesntMatch": proto::DoesntMatchRequest => proto::DoesntMatchResponse;
    NearestToVector "Embeddings" "NearestToVector": proto::NearestToVectorRequest => proto::NeighborsResponse;
    Batch "Embeddings" "MostSimilarBatch": proto::MostSimilarBatchRequest => proto::MostSimilarBatchResponse;
    EmbedText "Embeddings" "EmbedText": proto::EmbedTextRequest => proto::EmbedTextResponse;
    NearestToText "Embeddings" "NearestToText": proto::NearestToTextRequest => proto::NeighborsResponse;
    Classifiers "Classifier" "ListModels": proto::ListClassifiersRequest => proto::ListClassifiersResponse;
    Predict "Classifier" "Predict": proto::PredictRequest => proto::PredictResponse;
    Upsert "Embeddings" "Upsert": proto::UpsertRequest => proto::WriteResponse;
    Delete "Embeddings" "Delete": proto::DeleteRequest => proto::WriteResponse;
}

/// The error codes a gRPC answer may carry, by RPC:
///
/// - every RPC: DEADLINE_EXCEEDED (a client deadline, or `--request-timeout`), CANCELLED,
///   INVALID_ARGUMENT (a limit, a malformed message), OUT_OF_RANGE (a message over
///   `--max-message-bytes`, tonic's code for it), and RESOURCE_EXHAUSTED when the daemon sheds
///   load (`--max-concurrent`, the in-flight byte budget) or the request is large, or when the
///   HTTP/2 layer closes a connection whose client reset too many of its streams (h2's guard
///   against rapid-reset floods, CVE-2023-44487, which the fuzzer's cancels can trip: tonic
///   reports h2's ENHANCE_YOUR_CALM as RESOURCE_EXHAUSTED "h2 protocol error");
/// - RPCs that name a model or words: NOT_FOUND (unknown model, unknown words);
/// - Upsert and Delete: FAILED_PRECONDITION (the daemon has logs but no token: writes refused);
/// - never: UNKNOWN, INTERNAL, DATA_LOSS (a bug), UNAVAILABLE (the daemon documents it only
///   while shutting down, and this one never is), UNIMPLEMENTED (every path is a real RPC), or
///   the auth codes (no token is configured).
fn grpc_code_allowed(m: &Msg, s: &tonic::Status, request_bytes: usize) -> bool {
    match s.code() {
        Code::Ok
        | Code::DeadlineExceeded
        | Code::Cancelled
        | Code::InvalidArgument
        | Code::OutOfRange => true,
        Code::NotFound => !matches!(m, Msg::ListModels(_) | Msg::Classifiers(_)),
        // The daemon has logs (--wal-dir) but no token: every write is refused, whole.
        Code::FailedPrecondition => matches!(m, Msg::Upsert(_) | Msg::Delete(_)),
        Code::ResourceExhausted => {
            let text = s.message();
            request_bytes >= 64 << 10
                || [
                    "--max-concurrent",
                    "busy",
                    "in flight",
                    "in-flight",
                    "budget",
                    "h2 protocol error",
                ]
                .iter()
                .any(|w| text.contains(w))
        }
        _ => false,
    }
}

/// The HTTP answers allowed, with the gRPC code name of their JSON error body: the gateway's
/// mapping (Google's API design guide) plus the answers the HTTP layer gives before any RPC
/// (408 body too slow, 413 body too large, 415 not JSON, 405/414/431 for odd requests).
/// Every non-200 answer carries `{"error": {"code": STATUS, "status": NAME, "message": ...}}`.
const HTTP_ALLOWED: &[(u16, &[&str])] = &[
    (
        400,
        &["INVALID_ARGUMENT", "OUT_OF_RANGE", "FAILED_PRECONDITION"],
    ),
    (404, &["NOT_FOUND"]),
    (405, &["UNIMPLEMENTED", "INVALID_ARGUMENT", "NOT_FOUND"]),
    (408, &["DEADLINE_EXCEEDED"]),
    (413, &["RESOURCE_EXHAUSTED", "OUT_OF_RANGE"]),
    (
        414,
        &["INVALID_ARGUMENT", "RESOURCE_EXHAUSTED", "OUT_OF_RANGE"],
    ),
    (415, &["INVALID_ARGUMENT"]),
    (429, &["RESOURCE_EXHAUSTED"]),
    (
        431,
        &["INVALID_ARGUMENT", "RESOURCE_EXHAUSTED", "OUT_OF_RANGE"],
    ),
    (499, &["CANCELLED"]),
    (501, &["UNIMPLEMENTED"]),
    (504, &["DEADLINE_EXCEEDED"]),
];

/// Why an HTTP answer is not allowed, if it is not.
fn http_problem(m: Option<&Msg>, status: u16, body: &str) -> Option<String> {
    if status == 200 {
        return match m {
            Some(m) if !m.answer_json_decodes(body) => Some(format!(
                "200 with a body that is not a {} answer: {}",
                m.kind(),
                excerpt(body, 200)
            )),
            _ => None,
        };
    }
    let Some((_, names)) = HTTP_ALLOWED.iter().find(|(s, _)| *s == status) else {
        return Some(format!("HTTP {status}: {}", excerpt(body, 300)));
    };
    let v: serde_json::Value = match serde_json::from_str(body) {
        Ok(v) => v,
        Err(_) => {
            return Some(format!(
                "HTTP {status} without a JSON error body: {:?}",
                excerpt(body, 200)
            ))
        }
    };
    let e = &v["error"];
    let name = e["status"].as_str().unwrap_or("");
    if e["code"].as_u64() != Some(status as u64)
        || !names.contains(&name)
        || !e["message"].is_string()
    {
        return Some(format!(
            "HTTP {status} with error body {}",
            excerpt(body, 300)
        ));
    }
    None
}

/// Words the fixtures know (the word2vec fixture's vocabulary, most frequent first).
struct Vocab(Vec<String>);

impl Vocab {
    fn load() -> Vocab {
        let emb = common::load("w2vc-sg-d32.bin");
        Vocab((0..emb.len()).map(|i| emb.word(i).to_owned()).collect())
    }
}

/// Generates requests: mostly plausible, with extremes mixed in (empty, 1-byte and huge words,
/// words either side of `--max-word-bytes`, filter lists small and large, long texts of many
/// distinct tokens, batches of 0, 1, max and max+1 items, ef/top_k at 0, 1, max, max+1 and
/// u32::MAX, NaN and infinite vectors, wrong dimensions, unknown and huge model names).
struct Gen<'a> {
    rng: Rng,
    vocab: &'a Vocab,
}

impl Gen<'_> {
    fn word(&mut self) -> String {
        let r = &mut self.rng;
        match r.below(100) {
            0..=54 => r
                .pick(&self.vocab.0[..2000.min(self.vocab.0.len())])
                .clone(),
            55..=64 => (0..1 + r.below(12))
                .map(|_| (b'a' + r.below(26) as u8) as char)
                .collect(),
            65..=69 => String::new(),
            70..=74 => ((b'!' + r.below(90) as u8) as char).to_string(),
            75..=81 => r
                .pick(&[
                    "кошка",
                    "日本語",
                    "e\u{301}",
                    "\u{200f}rtl",
                    "a\u{0}b",
                    "🦀🦀",
                    "\u{feff}",
                ])
                .to_string(),
            82..=94 => "x".repeat(MAX_WORD - 2 + r.below(5)),
            95..=98 => "y".repeat(10_000 + r.below(90_000)),
            // A word near the body limit (fastText builds its vector from its n-grams), now and
            // then: the storm at the end sends them side by side.
            _ if r.percent(25) => "z".repeat(MAX_MESSAGE - 4096 - r.below(1 << 20)),
            _ => "y".repeat(1 << 16),
        }
    }

    /// A list length: mostly a few, sometimes 0, max or max+1.
    fn count(&mut self) -> usize {
        match self.rng.below(20) {
            0 => 0,
            1 => MAX_WORDS,
            2 => MAX_WORDS + 1,
            3 => 20 + self.rng.below(200),
            _ => 1 + self.rng.below(5),
        }
    }

    /// A word list that keeps the message under the limit (no huge words in long lists).
    fn short_words(&mut self, n: usize) -> Vec<String> {
        (0..n)
            .map(|_| {
                let w = self.word();
                if w.len() > 2048 && n > 1 {
                    self.vocab.0[self.rng.below(100)].clone()
                } else {
                    w
                }
            })
            .collect()
    }

    fn model(&mut self) -> String {
        match self.rng.below(100) {
            0..=29 => String::new(),
            30..=59 => "w2v".into(),
            60..=89 => "ft".into(),
            90..=94 => "nosuch".into(),
            95..=97 => "m".repeat(MAX_WORD + 1),
            _ => "m".repeat(100_000),
        }
    }

    fn top_k(&mut self) -> u32 {
        *self
            .rng
            .pick(&[0, 1, 3, 10, 10, 10, 100, MAX_TOP_K, MAX_TOP_K + 1, u32::MAX])
    }

    fn ef(&mut self) -> u32 {
        *self
            .rng
            .pick(&[0, 0, 0, 1, 16, 64, MAX_EF, MAX_EF + 1, u32::MAX])
    }

    fn restrict(&mut self) -> u32 {
        *self.rng.pick(&[0, 0, 0, 0, 1, 10, 1000, u32::MAX])
    }

    fn filter(&mut self) -> Vec<String> {
        match self.rng.below(10) {
            0..=6 => Vec::new(),
            7 | 8 => {
                let n = 1 + self.rng.below(20);
                self.short_words(n)
            }
            _ => {
                let n = MAX_WORDS - 1 + self.rng.below(3);
                self.short_words(n)
            }
        }
    }

    fn vector(&mut self) -> proto::Vector {
        let r = &mut self.rng;
        let dims = match r.below(10) {
            0 => *r.pick(&[0, 1, 15, 31, 33, 300, 65_536]),
            1..=5 => W2V_DIMS,
            _ => FT_DIMS,
        };
        let mut values: Vec<f32> = (0..dims)
            .map(|_| (r.below(2001) as f32 - 1000.0) / 1000.0)
            .collect();
        if !values.is_empty() && r.percent(15) {
            let i = r.below(values.len());
            values[i] = *r.pick(&[f32::NAN, f32::INFINITY, f32::NEG_INFINITY, f32::MAX, 1e-45]);
        }
        if r.percent(3) {
            values.iter_mut().for_each(|v| *v = 0.0);
        }
        proto::Vector { values }
    }

    fn term(&mut self) -> Term {
        let t = if self.rng.percent(85) {
            term::Term::Word(self.word())
        } else {
            term::Term::Vector(self.vector())
        };
        Term { term: Some(t) }
    }

    fn terms(&mut self) -> Vec<Term> {
        let n = match self.rng.below(10) {
            0 => 0,
            1 => MAX_WORDS + self.rng.below(2),
            _ => 1 + self.rng.below(3),
        };
        (0..n)
            .map(|_| {
                let t = self.term();
                match &t.term {
                    Some(term::Term::Word(w)) if n > 3 && w.len() > 2048 => Term {
                        term: Some(term::Term::Word("king".into())),
                    },
                    _ => t,
                }
            })
            .collect()
    }

    /// A text: a sentence of known words, or a long run of distinct unknown tokens.
    fn text(&mut self) -> String {
        let r = &mut self.rng;
        match r.below(40) {
            0 => String::new(),
            1 => {
                // Many distinct tokens that no model knows (a fastText model builds each).
                let bytes = *r.pick(&[10_000, 100_000, 300_000, (1 << 20) + 1]);
                let mut s = String::with_capacity(bytes + 16);
                let salt = r.next_u64() % 1000;
                let mut i = 0u64;
                while s.len() < bytes {
                    s.push_str(&format!("q{salt}x{i} "));
                    i += 1;
                }
                s
            }
            2 => self.word(),
            _ => {
                let n = 1 + r.below(30);
                let words: Vec<&str> = (0..n)
                    .map(|_| self.vocab.0[r.below(3000.min(self.vocab.0.len()))].as_str())
                    .collect();
                words.join(if r.percent(10) { ", " } else { " " })
            }
        }
    }

    fn texts(&mut self) -> Vec<String> {
        let n = match self.rng.below(15) {
            0 => 0,
            1 => MAX_WORDS + self.rng.below(2),
            _ => 1 + self.rng.below(4),
        };
        let long_ok = n <= 4;
        (0..n)
            .map(|_| {
                let t = self.text();
                if !long_ok && t.len() > 1000 {
                    "the king".into()
                } else {
                    t
                }
            })
            .collect()
    }

    fn most_similar(&mut self) -> proto::MostSimilarRequest {
        proto::MostSimilarRequest {
            model: self.model(),
            positive: self.terms(),
            negative: if self.rng.percent(30) {
                self.terms()
            } else {
                Vec::new()
            },
            top_k: self.top_k(),
            exact: self.rng.percent(30),
            ef: self.ef(),
            restrict_vocab: self.restrict(),
            only_words: self.filter(),
            exclude_words: self.filter(),
        }
    }

    fn request(&mut self) -> Msg {
        match self.rng.below(28) {
            0 => Msg::ListModels(proto::ListModelsRequest {}),
            1 => Msg::Classifiers(proto::ListClassifiersRequest {}),
            2..=4 => Msg::GetVectors(proto::GetVectorsRequest {
                model: self.model(),
                words: self.words_fitting(),
                normalized: self.rng.percent(50),
            }),
            5 | 6 => {
                let n = self.count();
                let words = self.short_words(2 * n);
                let pairs = words
                    .chunks(2)
                    .map(|p| proto::WordPair {
                        a: p[0].clone(),
                        b: p[1].clone(),
                    })
                    .collect();
                Msg::Similarity(proto::SimilarityRequest {
                    model: self.model(),
                    pairs,
                })
            }
            7..=9 => Msg::MostSimilar(self.most_similar()),
            10 | 11 => Msg::Cosmul(self.most_similar()),
            12..=13 => Msg::Analogy(proto::AnalogyRequest {
                model: self.model(),
                a: self.word(),
                b: self.word(),
                c: self.word(),
                top_k: self.top_k(),
                cosmul: self.rng.percent(50),
                exact: self.rng.percent(30),
                ef: self.ef(),
                restrict_vocab: self.restrict(),
                only_words: self.filter(),
                exclude_words: self.filter(),
            }),
            14 | 15 => Msg::DoesntMatch(proto::DoesntMatchRequest {
                model: self.model(),
                words: self.words_fitting(),
            }),
            16 | 17 => Msg::NearestToVector(proto::NearestToVectorRequest {
                model: self.model(),
                vector: if self.rng.percent(95) {
                    Some(self.vector())
                } else {
                    None
                },
                top_k: self.top_k(),
                exact: self.rng.percent(30),
                ef: self.ef(),
                restrict_vocab: self.restrict(),
                only_words: self.filter(),
                exclude_words: self.filter(),
            }),
            18 | 19 => {
                let n = match self.rng.below(8) {
                    0 => 0,
                    1 => MAX_WORDS,
                    2 => MAX_WORDS + 1,
                    _ => 1 + self.rng.below(4),
                };
                let queries = (0..n)
                    .map(|_| {
                        let mut q = self.most_similar();
                        if n > 4 {
                            // Keep a large batch under the message limit.
                            q.positive = vec![Term {
                                term: Some(term::Term::Word(
                                    self.vocab.0[self.rng.below(500)].clone(),
                                )),
                            }];
                            q.negative.clear();
                            q.only_words.clear();
                            q.exclude_words.clear();
                            q.top_k = q.top_k.min(20);
                        }
                        q
                    })
                    .collect();
                Msg::Batch(proto::MostSimilarBatchRequest {
                    model: self.model(),
                    queries,
                })
            }
            20 | 21 => Msg::EmbedText(proto::EmbedTextRequest {
                model: self.model(),
                texts: self.texts(),
                normalized: self.rng.percent(50),
            }),
            22 | 23 => Msg::NearestToText(proto::NearestToTextRequest {
                model: self.model(),
                text: self.text(),
                top_k: self.top_k(),
                exact: self.rng.percent(30),
                ef: self.ef(),
                restrict_vocab: self.restrict(),
                only_words: self.filter(),
                exclude_words: self.filter(),
            }),
            26 => Msg::Upsert(self.upsert()),
            27 => Msg::Delete(proto::DeleteRequest {
                model: self.model(),
                words: self.words_fitting(),
            }),
            _ => Msg::Predict(proto::PredictRequest {
                model: if self.rng.percent(80) {
                    "tone".into()
                } else {
                    self.model()
                },
                texts: self.texts(),
            }),
        }
    }

    /// A hostile upsert: odd words, vectors of any length with NaN and infinities now and then,
    /// items without a vector, and lists of any length.
    fn upsert(&mut self) -> proto::UpsertRequest {
        let words = self.words_fitting();
        let words = words
            .into_iter()
            .map(|word| {
                let mut vector = (!self.rng.percent(5)).then(|| self.vector());
                if let Some(v) = vector.as_mut().filter(|v| !v.values.is_empty()) {
                    if self.rng.percent(10) {
                        let i = self.rng.below(v.values.len());
                        v.values[i] = *self.rng.pick(&[f32::NAN, f32::INFINITY, -f32::INFINITY]);
                    }
                }
                proto::WordVector {
                    word,
                    vector,
                    found: self.rng.percent(50),
                    from_subwords: self.rng.percent(10),
                }
            })
            .collect();
        proto::UpsertRequest {
            model: self.model(),
            words,
        }
    }

    fn words_fitting(&mut self) -> Vec<String> {
        let n = self.count();
        if n <= 2 {
            (0..n).map(|_| self.word()).collect()
        } else {
            self.short_words(n)
        }
    }

    /// A deadline for the grpc-timeout header: none mostly, else 1 ms to 10 s.
    fn deadline(&mut self) -> Option<Duration> {
        if self.rng.percent(75) {
            return None;
        }
        Some(Duration::from_millis(
            *self.rng.pick(&[1, 2, 5, 20, 100, 1000, 10_000]),
        ))
    }

    /// `bytes` with a few bits flipped, bytes changed, or cut short.
    fn mutate(&mut self, mut bytes: Vec<u8>) -> Vec<u8> {
        let r = &mut self.rng;
        if bytes.is_empty() {
            return (0..1 + r.below(16)).map(|_| r.below(256) as u8).collect();
        }
        for _ in 0..1 + r.below(4) {
            let i = r.below(bytes.len());
            match r.below(4) {
                0 => bytes[i] ^= 1 << r.below(8),
                1 => bytes[i] = *r.pick(&[0x00, 0xff, 0x80, 0x7f, 0x0a, 0x12]),
                2 => bytes.truncate(i.max(1)),
                _ => {
                    // A varint that never ends, or a length far past the end.
                    let junk: &[u8] = if r.percent(50) {
                        &[0xff; 10]
                    } else {
                        &[0x12, 0xff, 0xff, 0xff, 0x0f]
                    };
                    bytes.splice(i..i, junk.iter().copied());
                }
            }
        }
        bytes
    }

    /// A JSON body made wrong: cut, a byte changed, a lone surrogate escape, a number too
    /// large, deep nesting, a wrong type.
    fn mutate_json(&mut self, json: String) -> Vec<u8> {
        let r = &mut self.rng;
        let mut b = json.into_bytes();
        match r.below(7) {
            0 => b.truncate(r.below(b.len().max(1))),
            1 => {
                let i = r.below(b.len());
                b[i] = *r.pick(&[b'"', b'{', b']', b'\\', 0xff, 0x00, b'9']);
            }
            2 => {
                return br#"{"words": ["\ud800", "a\udfffb", "\u0000"], "texts": ["\ud83e"]}"#
                    .to_vec()
            }
            3 => return br#"{"top_k": 1e999, "ef": -1, "restrict_vocab": 4294967296}"#.to_vec(),
            4 => {
                let depth = 10 + r.below(5000);
                let mut s = "[".repeat(depth);
                s.push_str(&"]".repeat(depth));
                return format!(r#"{{"words": {s}}}"#).into_bytes();
            }
            5 => return br#"{"words": "king", "positive": {"word": 3}, "model": null}"#.to_vec(),
            _ => {
                let i = r.below(b.len() + 1);
                let junks: [&[u8]; 4] = [b"\\u12", b"\"\"", b",,", b"\x80\x80"];
                let junk = junks[r.below(junks.len())];
                b.splice(i..i, junk.iter().copied());
            }
        }
        b
    }
}

/// What the run saw, shared by the tasks.
#[derive(Default)]
struct Tally {
    answers: BTreeMap<String, usize>,
    failures: Vec<String>,
    failure_count: usize,
    last_answer: Option<Instant>,
}

#[derive(Clone)]
struct Ctx {
    seed: u64,
    grpc: SocketAddr,
    http: SocketAddr,
    tally: Arc<Mutex<Tally>>,
}

impl Ctx {
    fn answered(&self, what: String) {
        let mut t = self.tally.lock().unwrap();
        *t.answers.entry(what).or_default() += 1;
        t.last_answer = Some(Instant::now());
    }

    fn failed(&self, task: usize, i: usize, via: &str, kind: &str, problem: &str, request: &str) {
        let mut t = self.tally.lock().unwrap();
        t.failure_count += 1;
        t.last_answer = Some(Instant::now());
        if t.failures.len() < 40 {
            t.failures.push(format!(
                "seed {} task {task} request {i}: {kind} over {via}: {}\n    request: {}",
                self.seed,
                excerpt(problem, 400),
                excerpt(request, 300)
            ));
        }
    }
}

async fn connect(addr: SocketAddr) -> Channel {
    Endpoint::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap()
}

/// One gRPC call of `m` (its bytes mutated when `mutate`), checked.
async fn grpc_one(ctx: &Ctx, ch: Channel, g: &mut Gen<'_>, task: usize, i: usize, m: &Msg) {
    let mutated = g.rng.percent(10);
    // Building a message is heavy: off the async workers, whose connections are mid-frame.
    let bytes = tokio::task::block_in_place(|| {
        if mutated {
            g.mutate(m.encode())
        } else {
            m.encode()
        }
    });
    let n = bytes.len();
    let deadline = g.deadline();
    let cancel_after = g
        .rng
        .percent(5)
        .then(|| Duration::from_millis(g.rng.below(30) as u64));
    let via = if mutated {
        "gRPC (mutated bytes)"
    } else {
        "gRPC"
    };
    let call = raw_unary(ch, m.grpc_path(), bytes, deadline);
    if let Some(after) = cancel_after {
        // The client gives up: the future is dropped mid-flight.
        if tokio::time::timeout(after, call).await.is_err() {
            ctx.answered(format!("{} gRPC cancelled by the client", m.kind()));
            return;
        }
        ctx.answered(format!("{} gRPC answered before the cancel", m.kind()));
        return;
    }
    let request = || format!("deadline {deadline:?}, {n} bytes, {m:?}");
    match tokio::time::timeout(ANSWER_LIMIT, call).await {
        Err(_) => ctx.failed(task, i, via, m.kind(), "no answer", &request()),
        Ok(Ok(answer)) => {
            if m.answer_decodes(&answer) {
                ctx.answered(format!("{} gRPC OK", m.kind()));
            } else {
                ctx.failed(
                    task,
                    i,
                    via,
                    m.kind(),
                    "OK with an undecodable answer",
                    &request(),
                );
            }
        }
        Ok(Err(s)) => {
            if grpc_code_allowed(m, &s, n) {
                ctx.answered(format!("{} gRPC {:?}", m.kind(), s.code()));
            } else {
                let problem = format!("{:?}: {}", s.code(), s.message());
                ctx.failed(task, i, via, m.kind(), &problem, &request());
            }
        }
    }
}

/// One HTTP/JSON exchange for `m` (its JSON mutated, or an odd request instead), checked.
async fn http_one(ctx: &Ctx, g: &mut Gen<'_>, task: usize, i: usize, m: &Msg) {
    // Building a body is heavy: off the async workers, whose connections are mid-request.
    let (path, ctype, body, check): (String, &str, Vec<u8>, Option<&Msg>) =
        tokio::task::block_in_place(|| match g.rng.below(20) {
            0..=2 => (
                m.http_path().into(),
                "application/json",
                g.mutate_json(m.json()),
                None,
            ),
            3 => (
                g.rng
                    .pick(&[
                        "/v1/Embeddings/Nope",
                        "/v1/Nope/GetVectors",
                        "/v2/x",
                        "/v1/Embeddings",
                    ])
                    .to_string(),
                "application/json",
                b"{}".to_vec(),
                None,
            ),
            4 => (
                m.http_path().into(),
                "text/plain",
                m.json().into_bytes(),
                None,
            ),
            _ => (
                m.http_path().into(),
                "application/json",
                m.json().into_bytes(),
                Some(m),
            ),
        });
    let timeout = match g.deadline() {
        Some(d) => format!("grpc-timeout: {}m\r\n", d.as_millis()),
        None => String::new(),
    };
    let mut req = format!(
        "POST {path} HTTP/1.1\r\nhost: fuzz\r\nconnection: close\r\ncontent-type: {ctype}\r\n{timeout}content-length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    req.extend_from_slice(&body);
    let kind = if check.is_some() {
        m.kind()
    } else {
        "odd or mutated"
    };
    let request = || {
        format!(
            "{}{}",
            excerpt(
                &String::from_utf8_lossy(&req[..req.len() - body.len()]),
                300
            ),
            excerpt(&String::from_utf8_lossy(&body), 300)
        )
    };
    match http_exchange(ctx.http, &req, ANSWER_LIMIT).await {
        Err(e) => ctx.failed(task, i, "HTTP", kind, &e, &request()),
        Ok((status, text)) => match http_problem(check, status, &text) {
            None => ctx.answered(format!("{kind} HTTP {status}")),
            Some(p) => ctx.failed(task, i, "HTTP", kind, &p, &request()),
        },
    }
}

/// Requests the HTTP layer sees before any RPC: a wrong method, a long path, huge headers, an
/// invalid UTF-8 path; each answered with the JSON error body. And requests that hyper, the HTTP
/// server, refuses before any of the daemon's code sees them (a request target past its 64 KiB,
/// bytes in the request line that are not HTTP): it answers those itself with a bare status,
/// which is allowed here as long as it is a client error and the daemon goes on serving.
async fn http_odd(ctx: &Ctx, g: &mut Gen<'_>, task: usize, i: usize) {
    let mut bare_allowed = false;
    let req: Vec<u8> = match g.rng.below(7) {
        0 => b"GET /v1/Embeddings/GetVectors HTTP/1.1\r\nhost: fuzz\r\nconnection: close\r\n\r\n".to_vec(),
        1 => format!(
            "GET /v1/{} HTTP/1.1\r\nhost: fuzz\r\nconnection: close\r\n\r\n",
            "p".repeat(9_000 + g.rng.below(55_000))
        )
        .into_bytes(),
        2 => format!(
            "POST /v1/Embeddings/ListModels HTTP/1.1\r\nhost: fuzz\r\nconnection: close\r\nx-big: {}\r\ncontent-length: 0\r\n\r\n",
            "h".repeat(200_000)
        )
        .into_bytes(),
        3 => b"POST /v1/Embeddings/%FF%FE HTTP/1.1\r\nhost: fuzz\r\nconnection: close\r\ncontent-length: 0\r\n\r\n".to_vec(),
        4 => {
            bare_allowed = true;
            format!(
                "GET /v1/{} HTTP/1.1\r\nhost: fuzz\r\nconnection: close\r\n\r\n",
                "p".repeat(100_000)
            )
            .into_bytes()
        }
        5 => {
            bare_allowed = true;
            b"POST /v1/Embeddings/\xff\xfe HTTP/1.1\r\nhost: fuzz\r\nconnection: close\r\ncontent-length: 0\r\n\r\n".to_vec()
        }
        _ => b"GET /healthz HTTP/1.1\r\nhost: fuzz\r\nconnection: close\r\n\r\n".to_vec(),
    };
    let request = excerpt(&String::from_utf8_lossy(&req), 200);
    match http_exchange(ctx.http, &req, ANSWER_LIMIT).await {
        Err(e) => ctx.failed(task, i, "HTTP", "odd request", &e, &request),
        Ok((200, _)) => ctx.answered("odd HTTP 200".into()),
        Ok((status, _)) if bare_allowed && (400..500).contains(&status) => {
            ctx.answered(format!("odd HTTP {status} (from hyper)"))
        }
        Ok((status, text)) => match http_problem(None, status, &text) {
            None => ctx.answered(format!("odd HTTP {status}")),
            Some(p) => ctx.failed(task, i, "HTTP", "odd request", &p, &request),
        },
    }
}

/// One client task: `n` requests, over gRPC mostly (even tasks) or HTTP/JSON mostly (odd).
async fn client_task(ctx: Ctx, vocab: Arc<Vocab>, task: usize, n: usize) {
    let mut g = Gen {
        rng: Rng::new(ctx.seed ^ (task as u64 + 1).wrapping_mul(0xA24B_AED4_963E_E407)),
        vocab: &vocab,
    };
    let mut ch = connect(ctx.grpc).await;
    let grpc_share = if task.is_multiple_of(2) { 85 } else { 15 };
    for i in 0..n {
        // Generating is heavy: off the async workers (see `storm`).
        let m = tokio::task::block_in_place(|| g.request());
        if g.rng.percent(grpc_share) {
            if g.rng.percent(2) {
                // Now and then a fresh connection, as a restarted client would open.
                ch = connect(ctx.grpc).await;
            }
            grpc_one(&ctx, ch.clone(), &mut g, task, i, &m).await;
        } else if g.rng.percent(3) {
            http_odd(&ctx, &mut g, task, i).await;
        } else {
            http_one(&ctx, &mut g, task, i, &m).await;
        }
    }
}

/// Connections that stall: nothing sent, part of the HTTP/2 preface, half a frame, part of the
/// HTTP/1 headers, part of a body. Each must be closed within [`STALL_LIMIT`].
fn stalled(
    grpc: SocketAddr,
    http: SocketAddr,
) -> Vec<(String, tokio::task::JoinHandle<Option<Duration>>)> {
    let preface = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
    let mut half_frame = preface.clone();
    half_frame.extend_from_slice(&[0, 0, 12, 4, 0, 0, 0, 0, 0, 0, 3, 0]);
    let cases: Vec<(&str, SocketAddr, Vec<u8>)> = vec![
        ("gRPC port, nothing sent", grpc, Vec::new()),
        ("gRPC port, 23 of the 24 preface bytes", grpc, preface[..23].to_vec()),
        ("gRPC port, half a frame", grpc, half_frame.clone()),
        ("HTTP port, nothing sent", http, Vec::new()),
        ("HTTP port, 23 of the 24 preface bytes", http, preface[..23].to_vec()),
        ("HTTP port, half a frame", http, half_frame),
        ("HTTP port, part of the headers", http, b"POST /v1/Embeddings/ListModels HTTP/1.1\r\nhost: fu".to_vec()),
        (
            "HTTP port, part of a body",
            http,
            b"POST /v1/Embeddings/GetVectors HTTP/1.1\r\nhost: fuzz\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{\"words\": [".to_vec(),
        ),
    ];
    let mut out = Vec::new();
    for (what, addr, bytes) in cases {
        for copy in 0..3 {
            out.push((
                format!("{what} (copy {copy})"),
                tokio::spawn(closed_after(addr, bytes.clone(), STALL_LIMIT)),
            ));
        }
    }
    out
}

/// Every RPC once with a plain request, so the baseline RSS includes what serving them needs.
async fn warm_up(ctx: &Ctx, vocab: &Vocab) {
    let ch = connect(ctx.grpc).await;
    let w = |i: usize| vocab.0[i].clone();
    let ms = proto::MostSimilarRequest {
        positive: vec![Term {
            term: Some(term::Term::Word(w(5))),
        }],
        ..Default::default()
    };
    let all = [
        Msg::ListModels(proto::ListModelsRequest {}),
        Msg::GetVectors(proto::GetVectorsRequest {
            words: vec![w(1), "zzqx".into()],
            ..Default::default()
        }),
        Msg::GetVectors(proto::GetVectorsRequest {
            model: "ft".into(),
            words: vec!["zzqx".into()],
            ..Default::default()
        }),
        Msg::Similarity(proto::SimilarityRequest {
            pairs: vec![proto::WordPair { a: w(1), b: w(2) }],
            ..Default::default()
        }),
        Msg::MostSimilar(ms.clone()),
        Msg::MostSimilar(proto::MostSimilarRequest {
            model: "ft".into(),
            ..ms.clone()
        }),
        Msg::Cosmul(ms.clone()),
        Msg::Analogy(proto::AnalogyRequest {
            a: w(1),
            b: w(2),
            c: w(3),
            ..Default::default()
        }),
        Msg::DoesntMatch(proto::DoesntMatchRequest {
            words: vec![w(1), w(2), w(3)],
            ..Default::default()
        }),
        Msg::NearestToVector(proto::NearestToVectorRequest {
            vector: Some(proto::Vector {
                values: vec![0.5; W2V_DIMS],
            }),
            ..Default::default()
        }),
        Msg::Batch(proto::MostSimilarBatchRequest {
            queries: vec![ms.clone(); 3],
            ..Default::default()
        }),
        Msg::EmbedText(proto::EmbedTextRequest {
            texts: vec!["the king and the queen".into()],
            ..Default::default()
        }),
        Msg::NearestToText(proto::NearestToTextRequest {
            text: "the king".into(),
            ..Default::default()
        }),
        Msg::Classifiers(proto::ListClassifiersRequest {}),
        Msg::Predict(proto::PredictRequest {
            model: "tone".into(),
            texts: vec!["good".into()],
        }),
    ];
    for m in &all {
        let r = raw_unary(ch.clone(), m.grpc_path(), m.encode(), None).await;
        assert!(r.is_ok(), "warm-up {}: {r:?}", m.kind());
        let req = format!(
            "POST {} HTTP/1.1\r\nhost: fuzz\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{}",
            m.http_path(),
            m.json().len(),
            m.json()
        );
        let (status, body) = http_exchange(ctx.http, req.as_bytes(), ANSWER_LIMIT)
            .await
            .unwrap();
        assert_eq!(status, 200, "warm-up {} over HTTP: {body}", m.kind());
    }
}

/// The shapes of the heaviest messages, whose memory per request differs.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Shape {
    /// A few near-limit words: a request holds copies of its message.
    BigWords,
    /// Many tiny words: decoding expands the message (a `String` and its allocation per word).
    ManyWords,
}

impl Shape {
    /// How many times `--max-message-bytes` one request of this shape may hold at once:
    ///
    /// - BigWords, 8: the HTTP body, its JSON value, the decoded request, the re-encoded gRPC
    ///   frame, tonic's receive buffer, the answer and its encoding, with the allocator's
    ///   rounding. A fastText word's n-grams are streamed, so they add nothing that grows with
    ///   the word.
    /// - ManyWords, 40: a 1-3 byte word costs 3-6 bytes of JSON or protobuf and, decoded, a
    ///   24-byte `String` (48 with the vector's spare capacity) plus a 32-byte allocation:
    ///   about 20x the message for the JSON value and as much again for the gRPC request the
    ///   gateway makes of it, both alive while the call runs.
    fn per_request_messages(self) -> u64 {
        match self {
            Shape::BigWords => 8,
            Shape::ManyWords => 40,
        }
    }
}

/// The heaviest requests side by side, more than `--max-concurrent` of them. BigWords:
/// near-limit unknown words for the fastText model over gRPC and HTTP. ManyWords (last, so that
/// work outliving its answer shows in the CPU check): near-limit messages of tiny words over
/// both ports, and long texts of distinct unknown tokens (the word2vec model: a fastText model
/// knows every token) with a 1 s deadline.
///
/// Every message and request is built before the first connection opens, and off the async
/// workers: building one takes a thread for a while on a busy machine, and a connection
/// opened and then left silent past `--read-timeout` meanwhile (its task waiting for a worker)
/// is rightly closed unanswered by the daemon.
async fn storm(ctx: &Ctx, shape: Shape) {
    let built: Vec<_> = tokio::task::block_in_place(|| {
        (0..3 * MAX_CONCURRENT)
            .map(|k| {
                let (m, deadline) = storm_message(shape, k);
                let wire = if k % 2 == 1 {
                    Ok(storm_http_request(&m, deadline))
                } else {
                    Err(m.encode())
                };
                (k, m, deadline, wire)
            })
            .collect()
    });
    let ch = connect(ctx.grpc).await;
    let calls: Vec<_> = built
        .into_iter()
        .map(|(k, m, deadline, wire)| {
            let (ctx, ch) = (ctx.clone(), ch.clone());
            tokio::spawn(async move { storm_one(&ctx, ch, shape, k, m, deadline, wire).await })
        })
        .collect();
    for c in calls {
        c.await.unwrap();
    }
}

/// The `k`th message of a storm of `shape`, and its deadline.
fn storm_message(shape: Shape, k: usize) -> (Msg, Option<Duration>) {
    match (shape, k % 3) {
        (Shape::BigWords, _) => {
            let words = vec!["z".repeat(MAX_MESSAGE - 4096 - k)];
            let m = proto::GetVectorsRequest {
                model: "ft".into(),
                words,
                normalized: false,
            };
            (Msg::GetVectors(m), None)
        }
        (Shape::ManyWords, 0) => {
            let mut text = String::new();
            let mut i = 0;
            while text.len() < wordvec::limits::MAX_TEXT_BYTES - 64 {
                text.push_str(&format!("s{k}t{i} "));
                i += 1;
            }
            let m = proto::EmbedTextRequest {
                model: "w2v".into(),
                texts: vec![text],
                normalized: false,
            };
            (Msg::EmbedText(m), Some(Duration::from_secs(1)))
        }
        (Shape::ManyWords, _) => {
            // Under max_message bytes as JSON too: far more words than --max-words.
            let words = (0..(MAX_MESSAGE - 4096) / 7)
                .map(|i| format!("{}", i % 997))
                .collect();
            (
                Msg::GetVectors(proto::GetVectorsRequest {
                    words,
                    ..Default::default()
                }),
                None,
            )
        }
    }
}

/// Sends the storm's HTTP request `req` of `m` and checks its answer.
async fn storm_http(ctx: &Ctx, k: usize, kind: &str, m: &Msg, req: &str) {
    let request = excerpt(req, 300);
    match http_exchange(ctx.http, req.as_bytes(), ANSWER_LIMIT).await {
        Err(e) => ctx.failed(99, k, "HTTP", kind, &e, &request),
        Ok((status, text)) => match http_problem(Some(m), status, &text) {
            None => ctx.answered(format!("{kind} HTTP {status}")),
            Some(p) => ctx.failed(99, k, "HTTP", kind, &p, &request),
        },
    }
}

/// `m` as an HTTP/1.1 request on a connection of its own, with `deadline` as `grpc-timeout`.
fn storm_http_request(m: &Msg, deadline: Option<Duration>) -> String {
    let json = m.json();
    let timeout = deadline.map_or(String::new(), |d| {
        format!("grpc-timeout: {}m\r\n", d.as_millis())
    });
    format!(
        "POST {} HTTP/1.1\r\nhost: fuzz\r\nconnection: close\r\ncontent-type: application/json\r\n{timeout}content-length: {}\r\n\r\n{json}",
        m.http_path(),
        json.len()
    )
}

/// Sends one storm message, `m`, as `wire` holds it (an HTTP request, or the gRPC message
/// encoded), and checks its answer.
async fn storm_one(
    ctx: &Ctx,
    ch: Channel,
    shape: Shape,
    k: usize,
    m: Msg,
    deadline: Option<Duration>,
    wire: Result<String, Vec<u8>>,
) {
    let kind = format!("storm ({shape:?}) {}", m.kind());
    let bytes = match wire {
        Ok(req) => return storm_http(ctx, k, &kind, &m, &req).await,
        Err(bytes) => bytes,
    };
    let n = bytes.len();

    let request = || {
        format!(
            "deadline {deadline:?}, {n} bytes, {}",
            excerpt(&format!("{m:?}"), 200)
        )
    };
    let call = raw_unary(ch, m.grpc_path(), bytes, deadline);
    match tokio::time::timeout(ANSWER_LIMIT, call).await {
        Err(_) => ctx.failed(99, k, "gRPC", &kind, "no answer", &request()),
        Ok(Ok(_)) => ctx.answered(format!("{kind} gRPC OK")),
        Ok(Err(s)) if grpc_code_allowed(&m, &s, n) => {
            ctx.answered(format!("{kind} gRPC {:?}", s.code()))
        }
        Ok(Err(s)) => {
            let p = format!("{:?}: {}", s.code(), s.message());
            ctx.failed(99, k, "gRPC", &kind, &p, &request())
        }
    }
}

/// The RSS curve as a CSV under target/, and a short text plot of it.
fn write_curve(samples: &fuzz_client::Samples) -> String {
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    let _ = std::fs::create_dir_all(&target);
    let path = target.join("request_fuzz_rss.csv");
    let mut csv = String::from("time_ms,rss_kib\n");
    for (t, r) in &samples.rss {
        csv.push_str(&format!("{t},{r}\n"));
    }
    let _ = std::fs::write(&path, csv);
    let mut plot = format!("RSS curve (peak of each stretch; {}):\n", path.display());
    let rows = 20.min(samples.rss.len());
    let peak = samples.peak_kib().max(1);
    for k in 0..rows {
        let chunk = &samples.rss[k * samples.rss.len() / rows..(k + 1) * samples.rss.len() / rows];
        let (t, r) = chunk.iter().max_by_key(|s| s.1).copied().unwrap_or((0, 0));
        let bar = "#".repeat((r * 50 / peak) as usize);
        plot.push_str(&format!(
            "{:>8.1} s {:>7.1} MiB |{bar}\n",
            t as f64 / 1000.0,
            r as f64 / 1024.0
        ));
    }
    plot
}

/// A model whose log took a write (none should: the daemon has no token), if one did.
fn written(grpc: SocketAddr) -> Option<String> {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let mut c = proto::embeddings_client::EmbeddingsClient::new(connect(grpc).await);
        let models = match c.list_models(proto::ListModelsRequest {}).await {
            Ok(r) => r.into_inner().models,
            Err(e) => return Some(format!("ListModels after the run: {e:?}")),
        };
        models
            .iter()
            .find(|m| !m.writable || m.lsn != 0 || m.delta_rows != 0 || m.tombstones != 0)
            .map(|m| format!("a write got through, or a model has no log: {m:?}"))
    })
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[test]
fn the_daemon_survives_hostile_requests_within_its_bounds() {
    let seed: u64 = env_or("WORDVEC_FUZZ_SEED", 20_2026);
    let total: usize = env_or("WORDVEC_FUZZ_REQUESTS", SHORT_RUN);
    let dir = tempfile::tempdir().unwrap();
    let daemon = Daemon::start(&daemon_args(dir.path()));
    let vocab = Arc::new(Vocab::load());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .unwrap();
    let ctx = Ctx {
        seed,
        grpc: daemon.grpc,
        http: daemon.http,
        tally: Arc::default(),
    };
    let ctx_ports = (daemon.grpc, daemon.http);
    rt.block_on(warm_up(&ctx, &vocab));
    let monitor = Monitor::start(&daemon);
    let ms = |t: Instant| t.duration_since(monitor.started).as_millis() as u64;
    let mut phases = Vec::new();
    let mut phase = |name, shape, run: &mut dyn FnMut()| {
        let (baseline_kib, from) = (
            fuzz_client::rss_kib(daemon.pid).unwrap_or(0),
            Instant::now(),
        );
        run();
        let to_ms = ms(Instant::now());
        phases.push(Phase {
            name,
            shape,
            baseline_kib,
            from_ms: ms(from),
            to_ms,
        });
    };
    let started = Instant::now();
    // Stalled connections sit on both ports for the whole run.
    let stalls = rt.spawn(async move {
        let mut open = Vec::new();
        for (what, s) in stalled(ctx_ports.0, ctx_ports.1) {
            if s.await.unwrap().is_none() {
                open.push(what);
            }
        }
        open
    });
    phase(
        "generated and mutated requests",
        Shape::ManyWords,
        &mut || {
            rt.block_on(async {
                let tasks: Vec<_> = (0..TASKS)
                    .map(|t| {
                        tokio::spawn(client_task(
                            ctx.clone(),
                            vocab.clone(),
                            t,
                            total.div_ceil(TASKS),
                        ))
                    })
                    .collect();
                for t in tasks {
                    t.await.unwrap();
                }
            })
        },
    );
    phase("storm of big words", Shape::BigWords, &mut || {
        rt.block_on(storm(&ctx, Shape::BigWords))
    });
    phase("storm of many words", Shape::ManyWords, &mut || {
        rt.block_on(storm(&ctx, Shape::ManyWords))
    });
    let ran = started.elapsed();
    // CPU: idle within 1 s of the last answer, measured over the second after that.
    let last = ctx
        .tally
        .lock()
        .unwrap()
        .last_answer
        .unwrap_or_else(Instant::now);
    std::thread::sleep(Duration::from_secs(1).saturating_sub(last.elapsed()));
    let ticks = fuzz_client::clock_ticks();
    let c0 = fuzz_client::cpu_ticks(daemon.pid);
    std::thread::sleep(Duration::from_secs(1));
    let c1 = fuzz_client::cpu_ticks(daemon.pid);
    let stalls = rt.block_on(stalls).unwrap();
    let samples = monitor.finish();
    let plot = write_curve(&samples);
    let tally = ctx.tally.lock().unwrap();
    let mut report = format!(
        "request fuzzer: seed {seed}, {total} requests from {TASKS} tasks in {:.1} s\n",
        ran.as_secs_f64()
    );
    for (what, n) in &tally.answers {
        report.push_str(&format!("  {n:>6}  {what}\n"));
    }
    for p in &phases {
        report.push_str(&format!(
            "RSS in {} ({:.1}-{:.1} s): baseline {} MiB, peak {} MiB, bound {} MiB\n",
            p.name,
            p.from_ms as f64 / 1000.0,
            p.to_ms as f64 / 1000.0,
            p.baseline_kib / 1024,
            p.peak(&samples) / 1024,
            p.bound() / 1024
        ));
    }
    report.push_str(&plot);
    println!("{report}");

    let mut problems = Vec::new();
    if let Some(exit) = samples
        .exit
        .clone()
        .or_else(|| daemon.exited().map(|s| s.to_string()))
    {
        problems.push(format!("the daemon exited: {exit}"));
    }
    if let Some(w) = written(daemon.grpc) {
        problems.push(w);
    }
    if tally.failure_count > 0 {
        problems.push(format!(
            "{} answers were not allowed (first {}):\n  {}",
            tally.failure_count,
            tally.failures.len(),
            tally.failures.join("\n  ")
        ));
    }
    for p in &phases {
        if p.peak(&samples) > p.bound() {
            problems.push(format!(
                "RSS in {} peaked at {} MiB, over its bound of {} MiB (baseline {} MiB + {MAX_CONCURRENT} x {} x {} MiB + in flight {} MiB + 64 MiB)",
                p.name,
                p.peak(&samples) / 1024,
                p.bound() / 1024,
                p.baseline_kib / 1024,
                p.shape.per_request_messages(),
                MAX_MESSAGE >> 20,
                (MAX_CONCURRENT * MAX_MESSAGE) >> 20
            ));
        }
    }
    match (c0, c1) {
        (Some(a), Some(b)) => {
            let busy = (b - a) as f64 / ticks as f64;
            // Idle: under 5% of a core, plus one tick of rounding.
            if busy > 0.05 + 1.0 / ticks as f64 {
                problems.push(format!(
                    "the daemon still used {:.0}% of a core 1-2 s after the last answer",
                    busy * 100.0
                ));
            }
        }
        _ => problems.push("the daemon's CPU time could not be read (did it exit?)".into()),
    }
    if !stalls.is_empty() {
        problems.push(format!(
            "stalled connections still open after {STALL_LIMIT:?}: {}",
            stalls.join(", ")
        ));
    }
    assert!(
        problems.is_empty(),
        "request fuzzer, seed {seed} (rerun: WORDVEC_FUZZ_SEED={seed} WORDVEC_FUZZ_REQUESTS={total}):\n{}\n\ndaemon log:\n{}",
        problems.join("\n"),
        daemon.log_tail(20)
    );
}
