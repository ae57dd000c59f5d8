//! The table: its name, its columns, what an existing one holds, and creating one.
//!
//! `wordvec export` writes three columns: the key (`word text PRIMARY KEY`), the vector
//! (`vec vector(D)`, or `halfvec(D)`) and the vector's hash (`vec_hash bigint`, see
//! [`super::sync`]). An existing table is checked before anything is written: its key must be a
//! string type, its vector column a pgvector type of the file's dimensions, and its hash column
//! a `bigint`; anything else is an error that names the column and its type.

use ::postgres::Client;

use super::copy::VectorType;
use crate::error::{Error, Result};

/// Most dimensions of a pgvector `vector` or `halfvec` column (pgvector 0.8).
pub const MAX_COLUMN_DIMS: usize = 16_000;

/// A table name, `name` or `schema.name`, each part quoted as an SQL identifier when used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableName {
    schema: Option<String>,
    name: String,
}

impl TableName {
    /// Parses `name` or `schema.name` (no quoting needed: each part is quoted when used).
    pub fn parse(s: &str) -> Result<Self> {
        let (schema, name) = match s.split_once('.') {
            Some((a, b)) => (Some(a.to_owned()), b.to_owned()),
            None => (None, s.to_owned()),
        };
        if name.is_empty() || schema.as_deref() == Some("") || s.contains('\0') {
            return Err(Error::invalid(format!("table name {s:?}")));
        }
        Ok(TableName { schema, name })
    }

    /// The name as SQL text, each part quoted.
    pub(crate) fn sql(&self) -> String {
        match &self.schema {
            Some(s) => format!("{}.{}", ident(s), ident(&self.name)),
            None => ident(&self.name),
        }
    }

    /// The name of an index on this table, quoted (an index is made in its table's schema, so
    /// its name has no schema part).
    pub(crate) fn index_sql(&self, suffix: &str) -> String {
        ident(&format!("{}_{suffix}", self.name))
    }
}

impl std::fmt::Display for TableName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.schema {
            Some(s) => write!(f, "{s}.{}", self.name),
            None => f.write_str(&self.name),
        }
    }
}

/// `s` quoted as an SQL identifier.
pub(crate) fn ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// The key and vector columns' names (the hash column is the vector column's name and `_hash`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Columns {
    /// The key column (`word`).
    pub key: String,
    /// The vector column (`vec`).
    pub vec: String,
}

impl Default for Columns {
    fn default() -> Self {
        Columns {
            key: "word".into(),
            vec: "vec".into(),
        }
    }
}

impl Columns {
    /// The hash column's name.
    pub fn hash(&self) -> String {
        format!("{}_hash", self.vec)
    }
}

/// What an existing table's columns are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Layout {
    /// Longest key in characters, for `varchar(n)` and `char(n)` keys.
    pub(crate) key_chars: Option<usize>,
    /// The vector column's type.
    pub(crate) ty: VectorType,
    /// Its dimensions, when the column declares them.
    pub(crate) dims: Option<usize>,
    /// Whether the hash column is there (as a `bigint`).
    pub(crate) has_hash: bool,
}

/// The layout of `table`, or `None` when there is no such table. A key column that is not a
/// string, or a vector column that is not pgvector's, is an error naming the column and type.
pub(crate) fn inspect(
    client: &mut Client,
    table: &TableName,
    cols: &Columns,
) -> Result<Option<Layout>> {
    let rows = client
        .query(
            "SELECT a.attname::text, t.typname::text, a.atttypmod, format_type(a.atttypid, a.atttypmod) \
             FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid \
             WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped",
            &[&table.sql()],
        )
        .map_err(|e| Error::database("cannot read the columns of", table.to_string(), e))?;
    if rows.is_empty() {
        return Ok(None);
    }
    let find = |name: &str| {
        rows.iter()
            .find(|r| r.get::<_, String>(0) == name)
            .map(|r| {
                (
                    r.get::<_, String>(1),
                    r.get::<_, i32>(2),
                    r.get::<_, String>(3),
                )
            })
    };
    let missing = |c: &str| Error::invalid(format!("table {table} has no column {}", ident(c)));
    let (ktype, kmod, kfmt) = find(&cols.key).ok_or_else(|| missing(&cols.key))?;
    let key_chars = match ktype.as_str() {
        "text" => None,
        "varchar" | "bpchar" => usize::try_from(kmod - 4).ok(),
        _ => {
            return Err(Error::invalid(format!(
                "column {} of table {table} is {kfmt}, not a string type (text, varchar)",
                ident(&cols.key)
            )))
        }
    };
    let (vtype, vmod, vfmt) = find(&cols.vec).ok_or_else(|| missing(&cols.vec))?;
    let ty = match vtype.as_str() {
        "vector" => VectorType::Vector,
        "halfvec" => VectorType::Halfvec,
        _ => {
            return Err(Error::invalid(format!(
                "column {} of table {table} is {vfmt}, not a pgvector vector or halfvec",
                ident(&cols.vec)
            )))
        }
    };
    let has_hash = match find(&cols.hash()) {
        None => false,
        Some((t, _, _)) if t == "int8" => true,
        Some((_, _, f)) => {
            return Err(Error::invalid(format!(
                "column {} of table {table} is {f}, not bigint",
                ident(&cols.hash())
            )))
        }
    };
    Ok(Some(Layout {
        key_chars,
        ty,
        dims: usize::try_from(vmod).ok(),
        has_hash,
    }))
}

/// Checks that an existing table can take rows of `dims` values of type `ty`.
pub(crate) fn check_fits(
    layout: &Layout,
    table: &TableName,
    cols: &Columns,
    ty: VectorType,
    dims: usize,
) -> Result<()> {
    if layout.ty != ty {
        let flag = if layout.ty == VectorType::Halfvec {
            "with"
        } else {
            "without"
        };
        return Err(Error::invalid(format!(
            "column {} of table {table} is {}, the export asked for {} (export {flag} --half)",
            ident(&cols.vec),
            layout.ty.sql_name(),
            ty.sql_name()
        )));
    }
    if let Some(d) = layout.dims.filter(|&d| d != dims) {
        return Err(Error::invalid(format!(
            "column {} of table {table} is {}({d}), the vectors have {dims} dimensions",
            ident(&cols.vec),
            ty.sql_name()
        )));
    }
    if !layout.has_hash {
        return Err(Error::invalid(format!(
            "table {table} has no column {} (bigint): it was not made by wordvec export; \
             export into a new table",
            ident(&cols.hash())
        )));
    }
    Ok(())
}

/// Creates `table` with the pgvector extension if it is missing, in one transaction.
pub(crate) fn create(
    client: &mut Client,
    table: &TableName,
    cols: &Columns,
    ty: VectorType,
    dims: usize,
) -> Result<()> {
    let sql = format!(
        "CREATE TABLE {} ({} text PRIMARY KEY, {} {}({dims}) NOT NULL, {} bigint NOT NULL)",
        table.sql(),
        ident(&cols.key),
        ident(&cols.vec),
        ty.sql_name(),
        ident(&cols.hash())
    );
    let err = |e| Error::database("cannot create table", table.to_string(), e);
    let mut tx = client.transaction().map_err(err)?;
    let has_vector: bool = tx
        .query_one("SELECT to_regtype('vector') IS NOT NULL", &[])
        .map_err(err)?
        .get(0);
    if !has_vector {
        tx.batch_execute("CREATE EXTENSION IF NOT EXISTS vector")
            .map_err(|e| {
                Error::database(
                    "cannot create the pgvector extension for",
                    table.to_string(),
                    e,
                )
            })?;
    }
    tx.batch_execute(&sql).map_err(err)?;
    tx.commit().map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_quoted_part_by_part() {
        assert_eq!(TableName::parse("words").unwrap().sql(), "\"words\"");
        let t = TableName::parse("ml.Word\"s").unwrap();
        assert_eq!(t.sql(), "\"ml\".\"Word\"\"s\"");
        assert_eq!(t.to_string(), "ml.Word\"s");
        assert_eq!(t.index_sql("vec_hnsw"), "\"Word\"\"s_vec_hnsw\"");
        for bad in ["", ".t", "s.", "a\0b"] {
            assert!(TableName::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_table_of_another_kind_or_size_is_refused() {
        let t = TableName::parse("t").unwrap();
        let c = Columns::default();
        let l = Layout {
            key_chars: None,
            ty: VectorType::Vector,
            dims: Some(32),
            has_hash: true,
        };
        assert!(check_fits(&l, &t, &c, VectorType::Vector, 32).is_ok());
        let e = check_fits(&l, &t, &c, VectorType::Vector, 300)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("is vector(32), the vectors have 300 dimensions"),
            "{e}"
        );
        let e = check_fits(&l, &t, &c, VectorType::Halfvec, 32)
            .unwrap_err()
            .to_string();
        assert!(e.contains("export without --half"), "{e}");
        let l = Layout {
            has_hash: false,
            ..l
        };
        let e = check_fits(&l, &t, &c, VectorType::Vector, 32)
            .unwrap_err()
            .to_string();
        assert!(e.contains("no column \"vec_hash\""), "{e}");
    }
}
