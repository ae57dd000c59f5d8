//! HTTP/JSON beside gRPC: every RPC answers as its gRPC twin does, errors are JSON with the
//! gRPC code's HTTP status, and hostile requests get a clear 4xx, never a panic or a hung
//! connection.

use crate::common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::server::{start_all, with_classifier};
use serde_json::{json, Value};
use wordvec::server::config::ServeConfig;
use wordvec::server::proto::classifier_client::ClassifierClient;
use wordvec::server::proto::embeddings_client::EmbeddingsClient;
use wordvec::server::proto::{self, term, Term};

/// One HTTP/1.1 exchange on a fresh connection (`connection: close`): status and body.
fn exchange(addr: std::net::SocketAddr, request: &[u8]) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(request).unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out)
        .expect("the server answers and closes");
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

fn post(addr: std::net::SocketAddr, path: &str, extra: &str, body: &[u8]) -> (u16, String) {
    let mut req = format!(
        "POST {path} HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\ncontent-length: {}\r\n{extra}\r\n",
        body.len()
    )
    .into_bytes();
    req.extend_from_slice(body);
    exchange(addr, &req)
}

fn post_json(addr: std::net::SocketAddr, path: &str, body: &Value) -> (u16, Value) {
    let (status, text) = blocking_post(addr, path, body.to_string());
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn blocking_post(addr: std::net::SocketAddr, path: &str, body: String) -> (u16, String) {
    post(
        addr,
        path,
        "content-type: application/json\r\n",
        body.as_bytes(),
    )
}

/// The gRPC answer as the JSON mapping writes it (as text, so that floats are written as the
/// gateway writes them), without the server time.
fn as_json(m: &impl serde::Serialize) -> Value {
    without_time(serde_json::from_str(&serde_json::to_string(m).unwrap()).unwrap())
}

/// `v` without any `server_time_us`, at any depth.
fn without_time(mut v: Value) -> Value {
    fn strip(v: &mut Value) {
        match v {
            Value::Object(o) => {
                o.remove("server_time_us");
                o.values_mut().for_each(strip);
            }
            Value::Array(a) => a.iter_mut().for_each(strip),
            _ => {}
        }
    }
    strip(&mut v);
    v
}

fn word(w: &str) -> Term {
    Term {
        term: Some(term::Term::Word(w.into())),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_rpc_answers_as_its_grpc_twin() {
    let s = start_all(ServeConfig::default(), with_classifier()).await;
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{}", s.grpc))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut e = EmbeddingsClient::new(channel.clone());
    let mut c = ClassifierClient::new(channel);
    let h = s.http;
    macro_rules! same {
        ($path:literal, $client:ident . $method:ident, $req:expr) => {{
            let req = $req;
            let grpc = $client.$method(req.clone()).await.unwrap().into_inner();
            let body = serde_json::to_value(&req).unwrap();
            let (status, json) = tokio::task::spawn_blocking(move || post_json(h, $path, &body))
                .await
                .unwrap();
            assert_eq!(status, 200, "{} {json}", $path);
            assert_eq!(without_time(json), as_json(&grpc), "{}", $path);
        }};
    }
    same!(
        "/v1/Embeddings/ListModels",
        e.list_models,
        proto::ListModelsRequest {}
    );
    same!(
        "/v1/Embeddings/GetVectors",
        e.get_vectors,
        proto::GetVectorsRequest {
            words: vec!["king".into(), "zzqx".into()],
            normalized: true,
            ..Default::default()
        }
    );
    same!(
        "/v1/Embeddings/Similarity",
        e.similarity,
        proto::SimilarityRequest {
            pairs: vec![proto::WordPair {
                a: "king".into(),
                b: "queen".into()
            }],
            ..Default::default()
        }
    );
    let ms = proto::MostSimilarRequest {
        positive: vec![word("king"), word("woman")],
        negative: vec![word("man")],
        top_k: 5,
        ..Default::default()
    };
    same!("/v1/Embeddings/MostSimilar", e.most_similar, ms.clone());
    same!(
        "/v1/Embeddings/MostSimilarCosmul",
        e.most_similar_cosmul,
        ms.clone()
    );
    same!(
        "/v1/Embeddings/Analogy",
        e.analogy,
        proto::AnalogyRequest {
            a: "man".into(),
            b: "king".into(),
            c: "woman".into(),
            top_k: 3,
            ..Default::default()
        }
    );
    same!(
        "/v1/Embeddings/DoesntMatch",
        e.doesnt_match,
        proto::DoesntMatchRequest {
            words: vec![
                "red".into(),
                "green".into(),
                "blue".into(),
                "computer".into()
            ],
            ..Default::default()
        }
    );
    same!(
        "/v1/Embeddings/NearestToVector",
        e.nearest_to_vector,
        proto::NearestToVectorRequest {
            vector: Some(proto::Vector {
                values: vec![0.25; 32]
            }),
            top_k: 4,
            ..Default::default()
        }
    );
    same!(
        "/v1/Embeddings/MostSimilarBatch",
        e.most_similar_batch,
        proto::MostSimilarBatchRequest {
            queries: vec![ms.clone(), ms],
            ..Default::default()
        }
    );
    same!(
        "/v1/Embeddings/EmbedText",
        e.embed_text,
        proto::EmbedTextRequest {
            texts: vec!["the king and the queen".into()],
            ..Default::default()
        }
    );
    same!(
        "/v1/Embeddings/NearestToText",
        e.nearest_to_text,
        proto::NearestToTextRequest {
            text: "water and fire".into(),
            top_k: 3,
            ..Default::default()
        }
    );
    same!(
        "/v1/Classifier/ListModels",
        c.list_models,
        proto::ListClassifiersRequest {}
    );
    same!(
        "/v1/Classifier/Predict",
        c.predict,
        proto::PredictRequest {
            texts: vec!["so happy, love it".into(), "awful and sad".into()],
            ..Default::default()
        }
    );
    // The OpenAPI document names every RPC, and its schemas every field of the proto.
    let (status, doc) = tokio::task::spawn_blocking(move || {
        exchange(
            h,
            b"GET /openapi.json HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n\r\n",
        )
    })
    .await
    .unwrap();
    assert_eq!(status, 200);
    let doc: Value = serde_json::from_str(&doc).unwrap();
    assert_eq!(doc["openapi"], "3.0.3");
    assert_eq!(doc["paths"].as_object().unwrap().len(), 17);
    for write in [
        "/v1/Embeddings/Upsert",
        "/v1/Embeddings/Delete",
        "/v1/Admin/Compact",
    ] {
        assert!(doc["paths"][write]["post"].is_object(), "{write}");
    }
    assert_eq!(
        doc["components"]["schemas"]["NearestToTextRequest"]["properties"]["text"]["type"],
        "string"
    );
    s.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_requests_get_clear_json_errors() {
    let dir = tempfile::tempdir().unwrap();
    let config = ServeConfig {
        auth_token_file: Some(common::server::token_file(dir.path())),
        ..ServeConfig::default()
    };
    let s = start_all(config, with_classifier()).await;
    let h = s.http;
    let results = tokio::task::spawn_blocking(move || {
        let auth = "authorization: Bearer s3cret\r\n";
        let json = "content-type: application/json\r\n";
        let ok = format!("{auth}{json}");
        let huge = format!("{{\"words\": [\"{}\"]}}", "x".repeat(5 << 20));
        let cases: Vec<(&str, String, Vec<u8>, u16, &str)> = vec![
            (
                "a valid request",
                ok.clone(),
                br#"{"a":"king","b":"man","c":"woman"}"#.to_vec(),
                200,
                "",
            ),
            (
                "no token",
                json.to_string(),
                b"{}".to_vec(),
                401,
                "UNAUTHENTICATED",
            ),
            (
                "a wrong token",
                format!("authorization: Bearer nope\r\n{json}"),
                b"{}".to_vec(),
                401,
                "UNAUTHENTICATED",
            ),
            (
                "malformed JSON",
                ok.clone(),
                b"{\"a\": ".to_vec(),
                400,
                "INVALID_ARGUMENT",
            ),
            (
                "a wrong type",
                ok.clone(),
                br#"{"a": 7}"#.to_vec(),
                400,
                "INVALID_ARGUMENT",
            ),
            (
                "an unknown field",
                ok.clone(),
                br#"{"a":"king","zzz":1}"#.to_vec(),
                400,
                "INVALID_ARGUMENT",
            ),
            (
                "not JSON at all",
                ok.clone(),
                b"\xff\xfe\x00garbage".to_vec(),
                400,
                "INVALID_ARGUMENT",
            ),
            (
                "a wrong content type",
                format!("{auth}content-type: text/plain\r\n"),
                b"{}".to_vec(),
                415,
                "INVALID_ARGUMENT",
            ),
            (
                "no content type",
                auth.to_string(),
                b"{}".to_vec(),
                415,
                "INVALID_ARGUMENT",
            ),
            (
                "an empty request",
                ok.clone(),
                b"{}".to_vec(),
                400,
                "INVALID_ARGUMENT",
            ),
            (
                "unknown words",
                ok.clone(),
                br#"{"a":"zzqx","b":"king","c":"man"}"#.to_vec(),
                404,
                "NOT_FOUND",
            ),
            (
                "a body over the message limit",
                ok.clone(),
                huge.into_bytes(),
                413,
                "",
            ),
            (
                "top_k over the limit",
                ok.clone(),
                br#"{"a":"king","b":"man","c":"woman","top_k":100000}"#.to_vec(),
                400,
                "INVALID_ARGUMENT",
            ),
        ];
        let mut out = Vec::new();
        for (what, headers, body, want, status) in cases {
            let (code, text) = post(h, "/v1/Embeddings/Analogy", &headers, &body);
            out.push((what, code, text, want, status));
        }
        let (code, text) = post(
            h,
            "/v1/Embeddings/NoSuchMethod",
            "content-type: application/json\r\n",
            b"{}",
        );
        out.push(("an unknown RPC", code, text, 501, "UNIMPLEMENTED"));
        let (code, text) = exchange(
            h,
            b"GET /nowhere HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n\r\n",
        );
        out.push(("an unknown path", code, text, 404, "NOT_FOUND"));
        // A request that stops half way is closed by the server, not kept forever.
        let mut slow = TcpStream::connect(h).unwrap();
        slow.write_all(b"POST /v1/Embeddings/ListModels HTTP/1.1\r\ncontent-length: 100\r\n\r\n{")
            .unwrap();
        out
    })
    .await
    .unwrap();
    for (what, code, text, want, status) in results {
        assert_eq!(code, want, "{what}: {text}");
        if code != 200 {
            let v: Value = serde_json::from_str(&text).unwrap_or_else(|_| json!({"raw": text}));
            if !status.is_empty() {
                assert_eq!(v["error"]["status"], status, "{what}: {text}");
                assert_eq!(v["error"]["code"], want, "{what}: {text}");
                assert!(
                    v["error"]["message"]
                        .as_str()
                        .is_some_and(|m| !m.is_empty()),
                    "{what}"
                );
            }
        }
    }
    // The server still answers after all that.
    let (code, _) = tokio::task::spawn_blocking(move || {
        post(
            h,
            "/v1/Embeddings/ListModels",
            "authorization: Bearer s3cret\r\ncontent-type: application/json\r\n",
            b"{}",
        )
    })
    .await
    .unwrap();
    assert_eq!(code, 200);
    s.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stalls_cannot_hold_a_connection() {
    let mut config = ServeConfig::default();
    config.limits.read_timeout_secs = 1.0;
    let s = start_all(config, with_classifier()).await;
    let h = s.http;
    let (headers, body) = tokio::task::spawn_blocking(move || {
        use std::time::Instant;
        // Headers never finished.
        let mut a = TcpStream::connect(h).unwrap();
        a.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        a.write_all(b"POST /v1/Embeddings/ListModels HTTP/1.1\r\nhost: 127.0.0.1\r\n").unwrap();
        let t = Instant::now();
        let mut out = Vec::new();
        let _ = a.read_to_end(&mut out);
        let headers = (t.elapsed(), String::from_utf8_lossy(&out).into_owned());
        // A body that stops half way.
        let mut b = TcpStream::connect(h).unwrap();
        b.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        b.write_all(b"POST /v1/Embeddings/ListModels HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{").unwrap();
        let t = Instant::now();
        let mut out = Vec::new();
        let _ = b.read_to_end(&mut out);
        (headers, (t.elapsed(), String::from_utf8_lossy(&out).into_owned()))
    })
    .await
    .unwrap();
    assert!(headers.0 < Duration::from_secs(5), "headers: {headers:?}");
    assert!(body.0 < Duration::from_secs(5), "body: {body:?}");
    assert!(body.1.starts_with("HTTP/1.1 408"), "{}", body.1);
    s.shutdown().await.unwrap();
}

/// `exchange` of `request` as JSON: status and the error body (Null when not JSON).
fn exchange_json(addr: std::net::SocketAddr, request: &[u8]) -> (u16, Value) {
    let (status, text) = exchange(addr, request);
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// A 405, 414 or 431 answer and an invalid-UTF-8 path came without the JSON error body, and a
/// Host header of any name was answered (DNS rebinding let a web page reach the daemon).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_error_answer_is_json_and_foreign_hosts_are_refused() {
    let config = ServeConfig {
        http_allowed_hosts: vec!["wordvec.internal".into()],
        ..ServeConfig::default()
    };
    let s = start_all(config, with_classifier()).await;
    let h = s.http;
    let got = tokio::task::spawn_blocking(move || {
        let get = |path: &str, host: &str, extra: &str| {
            let req =
                format!("GET {path} HTTP/1.1\r\nhost: {host}\r\nconnection: close\r\n{extra}\r\n");
            exchange_json(h, req.as_bytes())
        };
        let many: String = (0..120).map(|i| format!("x-h{i}: v\r\n")).collect();
        vec![
            (
                "GET of an RPC",
                get("/v1/Embeddings/ListModels", "127.0.0.1", ""),
                405,
            ),
            (
                "a 20 KB path",
                get(&format!("/{}", "a".repeat(20_000)), "127.0.0.1", ""),
                414,
            ),
            ("120 headers", get("/healthz", "127.0.0.1", &many), 431),
            (
                "an invalid UTF-8 path",
                {
                    let (code, text) = post(
                        h,
                        "/v1/Embeddings/%FF%FE",
                        "content-type: application/json\r\n",
                        b"{}",
                    );
                    (code, serde_json::from_str(&text).unwrap_or(Value::Null))
                },
                400,
            ),
            ("a foreign host", get("/healthz", "evil.example", ""), 403),
            (
                "a foreign host with a port",
                get("/healthz", "evil.example:8080", ""),
                403,
            ),
            (
                "a name like an IP",
                get("/healthz", "127.0.0.1.evil.example", ""),
                403,
            ),
            ("localhost", get("/healthz", "LocalHost:9", ""), 200),
            ("an IPv6 literal", get("/healthz", "[::1]:8080", ""), 200),
            ("an IPv4 literal", get("/healthz", "10.1.2.3", ""), 200),
            (
                "an allowed name",
                get("/healthz", "wordvec.internal:80", ""),
                200,
            ),
        ]
    })
    .await
    .unwrap();
    for (what, (code, body), want) in got {
        assert_eq!(code, want, "{what}: {body}");
        if want != 200 {
            assert_eq!(body["error"]["code"], want, "{what}: {body}");
            assert!(body["error"]["status"].is_string(), "{what}: {body}");
            assert!(body["error"]["message"].is_string(), "{what}: {body}");
        }
    }
    s.shutdown().await.unwrap();
}

/// A JSON body was read and decoded before `--max-concurrent` applied, and any number of them
/// at once: one 4 MB body of 1M words peaked at 131 MB, 40 at once at 1.23 GB.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_are_read_under_a_permit_and_a_byte_budget() {
    let mut config = ServeConfig::default();
    config.limits.max_concurrent = 1;
    let s = start_all(config, with_classifier()).await;
    let h = s.http;
    let json = "content-type: application/json\r\n";
    let results = tokio::task::spawn_blocking(move || {
        // A body that arrives slowly holds the only place while it is read.
        let mut slow = TcpStream::connect(h).unwrap();
        slow.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        slow.write_all(
            b"POST /v1/Embeddings/ListModels HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{",
        )
        .unwrap();
        std::thread::sleep(Duration::from_millis(300));
        let busy = post(h, "/v1/Embeddings/ListModels", json, b"{}");
        slow.write_all(format!("{}}}", " ".repeat(98)).as_bytes()).unwrap();
        let mut out = Vec::new();
        slow.read_to_end(&mut out).unwrap();
        let slow_status = String::from_utf8_lossy(&out).into_owned();
        let free = post(h, "/v1/Embeddings/ListModels", json, b"{}");
        // 1,000,000 one-letter words: under the 4 MiB message limit as JSON, ~130 MB decoded.
        let mut body = String::from("{\"model\": \"w2v\", \"words\": [");
        body.push_str(&vec!["\"a\""; 1_000_000].join(","));
        body.push_str("]}");
        let huge = post(h, "/v1/Embeddings/GetVectors", json, body.as_bytes());
        (busy, slow_status, free, huge)
    })
    .await
    .unwrap();
    let (busy, slow, free, huge) = results;
    assert_eq!(busy.0, 429, "a request past --max-concurrent: {}", busy.1);
    assert!(busy.1.contains("RESOURCE_EXHAUSTED"), "{}", busy.1);
    assert!(slow.starts_with("HTTP/1.1 200"), "{slow}");
    assert_eq!(free.0, 200, "{}", free.1);
    assert_eq!(huge.0, 429, "{}", &huge.1[..huge.1.len().min(300)]);
    assert!(huge.1.contains("--max-inflight-bytes"), "{}", huge.1);
    s.shutdown().await.unwrap();
}
