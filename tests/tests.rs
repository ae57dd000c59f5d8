//! wordvec's integration tests, one test binary: each file beside this one is a module of it.
//!
//! One binary links the library and its dependencies once, where a binary per file linked them
//! once each (minutes of CI time and gigabytes of disk). Run one file's tests by its module name:
//! `cargo test --test integration http::`.

mod common;

mod classify;
mod classify_parity;
mod cli;
mod cli_hardening;
mod cli_server;
mod cuda;
mod deploy;
mod explorer;
mod fasttext;
mod fasttext_update;
mod filters;
mod formats;
mod fuzz;
mod gensim_parity;
mod http;
mod index;
mod int8;
mod live_server;
#[cfg(feature = "postgres")]
mod postgres;
mod reload;
mod request_fuzz;
mod server;
mod server_hardening;
mod train;
mod train_subword;

/// Every file of tests/ is a module above: Cargo no longer finds test files by itself
/// (`autotests = false`), so a file left out would silently never run.
#[test]
fn every_test_file_is_a_module_of_this_binary() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let listed = include_str!("tests.rs");
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let Some(stem) = path.file_stem().and_then(|s| s.to_str()) else {
            continue;
        };
        if path.extension().is_some_and(|e| e == "rs") && stem != "tests" {
            assert!(
                listed.contains(&format!("\nmod {stem};\n")),
                "tests/{stem}.rs is not a module of tests/tests.rs: add `mod {stem};`"
            );
        }
    }
}
