//! Load generator for `wordvec serve`: a fixed number of requests (or a fixed duration) from N
//! concurrent streams over one connection each, reporting queries/s, p50/p99 latency and errors
//! by status code as one JSON line per run.
//!
//! Usage: cargo bench --bench load -- URL --vectors FILE [--rpc most_similar|most_similar_exact|
//!        get_vectors|predict] [--concurrency 1,8,64] [--requests 20000] [--seconds S]
//!
//! Query words are the first 10,000 words of FILE (the vectors the daemon serves).

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
    let seconds: Option<f64> = arg(&args, "--seconds").map(|s| s.parse().unwrap());
    let emb = wordvec::load(
        vectors.as_ref(),
        &wordvec::LoadOptions::default().limit(Some(10_000)),
    )
    .unwrap();
    let words: Vec<String> = (0..emb.len()).map(|i| emb.word(i).to_owned()).collect();

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
            let (words, rpc) = (words.clone(), rpc.clone());
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
            })
        );
    }
}
