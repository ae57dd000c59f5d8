//! `wordvec export` and `wordvec import`: PostgreSQL + pgvector (feature `postgres`).

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use wordvec::postgres::{
    Columns, ExportOptions, ExportReport, ImportOptions, IndexKind, TableName, VectorType,
};
use wordvec::{Format, SaveOptions};

use super::{open_vectors, progress_bar, FormatArg, LoadArgs};

#[derive(Debug, Args)]
pub(crate) struct ExportArgs {
    /// Vectors file (any supported format).
    pub vectors: PathBuf,
    /// Connection string, postgres://USER@HOST:PORT/DB (the password comes from PGPASSWORD or
    /// ~/.pgpass, never from here).
    pub conn: String,
    /// Table to fill: created as (word text PRIMARY KEY, vec vector(D), vec_hash bigint) when
    /// missing; NAME or SCHEMA.NAME.
    #[arg(long)]
    pub table: String,
    /// Store half-precision values (halfvec): half the bytes, about 3 significant digits.
    #[arg(long)]
    pub half: bool,
    /// Make the table equal to the file: insert, update and delete only the rows that differ
    /// (by their hash), in one transaction.
    #[arg(long)]
    pub sync: bool,
    /// Build a pgvector index (cosine) after the rows.
    #[arg(long, value_enum)]
    pub index: Option<IndexArg>,
    /// HNSW: links per node.
    #[arg(long, default_value_t = 16)]
    pub m: usize,
    /// HNSW: candidate list while building.
    #[arg(long, default_value_t = 64)]
    pub ef_construction: usize,
    /// IVFFlat: number of lists (default: rows / 1000 up to a million rows, their square root
    /// past that).
    #[arg(long)]
    pub lists: Option<usize>,
    /// Rows per COPY statement; each batch commits on its own, so an interrupted export keeps
    /// whole batches and the next run copies only the rest.
    #[arg(long, default_value_t = 50_000, value_name = "N")]
    pub batch_rows: usize,
    #[command(flatten)]
    pub columns: ColumnArgs,
    #[command(flatten)]
    pub load: LoadArgs,
}

#[derive(Debug, Args)]
pub(crate) struct ImportArgs {
    /// Connection string, postgres://USER@HOST:PORT/DB (the password comes from PGPASSWORD or
    /// ~/.pgpass).
    pub conn: String,
    /// Table to read: any table with a string key and a vector or halfvec column.
    #[arg(long)]
    pub table: String,
    /// Output file; written to a temporary file and renamed into place.
    #[arg(short, long)]
    pub output: PathBuf,
    /// Output format (default: from the output's extension, as `convert` picks it).
    #[arg(long, value_enum)]
    pub to: Option<FormatArg>,
    #[command(flatten)]
    pub columns: ColumnArgs,
}

#[derive(Debug, Args)]
pub(crate) struct ColumnArgs {
    /// The key column.
    #[arg(long, default_value = "word")]
    pub key: String,
    /// The vector column (the hash column is its name and "_hash").
    #[arg(long, default_value = "vec")]
    pub column: String,
}

impl ColumnArgs {
    fn columns(&self) -> Columns {
        Columns {
            key: self.key.clone(),
            vec: self.column.clone(),
        }
    }
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum IndexArg {
    Hnsw,
    Ivfflat,
}

pub(crate) fn export(a: ExportArgs) -> Result<()> {
    let emb = open_vectors(Some(&a.vectors), &a.load)?;
    let table = TableName::parse(&a.table)?;
    let mut opts = ExportOptions::new(table.clone());
    opts.columns = a.columns.columns();
    opts.ty = if a.half {
        VectorType::Halfvec
    } else {
        VectorType::Vector
    };
    opts.batch_rows = a.batch_rows;
    opts.sync = a.sync;
    opts.index = a.index.map(|i| match i {
        IndexArg::Hnsw => IndexKind::Hnsw {
            m: a.m,
            ef_construction: a.ef_construction,
        },
        IndexArg::Ivfflat => IndexKind::IvfFlat {
            lists: a.lists.unwrap_or_else(|| default_lists(emb.len())),
        },
    });
    opts.progress = Some(progress_bar(&format!("exporting into {table}")));
    let mut client = wordvec::postgres::connect(&a.conn)?;
    let report = wordvec::postgres::export(&mut client, &emb, &opts)
        .with_context(|| format!("exporting {}", a.vectors.display()))?;
    print_report(&report, &table, emb.len(), emb.dims());
    Ok(())
}

/// pgvector's suggestion for IVFFlat lists.
fn default_lists(rows: usize) -> usize {
    if rows <= 1_000_000 {
        (rows / 1000).max(1)
    } else {
        (rows as f64).sqrt() as usize
    }
}

fn print_report(r: &ExportReport, table: &TableName, rows: usize, dims: usize) {
    let secs = r.write_time.as_secs_f64();
    let written = r.inserted + r.updated;
    eprintln!(
        "{} {table}: {rows} words x {dims} dims; inserted {}, updated {}, deleted {}, unchanged {} \
         in {secs:.2} s ({:.0} rows/s written)",
        if r.created { "created" } else { "table" },
        r.inserted,
        r.updated,
        r.deleted,
        r.unchanged,
        written as f64 / secs.max(1e-9)
    );
    if let Some((name, took)) = &r.index {
        eprintln!("index {name} ready in {:.2} s", took.as_secs_f64());
    }
}

pub(crate) fn import(a: ImportArgs) -> Result<()> {
    wordvec::io::OutputPath::new(&a.output)?;
    let table = TableName::parse(&a.table)?;
    let mut opts = ImportOptions::new(table.clone());
    opts.columns = a.columns.columns();
    opts.progress = Some(progress_bar(&format!("importing {table}")));
    let start = Instant::now();
    let mut client = wordvec::postgres::connect(&a.conn)?;
    let emb = wordvec::postgres::import(&mut client, &opts)?;
    let format =
        a.to.map_or_else(|| Format::from_extension(&a.output), Format::from);
    let save =
        SaveOptions::default().progress(progress_bar(&format!("writing {}", a.output.display())));
    wordvec::save(&emb, &a.output, format, &save)?;
    eprintln!(
        "wrote {} ({format}, {} words x {} dims) from {table} in {:.2} s",
        a.output.display(),
        emb.len(),
        emb.dims(),
        start.elapsed().as_secs_f64()
    );
    Ok(())
}
