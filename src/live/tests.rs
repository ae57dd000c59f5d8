//! Tests of live models against a model of their semantics: a list of (word, vector) that an
//! upsert updates in place or appends to and a delete removes from; the merged rows must be
//! that list, and every answer that of a plain scan of it.

use std::path::Path;
use std::sync::Arc;

use proptest::prelude::*;

use super::delta::Delta;
use super::*;
use crate::filter::Filter;
use crate::query::{Query, Term};

const DIMS: usize = 3;

/// A write of the reference model and of the live model alike.
#[derive(Debug, Clone)]
enum W {
    Up(String, Vec<f32>),
    Del(String),
}

fn apply_list(list: &mut Vec<(String, Vec<f32>)>, w: &W) {
    match w {
        W::Up(word, v) => match list.iter().position(|(x, _)| x == word) {
            Some(p) => list[p].1 = v.clone(),
            None => list.push((word.clone(), v.clone())),
        },
        W::Del(word) => list.retain(|(x, _)| x != word),
    }
}

fn base_list(n: usize, values: &[i8]) -> Vec<(String, Vec<f32>)> {
    (0..n)
        .map(|i| {
            let v = values[i * DIMS..(i + 1) * DIMS]
                .iter()
                .map(|&x| f32::from(x))
                .collect();
            (format!("w{i}"), v)
        })
        .collect()
}

fn emb_of(list: &[(String, Vec<f32>)]) -> Embeddings {
    let words: Vec<&str> = list.iter().map(|(w, _)| w.as_str()).collect();
    let values = list.iter().flat_map(|(_, v)| v.iter().copied()).collect();
    Embeddings::from_vectors(&words, values, DIMS).unwrap()
}

fn writes(ops: &[(u8, usize, Vec<i8>)]) -> Vec<W> {
    ops.iter()
        .map(|(kind, w, v)| {
            // Words of the base (w0..) and new ones (w20..) alike.
            let word = format!("w{}", w % 30);
            if *kind == 0 {
                W::Del(word)
            } else {
                W::Up(word, v.iter().map(|&x| f32::from(x) * 0.5).collect())
            }
        })
        .collect()
}

/// A view over `base` after `ws`, built as the model builds it.
fn view_after(base: Arc<Searcher>, ws: &[W]) -> View {
    let mut d = Delta::new(&base.embeddings);
    for w in ws {
        match w {
            W::Up(word, v) => d.upsert(&base.embeddings, word, v),
            W::Del(word) => d.delete(&base.embeddings, word),
        }
    }
    View::new(base, Arc::new(d), ws.len() as u64)
}

fn rows_of(view: &View) -> Vec<(String, Vec<f32>)> {
    view.merged_rows().map(|(w, v)| (w.to_owned(), v)).collect()
}

/// Makes a filter from an allow-list and a deny-list.
type FilterFn<'a> = dyn Fn(Option<&[&str]>, &[&str]) -> Result<Filter> + 'a;

/// The queries both sides answer, as strings (words, rows and the bits of every score).
fn answers(
    search: &dyn Fn(&Query) -> Result<Vec<crate::Neighbor>>,
    filter: &FilterFn,
    words: &[String],
    probe: &[f32],
    mode: crate::search::Mode,
) -> Vec<String> {
    let mut out = Vec::new();
    let w = |i: usize| Term::Word(words[i % words.len()].as_str());
    let run = |q: Query| format!("{:?}", search(&q.mode(mode).ef(Some(64))));
    out.push(run(Query::vector(probe, 5)));
    if words.is_empty() {
        return out;
    }
    out.push(run(Query::new(&[w(0)], &[], 4)));
    out.push(run(Query::new(&[w(1), w(3)], &[w(2)], 5)));
    out.push(run(Query::new(&[w(1), w(3)], &[w(2)], 5).cosmul(true)));
    out.push(run(
        Query::new(&[w(2)], &[], 5).restrict_vocab(Some(words.len() / 2 + 1))
    ));
    let allow = [
        words[0].as_str(),
        words[words.len() / 2].as_str(),
        "nope",
        words[words.len() - 1].as_str(),
    ];
    let deny = [words[words.len() / 2].as_str()];
    match filter(Some(&allow), &deny) {
        Ok(f) => out.push(run(Query::vector(probe, 3).filter(f))),
        Err(e) => out.push(e.to_string()),
    }
    out.push(run(
        Query::new(&[w(0)], &[], 3).filter(filter(None, &deny).unwrap())
    ));
    out
}

fn check_against_list(view: &View, list: &[(String, Vec<f32>)], probe: &[f32]) {
    assert_eq!(rows_of(view), list);
    assert_eq!(view.len(), list.len());
    let reference = Searcher::exact(emb_of(list));
    let words: Vec<String> = list.iter().map(|(w, _)| w.clone()).collect();
    let mode = crate::search::Mode::Exact;
    let want = answers(
        &|q| reference.search(q),
        &|a, d| Filter::from_words(&reference.embeddings, a, d),
        &words,
        probe,
        mode,
    );
    let got = answers(
        &|q| view.search(q),
        &|a, d| view.filter(a, d),
        &words,
        probe,
        mode,
    );
    assert_eq!(got, want);
    for (a, b) in words.iter().zip(words.iter().rev()) {
        let (x, y) = (view.similarity(a, b), reference.embeddings.similarity(a, b));
        assert_eq!(format!("{x:?}"), format!("{y:?}"));
        assert_eq!(
            view.vector(a).unwrap(),
            reference.embeddings.vector(a).unwrap()
        );
        assert_eq!(
            view.unit_vector(a).unwrap(),
            reference.embeddings.unit_vector(a).unwrap()
        );
        assert!(view.contains(a));
    }
    if !words.is_empty() {
        let d = view.doesnt_match(&words).map(|d| d.word);
        let r = reference.embeddings.doesnt_match(&words).map(|d| d.word);
        assert_eq!(format!("{d:?}"), format!("{r:?}"));
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    /// Base plus delta answers every exact query as a scan of the merged rows does: the same
    /// words, rows and scores.
    #[test]
    fn views_answer_as_the_merged_rows(
        n in 1usize..20,
        values in prop::collection::vec(-3i8..=3, 20 * DIMS),
        ops in prop::collection::vec((0u8..3, 0usize..40, prop::collection::vec(-3i8..=3, DIMS)), 0..40),
        probe in prop::collection::vec(-3i8..=3, DIMS),
    ) {
        let mut list = base_list(n, &values);
        let base = Arc::new(Searcher::exact(emb_of(&list)));
        let ws = writes(&ops);
        for w in &ws {
            apply_list(&mut list, w);
        }
        let view = view_after(base, &ws);
        let probe: Vec<f32> = probe.iter().map(|&x| f32::from(x)).collect();
        check_against_list(&view, &list, &probe);
        for gone in ws.iter().filter_map(|w| match w { W::Del(x) => Some(x), _ => None }) {
            prop_assert_eq!(view.contains(gone), list.iter().any(|(x, _)| x == gone));
        }
    }
}

#[cfg(feature = "index")]
/// Deterministic pseudo-random values in -1..1.
fn noise(seed: u64, n: usize) -> Vec<f32> {
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

#[cfg(feature = "index")]
fn big_list(n: usize, dims: usize, seed: u64) -> Vec<(String, Vec<f32>)> {
    let v = noise(seed, n * dims);
    (0..n)
        .map(|i| (format!("w{i}"), v[i * dims..(i + 1) * dims].to_vec()))
        .collect()
}

#[cfg(feature = "index")]
fn some_writes(n: usize, dims: usize) -> Vec<W> {
    let v = noise(99, 200 * dims);
    (0..200)
        .map(|i| {
            let word = format!("w{}", (i * 37) % (n + n / 2));
            if i % 4 == 3 {
                W::Del(word)
            } else {
                W::Up(word, v[i * dims..(i + 1) * dims].to_vec())
            }
        })
        .collect()
}

/// Through the index with a candidate list as long as the graph (so that the graph search is
/// exhaustive), a view answers as the exact scan of its merged rows.
#[cfg(feature = "index")]
#[test]
fn the_index_path_skips_tombstones_and_adds_the_delta() {
    use crate::index::{HnswIndex, IndexParams};
    use crate::search::Mode;
    let (n, dims) = (300, 8);
    let mut list = big_list(n, dims, 1);
    let emb = emb_of_dims(&list, dims);
    let index = HnswIndex::build(&emb, IndexParams::default(), None).unwrap();
    let base = Arc::new(Searcher {
        embeddings: emb,
        index: Some(index),
    });
    let ws = some_writes(n, dims);
    ws.iter().for_each(|w| apply_list(&mut list, w));
    let view = view_after(base, &ws);
    assert_eq!(rows_of(&view), list);
    let words: Vec<String> = list.iter().map(|(w, _)| w.clone()).collect();
    let probe = noise(5, dims);
    let exact = answers(
        &|q| view.search(q),
        &|a, d| view.filter(a, d),
        &words,
        &probe,
        Mode::Exact,
    );
    let q = Query::vector(&probe, 5).mode(Mode::Index);
    assert!(view.uses_index(&q));
    let ef = Some(n + 200);
    let idx = answers(
        &|q| view.search(&q.clone().ef(ef)),
        &|a, d| view.filter(a, d),
        &words,
        &probe,
        Mode::Index,
    );
    assert_eq!(idx, exact);
}

fn emb_of_dims(list: &[(String, Vec<f32>)], dims: usize) -> Embeddings {
    let words: Vec<&str> = list.iter().map(|(w, _)| w.as_str()).collect();
    let values = list.iter().flat_map(|(_, v)| v.iter().copied()).collect();
    Embeddings::from_vectors(&words, values, dims).unwrap()
}

fn open_model(dir: &Path, list: &[(String, Vec<f32>)]) -> (LiveModel, ReplayReport) {
    let base = Searcher::exact(emb_of(list));
    LiveModel::open("m", Base::Searcher(base), dir, LiveOptions::default()).unwrap()
}

fn send(model: &LiveModel, w: &W) -> Ack {
    match w {
        W::Up(word, v) => model.upsert(vec![(word.clone(), v.clone())]).unwrap(),
        W::Del(word) => model.delete(vec![word.clone()]).unwrap(),
    }
}

fn small_writes() -> Vec<W> {
    let v = |a: f32| vec![a, 1.0 - a, 0.5];
    vec![
        W::Up("w1".into(), v(2.0)),
        W::Up("new".into(), v(-1.0)),
        W::Del("w0".into()),
        W::Up("w0".into(), v(0.25)),
        W::Del("w3".into()),
        W::Up("other".into(), v(3.0)),
        W::Up("new".into(), v(0.0)),
    ]
}

#[test]
fn writes_survive_a_reopen_and_a_torn_tail_is_cut() {
    let dir = tempfile::tempdir().unwrap();
    let mut list = base_list(5, &[1, 2, 3, -1, 0, 2, 3, 3, -2, 0, 0, 1, 2, -2, 1]);
    let (model, r) = open_model(dir.path(), &list);
    assert_eq!((r.records, r.lsn, r.truncated.clone()), (0, 0, None));
    for (i, w) in small_writes().iter().enumerate() {
        assert_eq!(
            send(&model, w),
            Ack {
                count: 1,
                lsn: i as u64 + 1
            }
        );
        apply_list(&mut list, w);
    }
    let before = rows_of(&model.view());
    assert_eq!(before, list);
    let stats = model.stats();
    assert_eq!(
        (
            stats.base_rows,
            stats.delta_rows,
            stats.tombstones,
            stats.lsn
        ),
        (5, 4, 3, 7)
    );
    drop(model);
    let base = list_base();
    let (model, r) = open_model(dir.path(), &base);
    assert_eq!(
        (r.records, r.applied, r.lsn, r.truncated.clone()),
        (7, 7, 7, None)
    );
    assert_eq!(rows_of(&model.view()), before);
    assert_eq!(model.stats(), stats);
    drop(model);
    // A write torn by a kill: the tail is cut, the acknowledged writes stay.
    let wal = dir.path().join("m.wal");
    let len = std::fs::metadata(&wal).unwrap().len();
    let mut f = std::fs::OpenOptions::new().append(true).open(&wal).unwrap();
    std::io::Write::write_all(
        &mut f,
        &wal::encode(&Record {
            lsn: 8,
            op: Op::Delete(vec!["w1".into()]),
        })[..20],
    )
    .unwrap();
    drop(f);
    let (model, r) = open_model(dir.path(), &base);
    let t = r.truncated.unwrap();
    assert_eq!((t.offset, t.bytes_cut), (len, 20));
    assert_eq!(rows_of(&model.view()), before);
    assert_eq!(std::fs::metadata(&wal).unwrap().len(), len);
    // And the log goes on from there.
    assert_eq!(model.delete(vec!["w1".into()]).unwrap().lsn, 8);
}

fn list_base() -> Vec<(String, Vec<f32>)> {
    base_list(5, &[1, 2, 3, -1, 0, 2, 3, 3, -2, 0, 0, 1, 2, -2, 1])
}

#[test]
fn bad_writes_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (model, _) = open_model(dir.path(), &list_base());
    send(&model, &W::Up("x".into(), vec![1.0, 2.0, 3.0]));
    let stats = model.stats();
    let rows = rows_of(&model.view());
    let ok = |w: &str| (w.to_owned(), vec![1.0, 1.0, 1.0]);
    let cases: Vec<(Result<Ack>, &str)> = vec![
        (
            model.upsert(vec![ok("a"), ("b".into(), vec![1.0, 2.0])]),
            "the vector of \"b\" has 2 dimensions, the model has 3",
        ),
        (
            model.upsert(vec![ok("a"), ("b".into(), vec![1.0, f32::NAN, 0.0])]),
            "the vector of \"b\" holds NaN at dimension 1",
        ),
        (
            model.upsert(vec![("c".into(), vec![f32::INFINITY, 0.0, 0.0])]),
            "holds inf at dimension 0",
        ),
        (model.upsert(vec![ok("a"), ok("")]), "an empty word"),
        (
            model.delete(vec!["a".into(), String::new()]),
            "an empty word",
        ),
        (model.upsert(vec![]), "at least one word"),
        (model.delete(vec![]), "at least one word"),
        (
            model.upsert(vec![ok(&"x".repeat(2000))]),
            "over the limit of 1024 bytes",
        ),
        (
            model.delete(vec!["q".into(); crate::limits::MAX_WRITE_WORDS + 1]),
            "words in one write 100001 is over the limit of 100000",
        ),
    ];
    for (r, says) in cases {
        let err = r.unwrap_err();
        assert!(matches!(err, Error::InvalidArgument(_)), "{err}");
        assert!(err.to_string().contains(says), "{err} / {says}");
    }
    assert_eq!(model.stats(), stats);
    assert_eq!(rows_of(&model.view()), rows);
    assert!(LiveModel::open(
        "../m",
        Base::Searcher(Searcher::exact(emb_of(&list_base()))),
        dir.path(),
        LiveOptions::default()
    )
    .is_err());
}

#[test]
fn a_batch_too_large_in_bytes_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let list: Vec<(String, Vec<f32>)> = vec![("a".into(), vec![0.5; 4096])];
    let base = Searcher::exact(emb_of_dims(&list, 4096));
    let (model, _) = LiveModel::open(
        "m",
        Base::Searcher(base),
        dir.path(),
        LiveOptions::default(),
    )
    .unwrap();
    let items: Vec<(String, Vec<f32>)> = (0..9000)
        .map(|i| (format!("w{i}"), vec![0.0; 4096]))
        .collect();
    let err = model.upsert(items).unwrap_err().to_string();
    assert!(
        err.contains("bytes in one write") && err.contains("over the limit"),
        "{err}"
    );
    assert_eq!(model.stats().lsn, 0);
}

#[test]
fn a_view_is_a_snapshot_and_concurrent_writers_share_syncs() {
    let dir = tempfile::tempdir().unwrap();
    let (model, _) = open_model(dir.path(), &list_base());
    let before = model.view();
    let model = Arc::new(model);
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let m = model.clone();
            std::thread::spawn(move || {
                (0..25)
                    .map(|i| {
                        m.upsert(vec![(format!("t{t}-{i}"), vec![t as f32, i as f32, 1.0])])
                            .unwrap()
                            .lsn
                    })
                    .collect::<Vec<u64>>()
            })
        })
        .collect();
    let mut lsns: Vec<u64> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    lsns.sort_unstable();
    assert_eq!(lsns, (1..=200).collect::<Vec<u64>>());
    let after = model.view();
    assert_eq!((after.lsn(), after.len()), (200, 205));
    assert_eq!((before.lsn(), before.len()), (0, 5));
    assert!(after.contains("t7-24") && !before.contains("t7-24"));
}

/// A compaction stopped after each of its steps (as a kill there would stop it), then the model
/// opened again: the state is the one before the compaction, writes made after the stop
/// included, and a full compaction leaves answers unchanged.
#[test]
fn compaction_killed_after_any_step_loses_nothing() {
    for stop in [
        compact::Step::Files,
        compact::Step::Manifest,
        compact::Step::Done,
    ] {
        let dir = tempfile::tempdir().unwrap();
        let mut list = list_base();
        let (model, _) = open_model(dir.path(), &list);
        for w in small_writes() {
            send(&model, &w);
            apply_list(&mut list, &w);
        }
        let c = model.compact_until(stop).unwrap();
        assert!(c.written && c.lsn == 7 && c.rows == list.len(), "{c:?}");
        let later = W::Up("w2".into(), vec![9.0, 0.0, 1.0]);
        assert_eq!(send(&model, &later).lsn, 8);
        apply_list(&mut list, &later);
        if stop != compact::Step::Done {
            // Still the old base in memory: exact equality with the list.
            check_against_list(&model.view(), &list, &[1.0, 0.0, 0.0]);
        }
        drop(model);
        let (model, r) = open_model(dir.path(), &list_base());
        assert_eq!(r.lsn, 8, "{stop:?}");
        if stop >= compact::Step::Manifest {
            assert_eq!(r.base_lsn, 7);
            assert_eq!(
                r.base.as_deref(),
                Some(dir.path().join("m.7.wvec").as_path())
            );
        } else {
            assert_eq!(r.base_lsn, 0);
            assert!(
                !dir.path().join("m.7.wvec").exists(),
                "left-over files are removed"
            );
        }
        if stop == compact::Step::Done {
            assert_eq!((r.records, r.applied), (1, 1));
            assert_eq!(model.stats().base_rows, list.len());
        }
        // Native rows are stored unit length: compare words and answers at float rounding.
        let view = model.view();
        let words: Vec<String> = rows_of(&view).into_iter().map(|(w, _)| w).collect();
        let want: Vec<String> = list.iter().map(|(w, _)| w.clone()).collect();
        assert_eq!(words, want, "{stop:?}");
        for ((_, v), (_, u)) in rows_of(&view).iter().zip(&list) {
            assert!(
                v.iter().zip(u).all(|(a, b)| (a - b).abs() < 1e-5),
                "{v:?} {u:?}"
            );
        }
    }
}

/// Over a native base with an int8 copy and a graph, a compaction writes both again, and the
/// answers over the new base equal those over base plus delta: the same words and scores.
#[cfg(feature = "index")]
#[test]
fn compaction_keeps_the_answers_the_int8_copy_and_the_graph() {
    use crate::index::{HnswIndex, IndexParams};
    use crate::search::Mode;
    let dir = tempfile::tempdir().unwrap();
    let (n, dims) = (300, 8);
    let mut list = big_list(n, dims, 3);
    let file = dir.path().join("base.wvec");
    crate::save(
        &emb_of_dims(&list, dims),
        &file,
        crate::Format::Native,
        &Default::default(),
    )
    .unwrap();
    let emb = crate::open(&file, &Default::default()).unwrap();
    crate::quant::Int8Rows::build(&emb)
        .unwrap()
        .save(&crate::quant::sidecar_path(&file))
        .unwrap();
    HnswIndex::build(&emb, IndexParams::default(), None)
        .unwrap()
        .save(&crate::index::default_path(&file))
        .unwrap();
    let wals = dir.path().join("wal");
    let open =
        || LiveModel::open("m", Base::Path(file.clone()), &wals, LiveOptions::default()).unwrap();
    let (model, _) = open();
    for w in some_writes(n, dims) {
        send(&model, &w);
        apply_list(&mut list, &w);
    }
    let words: Vec<String> = list.iter().map(|(w, _)| w.clone()).collect();
    let probe = noise(7, dims);
    let ask = |view: &View, mode| {
        let search = |q: &Query| view.search(&q.clone().ef(Some(n + 200)));
        answers(&search, &|a, d| view.filter(a, d), &words, &probe, mode)
    };
    let before = model.view();
    let exact = ask(&before, Mode::Exact);
    assert_eq!(ask(&before, Mode::Index), exact);
    model.compact().unwrap();
    let after = model.view();
    assert_eq!(
        (after.delta_rows(), after.tombstones(), after.base_rows()),
        (0, 0, list.len())
    );
    assert!(after.embeddings().int8().is_some() && after.base().index.is_some());
    // The compacted graph is the live graph renumbered: whole, every row reachable.
    let graph = after.base().index.as_ref().unwrap();
    graph.verify().unwrap();
    assert_eq!(graph.info().indexed, list.len());
    assert_eq!(ask(&after, Mode::Exact), exact);
    assert_eq!(ask(&after, Mode::Index), exact);
    // The view taken before still answers from the old base.
    assert_eq!(ask(&before, Mode::Exact), exact);
    assert_eq!(model.stats().wal_bytes, wal::HEADER_LEN);
    drop(model);
    let (model, r) = open();
    assert_eq!((r.records, r.base_lsn), (0, 200));
    assert_eq!(ask(&model.view(), Mode::Exact), exact);
    let mut names: Vec<String> = std::fs::read_dir(&wals)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "m.200.wvec",
            "m.200.wvec.i8",
            "m.200.wvec.idx",
            "m.manifest",
            "m.wal"
        ]
    );
}

#[test]
fn logs_that_do_not_fit_the_base_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    wal::Wal::create(&dir.path().join("m.wal"), 4, 0).unwrap();
    let base = Searcher::exact(emb_of(&list_base()));
    let err = LiveModel::open(
        "m",
        Base::Searcher(base),
        dir.path(),
        LiveOptions::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("m.wal") && err.contains("4 dimensions, the model has 3"),
        "{err}"
    );
    wal::Wal::create(&dir.path().join("m.wal"), 3, 9).unwrap();
    let base = Searcher::exact(emb_of(&list_base()));
    let err = LiveModel::open(
        "m",
        Base::Searcher(base),
        dir.path(),
        LiveOptions::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("starts after LSN 9"), "{err}");
}

/// Writers go on while compactions run: every acknowledged write is in the view after, and
/// after a reopen.
#[test]
fn compaction_runs_beside_writers() {
    let dir = tempfile::tempdir().unwrap();
    let (model, _) = open_model(dir.path(), &list_base());
    let model = Arc::new(model);
    let writers: Vec<_> = (0..4)
        .map(|t| {
            let m = model.clone();
            std::thread::spawn(move || {
                for i in 0..60 {
                    let word = format!("t{t}-{}", i % 25);
                    if i % 7 == 6 {
                        m.delete(vec![word]).unwrap();
                    } else {
                        m.upsert(vec![(word, vec![t as f32, i as f32, 1.0])])
                            .unwrap();
                    }
                }
            })
        })
        .collect();
    let mut compactions = 0;
    while writers.iter().any(|w| !w.is_finished()) || compactions < 2 {
        if model.compact().unwrap().written {
            compactions += 1;
        }
    }
    writers.into_iter().for_each(|w| w.join().unwrap());
    // The same writes, one thread after the other, on a list: each thread's words are its own,
    // so the order between threads changes nothing but the rows' order.
    let mut list = list_base();
    for t in 0..4 {
        for i in 0..60 {
            let word = format!("t{t}-{}", i % 25);
            let w = if i % 7 == 6 {
                W::Del(word)
            } else {
                W::Up(word, vec![t as f32, i as f32, 1.0])
            };
            apply_list(&mut list, &w);
        }
    }
    let sorted = |mut rows: Vec<(String, Vec<f32>)>| {
        rows.sort_by(|a, b| a.0.cmp(&b.0));
        rows.into_iter()
            .map(|(w, v)| (w, v.iter().map(|x| (x * 1e4).round()).collect::<Vec<f32>>()))
            .collect::<Vec<_>>()
    };
    let want = sorted(list);
    let view = model.view();
    assert_eq!(view.lsn(), 240);
    assert_eq!(sorted(rows_of(&view)), want);
    let before = rows_of(&view);
    drop(view);
    drop(Arc::into_inner(model).unwrap());
    let (model, r) = open_model(dir.path(), &list_base());
    assert_eq!(r.lsn, 240);
    assert_eq!(rows_of(&model.view()), before);
}

#[test]
fn models_and_views_go_between_threads() {
    fn shared<T: Send + Sync>() {}
    shared::<LiveModel>();
    shared::<View>();
    let s = LiveStats {
        base_rows: 200,
        delta_rows: 30,
        tombstones: 20,
        wal_bytes: 0,
        lsn: 0,
        delta_indexed: 0,
    };
    assert_eq!(s.delta_share(), 0.25);
}

/// A folder whose manifest was removed after a compaction: the log starts after the base, so
/// the model is refused, and the compacted file is kept for the operator.
#[test]
fn a_lost_manifest_is_refused_and_its_files_kept() {
    let dir = tempfile::tempdir().unwrap();
    let (model, _) = open_model(dir.path(), &list_base());
    for w in small_writes() {
        send(&model, &w);
    }
    assert!(model.compact().unwrap().written);
    assert_eq!(model.base_file(), Some(dir.path().join("m.7.wvec")));
    drop(model);
    std::fs::remove_file(dir.path().join("m.manifest")).unwrap();
    let base = Searcher::exact(emb_of(&list_base()));
    let err = LiveModel::open(
        "m",
        Base::Searcher(base),
        dir.path(),
        LiveOptions::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("m.wal") && err.contains("starts after LSN 7"),
        "{err}"
    );
    assert!(dir.path().join("m.7.wvec").exists());
}

#[test]
fn a_model_in_memory_takes_writes_and_saves_its_view() {
    let mut list = list_base();
    let model =
        LiveModel::in_memory("m", Searcher::exact(emb_of(&list)), LiveOptions::default()).unwrap();
    for (i, w) in small_writes().iter().enumerate() {
        assert_eq!(send(&model, w).lsn, i as u64 + 1);
        apply_list(&mut list, w);
        assert_eq!(rows_of(&model.view()), list);
    }
    check_against_list(&model.view(), &list, &[0.0, 1.0, 1.0]);
    assert!(model.upsert(vec![("x".into(), vec![1.0])]).is_err());
    assert_eq!((model.wal_path(), model.stats().wal_bytes), (None, 0));
    let err = model.compact().unwrap_err().to_string();
    assert!(err.contains("in memory only"), "{err}");
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("saved.txt");
    crate::save(
        model.view().embeddings(),
        &p,
        crate::Format::Word2VecText,
        &Default::default(),
    )
    .unwrap();
    let back = crate::load(&p, &Default::default()).unwrap();
    let words: Vec<&str> = (0..back.len()).map(|i| back.word(i)).collect();
    let want: Vec<&str> = list.iter().map(|(w, _)| w.as_str()).collect();
    assert_eq!(words, want);
}

/// Over a fastText model, a view answers words outside its vocabulary from the base's n-grams,
/// deleted words included, as the compacted file (which keeps the n-grams) will.
#[test]
fn fasttext_words_outside_the_vocabulary_keep_their_ngram_vectors() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/fasttext/ft-sg.bin");
    let emb = crate::load(&path, &Default::default()).unwrap();
    let (gone, dims) = (emb.word(3).to_owned(), emb.dims());
    let oov = "qwertyzz";
    let want_oov = emb.vector(oov).unwrap();
    let want_gone = emb.subword_vector(&gone).unwrap().unwrap();
    let model = LiveModel::in_memory("ft", Searcher::exact(emb), LiveOptions::default()).unwrap();
    model.delete(vec![gone.clone()]).unwrap();
    model
        .upsert(vec![("added".into(), vec![0.5; dims])])
        .unwrap();
    let view = model.view();
    assert!(!view.contains(&gone) && view.contains("added"));
    assert_eq!(view.vector(oov).unwrap(), want_oov);
    assert_eq!(view.vector(&gone).unwrap(), want_gone);
    let best = view
        .search(&Query::new(&[Term::Word(oov)], &[], 5))
        .unwrap();
    assert_eq!(best.len(), 5);
    assert!(best.iter().all(|n| n.word != gone));
}

#[test]
fn contains_answers_as_the_merged_vocabulary() {
    let mut list = list_base();
    let model =
        LiveModel::in_memory("m", Searcher::exact(emb_of(&list)), LiveOptions::default()).unwrap();
    let mut ops = small_writes();
    ops.push(W::Del("new".into()));
    ops.push(W::Del("w1".into()));
    let mut words: Vec<String> = list.iter().map(|(w, _)| w.clone()).collect();
    words.extend(["new", "other", "absent"].map(String::from));
    for w in &ops {
        send(&model, w);
        apply_list(&mut list, w);
        // A fresh view each time: `contains` runs before anything builds the merged vocabulary.
        let view = model.view();
        let got: Vec<bool> = words.iter().map(|x| view.contains(x)).collect();
        let want: Vec<bool> = words
            .iter()
            .map(|x| list.iter().any(|(y, _)| y == x))
            .collect();
        assert_eq!(got, want, "after {:?}", rows_of(&view));
        let merged: Vec<bool> = words
            .iter()
            .map(|x| view.embeddings().index(x).is_some())
            .collect();
        assert_eq!(got, merged);
    }
}

/// After a failed sync the log's content is uncertain: every write is refused as an I/O fault of
/// that log (not as the caller's mistake), and the view stays as it was.
#[test]
fn writes_after_a_failed_sync_are_refused_as_io_faults() {
    let dir = tempfile::tempdir().unwrap();
    let values: Vec<i8> = (0..3 * DIMS).map(|i| (i % 7) as i8 - 3).collect();
    let list = base_list(3, &values);
    let (model, _) = open_model(dir.path(), &list);
    model.upsert(vec![("new".into(), vec![1.0; DIMS])]).unwrap();
    lock(&model.writer).broken = Some("fsync failed: no space left on device".into());
    let before = rows_of(&model.view());
    let e = model
        .upsert(vec![("other".into(), vec![1.0; DIMS])])
        .unwrap_err();
    assert_eq!(e.kind(), crate::error::ErrorKind::Io, "{e}");
    let msg = e.to_string();
    assert!(
        msg.contains("m.wal") && msg.contains("no space left"),
        "{msg}"
    );
    assert_eq!(
        model.delete(vec!["new".into()]).unwrap_err().kind(),
        crate::error::ErrorKind::Io
    );
    assert_eq!(rows_of(&model.view()), before);
}

/// The delta's graph grows in the background as rows are written: once it holds them, the
/// index path answers as the exact scan (with a candidate list as long as both graphs), and
/// with the default list it finds nearly all of the exact answers; rows replaced or deleted
/// after the graph took them are never returned.
#[cfg(feature = "index")]
#[test]
fn the_delta_graph_grows_and_answers_as_the_exact_scan() {
    use crate::index::{HnswIndex, IndexParams};
    use crate::search::Mode;
    let (n, dims) = (1500, 12);
    let list = big_list(n, dims, 3);
    let emb = emb_of_dims(&list, dims);
    let index = HnswIndex::build(&emb, IndexParams::default(), None).unwrap();
    let base = Searcher {
        embeddings: emb,
        index: Some(index),
    };
    let model = LiveModel::in_memory("g", base, LiveOptions::default()).unwrap();
    let fresh = big_list(2 * n, dims, 4);
    // New words, then base words replaced, in batches as a client sends them.
    for batch in fresh[n..].chunks(100) {
        let items = batch.iter().map(|(w, v)| (format!("new-{w}"), v.clone()));
        model.upsert(items.collect()).unwrap();
    }
    model
        .upsert(
            fresh[..300]
                .iter()
                .map(|(w, v)| (w.clone(), v.clone()))
                .collect(),
        )
        .unwrap();
    model.settle_index();
    let stats = model.stats();
    assert_eq!(stats.delta_rows, n + 300);
    assert!(
        stats.delta_indexed + delta_graph::MIN_TAIL > n + 300,
        "{stats:?}"
    );
    // Written after the graph took them: half of the new words replaced again or deleted.
    let again: Vec<(String, Vec<f32>)> = (0..200)
        .map(|i| (format!("new-w{}", n + 2 * i), noise(50 + i as u64, dims)))
        .collect();
    model.upsert(again).unwrap();
    model
        .delete(
            (0..200)
                .map(|i| format!("new-w{}", n + 2 * i + 1))
                .collect(),
        )
        .unwrap();
    let view = model.view();
    let mut hits = 0;
    let mut total = 0;
    for probe in 0..40 {
        let v = noise(1000 + probe, dims);
        let q = Query::vector(&v, 10);
        let exact = view.search(&q.clone().mode(Mode::Exact)).unwrap();
        assert!(view.uses_index(&q.clone().mode(Mode::Index)));
        let all = view
            .search(&q.clone().mode(Mode::Index).ef(Some(4 * n)))
            .unwrap();
        assert_eq!(all, exact);
        let approx = view.search(&q.clone().mode(Mode::Index)).unwrap();
        hits += approx.iter().filter(|a| exact.contains(a)).count();
        total += exact.len();
        for a in &approx {
            assert!(view.contains(&a.word), "{} was deleted", a.word);
        }
    }
    let recall = hits as f64 / total as f64;
    assert!(recall >= 0.9, "recall {recall}");
}
