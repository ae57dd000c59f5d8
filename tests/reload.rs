//! Hot reload: the Admin service's Reload (and SIGHUP through the CLI) swaps the models while
//! clients keep asking, with no failed request; a failed reload keeps the old models.

use crate::common;

use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tonic::metadata::MetadataValue;
use tonic::Code;
use wordvec::server::config::{ModelSpec, ServeConfig};
use wordvec::server::proto::admin_client::AdminClient;
use wordvec::server::proto::{self, embeddings_client::EmbeddingsClient};
use wordvec::server::{LiveModels, Models};
use wordvec::{Format, LoadOptions};

/// Writes `bytes` at `path` by renaming a new file into place, as a deploy must replace files a
/// server maps: the old inode lives on under the old mapping. (Truncating a mapped file in place
/// makes the pages behind the mapping vanish, which kills any process reading them, wordvec or
/// not: README says so.)
fn replace(path: &std::path::Path, bytes: &[u8]) {
    let tmp = path.with_extension("new");
    std::fs::write(&tmp, bytes).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

/// Writes the fixture's first `n` words as a native file at `path` (atomically, as a deploy
/// would replace it).
fn write_model(path: &std::path::Path, n: usize) {
    let emb = wordvec::load(
        &common::data("w2vc-sg-d32.bin"),
        &LoadOptions::default().limit(Some(n)),
    )
    .unwrap();
    let tmp = path.with_extension("tmp.wvec");
    wordvec::save(&emb, &tmp, Format::Native, &Default::default()).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

fn authed<T>(msg: T) -> tonic::Request<T> {
    let mut r = tonic::Request::new(msg);
    r.metadata_mut()
        .insert("authorization", MetadataValue::from_static("Bearer s3cret"));
    r
}

async fn words_served(c: &mut EmbeddingsClient<tonic::transport::Channel>) -> u64 {
    c.list_models(authed(proto::ListModelsRequest {}))
        .await
        .unwrap()
        .into_inner()
        .models[0]
        .words
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn reload_under_load_fails_no_request_and_a_bad_file_keeps_the_old_models() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.wvec");
    write_model(&path, 4642);
    let config = ServeConfig {
        vectors: vec![ModelSpec {
            name: "m".into(),
            path: path.clone(),
            index: None,
        }],
        auth_token_file: Some(common::server::token_file(dir.path())),
        ..ServeConfig::default()
    };
    let opts = LoadOptions::default();
    let first = Models::load(&config, &opts).unwrap();
    let reload_config = config.clone();
    let live = LiveModels::reloadable(
        Arc::new(first),
        Arc::new(move || Models::load(&reload_config, &LoadOptions::default())),
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let served = live.clone();
    let server = tokio::spawn(async move {
        wordvec::server::serve_live(served, &config, listener, async move {
            let _ = rx.await;
        })
        .await
    });
    let channel = loop {
        if let Ok(c) = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
            .unwrap()
            .connect()
            .await
        {
            break c;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let mut c = EmbeddingsClient::new(channel.clone());
    let mut admin = AdminClient::new(channel.clone());
    assert_eq!(words_served(&mut c).await, 4642);

    // Clients ask without pause, words every version of the file holds.
    let stop = Arc::new(AtomicBool::new(false));
    let (ok, failed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let emb = common::load("w2vc-sg-d32.bin");
    let asked: Vec<String> = (10..60).map(|i| emb.word(i).to_owned()).collect();
    let mut clients = Vec::new();
    for t in 0..6 {
        let (mut c, stop, ok, failed, asked) = (
            EmbeddingsClient::new(channel.clone()),
            stop.clone(),
            ok.clone(),
            failed.clone(),
            asked.clone(),
        );
        clients.push(tokio::spawn(async move {
            let mut i = t;
            while !stop.load(Ordering::Relaxed) {
                let w = &asked[i % asked.len()];
                match c
                    .most_similar(authed(common::server::ms(&[w], &[], 5)))
                    .await
                {
                    Ok(r) if r.get_ref().neighbors.len() == 5 => ok.fetch_add(1, Ordering::Relaxed),
                    other => {
                        eprintln!("{other:?}");
                        failed.fetch_add(1, Ordering::Relaxed)
                    }
                };
                i += 1;
            }
        }));
    }
    // Reload six times, the file alternating between two versions.
    for round in 0..6 {
        let n = if round % 2 == 0 { 1000 } else { 4642 };
        write_model(&path, n);
        let r = admin
            .reload(authed(proto::ReloadRequest {}))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(r.models, ["m"]);
        assert_eq!(r.generation, round + 1);
        assert_eq!(words_served(&mut c).await, n as u64);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // A corrupt file: the reload fails, says why, and the old models go on serving.
    replace(&path, b"WVEC not a model");
    let e = admin
        .reload(authed(proto::ReloadRequest {}))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::DataLoss, "{e:?}");
    assert!(
        e.message().contains("still serving the previous models") && e.message().contains("m.wvec"),
        "{}",
        e.message()
    );
    assert_eq!(words_served(&mut c).await, 4642);
    // A missing file likewise; the answer is FAILED_PRECONDITION, which clients do not retry
    // (UNAVAILABLE would be retried until an operator restores the file).
    std::fs::remove_file(&path).unwrap();
    let e = admin
        .reload(authed(proto::ReloadRequest {}))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition, "{e:?}");
    assert!(e.message().contains("m.wvec"), "{}", e.message());
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop.store(true, Ordering::Relaxed);
    for t in clients {
        t.await.unwrap();
    }
    assert_eq!(failed.load(Ordering::Relaxed), 0);
    assert!(
        ok.load(Ordering::Relaxed) > 50,
        "{}",
        ok.load(Ordering::Relaxed)
    );
    // Without the token, Reload is refused.
    let e = admin.reload(proto::ReloadRequest {}).await.unwrap_err();
    assert_eq!(e.code(), Code::Unauthenticated);
    tx.send(()).unwrap();
    server.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_needs_a_token_and_reloadable_models() {
    let s = common::server::start_exact("fixed", common::load("w2vc-sg-d32.bin")).await;
    let mut admin = AdminClient::new(s.channel().await);
    let e = admin.reload(proto::ReloadRequest {}).await.unwrap_err();
    assert_eq!(e.code(), Code::FailedPrecondition, "{e:?}");
    assert!(e.message().contains("SIGHUP"));
    s.shutdown().await.unwrap();
    let fixed = LiveModels::fixed(Arc::new(Models::new(vec![])));
    assert!(fixed.reload().is_err());
}

/// SIGHUP to the `wordvec serve` process re-reads its files.
#[test]
#[cfg(unix)]
fn sighup_reloads_the_daemon() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.wvec");
    write_model(&path, 1000);
    let spec = format!("m={}", path.display());
    let mut child = Command::new(env!("CARGO_BIN_EXE_wordvec"))
        .args(["serve", "--listen", "127.0.0.1:0", "--vectors", &spec])
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let line = lines
        .find_map(|l| l.ok().filter(|l| l.starts_with("wordvec serving")))
        .expect("serving line");
    let url = format!("http://{}", line.rsplit(' ').next().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for l in lines.map_while(Result::ok) {
            let _ = tx.send(l);
        }
    });
    let served = |url: &str| {
        let out = Command::new(env!("CARGO_BIN_EXE_wordvec"))
            .args(["nn", "king", "-k", "1", "--server", url])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert!(served(&url).contains("(1000 words x 32 dims)"));
    write_model(&path, 4642);
    Command::new("kill")
        .args(["-HUP", &child.id().to_string()])
        .status()
        .unwrap();
    let said = std::iter::from_fn(|| rx.recv_timeout(Duration::from_secs(20)).ok())
        .find(|l| l.starts_with("reloaded"))
        .expect("the daemon says it reloaded");
    assert!(said.starts_with("reloaded (generation 1)"), "{said}");
    assert!(served(&url).contains("(4642 words x 32 dims)"));
    // A broken file: the daemon says so and keeps serving.
    replace(&path, b"garbage");
    Command::new("kill")
        .args(["-HUP", &child.id().to_string()])
        .status()
        .unwrap();
    let said = std::iter::from_fn(|| rx.recv_timeout(Duration::from_secs(20)).ok())
        .find(|l| l.starts_with("error: reload failed"))
        .expect("the daemon says the reload failed");
    assert!(said.contains("m.wvec"), "{said}");
    assert!(served(&url).contains("(4642 words x 32 dims)"));
    child.kill().unwrap();
    let _ = child.wait();
}
