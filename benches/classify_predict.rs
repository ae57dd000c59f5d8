//! Prediction throughput of a classifier through the library's batch API.
//!
//! Usage: `cargo bench --bench classify_predict -- MODEL TEXTS.txt` (one text per line).
//! Prints texts/s for (a) batches of 256 texts, as a server receives them, from as many
//! threads as rayon has (RAYON_NUM_THREADS), and (b) one call with every text (the library
//! splits it over the threads). Best of 3 runs each; the last line is JSON.

use std::time::Instant;

use rayon::prelude::*;
use wordvec::classify::Classifier;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let [model, texts] = &args[..] else {
        eprintln!("usage: classify_predict MODEL TEXTS.txt");
        return Ok(());
    };
    let c = Classifier::load(model.as_ref())?;
    let texts: Vec<String> = std::fs::read_to_string(texts)?
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_owned)
        .collect();
    let best_of = |f: &dyn Fn() -> anyhow::Result<()>| -> anyhow::Result<f64> {
        let mut best = f64::INFINITY;
        for _ in 0..3 {
            let t = Instant::now();
            f()?;
            best = best.min(t.elapsed().as_secs_f64());
        }
        Ok(texts.len() as f64 / best)
    };
    let batched = best_of(&|| {
        texts
            .par_chunks(256)
            .try_for_each(|b| c.probabilities(b).map(|_| ()))?;
        Ok(())
    })?;
    let single = best_of(&|| {
        c.probabilities(&texts)?;
        Ok(())
    })?;
    println!(
        "{} texts, {} threads: batches of 256 {batched:.0} texts/s, one call {single:.0} texts/s",
        texts.len(),
        rayon::current_num_threads()
    );
    println!(
        "{{\"texts\": {}, \"texts_per_s\": {batched:.1}, \"single_call_texts_per_s\": {single:.1}}}",
        texts.len()
    );
    Ok(())
}
