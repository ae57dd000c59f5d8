//! `wordvec convert`.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use wordvec::{Format, SaveOptions};

use super::{open_vectors, progress_bar, FormatArg, LoadArgs};

#[derive(Debug, Args)]
pub(crate) struct ConvertArgs {
    /// Input vectors (any supported format, possibly gzipped).
    pub input: PathBuf,
    /// Output file; written to a temporary file and renamed into place.
    pub output: PathBuf,
    /// Output format (default: from the output's extension: .wvec native, .txt/.vec text,
    /// .glove GloVe, anything else word2vec binary).
    #[arg(long, value_enum)]
    pub to: Option<FormatArg>,
    /// word2vec binary output: write a newline after each vector (auto keeps the input's layout).
    #[arg(long, value_enum, default_value_t = Newline::Auto)]
    pub binary_newline: Newline,
    /// Also write an int8 copy of the rows, OUTPUT.i8, which exact queries scan first (a quarter
    /// of the bytes, the same answers).
    #[arg(long)]
    pub int8: bool,
    #[command(flatten)]
    pub load: LoadArgs,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum Newline {
    Auto,
    Yes,
    No,
}

pub(crate) fn run(a: ConvertArgs) -> Result<()> {
    wordvec::io::check_not_input(&a.output, &[a.input.as_path()])?;
    // Refused before the work, not after it: a device, a directory, a dangling link.
    wordvec::io::OutputPath::new(&a.output)?;
    let emb = open_vectors(Some(&a.input), &a.load)?;
    let format =
        a.to.map_or_else(|| Format::from_extension(&a.output), Format::from);
    let opts = SaveOptions::default()
        .newline_after_vector(match a.binary_newline {
            Newline::Auto => None,
            Newline::Yes => Some(true),
            Newline::No => Some(false),
        })
        .progress(progress_bar(&format!("writing {}", a.output.display())));
    let start = Instant::now();
    wordvec::save(&emb, &a.output, format, &opts)
        .with_context(|| format!("converting {}", a.input.display()))?;
    eprintln!(
        "wrote {} ({format}, {} words x {} dims) in {:.2} s",
        a.output.display(),
        emb.len(),
        emb.dims(),
        start.elapsed().as_secs_f64()
    );
    if let Some(sw) = emb.subwords() {
        if format == Format::Native {
            eprintln!(
                "n-grams kept: {} n-gram rows ({}..{} characters, {} buckets); words outside the vocabulary still get vectors",
                sw.rows().len(),
                sw.minn(),
                sw.maxn(),
                sw.bucket()
            );
        } else {
            eprintln!(
                "{format} files hold known words only: the {} words of the vocabulary were written, the model's n-grams were not (convert to .wvec to keep them)",
                emb.len()
            );
        }
    }
    if a.int8 {
        // Quantised from the written file's rows, so its fingerprint is the copy's.
        let t = Instant::now();
        let written = wordvec::load(&a.output, &wordvec::LoadOptions::default())?;
        let side = wordvec::quant::sidecar_path(&a.output);
        wordvec::quant::Int8Rows::build(&written)?.save(&side)?;
        eprintln!(
            "wrote {} (int8 copy) in {:.2} s",
            side.display(),
            t.elapsed().as_secs_f64()
        );
    }
    Ok(())
}
