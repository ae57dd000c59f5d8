//! A real server on 127.0.0.1:0 for the integration tests, and request builders.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tonic::transport::{Channel, Endpoint};
use wordvec::search::Searcher;
use wordvec::server::config::ServeConfig;
use wordvec::server::models::{ClassifierModel, Models, VectorModel};
use wordvec::server::proto::embeddings_client::EmbeddingsClient;
use wordvec::server::proto::{self, term, Term};

pub(crate) struct Running {
    pub addr: std::net::SocketAddr,
    /// The metrics port, when the configuration asks for one (`metrics_listen`, port 0 say).
    pub metrics: Option<std::net::SocketAddr>,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<wordvec::Result<()>>,
}

impl Running {
    pub(crate) async fn channel(&self) -> Channel {
        Endpoint::from_shared(format!("http://{}", self.addr))
            .unwrap()
            .connect()
            .await
            .unwrap()
    }
    pub(crate) async fn client(&self) -> EmbeddingsClient<Channel> {
        EmbeddingsClient::new(self.channel().await)
    }
    pub(crate) async fn shutdown(mut self) -> wordvec::Result<()> {
        self.stop.take().unwrap().send(()).unwrap();
        self.task.await.unwrap()
    }
}

/// 200,000 random words x 64 dims: one exact query reads 51 MB, slow enough to be in flight.
pub(crate) fn big_model() -> Arc<Models> {
    Arc::new(Models::new(vec![VectorModel::new(
        "big",
        "random",
        Searcher::exact(big_embeddings()),
    )]))
}

/// The vectors of [`big_model`]: 200,000 x 64 random floats (51 MB), named `w0`, `w1`, ...
pub(crate) fn big_embeddings() -> wordvec::Embeddings {
    let (n, d) = (200_000usize, 64usize);
    let words: Vec<String> = (0..n).map(|i| format!("w{i}")).collect();
    let mut x: u64 = 7;
    let values = (0..n * d)
        .map(|_| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((x >> 40) as f32 / (1u64 << 24) as f32) - 0.5
        })
        .collect();
    wordvec::Embeddings::from_vectors(&words, values, d).unwrap()
}

/// A default server holding one model, `name`, answered by the exact scan.
pub(crate) async fn start_exact(name: &str, emb: wordvec::Embeddings) -> Running {
    let models = Arc::new(Models::new(vec![VectorModel::new(
        name,
        "fixture",
        Searcher::exact(emb),
    )]));
    start_with(ServeConfig::default(), models).await
}

/// A server on a gRPC port of 127.0.0.1:0, with the other ports `config` names bound beside it
/// ([`wordvec::server::Listeners::beside`]).
pub(crate) async fn start_with(config: ServeConfig, models: Arc<Models>) -> Running {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let listeners = wordvec::server::Listeners::beside(listener, &config)
        .await
        .unwrap();
    let addrs = listeners.addrs().unwrap();
    let addr = addrs.grpc;
    let (tx, rx) = oneshot::channel::<()>();
    let live = wordvec::server::LiveModels::fixed(models);
    let task = tokio::spawn(async move {
        wordvec::server::serve_on(live, &config, listeners, async move {
            let _ = rx.await;
        })
        .await
    });
    // Wait until it accepts connections.
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(addr).await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Running {
        addr,
        metrics: addrs.metrics,
        stop: Some(tx),
        task,
    }
}

pub(crate) fn word(w: &str) -> Term {
    Term {
        term: Some(term::Term::Word(w.into())),
    }
}

pub(crate) fn ms(positive: &[&str], negative: &[&str], top_k: u32) -> proto::MostSimilarRequest {
    proto::MostSimilarRequest {
        positive: positive.iter().map(|w| word(w)).collect(),
        negative: negative.iter().map(|w| word(w)).collect(),
        top_k,
        ..Default::default()
    }
}

pub(crate) fn words(r: &proto::NeighborsResponse) -> Vec<String> {
    r.neighbors.iter().map(|n| n.word.clone()).collect()
}

/// Writes the token file `dir/token` holding `s3cret` (the token the auth tests send).
pub(crate) fn token_file(dir: &std::path::Path) -> std::path::PathBuf {
    let p = dir.join("token");
    std::fs::write(&p, "s3cret\n").unwrap();
    p
}

/// The fixture's vectors ("w2v") and a classifier ("tone") trained on a generated labelled
/// file, both exact.
pub(crate) fn with_classifier() -> Arc<Models> {
    let dir = tempfile::tempdir().unwrap();
    let path = crate::common::labelled_csv(dir.path(), "d.csv", 600, 2, false);
    let data = wordvec::classify::Dataset::read(&path, &Default::default()).unwrap();
    let config = wordvec::classify::ClassifierConfig {
        min_count: 2,
        epochs: 10,
        optimizer: wordvec::classify::OptimizerConfig {
            kind: wordvec::classify::OptimizerKind::Adam,
            lr: 0.02,
            momentum: 0.0,
        },
        ..Default::default()
    };
    let out = wordvec::classify::train(&data, &config, None, None, None, |_, _| Ok(())).unwrap();
    let emb = crate::common::load("w2vc-sg-d32.bin");
    Arc::new(
        Models::new(vec![VectorModel::new(
            "w2v",
            "fixture",
            Searcher::exact(emb),
        )])
        .with_classifiers(vec![ClassifierModel {
            name: "tone".into(),
            classifier: out.model.classifier,
        }]),
    )
}

/// A server on gRPC and HTTP/JSON ports of 127.0.0.1:0 ([`wordvec::server::serve_all`]).
pub(crate) struct RunningBoth {
    pub grpc: std::net::SocketAddr,
    pub http: std::net::SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<wordvec::Result<()>>,
}

impl RunningBoth {
    pub(crate) async fn shutdown(mut self) -> wordvec::Result<()> {
        self.stop.take().unwrap().send(()).unwrap();
        self.task.await.unwrap()
    }
}

pub(crate) async fn start_all(config: ServeConfig, models: Arc<Models>) -> RunningBoth {
    let grpc = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let http = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (ga, ha) = (grpc.local_addr().unwrap(), http.local_addr().unwrap());
    let (tx, rx) = oneshot::channel::<()>();
    let live = wordvec::server::LiveModels::fixed(models);
    let task = tokio::spawn(async move {
        wordvec::server::serve_all(live, &config, grpc, Some(http), async move {
            let _ = rx.await;
        })
        .await
    });
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(ha).await.is_ok() {
            break;
        }
        if task.is_finished() {
            panic!("the server did not start: {:?}", task.await);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    RunningBoth {
        grpc: ga,
        http: ha,
        stop: Some(tx),
        task,
    }
}
