//! PostgreSQL with pgvector (feature `postgres`): export a vectors file into a table, keep the
//! table in step with the file, and import a table back.
//!
//! Services that use word vectors often already run PostgreSQL, and pgvector is how they search
//! vectors beside their own rows (joins, backups, replicas). This module moves the vectors
//! there and keeps them equal to wordvec's:
//!
//! - [`connect`]: a libpq-style connection string; the password from `PGPASSWORD` or
//!   `~/.pgpass`, never from the string; TLS (rustls) where the server offers it.
//! - [`export()`]: creates `TABLE (word text PRIMARY KEY, vec vector(D), vec_hash bigint)`
//!   (`halfvec(D)` for half precision) and streams the rows with binary COPY in committed
//!   batches; a second run resumes an interrupted one without duplicates; `sync` inserts,
//!   updates and deletes only the rows whose per-row hash differs; optionally builds pgvector's
//!   HNSW or IVFFlat index (cosine).
//! - [`import()`]: any table with a string key and a `vector`/`halfvec` column into
//!   [`crate::Embeddings`], values bit for bit.
//!
//! pgvector (0.8) facts this relies on: `vector(D)` holds float4 values and up to 16,000
//! dimensions, `halfvec(D)` float2; their HNSW and IVFFlat indexes take at most 2,000 (`vector`)
//! and 4,000 (`halfvec`) dimensions. `<=>` is cosine distance (1 - cosine similarity), and an
//! index answers it when built with `vector_cosine_ops` (`halfvec_cosine_ops`); `hnsw.ef_search`
//! (default 40) sets the search width. The binary forms are in [`copy`]'s docs.
//!
//! ```no_run
//! use wordvec::postgres::{connect, export, ExportOptions, TableName};
//! let emb = wordvec::default_model::load()?;
//! let mut client = connect("postgres://app@db.example/vectors")?;
//! let report = export(&mut client, &emb, &ExportOptions::new(TableName::parse("words")?))?;
//! println!("{} rows written", report.inserted);
//! # Ok::<(), wordvec::Error>(())
//! ```

mod connect;
pub mod copy;
mod export;
mod import;
mod pgpass;
mod schema;
mod sync;

pub use ::postgres::Client;
pub use connect::connect;
pub use copy::VectorType;
pub use export::{export, ExportOptions, ExportReport, IndexKind};
pub use import::{import, ImportOptions};
pub use schema::{Columns, TableName, MAX_COLUMN_DIMS};
