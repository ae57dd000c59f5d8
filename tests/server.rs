//! The gRPC daemon, tested over real connections to a server on 127.0.0.1:0: every RPC, health,
//! reflection, auth, TLS, limits, bad requests, load, deadlines, metrics and graceful shutdown.

use crate::common;

use common::server::{big_model, ms, start_with, word, words, Running};

use std::sync::Arc;
use std::time::Duration;

use tonic::transport::{Certificate, ClientTlsConfig, Endpoint};
use tonic::{Code, Request};
use wordvec::search::Searcher;
use wordvec::server::config::ServeConfig;
use wordvec::server::models::{Models, VectorModel};
use wordvec::server::proto::classifier_client::ClassifierClient;
use wordvec::server::proto::embeddings_client::EmbeddingsClient;
use wordvec::server::proto::{self, Term};

fn models() -> Arc<Models> {
    let emb = common::load("w2vc-sg-d32.bin");
    let description = format!("fixture ({} words x {} dims)", emb.len(), emb.dims());
    Arc::new(Models::new(vec![
        VectorModel::new("w2v", description, Searcher::exact(emb)),
        VectorModel::new(
            "other",
            "second",
            Searcher::exact(common::load("gensim-d32.bin")),
        ),
    ]))
}

async fn start(config: ServeConfig) -> Running {
    start_with(config, models()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_embeddings_rpc_answers_like_the_library() {
    let s = start(ServeConfig::default()).await;
    let mut c = s.client().await;
    let emb = common::load("w2vc-sg-d32.bin");

    let models = c
        .list_models(proto::ListModelsRequest {})
        .await
        .unwrap()
        .into_inner()
        .models;
    assert_eq!(
        models.iter().map(|m| m.name.as_str()).collect::<Vec<_>>(),
        ["w2v", "other"]
    );
    assert!(models[0].is_default && models[0].words == 4642 && models[0].dims == 32);

    let r = c
        .get_vectors(proto::GetVectorsRequest {
            words: vec!["king".into(), "zzz".into()],
            normalized: false,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.model, "w2v");
    assert_eq!(
        r.vectors[0].vector.as_ref().unwrap().values,
        emb.vector("king").unwrap()
    );
    assert!(!r.vectors[1].found && r.vectors[1].vector.is_none());
    let r = c
        .get_vectors(proto::GetVectorsRequest {
            words: vec!["king".into()],
            normalized: true,
            model: "other".into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.model, "other");
    let n: f32 = r.vectors[0]
        .vector
        .as_ref()
        .unwrap()
        .values
        .iter()
        .map(|x| x * x)
        .sum();
    assert!((n - 1.0).abs() < 1e-5);

    let r = c
        .similarity(proto::SimilarityRequest {
            pairs: vec![proto::WordPair {
                a: "king".into(),
                b: "queen".into(),
            }],
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!((r.similarities[0] - 0.930_413).abs() < 1e-5);

    let lib = emb.most_similar(&["king".into()], &[], 10, None).unwrap();
    let r = c
        .most_similar(ms(&["king"], &[], 10))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        words(&r),
        lib.iter().map(|n| n.word.clone()).collect::<Vec<_>>()
    );
    assert_eq!(r.neighbors[0].score, lib[0].score);
    assert!(!r.used_index);

    let r = c
        .most_similar_cosmul(ms(&["king", "woman"], &["man"], 1))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(words(&r), ["lady"]);
    let r = c
        .analogy(proto::AnalogyRequest {
            a: "man".into(),
            b: "king".into(),
            c: "woman".into(),
            top_k: 3,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(words(&r), ["lady", "brother", "duke"]);

    let r = c
        .doesnt_match(proto::DoesntMatchRequest {
            words: vec![
                "red".into(),
                "green".into(),
                "blue".into(),
                "computer".into(),
                "qq".into(),
            ],
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (r.word.as_str(), r.ignored.as_slice()),
        ("computer", &["qq".to_string()][..])
    );

    let v = emb.vector("water").unwrap();
    let r = c
        .nearest_to_vector(proto::NearestToVectorRequest {
            vector: Some(proto::Vector { values: v }),
            top_k: 1,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(words(&r), ["water"]);

    let batch = proto::MostSimilarBatchRequest {
        model: String::new(),
        queries: vec![ms(&["king"], &[], 2), ms(&["water"], &[], 2)],
    };
    let r = c.most_similar_batch(batch).await.unwrap().into_inner();
    assert_eq!(r.results.len(), 2);
    assert_eq!(
        words(&r.results[0]),
        lib[..2].iter().map(|n| n.word.clone()).collect::<Vec<_>>()
    );

    let e = ClassifierClient::new(s.channel().await)
        .predict(proto::PredictRequest {
            texts: vec!["hi".into()],
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound);
    assert!(e.message().contains("--classifier"), "{}", e.message());
    s.shutdown().await.unwrap();
}

/// A small trained classifier (neg / pos) served as "tone".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_vectors_are_the_mean_of_the_word_vectors() {
    let s = start(ServeConfig::default()).await;
    let mut c = s.client().await;
    let emb = common::load("w2vc-sg-d32.bin");
    let texts = ["The King and the QUEEN, zzqx!", "water water fire", "dog"];
    let r = c
        .embed_text(proto::EmbedTextRequest {
            model: String::new(),
            texts: texts.iter().map(|t| t.to_string()).collect(),
            normalized: false,
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.model, "w2v");
    assert_eq!(r.vectors.len(), 3);
    for (t, v) in texts.iter().zip(&r.vectors) {
        // The mean of the raw vectors of the known tokens, computed here from the rows.
        let tokens = wordvec::classify::tokenize::tokens(t);
        let known: Vec<&String> = tokens.iter().filter(|w| emb.index(w).is_some()).collect();
        let mut want = vec![0f64; emb.dims()];
        for w in &known {
            for (s, x) in want.iter_mut().zip(emb.vector(w).unwrap()) {
                *s += f64::from(x);
            }
        }
        let got = &v.vector.as_ref().unwrap().values;
        for (g, w) in got.iter().zip(&want) {
            assert!((f64::from(*g) - w / known.len() as f64).abs() < 1e-6, "{t}");
        }
        assert_eq!(v.known_words as usize, known.len());
        assert_eq!(v.text, *t);
    }
    assert_eq!(r.vectors[0].unknown_words, ["zzqx"]);
    // Unit length when asked.
    let unit = c
        .embed_text(proto::EmbedTextRequest {
            model: "w2v".into(),
            texts: vec!["king queen".into()],
            normalized: true,
        })
        .await
        .unwrap()
        .into_inner();
    let n: f32 = unit.vectors[0]
        .vector
        .as_ref()
        .unwrap()
        .values
        .iter()
        .map(|x| x * x)
        .sum();
    assert!((n - 1.0).abs() < 1e-5);
    // NearestToText: the neighbours of that mean vector.
    let near = c
        .nearest_to_text(proto::NearestToTextRequest {
            text: "king queen".into(),
            top_k: 5,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let v = wordvec::classify::embed_text(&emb, "king queen", false)
        .unwrap()
        .vector;
    let want = emb
        .most_similar(&[wordvec::Term::Vector(&v)], &[], 5, None)
        .unwrap();
    assert_eq!(
        near.neighbors
            .iter()
            .map(|n| n.word.as_str())
            .collect::<Vec<_>>(),
        want.iter().map(|n| n.word.as_str()).collect::<Vec<_>>()
    );
    // Bad requests.
    for (texts, code) in [
        (vec![], tonic::Code::InvalidArgument),
        (vec!["zzqx qqzx".to_string()], tonic::Code::NotFound),
        (vec!["!!! ...".to_string()], tonic::Code::InvalidArgument),
        (vec!["ok".to_string(); 5000], tonic::Code::InvalidArgument),
    ] {
        let e = c
            .embed_text(proto::EmbedTextRequest {
                model: String::new(),
                texts,
                normalized: false,
            })
            .await
            .unwrap_err();
        assert_eq!(e.code(), code, "{e:?}");
    }
    let e = c
        .nearest_to_text(proto::NearestToTextRequest::default())
        .await
        .unwrap_err();
    assert_eq!(e.code(), tonic::Code::InvalidArgument);
    s.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn classifier_predicts_like_the_library() {
    let models = common::server::with_classifier();
    let lib = models.classifier("tone").unwrap();
    let mut config = ServeConfig::default();
    config.limits.max_words = 3;
    let s = start_with(config, models.clone()).await;
    let mut c = ClassifierClient::new(s.channel().await);

    let list = c
        .list_models(proto::ListClassifiersRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(list.models.len(), 1);
    assert_eq!(list.models[0].name, "tone");
    assert_eq!(list.models[0].labels, ["neg", "pos"]);
    assert!(!list.models[0].multi_label);

    let texts = vec![
        "a good and happy day".to_owned(),
        "awful, I hate it".into(),
        "zzz".into(),
    ];
    let r = c
        .predict(proto::PredictRequest {
            model: String::new(),
            texts: texts.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(r.model, "tone");
    let expected = lib.classifier.predict(&texts).unwrap();
    assert_eq!(r.predictions.len(), 3);
    assert_eq!(r.predictions[0].label, "pos");
    assert_eq!(r.predictions[1].label, "neg");
    for (p, e) in r.predictions.iter().zip(&expected) {
        assert_eq!(p.label, lib.classifier.labels[e.labels[0]]);
        let probs: Vec<f32> = p.scores.iter().map(|s| s.probability).collect();
        assert_eq!(probs, e.probabilities);
        assert_eq!(p.scores[0].label, "neg");
    }

    for (req, code, message) in [
        (vec![], Code::InvalidArgument, "no texts"),
        (
            vec!["a".into(); 4],
            Code::InvalidArgument,
            "4 texts is over the server's limit of 3",
        ),
        (
            vec!["fine".into(), " ".into()],
            Code::InvalidArgument,
            "text 1 is empty",
        ),
    ] {
        let e = c
            .predict(proto::PredictRequest {
                model: "tone".into(),
                texts: req,
            })
            .await
            .unwrap_err();
        assert_eq!(e.code(), code);
        assert!(e.message().contains(message), "{}", e.message());
    }
    let e = c
        .predict(proto::PredictRequest {
            model: "sentiment".into(),
            texts: vec!["hi".into()],
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::NotFound);
    assert!(e.message().contains("loaded: tone"), "{}", e.message());
    s.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_clear_statuses() {
    let cfg = ServeConfig {
        limits: wordvec::server::Limits {
            max_top_k: 50,
            max_words: 5,
            max_message_bytes: 2048,
            ..Default::default()
        },
        ..Default::default()
    };
    let s = start(cfg).await;
    let mut c = s.client().await;
    let check = |r: Result<tonic::Response<proto::NeighborsResponse>, tonic::Status>,
                 code: Code,
                 text: &str| {
        let e = r.unwrap_err();
        assert_eq!(e.code(), code, "{e:?}");
        assert!(
            e.message().contains(text),
            "{:?} lacks {text:?}",
            e.message()
        );
    };
    check(
        c.most_similar(ms(&["zzyzx", "king", "qqq"], &[], 5)).await,
        Code::NotFound,
        "\"zzyzx\", \"qqq\"",
    );
    check(
        c.most_similar(ms(&[], &[], 5)).await,
        Code::InvalidArgument,
        "no terms",
    );
    check(
        c.most_similar(ms(&["king"], &[], 51)).await,
        Code::InvalidArgument,
        "top_k 51 is over the server's limit of 50",
    );
    check(
        c.most_similar(ms(&["a", "b", "c", "d", "e", "f"], &[], 5))
            .await,
        Code::InvalidArgument,
        "6 terms is over the server's limit of 5",
    );
    let mut nan = vec![0.0f32; 32];
    nan[3] = f32::NAN;
    let r = c
        .nearest_to_vector(proto::NearestToVectorRequest {
            vector: Some(proto::Vector { values: nan }),
            ..Default::default()
        })
        .await;
    check(r, Code::InvalidArgument, "NaN at dimension 3");
    let r = c
        .nearest_to_vector(proto::NearestToVectorRequest {
            vector: Some(proto::Vector {
                values: vec![1.0; 3],
            }),
            ..Default::default()
        })
        .await;
    check(r, Code::InvalidArgument, "3 dimensions");
    check(
        c.nearest_to_vector(proto::NearestToVectorRequest::default())
            .await,
        Code::InvalidArgument,
        "no vector",
    );
    check(
        c.analogy(proto::AnalogyRequest {
            a: "x".into(),
            ..Default::default()
        })
        .await,
        Code::InvalidArgument,
        "three words",
    );
    check(
        c.most_similar(proto::MostSimilarRequest {
            model: "nope".into(),
            ..ms(&["king"], &[], 1)
        })
        .await,
        Code::NotFound,
        "no model named \"nope\"",
    );
    check(
        c.most_similar(proto::MostSimilarRequest {
            positive: vec![Term { term: None }],
            ..Default::default()
        })
        .await,
        Code::InvalidArgument,
        "neither a word nor a vector",
    );
    let e = c
        .get_vectors(proto::GetVectorsRequest::default())
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    let e = c
        .doesnt_match(proto::DoesntMatchRequest {
            words: vec!["qq".into()],
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::InvalidArgument);
    // A message over the size limit is refused before it is decoded.
    let big = proto::GetVectorsRequest {
        words: vec!["x".repeat(4000)],
        ..Default::default()
    };
    let e = c.get_vectors(big).await.unwrap_err();
    assert!(
        matches!(e.code(), Code::OutOfRange | Code::ResourceExhausted),
        "{e:?}"
    );
    s.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_and_reflection_work_for_stock_tools() {
    let s = start(ServeConfig::default()).await;
    let mut h = tonic_health::pb::health_client::HealthClient::new(s.channel().await);
    for service in ["", "wordvec.v1.Embeddings", "wordvec.v1.Classifier"] {
        let r = h
            .check(tonic_health::pb::HealthCheckRequest {
                service: service.into(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            r.status,
            tonic_health::pb::health_check_response::ServingStatus::Serving as i32,
            "{service}"
        );
    }
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
    use tonic_reflection::pb::v1::ServerReflectionRequest;
    let mut r = ServerReflectionClient::new(s.channel().await);
    let req = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut stream = r
        .server_reflection_info(tokio_stream::iter(vec![req]))
        .await
        .unwrap()
        .into_inner();
    let msg = stream.message().await.unwrap().unwrap();
    let Some(MessageResponse::ListServicesResponse(list)) = msg.message_response else {
        panic!("{msg:?}")
    };
    let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    for want in [
        "wordvec.v1.Embeddings",
        "wordvec.v1.Classifier",
        "grpc.health.v1.Health",
    ] {
        assert!(names.iter().any(|n| n == want), "{want} not in {names:?}");
    }
    s.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bearer_token_auth() {
    let dir = tempfile::tempdir().unwrap();
    let token_file = common::server::token_file(dir.path());
    let s = start(ServeConfig {
        auth_token_file: Some(token_file),
        ..Default::default()
    })
    .await;
    let mut c = s.client().await;
    let e = c
        .list_models(proto::ListModelsRequest {})
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::Unauthenticated);
    assert!(e.message().contains("missing bearer token"));
    let with = |t: &str| {
        let mut r = Request::new(proto::ListModelsRequest {});
        r.metadata_mut()
            .insert("authorization", format!("Bearer {t}").parse().unwrap());
        r
    };
    let e = c.list_models(with("wrong")).await.unwrap_err();
    assert_eq!(
        (e.code(), e.message()),
        (Code::Unauthenticated, "invalid bearer token")
    );
    assert!(c.list_models(with("s3cret")).await.is_ok());
    // Health stays open.
    let mut h = tonic_health::pb::health_client::HealthClient::new(s.channel().await);
    assert!(h
        .check(tonic_health::pb::HealthCheckRequest {
            service: String::new()
        })
        .await
        .is_ok());
    s.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_with_a_test_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let (cert_path, key_path) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert_path, cert.cert.pem()).unwrap();
    std::fs::write(&key_path, cert.signing_key.serialize_pem()).unwrap();
    let s = start(ServeConfig {
        tls_cert: Some(cert_path),
        tls_key: Some(key_path),
        ..Default::default()
    })
    .await;
    let tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(cert.cert.pem()))
        .domain_name("localhost");
    let ch = Endpoint::from_shared(format!("https://{}", s.addr))
        .unwrap()
        .tls_config(tls)
        .unwrap()
        .connect()
        .await
        .unwrap();
    let r = EmbeddingsClient::new(ch)
        .similarity(proto::SimilarityRequest {
            pairs: vec![proto::WordPair {
                a: "dog".into(),
                b: "cat".into(),
            }],
            ..Default::default()
        })
        .await;
    assert!(r.is_ok(), "{r:?}");
    // A plaintext client cannot talk to the TLS server.
    let plain = Endpoint::from_shared(format!("http://{}", s.addr))
        .unwrap()
        .connect()
        .await;
    if let Ok(ch) = plain {
        assert!(EmbeddingsClient::new(ch)
            .list_models(proto::ListModelsRequest {})
            .await
            .is_err());
    }
    s.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_load_without_errors_and_fast_refusal_under_overload() {
    let s = start(ServeConfig::default()).await;
    let ch = s.channel().await;
    let mut tasks = Vec::new();
    for t in 0..64 {
        let mut c = EmbeddingsClient::new(ch.clone());
        tasks.push(tokio::spawn(async move {
            for i in 0..10 {
                let w = ["king", "water", "dog", "city"][(t + i) % 4];
                c.most_similar(ms(&[w], &[], 10))
                    .await
                    .map(|r| r.into_inner().neighbors.len())?;
            }
            Ok::<_, tonic::Status>(())
        }));
    }
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    s.shutdown().await.unwrap();

    // With room for one request, a burst of slow ones: some succeed, the rest are refused
    // with RESOURCE_EXHAUSTED, nothing else.
    let s = start(ServeConfig {
        limits: wordvec::server::Limits {
            max_concurrent: 1,
            ..Default::default()
        },
        ..Default::default()
    })
    .await;
    let ch = s.channel().await;
    let slow = proto::MostSimilarBatchRequest {
        model: String::new(),
        queries: vec![ms(&["king"], &[], 10); 1000],
    };
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let mut c = EmbeddingsClient::new(ch.clone());
        let req = slow.clone();
        tasks.push(tokio::spawn(async move {
            c.most_similar_batch(req).await.map(|_| ())
        }));
    }
    let (mut ok, mut busy) = (0, 0);
    for t in tasks {
        match t.await.unwrap() {
            Ok(()) => ok += 1,
            Err(e) if e.code() == Code::ResourceExhausted => busy += 1,
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
    assert!(ok >= 1 && busy >= 1, "ok {ok}, busy {busy}");
    s.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_deadlines_are_honoured() {
    let s = start(ServeConfig {
        limits: wordvec::server::Limits {
            max_words: 5000,
            ..Default::default()
        },
        ..Default::default()
    })
    .await;
    let mut c = s.client().await;
    // The deadline travels as the standard grpc-timeout header; this client does not enforce it
    // itself, so the answer is the server's.
    let mut req = Request::new(proto::MostSimilarBatchRequest {
        model: String::new(),
        queries: vec![ms(&["king"], &[], 10); 5000],
    });
    req.metadata_mut()
        .insert("grpc-timeout", "200m".parse().unwrap());
    let e = c.most_similar_batch(req).await.unwrap_err();
    assert_eq!(e.code(), Code::DeadlineExceeded, "{e:?}");
    s.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_endpoint_counts_requests() {
    let s = start(ServeConfig {
        metrics_listen: Some("127.0.0.1:0".into()),
        ..Default::default()
    })
    .await;
    let maddr = s.metrics.unwrap();
    let mut c = s.client().await;
    c.most_similar(ms(&["king"], &[], 3)).await.unwrap();
    let _ = c.most_similar(ms(&["zzyzx"], &[], 3)).await;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut body = String::new();
    let mut conn = tokio::net::TcpStream::connect(maddr).await.unwrap();
    conn.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    conn.read_to_string(&mut body).await.unwrap();
    assert!(body.starts_with("HTTP/1.1 200 OK"), "{body}");
    assert!(
        body.contains(
            "wordvec_requests_total{code=\"Ok\",method=\"/wordvec.v1.Embeddings/MostSimilar\"} 1"
        ),
        "{body}"
    );
    assert!(body.contains("code=\"NotFound\""), "{body}");
    assert!(body.contains("wordvec_request_duration_seconds_bucket"));
    s.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_finishes_requests_in_flight() {
    let s = start_with(ServeConfig::default(), big_model()).await;
    let mut c = s.client().await;
    // Small on the wire, slow on the server: 64 exact scans of 200,000 rows.
    let q = proto::MostSimilarRequest {
        positive: vec![word("w1")],
        top_k: 5,
        exact: true,
        ..Default::default()
    };
    let slow = proto::MostSimilarBatchRequest {
        model: String::new(),
        queries: vec![q; 64],
    };
    let in_flight =
        tokio::spawn(async move { c.most_similar_batch(slow).await.map(|r| r.into_inner()) });
    tokio::time::sleep(Duration::from_millis(30)).await;
    let addr = s.addr;
    s.shutdown().await.unwrap();
    let done = in_flight.await.unwrap().unwrap();
    assert_eq!(done.results.len(), 64, "the request in flight completed");
    assert!(
        done.server_time_us > 30_000,
        "the request was still running when shutdown began ({} us)",
        done.server_time_us
    );
    assert!(
        Endpoint::from_shared(format!("http://{addr}"))
            .unwrap()
            .connect()
            .await
            .is_err(),
        "no longer accepting"
    );
}

/// The status of `r`, which must be an error whose message is short (an echo of a caller's
/// word is cut) and names the word cap's flag when it is INVALID_ARGUMENT.
fn refused<T: std::fmt::Debug>(r: Result<tonic::Response<T>, tonic::Status>, what: &str) -> Code {
    let e = r.expect_err(what);
    assert!(
        e.message().len() < 512,
        "{what}: {} bytes",
        e.message().len()
    );
    if e.code() == Code::InvalidArgument {
        assert!(
            e.message().contains("--max-word-bytes") && e.message().contains("1024"),
            "{what}: {}",
            e.message()
        );
    }
    e.code()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn words_over_the_cap_are_refused_before_any_work() {
    let s = start_with(ServeConfig::default(), common::server::with_classifier()).await;
    let mut c = s.client().await;
    let long = "x".repeat(1025);
    let text = format!("the king said {long} twice");
    // At the cap, a word is looked up as usual.
    let r = c
        .get_vectors(proto::GetVectorsRequest {
            words: vec!["x".repeat(1024)],
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(!r.vectors[0].found);
    let bad = Code::InvalidArgument;
    let r = c
        .get_vectors(proto::GetVectorsRequest {
            words: vec!["king".into(), long.clone()],
            ..Default::default()
        })
        .await;
    assert_eq!(refused(r, "GetVectors"), bad);
    let r = c.most_similar(ms(&["king", &long], &[], 5)).await;
    assert_eq!(refused(r, "MostSimilar positive"), bad);
    let r = c.most_similar_cosmul(ms(&["king"], &[&long], 5)).await;
    assert_eq!(refused(r, "MostSimilarCosmul negative"), bad);
    let r = c
        .most_similar(proto::MostSimilarRequest {
            exclude_words: vec![long.clone()],
            ..ms(&["king"], &[], 5)
        })
        .await;
    assert_eq!(refused(r, "exclude_words"), bad);
    let r = c
        .analogy(proto::AnalogyRequest {
            a: "man".into(),
            b: "king".into(),
            c: long.clone(),
            only_words: vec!["queen".into()],
            ..Default::default()
        })
        .await;
    assert_eq!(refused(r, "Analogy"), bad);
    let r = c
        .similarity(proto::SimilarityRequest {
            pairs: vec![proto::WordPair {
                a: "king".into(),
                b: long.clone(),
            }],
            ..Default::default()
        })
        .await;
    assert_eq!(refused(r, "Similarity"), bad);
    let r = c
        .doesnt_match(proto::DoesntMatchRequest {
            words: vec!["king".into(), "queen".into(), long.clone()],
            ..Default::default()
        })
        .await;
    assert_eq!(refused(r, "DoesntMatch"), bad);
    let r = c
        .embed_text(proto::EmbedTextRequest {
            texts: vec!["the king".into(), text.clone()],
            ..Default::default()
        })
        .await;
    assert_eq!(refused(r, "EmbedText"), bad);
    let r = c
        .nearest_to_text(proto::NearestToTextRequest {
            text: text.clone(),
            ..Default::default()
        })
        .await;
    assert_eq!(refused(r, "NearestToText"), bad);
    let r = c
        .most_similar_batch(proto::MostSimilarBatchRequest {
            queries: vec![ms(&["king"], &[], 3), ms(&[&long], &[], 3)],
            ..Default::default()
        })
        .await;
    assert_eq!(refused(r, "MostSimilarBatch"), bad);
    let mut cl = ClassifierClient::new(s.channel().await);
    let r = cl
        .predict(proto::PredictRequest {
            texts: vec![text.clone()],
            ..Default::default()
        })
        .await;
    assert_eq!(refused(r, "Predict"), bad);
    // A 100 KB model name: a short NOT_FOUND or INVALID_ARGUMENT, never the name echoed whole.
    let name = "m".repeat(100_000);
    let r = c
        .most_similar(proto::MostSimilarRequest {
            model: name.clone(),
            ..ms(&["king"], &[], 1)
        })
        .await;
    let code = refused(r, "model name");
    assert!(
        matches!(code, Code::NotFound | Code::InvalidArgument),
        "{code:?}"
    );
    let r = cl
        .predict(proto::PredictRequest {
            model: name.clone(),
            texts: vec!["so happy".into()],
        })
        .await;
    let code = refused(r, "classifier name");
    assert!(
        matches!(code, Code::NotFound | Code::InvalidArgument),
        "{code:?}"
    );
    // A long unknown name that passes the cap is still named, cut short.
    let r = c
        .most_similar(proto::MostSimilarRequest {
            model: "n".repeat(1000),
            ..ms(&["king"], &[], 1)
        })
        .await;
    assert_eq!(refused(r, "unknown model"), Code::NotFound);
    s.shutdown().await.unwrap();
}

/// A codec that sends the bytes it is given as the message, so that a test can send what no
/// protobuf encoder writes.
#[derive(Clone, Default)]
struct RawCodec;

impl tonic::codec::Codec for RawCodec {
    type Encode = Vec<u8>;
    type Decode = Vec<u8>;
    type Encoder = RawCodec;
    type Decoder = RawCodec;
    fn encoder(&mut self) -> Self::Encoder {
        RawCodec
    }
    fn decoder(&mut self) -> Self::Decoder {
        RawCodec
    }
}

impl tonic::codec::Encoder for RawCodec {
    type Item = Vec<u8>;
    type Error = tonic::Status;
    fn encode(
        &mut self,
        item: Vec<u8>,
        dst: &mut tonic::codec::EncodeBuf<'_>,
    ) -> Result<(), tonic::Status> {
        use prost::bytes::BufMut;
        dst.put_slice(&item);
        Ok(())
    }
}

impl tonic::codec::Decoder for RawCodec {
    type Item = Vec<u8>;
    type Error = tonic::Status;
    fn decode(
        &mut self,
        src: &mut tonic::codec::DecodeBuf<'_>,
    ) -> Result<Option<Vec<u8>>, tonic::Status> {
        use prost::bytes::Buf;
        Ok(Some(src.copy_to_bytes(src.remaining()).to_vec()))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_protobuf_is_invalid_argument() {
    let s = start_with(ServeConfig::default(), common::server::with_classifier()).await;
    let mut grpc = tonic::client::Grpc::new(s.channel().await);
    for (path, bytes) in [
        // Field 1 (length-delimited) whose length runs past the message.
        (
            "/wordvec.v1.Embeddings/GetVectors",
            &b"\x0a\xff\xff\x03ab"[..],
        ),
        // Field number 0, which no message has.
        ("/wordvec.v1.Embeddings/MostSimilar", &b"\x00\x01"[..]),
        // A varint that never ends.
        (
            "/wordvec.v1.Classifier/Predict",
            &b"\x18\xff\xff\xff\xff"[..],
        ),
        // A string field holding invalid UTF-8.
        (
            "/wordvec.v1.Embeddings/GetVectors",
            &b"\x0a\x02\xff\xfe"[..],
        ),
    ] {
        grpc.ready().await.unwrap();
        let e = grpc
            .unary(
                Request::new(bytes.to_vec()),
                http::uri::PathAndQuery::from_static(path),
                RawCodec,
            )
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::InvalidArgument, "{path} {bytes:?}: {e:?}");
        assert!(e.message().contains("decod"), "{}", e.message());
    }
    // The service goes on answering.
    let mut c = s.client().await;
    c.most_similar(ms(&["king"], &[], 3)).await.unwrap();
    s.shutdown().await.unwrap();
}

/// POSTs `body` as JSON to the HTTP/JSON port: status and parsed body.
fn post_json(addr: std::net::SocketAddr, path: &str, body: &str) -> (u16, serde_json::Value) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(
        s,
        "POST {path} HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let status = out
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let json = out
        .split_once("\r\n\r\n")
        .and_then(|(_, b)| serde_json::from_str(b).ok())
        .unwrap_or_default();
    (status, json)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_answers_carry_every_scalar_field_even_at_its_default() {
    let s =
        common::server::start_all(ServeConfig::default(), common::server::with_classifier()).await;
    let addr = s.http;
    let (status, r) = tokio::task::spawn_blocking(move || {
        post_json(
            addr,
            "/v1/Embeddings/MostSimilar",
            r#"{"positive":[{"word":"king"}],"negative":[{"word":"king"}],"top_k":3}"#,
        )
    })
    .await
    .unwrap();
    // "king - king" is the zero vector: every score is 0, and is there.
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["used_index"], serde_json::json!(false), "{r}");
    let neighbors = r["neighbors"].as_array().unwrap();
    assert_eq!(neighbors.len(), 3, "{r}");
    for n in neighbors {
        assert_eq!(n["score"].as_f64(), Some(0.0), "{r}");
        assert!(n.get("index").is_some() && n.get("word").is_some(), "{r}");
    }
    let (status, r) = tokio::task::spawn_blocking(move || {
        post_json(addr, "/v1/Embeddings/GetVectors", r#"{"words":["zzyzx"]}"#)
    })
    .await
    .unwrap();
    assert_eq!(status, 200, "{r}");
    let v = &r["vectors"][0];
    assert_eq!(v["found"], serde_json::json!(false), "{r}");
    assert_eq!(v["from_subwords"], serde_json::json!(false), "{r}");
    s.shutdown().await.unwrap();
}

/// A request whose deadline passed stops using the CPU: with `--max-concurrent 1` the work of
/// an answered request still holds the only permit until it really stops, so a request sent
/// shortly after it is refused (RESOURCE_EXHAUSTED) unless the work looked at its cancellation
/// flag. The slow request is GetVectors of many long unknown words of a fastText model (each
/// built from its n-grams), over gRPC and over HTTP/JSON (whose deadline is the gRPC one).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn work_stops_soon_after_its_deadline() {
    let config = ServeConfig {
        limits: wordvec::server::Limits {
            max_concurrent: 1,
            max_words: 100_000,
            max_message_bytes: 128 << 20,
            max_inflight_bytes: 256 << 20,
            request_timeout_secs: 0.3,
            ..Default::default()
        },
        ..Default::default()
    };
    let models = Arc::new(Models::new(vec![VectorModel::new(
        "ft",
        "fixture",
        Searcher::exact(common::load("fasttext/ft-sg.bin")),
    )]));
    let s = common::server::start_all(config, models).await;
    let words: Vec<String> = (0..60_000)
        .map(|i| format!("{i:06}{}", "q".repeat(1000)))
        .collect();
    let channel = Endpoint::from_shared(format!("http://{}", s.grpc))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut c = EmbeddingsClient::new(channel)
        .max_encoding_message_size(128 << 20)
        .max_decoding_message_size(128 << 20);
    let small = || proto::GetVectorsRequest {
        words: vec!["king".into()],
        ..Default::default()
    };
    // Over gRPC.
    let t = std::time::Instant::now();
    let e = c
        .get_vectors(proto::GetVectorsRequest {
            words: words.clone(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::DeadlineExceeded, "{e:?}");
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    // Ten times the 50 ms the work has to stop in.
    tokio::time::sleep(Duration::from_millis(500)).await;
    c.get_vectors(small()).await.unwrap();
    // Over HTTP/JSON.
    let body = serde_json::json!({ "words": words }).to_string();
    let addr = s.http;
    let (status, r) =
        tokio::task::spawn_blocking(move || post_json(addr, "/v1/Embeddings/GetVectors", &body))
            .await
            .unwrap();
    assert_eq!(status, 504, "{r}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    c.get_vectors(small()).await.unwrap();
    s.shutdown().await.unwrap();
}
