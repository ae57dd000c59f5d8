//! Writes to a running daemon (`wordvec serve --wal-dir`): Upsert, Delete and Compact over gRPC
//! and HTTP/JSON, seen by every query path, kept across restarts and compactions; bad writes
//! refused whole; and the kill test: writers that never pause while the daemon is killed -9
//! again and again lose no acknowledged write.

use crate::common;
use common::fuzz_client::{http_exchange, Daemon, Rng};

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};
use tonic::metadata::MetadataValue;
use tonic::transport::{Channel, Endpoint};
use tonic::Code;
use wordvec::server::proto::{
    self, admin_client::AdminClient, embeddings_client::EmbeddingsClient,
};
use wordvec::{Format, LoadOptions};

/// Rows of the base the tests serve: all of them fit one answer (top_k up to 1000).
const BASE_WORDS: usize = 300;
const DIMS: usize = 32;

/// The fixture's first [`BASE_WORDS`] words as a native file in `dir`, with its vectors.
fn base_file(dir: &Path) -> (PathBuf, Vec<(String, Vec<f32>)>) {
    let emb = wordvec::load(
        &common::data("w2vc-sg-d32.bin"),
        &LoadOptions::default().limit(Some(BASE_WORDS)),
    )
    .unwrap();
    let path = dir.join("m.wvec");
    wordvec::save(&emb, &path, Format::Native, &Default::default()).unwrap();
    let rows = (0..emb.len())
        .map(|i| (emb.word(i).to_owned(), emb.raw_row(i)))
        .collect();
    (path, rows)
}

/// `wordvec serve` of `base` as model "m", with a token, its logs in `wal`, and `extra` flags.
fn daemon(base: &Path, wal: &Path, token: &Path, extra: &[&str]) -> Daemon {
    let mut args: Vec<String> = vec![
        "--vectors".into(),
        format!("m={}", base.display()),
        "--wal-dir".into(),
        wal.display().to_string(),
        "--auth-token-file".into(),
        token.display().to_string(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    Daemon::start(&args)
}

async fn channel(d: &Daemon) -> Channel {
    Endpoint::from_shared(d.url())
        .unwrap()
        .connect()
        .await
        .unwrap()
}

fn authed<T>(msg: T) -> tonic::Request<T> {
    let mut r = tonic::Request::new(msg);
    r.metadata_mut()
        .insert("authorization", MetadataValue::from_static("Bearer s3cret"));
    r
}

fn item(word: &str, v: &[f32]) -> proto::WordVector {
    proto::WordVector {
        word: word.into(),
        vector: Some(proto::Vector { values: v.to_vec() }),
        ..Default::default()
    }
}

fn upsert(items: Vec<proto::WordVector>) -> proto::UpsertRequest {
    proto::UpsertRequest {
        model: "m".into(),
        words: items,
    }
}

fn delete(words: &[&str]) -> proto::DeleteRequest {
    proto::DeleteRequest {
        model: "m".into(),
        words: words.iter().map(|w| w.to_string()).collect(),
    }
}

fn cosine(a: &[f32], b: &[f32]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(x, y)| *x as f64 * *y as f64).sum();
    let n = |v: &[f32]| v.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
    dot / (n(a) * n(b))
}

/// The vector the model serves for each word (None: not found).
async fn vectors(
    c: &mut EmbeddingsClient<Channel>,
    words: &[String],
) -> HashMap<String, Option<Vec<f32>>> {
    let mut out = HashMap::new();
    for chunk in words.chunks(1000) {
        let r = c
            .get_vectors(authed(proto::GetVectorsRequest {
                model: "m".into(),
                words: chunk.to_vec(),
                normalized: false,
            }))
            .await
            .unwrap()
            .into_inner();
        for v in r.vectors {
            let values = v.found.then(|| v.vector.unwrap_or_default().values);
            out.insert(v.word, values);
        }
    }
    out
}

/// The whole ranking of the model's words for `word` (every word fits one answer).
async fn ranking(c: &mut EmbeddingsClient<Channel>, word: &str) -> Vec<(String, f32)> {
    let r = c
        .most_similar(authed(common::server::ms(&[word], &[], 1000)))
        .await
        .unwrap()
        .into_inner();
    r.neighbors.into_iter().map(|n| (n.word, n.score)).collect()
}

async fn info(c: &mut EmbeddingsClient<Channel>) -> proto::ModelInfo {
    let r = c
        .list_models(authed(proto::ListModelsRequest {}))
        .await
        .unwrap()
        .into_inner();
    r.models.into_iter().find(|m| m.name == "m").unwrap()
}

/// A vector unlike the fixture's: `seed` picks it.
fn fresh_vector(seed: u64) -> Vec<f32> {
    let mut rng = Rng::new(seed);
    (0..DIMS)
        .map(|_| (rng.below(2001) as f32 - 1000.0) / 997.0)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_writes_reach_every_path_and_outlive_restarts_and_compaction() {
    let dir = tempfile::tempdir().unwrap();
    let (base, rows) = base_file(dir.path());
    let (wal, token) = (
        dir.path().join("wal"),
        common::server::token_file(dir.path()),
    );
    let d = daemon(&base, &wal, &token, &["--compact-at", "0"]);
    let mut c = EmbeddingsClient::new(channel(&d).await);
    let (a, b) = (&rows[3], &rows[7]);
    // Added: found, with its exact cosine, by every path.
    let v = fresh_vector(1);
    let r = c
        .upsert(authed(upsert(vec![item("zebu", &v)])))
        .await
        .unwrap();
    assert_eq!((r.get_ref().count, r.get_ref().lsn), (1, 1));
    let got = vectors(&mut c, &["zebu".into()]).await;
    assert!(same(&got["zebu"], &Some(v.clone())), "{got:?}");
    let rank = ranking(&mut c, &a.0).await;
    let zebu = rank
        .iter()
        .find(|(w, _)| w == "zebu")
        .expect("the new word");
    assert!((zebu.1 as f64 - cosine(&a.1, &v)).abs() < 1e-5, "{zebu:?}");
    let sim = c
        .similarity(authed(proto::SimilarityRequest {
            model: "m".into(),
            pairs: vec![proto::WordPair {
                a: "zebu".into(),
                b: b.0.clone(),
            }],
        }))
        .await
        .unwrap()
        .into_inner();
    assert!((sim.similarities[0] as f64 - cosine(&v, &b.1)).abs() < 1e-5);
    // Replaced: the new vector, in place.
    let w = fresh_vector(2);
    c.upsert(authed(upsert(vec![item("zebu", &w)])))
        .await
        .unwrap();
    assert!(same(
        &vectors(&mut c, &["zebu".into()]).await["zebu"],
        &Some(w.clone())
    ));
    // Deleted: gone from every path.
    let r = c
        .delete(authed(delete(&[&a.0])))
        .await
        .unwrap()
        .into_inner();
    assert_eq!((r.count, r.lsn), (1, 3));
    gone_everywhere(&mut c, &a.0, &b.0).await;
    let m = info(&mut c).await;
    assert_eq!(
        (
            m.base_rows,
            m.delta_rows,
            m.tombstones,
            m.words,
            m.lsn,
            m.writable
        ),
        (BASE_WORDS as u64, 1, 1, BASE_WORDS as u64, 3, true)
    );
    assert!(m.wal_bytes > 0);
    // Restarted (killed) on the same log: the same answers.
    let before = (ranking(&mut c, &b.0).await, ranking(&mut c, "zebu").await);
    drop(c);
    drop(d);
    let d = daemon(&base, &wal, &token, &["--compact-at", "0"]);
    let mut c = EmbeddingsClient::new(channel(&d).await);
    assert_eq!(
        (ranking(&mut c, &b.0).await, ranking(&mut c, "zebu").await),
        before
    );
    gone_everywhere(&mut c, &a.0, &b.0).await;
    // Compacted: the same answers, from a new base.
    let mut admin = AdminClient::new(channel(&d).await);
    let r = admin
        .compact(authed(proto::CompactRequest { model: "m".into() }))
        .await
        .unwrap()
        .into_inner();
    assert!(
        r.written && r.lsn == 3 && r.rows == BASE_WORDS as u64,
        "{r:?}"
    );
    assert_eq!(
        (ranking(&mut c, &b.0).await, ranking(&mut c, "zebu").await),
        before
    );
    let m = info(&mut c).await;
    assert_eq!(
        (m.base_rows, m.delta_rows, m.tombstones, m.lsn),
        (BASE_WORDS as u64, 0, 0, 3)
    );
    drop(d);
    let d = daemon(&base, &wal, &token, &["--compact-at", "0"]);
    let mut c = EmbeddingsClient::new(channel(&d).await);
    assert_eq!(
        (ranking(&mut c, &b.0).await, ranking(&mut c, "zebu").await),
        before
    );
    assert!(same(
        &vectors(&mut c, &["zebu".into()]).await["zebu"],
        &Some(w.clone())
    ));
}

/// `gone` is in no answer: GetVectors, MostSimilar, Similarity, a filter naming it.
async fn gone_everywhere(c: &mut EmbeddingsClient<Channel>, gone: &str, other: &str) {
    assert_eq!(vectors(c, &[gone.into()]).await[gone], None);
    assert!(ranking(c, other).await.iter().all(|(w, _)| w != gone));
    let e = c
        .similarity(authed(proto::SimilarityRequest {
            model: "m".into(),
            pairs: vec![proto::WordPair {
                a: gone.into(),
                b: other.into(),
            }],
        }))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound, "{e:?}");
    let mut q = common::server::ms(&[other], &[], 10);
    q.only_words = vec![gone.into(), other.into()];
    match c.most_similar(authed(q)).await {
        Ok(r) => assert!(r.into_inner().neighbors.iter().all(|n| n.word != gone)),
        Err(e) => assert_eq!(e.code(), Code::NotFound, "{e:?}"),
    }
}

fn post(d: &Daemon, path: &str, body: &Value, token: bool) -> (u16, Value) {
    let auth = if token {
        "authorization: Bearer s3cret\r\n"
    } else {
        ""
    };
    let body = body.to_string();
    let req = format!(
        "POST {path} HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\ncontent-type: application/json\r\n{auth}content-length: {}\r\n\r\n{body}",
        body.len()
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (status, text) = rt
        .block_on(http_exchange(
            d.http,
            req.as_bytes(),
            Duration::from_secs(30),
        ))
        .unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// Whether two served vectors are the same: a model keeps unit rows and their lengths, so a raw
/// vector reads back within a float or two of what was written.
fn same(a: &Option<Vec<f32>>, b: &Option<Vec<f32>>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => {
            a.len() == b.len()
                && a.iter()
                    .zip(b)
                    .all(|(x, y)| (x - y).abs() <= 1e-6 * x.abs().max(1.0))
        }
        _ => false,
    }
}

/// JSON writes floats in the fewest digits that read back as the same f64, which can be one
/// float away from the f32 itself.
fn assert_close(got: &[f32], want: &[f32]) {
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(want) {
        assert!(
            (g - w).abs() <= 1e-6 * w.abs().max(1.0),
            "{got:?} != {want:?}"
        );
    }
}

#[test]
fn http_writes_and_compaction() {
    let dir = tempfile::tempdir().unwrap();
    let (base, rows) = base_file(dir.path());
    let (wal, token) = (
        dir.path().join("wal"),
        common::server::token_file(dir.path()),
    );
    let d = daemon(&base, &wal, &token, &["--compact-at", "0"]);
    let v = fresh_vector(3);
    let body = json!({"model": "m", "words": [{"word": "okapi", "vector": {"values": v}}]});
    let (status, r) = post(&d, "/v1/Embeddings/Upsert", &body, true);
    assert_eq!(status, 200, "{r}");
    assert_eq!(
        (r["count"].as_str(), r["lsn"].as_str()),
        (Some("1"), Some("1")),
        "{r}"
    );
    let (status, _) = post(&d, "/v1/Embeddings/Upsert", &body, false);
    assert_eq!(status, 401);
    let q = json!({"model": "m", "words": ["okapi", rows[0].0]});
    let (_, r) = post(&d, "/v1/Embeddings/GetVectors", &q, true);
    assert_close(&common::floats(&r["vectors"][0]["vector"]["values"]), &v);
    let (status, r) = post(
        &d,
        "/v1/Embeddings/Delete",
        &json!({"model": "m", "words": [rows[0].0]}),
        true,
    );
    assert_eq!((status, r["lsn"].as_str()), (200, Some("2")), "{r}");
    let (_, r) = post(&d, "/v1/Embeddings/GetVectors", &q, true);
    assert_eq!(r["vectors"][1]["found"], json!(false), "{r}");
    let (status, r) = post(&d, "/v1/Admin/Compact", &json!({"model": "m"}), true);
    assert_eq!((status, r["written"].as_bool()), (200, Some(true)), "{r}");
    let (_, r) = post(&d, "/v1/Embeddings/ListModels", &json!({}), true);
    let m = &r["models"][0];
    assert_eq!(
        (m["base_rows"].as_str(), m["delta_rows"].as_str()),
        (Some("300"), Some("0")),
        "{r}"
    );
    let (_, r) = post(&d, "/v1/Embeddings/GetVectors", &q, true);
    assert_close(&common::floats(&r["vectors"][0]["vector"]["values"]), &v);
    assert_eq!(r["vectors"][1]["found"], json!(false), "{r}");
}

/// Each bad write is refused with a clear message and changes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_writes_are_refused_whole() {
    let dir = tempfile::tempdir().unwrap();
    let (base, rows) = base_file(dir.path());
    let (wal, token) = (
        dir.path().join("wal"),
        common::server::token_file(dir.path()),
    );
    let big = [
        "--max-message-bytes",
        "33554432",
        "--max-inflight-bytes",
        "268435456",
    ];
    let d = daemon(&base, &wal, &token, &big);
    let mut c = EmbeddingsClient::new(channel(&d).await);
    let words: Vec<String> = rows
        .iter()
        .map(|r| r.0.clone())
        .chain(["newword".into()])
        .collect();
    let served_before = vectors(&mut c, &words).await;
    let good = item("newword", &fresh_vector(4));
    let mut nan = fresh_vector(5);
    nan[9] = f32::NAN;
    let huge: Vec<_> = (0..wordvec::limits::MAX_WRITE_WORDS + 1)
        .map(|i| item(&format!("h{i}"), &[0.5; DIMS]))
        .collect();
    let cases: Vec<(proto::UpsertRequest, &str)> = vec![
        (
            upsert(vec![good.clone(), item("short", &[1.0; DIMS - 1])]),
            "dimensions",
        ),
        (upsert(vec![good.clone(), item("nan", &nan)]), "NaN"),
        (
            upsert(vec![good.clone(), item("", &[1.0; DIMS])]),
            "empty word",
        ),
        (upsert(vec![]), "at least one word"),
        (upsert(huge), "words in one write"),
    ];
    for (req, says) in cases {
        let e = c.upsert(authed(req)).await.unwrap_err();
        assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");
        assert!(e.message().contains(says), "{says}: {}", e.message());
    }
    let e = c
        .delete(authed(delete(&[&rows[0].0, ""])))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");
    let e = c.upsert(upsert(vec![good.clone()])).await.unwrap_err();
    assert_eq!(e.code(), Code::Unauthenticated, "{e:?}");
    let m = info(&mut c).await;
    assert_eq!(
        (m.lsn, m.delta_rows, m.tombstones, m.wal_bytes > 0),
        (0, 0, 0, true)
    );
    assert_eq!(vectors(&mut c, &words).await, served_before);
    assert_eq!(served_before["newword"], None);
    drop(d);

    // A daemon without a token takes no writes; one without --wal-dir has no log to write.
    let no_token = Daemon::start(&[
        "--vectors".into(),
        format!("m={}", base.display()),
        "--wal-dir".into(),
        wal.display().to_string(),
    ]);
    let mut c = EmbeddingsClient::new(channel(&no_token).await);
    let e = c.upsert(upsert(vec![good.clone()])).await.unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition, "{e:?}");
    assert!(e.message().contains("--auth-token-file"), "{}", e.message());
    drop(no_token);
    let no_log = Daemon::start(&[
        "--vectors".into(),
        format!("m={}", base.display()),
        "--auth-token-file".into(),
        token.display().to_string(),
    ]);
    let mut c = EmbeddingsClient::new(channel(&no_log).await);
    for e in [
        c.upsert(authed(upsert(vec![good.clone()])))
            .await
            .unwrap_err(),
        c.delete(authed(delete(&[&rows[0].0]))).await.unwrap_err(),
    ] {
        assert_eq!(e.code(), Code::FailedPrecondition, "{e:?}");
        assert!(e.message().contains("--wal-dir"), "{}", e.message());
    }
    let mut admin = AdminClient::new(channel(&no_log).await);
    let e = admin
        .compact(authed(proto::CompactRequest { model: "m".into() }))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition, "{e:?}");
    let m = info(&mut c).await;
    assert_eq!((m.writable, m.words), (false, BASE_WORDS as u64));
}

/// Daemon kills in the kill test: [`KILL_ROUNDS`], or `WORDVEC_KILL_ROUNDS` (50 for the issue's
/// long run).
const KILL_ROUNDS: usize = 10;
const WRITERS: usize = 3;
/// New words each writer owns, beside its share of the base's first words.
const NEW_PER_WRITER: usize = 40;

/// A word and what a write makes it (None: deleted).
type Op = (String, Option<Vec<f32>>);

/// What the kill test knows of the model: every acknowledged write, and each writer's write in
/// flight at the kill (it may be there or not, but whole).
#[derive(Default)]
struct Acked {
    /// The vector of each word written (None: deleted).
    words: HashMap<String, Option<Vec<f32>>>,
    /// Per writer, its write not yet answered: the words and what they become.
    pending: HashMap<usize, Vec<Op>>,
}

/// The words writer `k` owns: every third of the base's first 60 (replaced and deleted), and
/// its own new words.
fn owned(k: usize, rows: &[(String, Vec<f32>)]) -> Vec<String> {
    let base = rows[..60]
        .iter()
        .skip(k)
        .step_by(WRITERS)
        .map(|r| r.0.clone());
    base.chain((0..NEW_PER_WRITER).map(|j| format!("k{k}_{j}")))
        .collect()
}

/// Writes without pause until the daemon goes away: batches of 1 to 3 of its words, upserted
/// or deleted, each acknowledged one recorded.
async fn writer(k: usize, url: String, words: Vec<String>, acked: Arc<Mutex<Acked>>, seed: u64) {
    let Ok(ch) = Endpoint::from_shared(url).unwrap().connect().await else {
        return;
    };
    let mut c = EmbeddingsClient::new(ch);
    let mut rng = Rng::new(seed);
    loop {
        let n = 1 + rng.below(3);
        let mut batch: Vec<String> = (0..n).map(|_| rng.pick(&words).clone()).collect();
        batch.sort();
        batch.dedup();
        let del = rng.percent(30);
        let ops: Vec<Op> = batch
            .iter()
            .map(|w| (w.clone(), (!del).then(|| fresh_vector(rng.next_u64()))))
            .collect();
        acked.lock().unwrap().pending.insert(k, ops.clone());
        let r = if del {
            let words: Vec<&str> = batch.iter().map(String::as_str).collect();
            c.delete(authed(delete(&words))).await.map(|_| ())
        } else {
            let items = ops
                .iter()
                .map(|(w, v)| item(w, v.as_ref().unwrap()))
                .collect();
            c.upsert(authed(upsert(items))).await.map(|_| ())
        };
        if let Err(e) = r {
            let refused = [
                Code::InvalidArgument,
                Code::FailedPrecondition,
                Code::Unauthenticated,
            ];
            assert!(!refused.contains(&e.code()), "writer {k}: {e:?}");
            return;
        }
        let mut a = acked.lock().unwrap();
        a.pending.remove(&k);
        a.words.extend(ops);
    }
}

/// Compacts without pause until the daemon goes away, so that kills land during compactions.
async fn compactor(url: String) {
    let Ok(ch) = Endpoint::from_shared(url).unwrap().connect().await else {
        return;
    };
    let mut admin = AdminClient::new(ch);
    while admin
        .compact(authed(proto::CompactRequest { model: "m".into() }))
        .await
        .is_ok()
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Checks the restarted daemon against what was acknowledged; a write in flight at the kill
/// must be there whole or not at all, and from then on counts as what the daemon holds.
async fn check_round(
    d: &Daemon,
    rows: &[(String, Vec<f32>)],
    all: &[String],
    acked: &mut Acked,
    round: usize,
) {
    let mut c = EmbeddingsClient::new(channel(d).await);
    let served = vectors(&mut c, all).await;
    let base: HashMap<&str, &Vec<f32>> = rows.iter().map(|(w, v)| (w.as_str(), v)).collect();
    let before = |a: &Acked, w: &str| match a.words.get(w) {
        Some(v) => v.clone(),
        None => base.get(w).map(|v| (*v).clone()),
    };
    for (k, ops) in std::mem::take(&mut acked.pending) {
        let old = ops.iter().all(|(w, _)| same(&served[w], &before(acked, w)));
        let new = ops.iter().all(|(w, v)| same(&served[w], v));
        assert!(
            old || new,
            "round {round}: writer {k}'s write in flight is half there: {:?}",
            ops.iter().map(|o| &o.0).collect::<Vec<_>>()
        );
        if new && !old {
            acked.words.extend(ops);
        }
    }
    for w in all {
        let want = before(acked, w);
        assert!(
            same(&served[w], &want),
            "round {round}: {w}: {:?} != {want:?}",
            served[w]
        );
    }
    let m = info(&mut c).await;
    let count = all.iter().filter(|w| served[*w].is_some()).count();
    assert_eq!(m.words as usize, count, "round {round}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_writes_outlive_kills_during_writes_and_compactions() {
    let rounds = std::env::var("WORDVEC_KILL_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(KILL_ROUNDS);
    let dir = tempfile::tempdir().unwrap();
    let (base, rows) = base_file(dir.path());
    let (wal, token) = (
        dir.path().join("wal"),
        common::server::token_file(dir.path()),
    );
    let flags = ["--compact-at", "0.1"];
    let all: Vec<String> = rows
        .iter()
        .map(|r| r.0.clone())
        .chain((0..WRITERS).flat_map(|k| (0..NEW_PER_WRITER).map(move |j| format!("k{k}_{j}"))))
        .collect();
    let acked = Arc::new(Mutex::new(Acked::default()));
    let mut rng = Rng::new(21);
    for round in 0..rounds {
        let d = daemon(&base, &wal, &token, &flags);
        let mut tasks: Vec<_> = (0..WRITERS)
            .map(|k| {
                let seed = rng.next_u64();
                tokio::spawn(writer(k, d.url(), owned(k, &rows), acked.clone(), seed))
            })
            .collect();
        tasks.push(tokio::spawn(compactor(d.url())));
        tokio::time::sleep(Duration::from_millis(50 + rng.below(400) as u64)).await;
        drop(d); // SIGKILL, and waited for
        for t in tasks {
            t.await.unwrap();
        }
        // Every third round, a write torn by the kill: the log ends in half a record.
        let torn = round % 3 == 1;
        if torn {
            use std::io::Write;
            let mut f = std::fs::OpenOptions::new()
                .append(true)
                .open(wal.join("m.wal"))
                .unwrap();
            f.write_all(&[0x57, 0x56, 0x00, 0x01, 0x02, 0x03, 0x04])
                .unwrap();
        }
        let d = daemon(&base, &wal, &token, &flags);
        if torn {
            let log = d.log_tail(200);
            assert!(
                log.contains("cut at the last good record"),
                "round {round}: {log}"
            );
        }
        let mut a = std::mem::take(&mut *acked.lock().unwrap());
        check_round(&d, &rows, &all, &mut a, round).await;
        *acked.lock().unwrap() = a;
    }
    // The writers did write: replaced and deleted base words, added and deleted new ones.
    let a = acked.lock().unwrap();
    let base_words = a.words.keys().filter(|w| !w.starts_with('k')).count();
    let deleted = a.words.values().filter(|v| v.is_none()).count();
    assert!(
        base_words > 0 && deleted > 0 && a.words.len() > base_words,
        "{} words written",
        a.words.len()
    );
}

/// `GetVectors` of `word` over HTTP/JSON: its raw vector, or None when not found.
fn served(d: &Daemon, word: &str) -> Option<Vec<f32>> {
    let (status, r) = post(
        d,
        "/v1/Embeddings/GetVectors",
        &json!({"model": "m", "words": [word]}),
        true,
    );
    assert_eq!(status, 200, "{r}");
    let v = &r["vectors"][0];
    (v["found"] == json!(true)).then(|| common::floats(&v["vector"]["values"]))
}

/// The CLI's write commands against a daemon (a vectors file upserted in batches, a delete, a
/// compaction); a reader replica that follows the writer's folder (`--follow-dir`) serving each
/// compaction and refusing writes; and the writer restarted after a compaction, which starts
/// from the compacted base and no longer needs its configured file.
#[test]
fn cli_writes_a_follower_replica_and_a_restart_from_the_compacted_base() {
    let dir = tempfile::tempdir().unwrap();
    let (base, rows) = base_file(dir.path());
    let (wal, token) = (
        dir.path().join("wal"),
        common::server::token_file(dir.path()),
    );
    let d = daemon(&base, &wal, &token, &["--compact-at", "0"]);
    let new: Vec<(String, Vec<f32>)> = (0..5)
        .map(|i| (format!("newword{i}"), fresh_vector(100 + i)))
        .collect();
    let text: String = std::iter::once(format!("{} {DIMS}\n", new.len()))
        .chain(new.iter().map(|(w, v)| {
            let vals: Vec<String> = v.iter().map(|x| format!("{x:?}")).collect();
            format!("{w} {}\n", vals.join(" "))
        }))
        .collect();
    let file = dir.path().join("new.txt");
    std::fs::write(&file, text).unwrap();
    let url = d.url();
    let server = [
        "--server",
        url.as_str(),
        "--model",
        "m",
        "--auth-token-file",
        token.to_str().unwrap(),
    ];
    let out = common::wordvec()
        .arg("upsert")
        .arg(&file)
        .args(server)
        .args(["--batch", "2"])
        .assert()
        .success();
    let said = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(said.contains("upserted 5 words, last lsn 3"), "{said}");
    let out = common::wordvec()
        .args(["delete", rows[0].0.as_str()])
        .args(server)
        .assert()
        .success();
    let said = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(said.contains("deleted 1 words, lsn 4"), "{said}");
    let out = common::wordvec()
        .arg("compact")
        .args(server)
        .assert()
        .success();
    let said = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(said.contains("compacted m: 304 rows at lsn 4"), "{said}");
    // Writes need the token: the CLI says what the server said.
    common::wordvec()
        .args([
            "delete",
            "newword1",
            "--server",
            url.as_str(),
            "--model",
            "m",
        ])
        .assert()
        .failure();
    assert_close(&served(&d, "newword1").unwrap(), &new[1].1);

    // A reader replica of the writer's folder serves the compacted base, and takes no writes.
    let follower = Daemon::start(&[
        "--vectors".into(),
        format!("m={}", base.display()),
        "--follow-dir".into(),
        wal.display().to_string(),
        "--follow-every".into(),
        "0.2".into(),
        "--auth-token-file".into(),
        token.display().to_string(),
    ]);
    assert_close(&served(&follower, "newword0").unwrap(), &new[0].1);
    assert_eq!(served(&follower, &rows[0].0), None);
    let late = fresh_vector(77);
    let body = json!({"model": "m", "words": [{"word": "late", "vector": {"values": late}}]});
    let (status, r) = post(&follower, "/v1/Embeddings/Upsert", &body, true);
    assert_ne!(status, 200, "a follower took a write: {r}");
    // The writer's next compaction reaches the follower by itself.
    assert_eq!(post(&d, "/v1/Embeddings/Upsert", &body, true).0, 200);
    assert_eq!(
        served(&follower, "late"),
        None,
        "only compacted writes are followed"
    );
    assert_eq!(
        post(&d, "/v1/Admin/Compact", &json!({"model": "m"}), true).0,
        200
    );
    let start = std::time::Instant::now();
    while served(&follower, "late").is_none() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "the follower did not follow: {}",
            follower.log_tail(20)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_close(&served(&follower, "late").unwrap(), &late);

    // Restarted after compactions, the writer opens the manifest's base: its configured file
    // may be gone.
    drop(d);
    std::fs::remove_file(&base).unwrap();
    let d = daemon(&base, &wal, &token, &[]);
    assert_close(&served(&d, "late").unwrap(), &late);
    assert_eq!(served(&d, &rows[0].0), None);
}
