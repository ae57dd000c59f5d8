//! The explorer page in a real headless browser (Debian's chromium; `.ci/run` installs it): it
//! loads, a query renders its neighbours (the library's), the projection is drawn, and a typed
//! text gets the classifier's prediction. Skipped, saying so, where no chromium is installed.

mod common;

use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use wordvec::search::Searcher;
use wordvec::server::config::ServeConfig;
use wordvec::server::models::{ClassifierModel, Models, VectorModel};
use wordvec::server::LiveModels;

fn chromium() -> Option<&'static str> {
    ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|b| {
            Command::new(b)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
}

/// The DOM after the page's scripts ran (up to 10 s of virtual time).
fn dom(browser: &str, url: &str) -> String {
    let out = Command::new(browser)
        .args([
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--virtual-time-budget=10000",
            "--dump-dom",
            url,
        ])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn attr(dom: &str, name: &str) -> Option<usize> {
    let at = dom.find(&format!("{name}=\""))? + name.len() + 2;
    dom[at..].split('"').next()?.parse().ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_answers_queries_draws_and_classifies() {
    let Some(browser) = chromium() else {
        eprintln!("no chromium installed: the explorer's browser test was not run");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let data = common::labelled_csv(dir.path(), "d.csv", 600, 2, false);
    let set = wordvec::classify::Dataset::read(&data, &Default::default()).unwrap();
    let config = wordvec::classify::ClassifierConfig {
        min_count: 2,
        epochs: 10,
        ..Default::default()
    };
    let out = wordvec::classify::train(&set, &config, None, None, None, |_, _| Ok(())).unwrap();
    let emb = common::load("w2vc-sg-d32.bin");
    let want = emb
        .most_similar(&[wordvec::Term::Word("king")], &[], 10, None)
        .unwrap();
    let classifier = out.model.classifier;
    let expected_label = {
        let p = classifier.predict(&["so happy, love it"]).unwrap();
        classifier.labels[p[0].labels[0]].clone()
    };
    let models = Arc::new(
        Models::new(vec![VectorModel {
            name: "w2v".into(),
            description: "fixture".into(),
            searcher: Searcher::exact(emb),
        }])
        .with_classifiers(vec![ClassifierModel {
            name: "tone".into(),
            classifier,
        }]),
    );
    let grpc = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let http = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = http.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        wordvec::server::serve_all(
            LiveModels::fixed(models),
            &ServeConfig::default(),
            grpc,
            Some(http),
            async {
                let _ = rx.await;
            },
        )
        .await
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let url = format!("http://{addr}/?q=king&text=so%20happy%2C%20love%20it");
    let page = tokio::task::spawn_blocking(move || dom(browser, &url))
        .await
        .unwrap();
    assert!(page.contains("wordvec explorer"), "{page}");
    assert_eq!(attr(&page, "data-count"), Some(10), "{page}");
    for n in &want {
        assert!(
            page.contains(&format!("<td>{}</td>", n.word)),
            "{} missing",
            n.word
        );
    }
    // The query word and its ten neighbours, projected and drawn.
    assert_eq!(attr(&page, "data-drawn"), Some(11), "{page}");
    assert!(page.contains(&format!("<b>{expected_label}</b>")), "{page}");
    tx.send(()).unwrap();
    task.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_explorer_serves_only_the_api() {
    let grpc = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let http = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = http.local_addr().unwrap();
    let config = ServeConfig {
        no_explorer: true,
        ..ServeConfig::default()
    };
    let models = Arc::new(Models::new(vec![VectorModel {
        name: "w2v".into(),
        description: "fixture".into(),
        searcher: Searcher::exact(common::load("w2vc-sg-d32.bin")),
    }]));
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        wordvec::server::serve_all(
            LiveModels::fixed(models),
            &config,
            grpc,
            Some(http),
            async {
                let _ = rx.await;
            },
        )
        .await
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let status = tokio::task::spawn_blocking(move || {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        s.write_all(b"GET / HTTP/1.1\r\nhost: t\r\nconnection: close\r\n\r\n")
            .unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out
    })
    .await
    .unwrap();
    assert!(status.starts_with("HTTP/1.1 404"), "{status}");
    tx.send(()).unwrap();
    task.await.unwrap().unwrap();
}
