//! The daemon against hostile clients (issue: hardening): sizes that used to abort the process,
//! connections that send nothing or half a frame, random paths, work that outlived its deadline,
//! and huge words echoed back. Each test failed on the daemon before its fix.

use crate::common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::server::{ms, start_with, word, Running};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tonic::{Code, Request};
use wordvec::search::Searcher;
use wordvec::server::config::{Limits, ServeConfig};
use wordvec::server::models::{Models, VectorModel};
use wordvec::server::proto::{self, term, Term};

/// The random indexed set of `common::indexed_random`.
fn indexed_model() -> Arc<Models> {
    Arc::new(Models::new(vec![VectorModel::new(
        "indexed",
        "random, indexed",
        common::indexed_random(99),
    )]))
}

/// The small fixture, for tests that need a server but not its speed.
fn fixture_model() -> Arc<Models> {
    Arc::new(Models::new(vec![VectorModel::new(
        "w2v",
        "fixture",
        Searcher::exact(common::load("w2vc-sg-d32.bin")),
    )]))
}

fn limits(f: impl FnOnce(&mut Limits)) -> ServeConfig {
    let mut l = Limits::default();
    f(&mut l);
    ServeConfig {
        limits: l,
        ..Default::default()
    }
}

/// `ef = 4294967295` made hnsw_rs reserve 34 GB and abort the process.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huge_ef_and_top_k_never_abort_the_daemon() {
    let s = start_with(
        limits(|l| l.max_ef = wordvec::limits::MAX_EF),
        indexed_model(),
    )
    .await;
    let mut c = s.client().await;
    let huge = |mut r: proto::MostSimilarRequest| {
        r.ef = u32::MAX;
        r
    };
    let e = c
        .most_similar(huge(ms(&["w1"], &[], 10)))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");
    assert!(e.message().contains("--max-ef"), "{}", e.message());
    let e = c
        .most_similar_cosmul(huge(ms(&["w1"], &["w2"], 10)))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    let e = c
        .analogy(proto::AnalogyRequest {
            a: "w1".into(),
            b: "w2".into(),
            c: "w3".into(),
            ef: u32::MAX,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    let e = c
        .nearest_to_vector(proto::NearestToVectorRequest {
            vector: Some(proto::Vector {
                values: vec![0.5; 64],
            }),
            ef: u32::MAX,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    let e = c
        .most_similar_batch(proto::MostSimilarBatchRequest {
            model: String::new(),
            queries: vec![ms(&["w1"], &[], 3), huge(ms(&["w2"], &[], 3))],
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    let e = c
        .most_similar(ms(&["w1"], &[], u32::MAX))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);

    // At the largest ef allowed, above the number of rows, the index answers.
    let mut r = ms(&["w1"], &[], 1000);
    r.ef = wordvec::limits::MAX_EF as u32;
    let got = c.most_similar(r).await.unwrap().into_inner();
    assert!(got.used_index);
    assert_eq!(got.neighbors.len(), 1000);
    let mut r = ms(&["w1"], &["w5"], 1000);
    r.ef = wordvec::limits::MAX_EF as u32;
    assert_eq!(
        c.most_similar_cosmul(r)
            .await
            .unwrap()
            .into_inner()
            .neighbors
            .len(),
        1000
    );
    // Still serving.
    assert_eq!(
        c.most_similar(ms(&["w1"], &[], 5))
            .await
            .unwrap()
            .into_inner()
            .neighbors
            .len(),
        5
    );
    s.shutdown().await.unwrap();
}

/// Connects and sends `bytes`, then waits for the server to close the connection; returns how
/// long that took (None: still open at `limit`).
async fn closed_after(
    addr: std::net::SocketAddr,
    bytes: Vec<u8>,
    limit: Duration,
) -> Option<Duration> {
    let mut conn = TcpStream::connect(addr).await.unwrap();
    conn.write_all(&bytes).await.unwrap();
    let t = Instant::now();
    let mut sink = Vec::new();
    match tokio::time::timeout(limit, conn.read_to_end(&mut sink)).await {
        Ok(_) => Some(t.elapsed()),
        Err(_) => None,
    }
}

const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

fn half_frame() -> Vec<u8> {
    // The preface, then a SETTINGS frame header announcing 12 payload bytes and 3 of them.
    let mut b = PREFACE.to_vec();
    b.extend_from_slice(&[0, 0, 12, 4, 0, 0, 0, 0, 0, 0, 3, 0]);
    b
}

/// Silent and half-open connections were never timed out (300 stayed open 23 s).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_and_half_open_connections_are_closed() {
    let s = start_with(
        limits(|l| {
            l.read_timeout_secs = 0.5;
            l.idle_timeout_secs = 1.5;
        }),
        fixture_model(),
    )
    .await;
    let limit = Duration::from_secs(10);
    let nothing = tokio::spawn(closed_after(s.addr, Vec::new(), limit));
    let preface = tokio::spawn(closed_after(s.addr, PREFACE.to_vec(), limit));
    let half = tokio::spawn(closed_after(s.addr, half_frame(), limit));
    let many: Vec<_> = (0..50)
        .map(|_| tokio::spawn(closed_after(s.addr, half_frame(), limit)))
        .collect();
    for (what, task) in [
        ("nothing", nothing),
        ("preface only", preface),
        ("half a frame", half),
    ] {
        let t = task.await.unwrap();
        assert!(
            t.is_some(),
            "a connection that sent {what} is still open after {limit:?}"
        );
    }
    for t in many {
        assert!(t.await.unwrap().is_some());
    }
    // A real client still works, also after resting longer than the read timeout between
    // requests (keep-alive pings are answered by its HTTP/2 stack).
    let mut c = s.client().await;
    c.list_models(proto::ListModelsRequest {}).await.unwrap();
    tokio::time::sleep(Duration::from_millis(800)).await;
    c.list_models(proto::ListModelsRequest {}).await.unwrap();
    s.shutdown().await.unwrap();
}

/// SIGTERM never completed while a client held a connection that sent nothing, only the
/// preface, or half a frame.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_completes_with_silent_connections_open() {
    let s = start_with(
        limits(|l| {
            // Timeouts far away: only the shutdown grace period can close these.
            l.read_timeout_secs = 600.0;
            l.idle_timeout_secs = 600.0;
            l.shutdown_grace_secs = 0.5;
        }),
        fixture_model(),
    )
    .await;
    let mut held = Vec::new();
    for bytes in [&b""[..], PREFACE, &half_frame()] {
        let mut conn = TcpStream::connect(s.addr).await.unwrap();
        conn.write_all(bytes).await.unwrap();
        held.push(conn);
    }
    // And one real client with an open channel.
    let mut c = s.client().await;
    c.list_models(proto::ListModelsRequest {}).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let t = Instant::now();
    let done = tokio::time::timeout(Duration::from_secs(10), s.shutdown()).await;
    assert!(
        done.is_ok(),
        "shutdown still waiting after 10 s on connections that send nothing"
    );
    done.unwrap().unwrap();
    assert!(t.elapsed() < Duration::from_secs(10));
    drop(held);
}

/// The metrics' method label was the raw path, recorded before auth: 3,000 random paths grew
/// `/metrics` from 9.5 KB to 5.3 MB.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_paths_do_not_grow_the_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let token = common::server::token_file(dir.path());
    let s = start_with(
        ServeConfig {
            metrics_listen: Some("127.0.0.1:0".into()),
            auth_token_file: Some(token),
            ..Default::default()
        },
        fixture_model(),
    )
    .await;
    let maddr = s.metrics.unwrap();
    let metrics = || async move {
        let mut body = String::new();
        let mut conn = TcpStream::connect(maddr).await.unwrap();
        conn.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        conn.read_to_string(&mut body).await.unwrap();
        body
    };
    let channel = s.channel().await;
    let mut grpc = tonic::client::Grpc::new(channel);
    for i in 0..3000u32 {
        grpc.ready().await.unwrap();
        let path: http::uri::PathAndQuery = format!("/random{i}.Service{}/Method{i}", i % 7)
            .parse()
            .unwrap();
        let mut req = Request::new(proto::ListModelsRequest {});
        if i % 2 == 0 {
            req.metadata_mut()
                .insert("authorization", "Bearer s3cret".parse().unwrap());
        }
        let r: Result<tonic::Response<proto::ListModelsResponse>, _> = grpc
            .unary(req, path, tonic_prost::ProstCodec::default())
            .await;
        let code = r.unwrap_err().code();
        assert!(
            code == Code::Unimplemented || code == Code::Unauthenticated,
            "{code:?}"
        );
    }
    let body = metrics().await;
    assert!(body.starts_with("HTTP/1.1 200 OK"), "{body}");
    assert!(body.len() < 20_000, "/metrics grew to {} bytes", body.len());
    assert!(body.contains("method=\"unknown\""), "{body}");
    assert!(!body.contains("random17"), "{body}");
    s.shutdown().await.unwrap();
}

/// Process CPU time (user + system), from /proc.
/// 16 batches of 1,000 exact queries all answered DEADLINE_EXCEEDED within 0.04 s, then the
/// daemon burned 2.4 s of CPU on them. The daemon is a process of its own here, so that its CPU
/// time is its own and not that of the tests running beside this one.
#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn work_stops_when_its_deadline_is_answered() {
    use common::fuzz_client::{cpu_ticks, Daemon};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.wvec");
    wordvec::save(
        &common::server::big_embeddings(),
        &path,
        wordvec::Format::Native,
        &wordvec::SaveOptions::default(),
    )
    .unwrap();
    let daemon = Daemon::start(&[format!("--vectors=big={}", path.display())]);
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{}", daemon.grpc))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let c = proto::embeddings_client::EmbeddingsClient::new(channel);
    let q = proto::MostSimilarRequest {
        positive: vec![word("w1")],
        top_k: 5,
        exact: true,
        ..Default::default()
    };
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let mut c = c.clone();
            let q = q.clone();
            tokio::spawn(async move {
                let mut req = Request::new(proto::MostSimilarBatchRequest {
                    model: String::new(),
                    queries: vec![q; 1000],
                });
                req.metadata_mut()
                    .insert("grpc-timeout", "40m".parse().unwrap());
                c.most_similar_batch(req).await
            })
        })
        .collect();
    for t in tasks {
        // DEADLINE_EXCEEDED from the handler, or CANCELLED when tonic's own timer of the
        // grpc-timeout fires first on a busy machine: either way the answer is out.
        let e = t.await.unwrap().unwrap_err();
        assert!(
            matches!(e.code(), Code::DeadlineExceeded | Code::Cancelled),
            "{e:?}"
        );
    }
    // Each batch is 1,000 scans of 51 MB (seconds of CPU); cancelled work stops within a scan.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = cpu_ticks(daemon.pid).unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    // Clock ticks of 10 ms (Linux's USER_HZ of 100).
    let used = Duration::from_millis((cpu_ticks(daemon.pid).unwrap() - before) * 10);
    assert!(
        used < Duration::from_millis(500),
        "the daemon used {used:?} of CPU in the second after every request was answered"
    );
    assert!(daemon.exited().is_none(), "{}", daemon.log_tail(20));
}

/// Error details echoed 1 MB words back; the client then saw RESOURCE_EXHAUSTED instead of
/// NOT_FOUND.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_huge_words_are_not_echoed_back() {
    // Past the word cap (--max-word-bytes, tested in tests/server.rs) the word would be
    // refused before the lookup: raise it, so that the unknown-word answer is the one tested.
    let config = ServeConfig {
        limits: wordvec::server::Limits {
            max_word_bytes: 1 << 20,
            ..Default::default()
        },
        ..Default::default()
    };
    let s = start_with(config, fixture_model()).await;
    let mut c = s.client().await;
    let huge = "x".repeat(1 << 20);
    let e = c
        .most_similar(proto::MostSimilarRequest {
            positive: vec![Term {
                term: Some(term::Term::Word(huge.clone())),
            }],
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound, "{:?}", e.code());
    assert!(e.message().len() < 300, "{} bytes", e.message().len());
    assert!(e.message().contains("1048576 bytes"), "{}", e.message());
    let e = c
        .similarity(proto::SimilarityRequest {
            model: String::new(),
            pairs: vec![proto::WordPair {
                a: huge.clone(),
                b: "king".into(),
            }],
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound);
    assert!(e.message().len() < 300);
    s.shutdown().await.unwrap();
}

/// `authorization: bearer TOKEN` in lower case was refused (RFC 7235: the scheme is
/// case-insensitive).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bearer_scheme_is_case_insensitive() {
    let dir = tempfile::tempdir().unwrap();
    let token = common::server::token_file(dir.path());
    let s: Running = start_with(
        ServeConfig {
            auth_token_file: Some(token),
            ..Default::default()
        },
        fixture_model(),
    )
    .await;
    let mut c = s.client().await;
    for scheme in ["Bearer", "bearer", "BEARER"] {
        let mut r = Request::new(proto::ListModelsRequest {});
        r.metadata_mut()
            .insert("authorization", format!("{scheme} s3cret").parse().unwrap());
        assert!(c.list_models(r).await.is_ok(), "{scheme}");
    }
    let mut r = Request::new(proto::ListModelsRequest {});
    r.metadata_mut()
        .insert("authorization", "Basic s3cret".parse().unwrap());
    assert_eq!(
        c.list_models(r).await.unwrap_err().code(),
        Code::Unauthenticated
    );
    s.shutdown().await.unwrap();
}

/// A token file no client could match (two lines, NUL, BOM, non-ASCII) was accepted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsendable_tokens_are_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    for (i, bad) in [
        &b"one\ntwo\n"[..],
        b"ab\0cd",
        b"\xef\xbb\xbfs3cret",
        "t\u{f6}ken".as_bytes(),
        b"   \n",
    ]
    .iter()
    .enumerate()
    {
        let token = dir.path().join(format!("token{i}"));
        std::fs::write(&token, bad).unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let config = ServeConfig {
            auth_token_file: Some(token),
            ..Default::default()
        };
        let e = wordvec::server::serve(fixture_model(), &config, listener, std::future::pending())
            .await
            .unwrap_err()
            .to_string();
        assert!(e.contains("token"), "{bad:?}: {e}");
    }
}

/// A server on both ports with `f`'s limits.
async fn both(f: impl FnOnce(&mut Limits)) -> common::server::RunningBoth {
    common::server::start_all(limits(f), fixture_model()).await
}

/// The HTTP port closed no connection that sent nothing or 23 of the 24 bytes of the HTTP/2
/// preface (still open after 60 s, whatever the timeouts), nor an HTTP/1.1 or h2c connection
/// resting after its requests.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_http_connections_are_closed() {
    let s = both(|l| {
        l.read_timeout_secs = 0.5;
        l.idle_timeout_secs = 1.5;
    })
    .await;
    let limit = Duration::from_secs(8);
    let get = b"GET /healthz HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n".to_vec();
    for (what, bytes) in [
        ("nothing", Vec::new()),
        ("23 bytes of the preface", PREFACE[..23].to_vec()),
        ("the preface", PREFACE.to_vec()),
        ("half an h2c frame", half_frame()),
        ("one HTTP/1.1 request, then nothing", get),
    ] {
        let t = closed_after(s.http, bytes, limit).await;
        assert!(
            t.is_some(),
            "an HTTP connection that sent {what} is still open after {limit:?}"
        );
    }
    s.shutdown().await.unwrap();
}

/// No connection cap: every connection a client opened was kept, until file descriptors ran out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_over_the_cap_are_closed_at_once() {
    let s = both(|l| {
        l.read_timeout_secs = 60.0;
        l.idle_timeout_secs = 60.0;
        l.max_connections = 4;
    })
    .await;
    for addr in [s.grpc, s.http] {
        let mut held = Vec::new();
        for _ in 0..4 {
            held.push(TcpStream::connect(addr).await.unwrap());
        }
        // Let the server accept them before the next one.
        tokio::time::sleep(Duration::from_millis(200)).await;
        let t = closed_after(addr, Vec::new(), Duration::from_secs(5)).await;
        assert!(t.is_some(), "a 5th connection to {addr} is still open");
        // Once one closes, a new one is served.
        drop(held.pop());
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(
            closed_after(addr, Vec::new(), Duration::from_secs(1))
                .await
                .is_none(),
            "a connection under the cap to {addr} was closed"
        );
    }
    s.shutdown().await.unwrap();
}

/// The CPU time (user + system) of process `pid` so far, from `/proc/PID/stat`.
fn cpu_of(pid: u32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // Fields after the command name (which may hold spaces) in parentheses.
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<u64> = rest
        .split(' ')
        .skip(11)
        .take(2)
        .map(|v| v.parse().unwrap())
        .collect();
    // Clock ticks of 1/100 s (USER_HZ on Linux).
    Duration::from_millis((f[0] + f[1]) * 10)
}

/// With the descriptor limit reached by silent HTTP connections (246 under `nofile` 128), both
/// accept loops retried EMFILE at once: 100% CPU, and gRPC health got DEADLINE_EXCEEDED.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn descriptor_exhaustion_neither_spins_nor_starves_health() {
    use std::io::BufRead;
    let bin = assert_cmd::cargo::cargo_bin("wordvec");
    let mut child = std::process::Command::new("prlimit")
        .arg("--nofile=64:64")
        .arg(bin)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--http-listen",
            "127.0.0.1:0",
        ])
        .args(["--read-timeout", "1", "--idle-timeout", "2"])
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let (mut grpc, mut http) = (None, None);
    for l in lines.by_ref() {
        let l = l.unwrap();
        let addr = l.rsplit(' ').next().unwrap().to_owned();
        if l.starts_with("wordvec HTTP/JSON on") {
            http = Some(addr);
        } else if l.starts_with("wordvec serving") {
            grpc = Some(addr);
            break;
        }
    }
    std::thread::spawn(move || for _ in lines {});
    let (grpc, http) = (grpc.unwrap(), http.unwrap());
    let held: Vec<_> = (0..150)
        .map(|_| std::net::TcpStream::connect(&http).unwrap())
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = cpu_of(child.id());
    tokio::time::sleep(Duration::from_secs(2)).await;
    let used = cpu_of(child.id()) - before;
    // Health answers once the silent connections are closed by their timeout.
    let mut healthy = false;
    let t = Instant::now();
    while !healthy && t.elapsed() < Duration::from_secs(20) {
        let check = async {
            let ch = tonic::transport::Endpoint::from_shared(format!("http://{grpc}"))
                .unwrap()
                .connect()
                .await
                .ok()?;
            let mut h = tonic_health::pb::health_client::HealthClient::new(ch);
            h.check(tonic_health::pb::HealthCheckRequest::default())
                .await
                .ok()
        };
        healthy = tokio::time::timeout(Duration::from_secs(2), check)
            .await
            .ok()
            .flatten()
            .is_some();
        if !healthy {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    drop(held);
    assert!(
        used < Duration::from_millis(300) && healthy,
        "the daemon used {used:?} of CPU in 2 s with its descriptors exhausted; health answered: {healthy}"
    );
}

// gRPC bodies under the in-flight byte budget (issue 20, item 5, gRPC side).

/// A GetVectors request of `n` words of `len` bytes each.
fn get_vectors(n: usize, len: usize) -> proto::GetVectorsRequest {
    proto::GetVectorsRequest {
        model: "w2v".into(),
        words: vec!["a".repeat(len); n],
        ..Default::default()
    }
}

/// 1,000,000 one-byte words: 3 MB on the wire, under the 4 MiB message limit, ~130 MB
/// decoded. Before the budget covered gRPC, tonic decoded it and the handler served it; now
/// it is refused before it is decoded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_messages_are_decoded_within_the_byte_budget() {
    let s = start_with(
        limits(|l| {
            l.max_inflight_bytes = 8 << 20;
            l.max_message_bytes = 4 << 20;
            l.max_words = 1_000_000;
        }),
        fixture_model(),
    )
    .await;
    let mut c = s.client().await;
    let e = c.get_vectors(get_vectors(1_000_000, 1)).await.unwrap_err();
    assert_eq!(e.code(), Code::ResourceExhausted, "{e:?}");
    assert!(
        e.message().contains("--max-inflight-bytes"),
        "{}",
        e.message()
    );
    // One that fits is served, and so is the next one: the refused one holds nothing.
    for _ in 0..2 {
        let r = c.get_vectors(get_vectors(500, 1)).await;
        assert!(
            r.as_ref()
                .map_or_else(|e| e.code() == Code::NotFound, |_| true),
            "{r:?}"
        );
    }
    // A declared length over --max-message-bytes is refused at once, with tonic's code.
    let e = c.get_vectors(get_vectors(1, 5 << 20)).await.unwrap_err();
    assert_eq!(e.code(), Code::OutOfRange, "{e:?}");
    s.shutdown().await.unwrap();
}

/// The gateway charges a JSON body once: the gRPC request it sends in process is not charged
/// again (which, with both shares over the budget, waited the read timeout and failed).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_bodies_are_charged_once() {
    let s = both(|l| {
        l.max_inflight_bytes = 8 << 20;
        l.max_message_bytes = 4 << 20;
        l.max_words = 100_000;
        l.read_timeout_secs = 1.0;
    })
    .await;
    let h = s.http;
    // 20,000 words of 100 bytes: 2 MB as JSON, ~6.6 MB charged by the gateway; charged again
    // as gRPC, more than 8 MiB in all.
    let words = vec![format!("\"{}\"", "b".repeat(100)); 20_000].join(",");
    let body = format!("{{\"model\": \"w2v\", \"words\": [{words}]}}");
    let answer = tokio::task::spawn_blocking(move || {
        let mut t = std::net::TcpStream::connect(h).unwrap();
        t.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let head = format!(
            "POST /v1/Embeddings/GetVectors HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
            body.len()
        );
        std::io::Write::write_all(&mut t, head.as_bytes()).unwrap();
        std::io::Write::write_all(&mut t, body.as_bytes()).unwrap();
        let mut out = Vec::new();
        std::io::Read::read_to_end(&mut t, &mut out).unwrap();
        String::from_utf8_lossy(&out[..out.len().min(400)]).into_owned()
    })
    .await
    .unwrap();
    assert!(
        answer.starts_with("HTTP/1.1 200") || answer.starts_with("HTTP/1.1 404"),
        "{answer}"
    );
    s.shutdown().await.unwrap();
}

/// Starts `wordvec serve` with `args`; its gRPC address.
fn spawn_serve(args: &[&str]) -> (std::process::Child, String) {
    use std::io::BufRead;
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("wordvec"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(args)
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let addr = lines
        .by_ref()
        .map(Result::unwrap)
        .find(|l| l.starts_with("wordvec serving"))
        .map(|l| l.rsplit(' ').next().unwrap().to_owned())
        .unwrap();
    std::thread::spawn(move || for _ in lines {});
    (child, addr)
}

/// The peak resident memory of process `pid` (`VmHWM`), bytes.
fn peak_rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kb = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().strip_suffix("kB"))
        .unwrap();
    kb.trim().parse::<u64>().unwrap() << 10
}

/// 16 GetVectors of 1.3M one-byte words at once (3.9 MB each, ~170 MB decoded): decoded with
/// no budget, they took the daemon's peak RSS from 21 MB to 182 MB even on 2 cores. Under an
/// 8 MiB budget the peak stays within the baseline plus twice the budget plus what the
/// connections' buffers take (31 MB).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_big_grpc_messages_stay_within_the_budget() {
    const BUDGET: u64 = 8 << 20;
    let budget = BUDGET.to_string();
    let (mut child, addr) = spawn_serve(&[
        "--max-inflight-bytes",
        &budget,
        "--max-message-bytes",
        "4194304",
        "--max-concurrent",
        "32",
    ]);
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut c = proto::embeddings_client::EmbeddingsClient::new(channel.clone());
    let _ = c.get_vectors(get_vectors(10, 1)).await;
    let baseline = peak_rss(child.id());
    let request = get_vectors(1_300_000, 1);
    let calls: Vec<_> = (0..16)
        .map(|_| {
            let mut c = proto::embeddings_client::EmbeddingsClient::new(channel.clone());
            let r = request.clone();
            tokio::spawn(async move { c.get_vectors(r).await.map(|_| ()) })
        })
        .collect();
    let mut codes = Vec::new();
    for call in calls {
        codes.push(call.await.unwrap().map_err(|e| e.code()));
    }
    let peak = peak_rss(child.id());
    let alive = child.try_wait().unwrap().is_none();
    let _ = child.kill();
    let _ = child.wait();
    assert!(alive, "the daemon exited");
    // Refused for the budget, or (before the budget) for --max-words / the missing model.
    assert!(
        codes.iter().all(|c| matches!(
            c,
            Err(Code::ResourceExhausted | Code::InvalidArgument | Code::NotFound)
        )),
        "{codes:?}"
    );
    let bound = baseline + 2 * BUDGET + (64 << 20);
    eprintln!("peak RSS {} MB, baseline {} MB", peak >> 20, baseline >> 20);
    assert!(
        peak < bound,
        "peak RSS {} MB over {} MB (baseline {} MB)",
        peak >> 20,
        bound >> 20,
        baseline >> 20
    );
}

/// Sends `head` and then `body` in pieces of 64 KiB, `pause` apart, on a fresh connection, and
/// returns what the server answered, whether every byte could be written, and how the writes
/// and the read ended (for failure messages).
async fn send_in_pieces(
    addr: std::net::SocketAddr,
    head: String,
    body: Vec<u8>,
    pause: Duration,
) -> (String, bool, String) {
    tokio::task::spawn_blocking(move || {
        use std::io::{Read, Write};
        let mut t = std::net::TcpStream::connect(addr).unwrap();
        t.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let mut write = t.write_all(head.as_bytes());
        for piece in body.chunks(64 << 10) {
            if write.is_err() {
                break;
            }
            std::thread::sleep(pause);
            write = t.write_all(piece);
        }
        let mut out = Vec::new();
        let read = t.read_to_end(&mut out);
        let answer = String::from_utf8_lossy(&out[..out.len().min(400)]).into_owned();
        (
            answer,
            write.is_ok(),
            format!("write: {write:?}, read: {read:?}"),
        )
    })
    .await
    .unwrap()
}

/// An answer given before the request's body was read (415 before reading it, 408 when it came
/// too slowly) was followed by closing the socket with the client's bytes unread: the kernel
/// then resets the connection under the client's writes, and drops what of the answer it had
/// not sent yet. Here the answer got out in time, but the body's writes were reset.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_given_before_the_body_is_read_reach_the_client() {
    let s = both(|l| {
        l.read_timeout_secs = 0.5;
        l.max_message_bytes = 4 << 20;
    })
    .await;
    let post = |content_type: &str, len: usize| {
        format!(
            "POST /v1/Embeddings/GetVectors HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\ncontent-type: {content_type}\r\ncontent-length: {len}\r\n\r\n"
        )
    };
    let words = vec!["\"w\""; 600_000].join(",");
    let body = format!("{{\"model\": \"w2v\", \"words\": [{words}]}}").into_bytes();
    // Answered at once, the body never read: 2.4 MB arriving piece by piece.
    let head = post("text/plain", body.len());
    let (answer, sent, how) =
        send_in_pieces(s.http, head, body.clone(), Duration::from_millis(5)).await;
    assert!(answer.starts_with("HTTP/1.1 415"), "{how}: {answer:?}");
    assert!(sent, "the connection was reset under the body: {how}");
    // Each piece well within the read timeout, the whole body not: 408 while it still comes.
    let body = body[..1 << 20].to_vec();
    let head = post("application/json", body.len());
    let (answer, sent, how) = send_in_pieces(s.http, head, body, Duration::from_millis(100)).await;
    assert!(answer.starts_with("HTTP/1.1 408"), "{how}: {answer:?}");
    assert!(sent, "the connection was reset under the body: {how}");
    s.shutdown().await.unwrap();
}
