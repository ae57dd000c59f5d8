//! The explorer page in a real headless browser (Debian's chromium; `.ci/run` installs it): it
//! loads, a query renders its neighbours (the library's), the projection is drawn, and a typed
//! text gets the classifier's prediction. Skipped, saying so, where no chromium is installed.

use crate::common;

use std::process::Command;

use common::server::{start_all, with_classifier};
use wordvec::server::config::ServeConfig;

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
    let models = with_classifier();
    let view = models.all_vectors()[0].view();
    let emb = view.embeddings();
    let want = emb
        .most_similar(&[wordvec::Term::Word("king")], &[], 10, None)
        .unwrap();
    let expected_label = {
        let c = &models.all_classifiers()[0].classifier;
        let p = c.predict(&["so happy, love it"]).unwrap();
        c.labels[p[0].labels[0]].clone()
    };
    let s = start_all(ServeConfig::default(), models.clone()).await;
    let addr = s.http;
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
    s.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_explorer_serves_only_the_api() {
    let config = ServeConfig {
        no_explorer: true,
        ..ServeConfig::default()
    };
    let s = start_all(config, with_classifier()).await;
    let addr = s.http;
    let status = tokio::task::spawn_blocking(move || {
        use std::io::{Read, Write};
        let mut s = std::net::TcpStream::connect(addr).unwrap();
        s.write_all(b"GET / HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n\r\n")
            .unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out
    })
    .await
    .unwrap();
    assert!(status.starts_with("HTTP/1.1 404"), "{status}");
    s.shutdown().await.unwrap();
}

/// "king - king" is the zero vector: every score is 0.0, which the JSON answer carries (it used
/// to omit a field at its default, and the page threw on the missing score).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_zero_score_is_shown() {
    let Some(browser) = chromium() else {
        eprintln!("no chromium installed: the explorer's browser test was not run");
        return;
    };
    let s = start_all(ServeConfig::default(), with_classifier()).await;
    let url = format!("http://{}/?q=king%20-%20king", s.http);
    let page = tokio::task::spawn_blocking(move || dom(browser, &url))
        .await
        .unwrap();
    assert_eq!(attr(&page, "data-count"), Some(10), "{page}");
    assert!(page.contains("<td class=\"score\">0.0000</td>"), "{page}");
    s.shutdown().await.unwrap();
}
