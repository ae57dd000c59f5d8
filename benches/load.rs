//! Load generator for `wordvec serve`: a fixed number of requests (or a fixed duration) from N
//! concurrent streams over one connection each, reporting queries/s, p50/p99 latency and errors
//! by status code as one JSON line per run.
//!
//! Usage: cargo bench --bench load -- URL --vectors FILE [--rpc most_similar|most_similar_exact|
//!        get_vectors|predict|most_similar_json|upsert] [--concurrency 1,8,64] [--requests 20000]
//!        [--seconds S] [--http HOST:PORT] [--batch N] [--token TOKEN]
//!
//! Query words are the first 10,000 words of FILE (the vectors the daemon serves).
//! `most_similar_json` sends MostSimilar as HTTP/JSON to `--http` (the daemon's
//! `--http-listen`), one keep-alive HTTP/1.1 connection per stream (hyper's client), the same
//! query as `most_similar`.
//! `upsert` sends `Embeddings/Upsert` of `--batch` new words (default 1) with pseudo-random
//! vectors of the model's dimension, with `--token` as the bearer token, to a daemon started
//! with `--wal-dir` (every request is acknowledged after its log record is synced); the JSON line
//! then also gives vectors per second.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use tonic::transport::Endpoint;
use wordvec::server::proto::classifier_client::ClassifierClient;
use wordvec::server::proto::embeddings_client::EmbeddingsClient;
use wordvec::server::proto::{self, term, Term};

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let url = args
        .first()
        .cloned()
        .expect("usage: load URL --vectors FILE [options]");
    let vectors = arg(&args, "--vectors").expect("--vectors FILE");
    let rpc = arg(&args, "--rpc").unwrap_or_else(|| "most_similar".into());
    let levels: Vec<usize> = arg(&args, "--concurrency")
        .unwrap_or_else(|| "1,8,64".into())
        .split(',')
        .map(|s| s.parse().unwrap())
        .collect();
    let requests: usize = arg(&args, "--requests").map_or(20_000, |s| s.parse().unwrap());
    let http = arg(&args, "--http");
    let seconds: Option<f64> = arg(&args, "--seconds").map(|s| s.parse().unwrap());
    let batch: usize = arg(&args, "--batch").map_or(1, |s| s.parse().unwrap());
    let token: Option<tonic::metadata::MetadataValue<tonic::metadata::Ascii>> =
        arg(&args, "--token").map(|t| format!("Bearer {t}").parse().unwrap());
    let emb = wordvec::load(
        vectors.as_ref(),
        &wordvec::LoadOptions::default().limit(Some(10_000)),
    )
    .unwrap();
    let words: Vec<String> = (0..emb.len()).map(|i| emb.word(i).to_owned()).collect();
    let dims = emb.dims();

    for &conc in &levels {
        let per_stream = requests.div_ceil(conc);
        let deadline = seconds.map(|s| Instant::now() + Duration::from_secs_f64(s));
        let start = Instant::now();
        let mut tasks = Vec::new();
        for s in 0..conc {
            let ch = Endpoint::from_shared(url.clone())
                .unwrap()
                .connect()
                .await
                .unwrap();
            let (words, rpc, token) = (words.clone(), rpc.clone(), token.clone());
            let mut json = match (&http, rpc.as_str()) {
                (Some(addr), "most_similar_json") => Some(JsonClient::connect(addr).await),
                (None, "most_similar_json") => panic!("most_similar_json needs --http HOST:PORT"),
                _ => None,
            };
            tasks.push(tokio::spawn(async move {
                let mut c = EmbeddingsClient::new(ch.clone());
                let mut k = ClassifierClient::new(ch);
                let mut lat = Vec::with_capacity(per_stream);
                let mut errors: BTreeMap<String, usize> = BTreeMap::new();
                let mut i = s * 7919;
                loop {
                    if deadline.map_or(
                        lat.len() + errors.values().sum::<usize>() >= per_stream,
                        |d| Instant::now() >= d,
                    ) {
                        break;
                    }
                    i += 1;
                    let w = words[i % words.len()].clone();
                    let t = Instant::now();
                    let r = match rpc.as_str() {
                        "most_similar" | "most_similar_exact" => c
                            .most_similar(proto::MostSimilarRequest {
                                positive: vec![Term {
                                    term: Some(term::Term::Word(w)),
                                }],
                                top_k: 10,
                                exact: rpc == "most_similar_exact",
                                ..Default::default()
                            })
                            .await
                            .map(|_| ()),
                        "get_vectors" => c
                            .get_vectors(proto::GetVectorsRequest {
                                words: vec![w],
                                ..Default::default()
                            })
                            .await
                            .map(|_| ()),
                        "predict" => k
                            .predict(proto::PredictRequest {
                                texts: vec![w],
                                ..Default::default()
                            })
                            .await
                            .map(|_| ()),
                        "most_similar_json" => {
                            let body = serde_json::json!({
                                "positive": [{"word": w}],
                                "top_k": 10,
                            });
                            json.as_mut()
                                .expect("connected")
                                .post("/v1/Embeddings/MostSimilar", body.to_string())
                                .await
                        }
                        "upsert" => {
                            let items = (0..batch)
                                .map(|j| proto::WordVector {
                                    word: format!("load-{conc}-{s}-{i}-{j}"),
                                    vector: Some(proto::Vector {
                                        values: (0..dims)
                                            .map(|d| {
                                                ((i * 31 + j * 7 + d) % 97) as f32 / 97.0 - 0.5
                                            })
                                            .collect(),
                                    }),
                                    ..Default::default()
                                })
                                .collect();
                            let mut req = tonic::Request::new(proto::UpsertRequest {
                                model: String::new(),
                                words: items,
                            });
                            if let Some(t) = &token {
                                req.metadata_mut().insert("authorization", t.clone());
                            }
                            c.upsert(req).await.map(|_| ())
                        }
                        other => panic!("unknown --rpc {other}"),
                    };
                    match r {
                        Ok(()) => lat.push(t.elapsed()),
                        Err(e) => *errors.entry(format!("{:?}", e.code())).or_default() += 1,
                    }
                }
                (lat, errors)
            }));
        }
        let mut lat = Vec::new();
        let mut errors: BTreeMap<String, usize> = BTreeMap::new();
        for t in tasks {
            let (l, e) = t.await.unwrap();
            lat.extend(l);
            for (k, v) in e {
                *errors.entry(k).or_default() += v;
            }
        }
        let wall = start.elapsed().as_secs_f64();
        lat.sort();
        let pct = |p: f64| {
            lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1)))
                .map_or(0.0, |d| d.as_secs_f64() * 1e3)
        };
        println!(
            "{}",
            serde_json::json!({
                "rpc": rpc, "concurrency": conc, "ok": lat.len(), "errors": errors, "seconds": wall,
                "qps": lat.len() as f64 / wall, "p50_ms": pct(0.50), "p99_ms": pct(0.99),
                "batch": batch, "vectors_per_s": (lat.len() * batch) as f64 / wall,
            })
        );
    }
}

/// One keep-alive HTTP/1.1 connection (hyper's client) posting JSON.
struct JsonClient {
    send: hyper::client::conn::http1::SendRequest<http_body_util::Full<hyper::body::Bytes>>,
}

impl JsonClient {
    async fn connect(addr: &str) -> JsonClient {
        let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        stream.set_nodelay(true).unwrap();
        let (send, conn) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                .await
                .unwrap();
        tokio::spawn(conn);
        JsonClient { send }
    }

    /// Posts `body`; a non-200 answer is an error named by its HTTP status.
    async fn post(&mut self, path: &str, body: String) -> Result<(), tonic::Status> {
        use http_body_util::BodyExt;
        let req = http::Request::post(path)
            .header("host", "bench")
            .header("content-type", "application/json")
            .body(http_body_util::Full::new(hyper::body::Bytes::from(body)))
            .unwrap();
        let r = self
            .send
            .send_request(req)
            .await
            .map_err(|e| tonic::Status::unavailable(e.to_string()))?;
        let status = r.status();
        let body = r
            .into_body()
            .collect()
            .await
            .map_err(|e| tonic::Status::unavailable(e.to_string()))?
            .to_bytes();
        if status != http::StatusCode::OK {
            return Err(tonic::Status::unknown(format!("HTTP {status}")));
        }
        let v: serde_json::Value =
            serde_json::from_slice(&body).map_err(|e| tonic::Status::internal(e.to_string()))?;
        if v["neighbors"].as_array().map_or(0, |a| a.len()) != 10 {
            return Err(tonic::Status::internal("not 10 neighbours"));
        }
        Ok(())
    }
}
