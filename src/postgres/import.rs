//! `import`: any table with a string key and a pgvector column, read back into [`Embeddings`].
//!
//! The rules are in the docs of the public function, [`super::import()`].

use ::postgres::Client;

use super::copy::{self, Decoder};
use super::schema::{self, ident, Columns, TableName};
use crate::embeddings::Embeddings;
use crate::error::{Error, Result};
use crate::limits;
use crate::progress::{or_silent, SharedProgress};

/// What [`import`] reads.
#[derive(Clone)]
pub struct ImportOptions {
    /// The table.
    pub table: TableName,
    /// Its key and vector columns.
    pub columns: Columns,
    /// Progress receiver (rows read).
    pub progress: Option<SharedProgress>,
}

impl ImportOptions {
    /// Options for `table` with columns `word` and `vec`.
    pub fn new(table: TableName) -> Self {
        ImportOptions {
            table,
            columns: Columns::default(),
            progress: None,
        }
    }
}

/// Reads the table `opts` names over `client`: any table with a string key and a pgvector column.
///
/// The rows come in one `COPY (SELECT key, vec FROM table ORDER BY key) TO STDOUT` in binary, so
/// the values arrive as the server stores them (float4 bit for bit; a `halfvec`'s float2 values
/// widened exactly), and the words in the key's order (the file's own order is not kept in the
/// table). The row count is read first and checked with [`crate::limits`] before the matrix is
/// allocated; every field's length is checked as it arrives.
pub fn import(client: &mut Client, opts: &ImportOptions) -> Result<Embeddings> {
    let (table, cols) = (&opts.table, &opts.columns);
    let layout = schema::inspect(client, table, cols)?
        .ok_or_else(|| Error::invalid(format!("no table {table}")))?;
    let err = |e| Error::database("cannot read", table.to_string(), e);
    let count: i64 = client
        .query_one(&format!("SELECT count(*) FROM {}", table.sql()), &[])
        .map_err(err)?
        .get(0);
    let rows = usize::try_from(count).unwrap_or(usize::MAX);
    if rows == 0 {
        return Err(Error::invalid(format!("table {table} has no rows")));
    }
    let progress = or_silent(&opts.progress);
    progress.start("importing", rows as u64);
    let sql = format!(
        "COPY (SELECT {k}, {v} FROM {} ORDER BY {k}) TO STDOUT (FORMAT binary)",
        table.sql(),
        k = ident(&cols.key),
        v = ident(&cols.vec)
    );
    let reader = client.copy_out(&sql).map_err(err)?;
    let mut dec = Decoder::new(reader, format!("table {table}"))?;
    let (mut words, mut values) = (Vec::new(), Vec::new());
    let (mut key, mut field) = (Vec::new(), Vec::new());
    let mut dims = layout.dims;
    while dec.next_row(words.len() as u64, &mut key, &mut field)? {
        let word = String::from_utf8(std::mem::take(&mut key)).map_err(|_| {
            Error::invalid(format!(
                "table {table}: key of row {} is not UTF-8",
                words.len()
            ))
        })?;
        let d = match dims {
            Some(d) => d,
            // A column without declared dimensions: the first row's, for every row.
            None => *dims.insert(vector_dims(&field, &word)?),
        };
        if values.is_empty() {
            let n = limits::product("table rows x dimensions", &[rows, d])?;
            values.try_reserve_exact(n).map_err(|_| {
                Error::invalid(format!(
                    "table {table}: cannot allocate {rows} x {d} values"
                ))
            })?;
        }
        copy::decode_vector(&field, layout.ty, d, &word, &mut values)?;
        words.push(word);
        if words.len() % 65_536 == 0 {
            progress.set_position(words.len() as u64);
        }
    }
    progress.finish();
    let d = dims.unwrap_or(0);
    Embeddings::from_vectors(&words, values, d)
        .map_err(|e| e.context(format!("importing table {table}")))
}

/// The dimensions a vector field declares (its first int16), checked against the limit.
fn vector_dims(field: &[u8], word: &str) -> Result<usize> {
    let d = field
        .get(..2)
        .map(|b| i16::from_be_bytes([b[0], b[1]]))
        .ok_or_else(|| {
            Error::invalid(format!(
                "vector of {:?}: {} bytes",
                limits::echo(word),
                field.len()
            ))
        })?;
    let d = usize::try_from(d).map_err(|_| {
        Error::invalid(format!(
            "vector of {:?}: {d} dimensions",
            limits::echo(word)
        ))
    })?;
    limits::between_1_and("vector dimensions", d, limits::MAX_DIMS)
}
