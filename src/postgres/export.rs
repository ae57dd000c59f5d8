//! `export`: a vectors file into a table, in batches of binary COPY; resumable; `sync` makes an
//! existing table equal to the file.
//!
//! The rules are in the docs of the public function, [`super::export()`].

use std::io::Write as _;
use std::time::{Duration, Instant};

use ::postgres::Client;
use rayon::prelude::*;

use super::copy::{self, VectorType};
use super::schema::{self, ident, Columns, TableName};
use super::sync::{self, Plan};
use crate::embeddings::Embeddings;
use crate::error::{Error, Result};
use crate::limits;
use crate::progress::{or_silent, Progress, SharedProgress};

/// Bytes of COPY data handed to the connection at a time.
const SEND_BYTES: usize = 1 << 20;

/// A pgvector index built after the rows, with cosine distance (`<=>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexKind {
    /// HNSW: `m` links per node, `ef_construction` candidates while building (pgvector's
    /// defaults are 16 and 64).
    Hnsw {
        /// Links per node.
        m: usize,
        /// Candidate list while building.
        ef_construction: usize,
    },
    /// IVFFlat with `lists` lists (pgvector suggests rows / 1000 up to a million rows, their
    /// square root past that).
    IvfFlat {
        /// Number of lists.
        lists: usize,
    },
}

/// What [`export`] does.
#[derive(Clone)]
pub struct ExportOptions {
    /// The table to fill (created when missing).
    pub table: TableName,
    /// Its key and vector columns.
    pub columns: Columns,
    /// `vector` (float4) or `halfvec` (float2) values.
    pub ty: VectorType,
    /// Rows per COPY statement (each commits on its own) in a plain export.
    pub batch_rows: usize,
    /// Make the table equal to the file: insert, update and delete the rows that differ.
    pub sync: bool,
    /// An index to build after the rows.
    pub index: Option<IndexKind>,
    /// Progress receiver (rows written).
    pub progress: Option<SharedProgress>,
}

impl ExportOptions {
    /// Options for `table` with the defaults: columns `word` and `vec`, `vector` values, batches
    /// of 50,000 rows, no sync, no index.
    pub fn new(table: TableName) -> Self {
        ExportOptions {
            table,
            columns: Columns::default(),
            ty: VectorType::Vector,
            batch_rows: 50_000,
            sync: false,
            index: None,
            progress: None,
        }
    }
}

/// What [`export`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExportReport {
    /// Whether the table was created.
    pub created: bool,
    /// Rows written that the table lacked.
    pub inserted: usize,
    /// Rows rewritten with new vectors (sync).
    pub updated: usize,
    /// Rows deleted (sync).
    pub deleted: usize,
    /// Rows already as in the file.
    pub unchanged: usize,
    /// Time spent writing rows.
    pub write_time: Duration,
    /// The index built, with the time it took.
    pub index: Option<(String, Duration)>,
}

/// Writes `emb` into the table `opts` names over `client`, in batches of binary COPY; resumable;
/// [`ExportOptions::sync`] makes an existing table equal to the file.
///
/// Everything that could make the export fail half-way is checked before the first row is
/// written: the table's columns (a string key; a `vector` or `halfvec` of the file's
/// dimensions; a `bigint` hash), every word against the key column
/// (at most [`crate::limits::MAX_PG_KEY_BYTES`] bytes, and the `varchar(n)` length if it has
/// one), every value against the column type (half precision's range for `halfvec`), and the
/// index's dimension limit. Then:
///
/// - A plain export copies the rows the table lacks, a batch per COPY statement. Each COPY
///   commits on its own, so an interrupted export leaves whole batches behind, and running it
///   again reads the table's keys and copies only the rest: no duplicates, no work redone. If the
///   table holds rows that differ from the file (other vectors, words the file lacks), the
///   export stops before writing and says so: that is what `sync` is for.
/// - `sync` writes the rows that differ and deletes the words the file lacks, in one transaction,
///   comparing each row's hash (xxh3-64 of its float32 values) with the table's `vec_hash`.
/// - An index (`hnsw` or `ivfflat`, cosine) is built after the rows, when asked for.
pub fn export(client: &mut Client, emb: &Embeddings, opts: &ExportOptions) -> Result<ExportReport> {
    let (table, cols, ty) = (&opts.table, &opts.columns, opts.ty);
    limits::between_1_and("--batch-rows", opts.batch_rows, 10_000_000)?;
    check_options(emb, opts)?;
    let existing = schema::inspect(client, table, cols)?;
    if let Some(layout) = &existing {
        schema::check_fits(layout, table, cols, ty, emb.dims())?;
    }
    let key_chars = existing.as_ref().and_then(|l| l.key_chars);
    let hashes = check_rows(emb, ty, key_chars)?;
    let mut report = ExportReport {
        created: existing.is_none(),
        ..ExportReport::default()
    };
    let plan = if existing.is_none() {
        schema::create(client, table, cols, ty, emb.dims())?;
        Plan {
            insert: (0..emb.len()).collect(),
            ..Plan::default()
        }
    } else {
        sync::plan(emb, &hashes, sync::read_hashes(client, table, cols)?)
    };
    let start = Instant::now();
    write(client, emb, &hashes, &plan, opts)?;
    report.write_time = start.elapsed();
    report.inserted = plan.insert.len();
    report.updated = plan.update.len();
    report.deleted = plan.delete.len();
    report.unchanged = plan.unchanged;
    if let Some(kind) = opts.index {
        let start = Instant::now();
        let name = build_index(client, table, cols, ty, kind)?;
        report.index = Some((name, start.elapsed()));
    }
    Ok(report)
}

/// Writes the planned rows: in committed batches (plain), or in one transaction (sync).
fn write(
    client: &mut Client,
    emb: &Embeddings,
    hashes: &[i64],
    plan: &Plan,
    opts: &ExportOptions,
) -> Result<()> {
    let progress = or_silent(&opts.progress);
    progress.start("exporting", emb.len() as u64);
    progress.set_position(plan.unchanged as u64);
    let rows = Rows {
        emb,
        hashes,
        ty: opts.ty,
        progress,
        done: plan.unchanged as u64,
    };
    let table = &opts.table;
    if opts.sync {
        let mut changed = plan.update.clone();
        changed.extend(&plan.insert);
        sync::apply(client, table, &opts.columns, plan, |tx, temp| {
            rows.copy(tx, &copy_sql(temp, &opts.columns), &changed, table)
        })?;
    } else if !plan.update.is_empty() || !plan.delete.is_empty() {
        return Err(Error::invalid(format!(
            "table {table} holds {} words with other vectors and {} words the file lacks; \
             nothing was written (sync makes the table equal to the file)",
            plan.update.len(),
            plan.delete.len()
        )));
    } else {
        let sql = copy_sql(&table.sql(), &opts.columns);
        for batch in plan.insert.chunks(opts.batch_rows) {
            rows.copy(client, &sql, batch, table)?;
        }
    }
    progress.finish();
    Ok(())
}

fn copy_sql(table: &str, cols: &Columns) -> String {
    format!(
        "COPY {table} ({}, {}, {}) FROM STDIN (FORMAT binary)",
        ident(&cols.key),
        ident(&cols.vec),
        ident(&cols.hash())
    )
}

/// The file's rows, as COPY writes them.
struct Rows<'a> {
    emb: &'a Embeddings,
    hashes: &'a [i64],
    ty: VectorType,
    progress: &'a dyn Progress,
    done: u64,
}

impl Rows<'_> {
    /// One COPY statement `sql` of the rows `idx`; it commits unless `client` is a transaction.
    fn copy(
        &self,
        client: &mut impl ::postgres::GenericClient,
        sql: &str,
        idx: &[usize],
        table: &TableName,
    ) -> Result<()> {
        let err = |e| Error::database("cannot copy rows into", table.to_string(), e);
        let mut w = client.copy_in(sql).map_err(err)?;
        let mut buf = Vec::with_capacity(SEND_BYTES + 64 * 1024);
        let mut values = Vec::with_capacity(self.emb.dims());
        copy::header(&mut buf);
        for (n, &i) in idx.iter().enumerate() {
            raw_values(self.emb, i, &mut values);
            copy::row(&mut buf, self.emb.word(i), &values, self.ty, self.hashes[i]);
            if buf.len() >= SEND_BYTES {
                send(&mut w, &mut buf, table)?;
                self.progress.set_position(self.done + n as u64 + 1);
            }
        }
        copy::trailer(&mut buf);
        send(&mut w, &mut buf, table)?;
        w.finish().map_err(err)?;
        Ok(())
    }
}

fn send(w: &mut ::postgres::CopyInWriter<'_>, buf: &mut Vec<u8>, table: &TableName) -> Result<()> {
    w.write_all(buf).map_err(|e| Error::Network {
        action: "cannot copy rows into",
        address: table.to_string(),
        source: e,
    })?;
    buf.clear();
    Ok(())
}

/// Row `idx`'s values as the file holds them (unit rows times their norm for native files).
fn raw_values(emb: &Embeddings, idx: usize, out: &mut Vec<f32>) {
    out.clear();
    if emb.unit_rows() {
        out.extend(emb.raw_row(idx));
    } else {
        let bytes = emb.storage().row_bytes(idx);
        out.extend(
            bytes
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])),
        );
    }
}

/// Checks the options against the vectors before the server is touched.
fn check_options(emb: &Embeddings, opts: &ExportOptions) -> Result<()> {
    let ty = opts.ty;
    limits::at_most(
        &format!("{} dimensions", ty.sql_name()),
        emb.dims(),
        schema::MAX_COLUMN_DIMS,
    )?;
    match opts.index {
        Some(IndexKind::Hnsw { m, ef_construction }) => {
            // pgvector's ranges for its HNSW options.
            if !(2..=100).contains(&m)
                || !(4..=1000).contains(&ef_construction)
                || ef_construction < 2 * m
            {
                return Err(Error::invalid(format!(
                    "hnsw m {m} and ef-construction {ef_construction}: m must be 2-100, \
                     ef-construction 4-1000 and at least 2 * m"
                )));
            }
        }
        Some(IndexKind::IvfFlat { lists }) => {
            limits::between_1_and("ivfflat lists", lists, 32_768)?;
        }
        None => return Ok(()),
    }
    let max = ty.max_index_dims();
    if emb.dims() > max {
        return Err(Error::invalid(format!(
            "pgvector indexes {} of at most {max} dimensions; these have {} (export with --half, \
             or without an index)",
            ty.sql_name(),
            emb.dims()
        )));
    }
    Ok(())
}

/// Checks every word against the key column and every value against the type, and hashes each
/// row, all before anything is written. `key_chars` is a `varchar(n)` key's `n`.
fn check_rows(emb: &Embeddings, ty: VectorType, key_chars: Option<usize>) -> Result<Vec<i64>> {
    (0..emb.len())
        .into_par_iter()
        .map_init(Vec::new, |values, i| {
            let word = emb.word(i);
            let chars_over = key_chars.is_some_and(|n| word.chars().count() > n);
            if word.len() > limits::MAX_PG_KEY_BYTES || chars_over {
                return Err(Error::invalid(format!(
                    "word {i} ({:?}, {} bytes) is longer than the key column takes ({}); nothing was written",
                    limits::echo(word),
                    word.len(),
                    key_chars.map_or(format!("{} bytes", limits::MAX_PG_KEY_BYTES), |n| format!("{n} characters"))
                )));
            }
            if word.contains('\0') {
                return Err(Error::invalid(format!(
                    "word {i} ({:?}) holds a NUL character, which PostgreSQL text cannot; nothing was written",
                    limits::echo(word)
                )));
            }
            raw_values(emb, i, values);
            if ty == VectorType::Halfvec {
                if let Some(d) = values.iter().position(|&v| !copy::fits_f16(v)) {
                    return Err(Error::invalid(format!(
                        "word {i} ({:?}): value {} at dimension {d} is outside halfvec's range (65504); nothing was written",
                        limits::echo(word),
                        values[d]
                    )));
                }
            }
            Ok(sync::row_hash(values))
        })
        .collect()
}

/// Builds the index (if it is not there yet) and returns its name.
fn build_index(
    client: &mut Client,
    table: &TableName,
    cols: &Columns,
    ty: VectorType,
    kind: IndexKind,
) -> Result<String> {
    let (method, with) = match kind {
        IndexKind::Hnsw { m, ef_construction } => (
            "hnsw",
            format!("m = {m}, ef_construction = {ef_construction}"),
        ),
        IndexKind::IvfFlat { lists } => ("ivfflat", format!("lists = {lists}")),
    };
    let name = table.index_sql(&format!("{}_{method}", cols.vec));
    let sql = format!(
        "CREATE INDEX IF NOT EXISTS {name} ON {} USING {method} ({} {}) WITH ({with})",
        table.sql(),
        ident(&cols.vec),
        ty.cosine_ops()
    );
    client
        .batch_execute(&sql)
        .map_err(|e| Error::database("cannot build the index of", table.to_string(), e))?;
    Ok(name)
}
