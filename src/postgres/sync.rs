//! Which rows differ between a vectors file and a table, by a hash of each row's vector, and
//! making the table equal to the file in one transaction.
//!
//! Each row carries `vec_hash`: xxh3-64 of its vector's float32 values as the file holds them
//! (little-endian bytes), stored as a signed `bigint`. Comparing a file with a table then reads
//! one key and one integer per row, not the vectors: a row whose word is new is inserted, one
//! whose hash differs is updated, one whose word the file lacks is deleted, and the rest are left
//! alone, so a retrained or compacted model changes only what changed, without a rebuild (and
//! the table's indexes are updated row by row).
//!
//! The hash is of the file's float32 values even for a `halfvec` column, so rows that round to
//! the same half-precision values but differ in the file are still rewritten.

use std::collections::HashMap;

use ::postgres::Client;

use super::schema::{ident, Columns, TableName};
use crate::embeddings::Embeddings;
use crate::error::{Error, Result};

/// The hash of one row's values (see the [module docs](self)).
pub(crate) fn row_hash(values: &[f32]) -> i64 {
    xxhash_rust::xxh3::xxh3_64(bytemuck::cast_slice(values)) as i64
}

/// What to do to make a table equal to a file.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Plan {
    /// File rows whose words the table lacks.
    pub(crate) insert: Vec<usize>,
    /// File rows whose words the table holds with another vector.
    pub(crate) update: Vec<usize>,
    /// Words of the table the file lacks.
    pub(crate) delete: Vec<String>,
    /// Rows already equal.
    pub(crate) unchanged: usize,
}

/// Compares the file's rows (their words and `hashes`) with the table's (`table`, word to hash).
pub(crate) fn plan(emb: &Embeddings, hashes: &[i64], mut table: HashMap<String, i64>) -> Plan {
    let mut p = Plan::default();
    for (i, &h) in hashes.iter().enumerate() {
        match table.remove(emb.word(i)) {
            None => p.insert.push(i),
            Some(t) if t == h => p.unchanged += 1,
            Some(_) => p.update.push(i),
        }
    }
    p.delete = table.into_keys().collect();
    p.delete.sort_unstable();
    p
}

/// Every key of `table` with its hash.
pub(crate) fn read_hashes(
    client: &mut Client,
    table: &TableName,
    cols: &Columns,
) -> Result<HashMap<String, i64>> {
    let sql = format!(
        "SELECT {}, {} FROM {}",
        ident(&cols.key),
        ident(&cols.hash()),
        table.sql()
    );
    let err = |e| Error::database("cannot read the row hashes of", table.to_string(), e);
    let mut out = HashMap::new();
    let mut rows = client
        .query_raw(&sql, std::iter::empty::<i32>())
        .map_err(err)?;
    use ::postgres::fallible_iterator::FallibleIterator;
    while let Some(row) = rows.next().map_err(err)? {
        out.insert(row.get::<_, String>(0), row.get::<_, i64>(1));
    }
    Ok(out)
}

/// Applies `plan` to `table` in one transaction: the new and changed rows are copied into a
/// temporary table (by `copy`), deleted words removed, then the copied rows inserted or, where
/// the word exists, replaced. Readers see the old table or the new one, never a mix; an error
/// (or a kill) leaves the table as it was.
pub(crate) fn apply(
    client: &mut Client,
    table: &TableName,
    cols: &Columns,
    plan: &Plan,
    copy: impl FnOnce(&mut ::postgres::Transaction<'_>, &str) -> Result<()>,
) -> Result<()> {
    let err = |e| Error::database("cannot sync", table.to_string(), e);
    let (k, v, h) = (ident(&cols.key), ident(&cols.vec), ident(&cols.hash()));
    let mut tx = client.transaction().map_err(err)?;
    tx.batch_execute(&format!(
        "CREATE TEMPORARY TABLE wordvec_sync ON COMMIT DROP AS SELECT {k}, {v}, {h} FROM {} WITH NO DATA",
        table.sql()
    ))
    .map_err(err)?;
    copy(&mut tx, "wordvec_sync")?;
    if !plan.delete.is_empty() {
        tx.execute(
            &format!("DELETE FROM {} WHERE {k} = ANY($1)", table.sql()),
            &[&plan.delete],
        )
        .map_err(err)?;
    }
    tx.batch_execute(&format!(
        "INSERT INTO {t} ({k}, {v}, {h}) SELECT {k}, {v}, {h} FROM wordvec_sync \
         ON CONFLICT ({k}) DO UPDATE SET {v} = EXCLUDED.{v}, {h} = EXCLUDED.{h}",
        t = table.sql()
    ))
    .map_err(err)?;
    tx.commit().map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_differing_rows_are_planned() {
        let emb = Embeddings::from_vectors(&["a", "b", "c"], vec![1.0, 2.0, 3.0], 1).unwrap();
        let hashes: Vec<i64> = (0..3).map(|i| row_hash(&emb.raw_row(i))).collect();
        assert_ne!(hashes[0], hashes[1]);
        let table = HashMap::from([
            ("a".to_owned(), hashes[0]),
            ("b".to_owned(), hashes[1] ^ 1),
            ("z".to_owned(), 0),
            ("y".to_owned(), 0),
        ]);
        let p = plan(&emb, &hashes, table);
        assert_eq!(
            p,
            Plan {
                insert: vec![2],
                update: vec![1],
                delete: vec!["y".into(), "z".into()],
                unchanged: 1
            }
        );
    }
}
