//! The one translation of errors into gRPC statuses: library errors ([`From<Error>`]), a
//! reload's errors ([`reload_failed`]), a write's ([`write_failed`], and the writes refused:
//! [`writes_need_token`], [`no_log`]), and messages that do not decode ([`Codec`]).
//!
//! Codes follow gRPC's status-code guide: the caller's mistakes are INVALID_ARGUMENT or
//! NOT_FOUND, UNAVAILABLE is kept for what a retry can fix (clients and proxies retry it), and a
//! server-side state an operator must fix first (a model file deleted before a reload) is
//! FAILED_PRECONDITION, which nobody retries.

use std::marker::PhantomData;

use tonic::codec::{BufferSettings, DecodeBuf, Decoder};
use tonic::Status;

use crate::error::{Error, ErrorKind};

impl From<Error> for Status {
    fn from(e: Error) -> Status {
        let msg = e.to_string();
        match e.kind() {
            ErrorKind::NotFound => Status::not_found(msg),
            ErrorKind::InvalidArgument => Status::invalid_argument(msg),
            ErrorKind::Data => Status::data_loss(msg),
            ErrorKind::Io | ErrorKind::Unavailable => Status::unavailable(msg),
            ErrorKind::Cancelled => Status::cancelled(msg),
            ErrorKind::Internal => Status::internal(msg),
        }
    }
}

/// The status of a failed reload. The files are the server's, so what a client could retry is
/// not retryable here: a missing or unreadable file (UNAVAILABLE for a request) stays missing
/// until an operator restores it, hence FAILED_PRECONDITION; a corrupt file stays DATA_LOSS.
pub(crate) fn reload_failed(e: Error) -> Status {
    match e.kind() {
        ErrorKind::Io | ErrorKind::Unavailable => Status::failed_precondition(e.to_string()),
        _ => Status::from(e),
    }
}

/// The status of a write or a compaction that failed on the server's side: as a reload's
/// ([`reload_failed`]), a log that cannot be written or synced (a full or failing disk) is for an
/// operator to fix, FAILED_PRECONDITION; the caller's mistakes (a wrong dimension, a value that is
/// not finite, a batch over the limits) stay INVALID_ARGUMENT.
pub(crate) fn write_failed(e: Error) -> Status {
    reload_failed(e)
}

/// A write (`what`: the RPC) on a server without a bearer token: refused, as anyone could
/// otherwise change the vectors. FAILED_PRECONDITION: the server must be started differently.
pub(crate) fn writes_need_token(what: &str) -> Status {
    Status::failed_precondition(format!(
        "{what} needs a server started with --auth-token-file: without a token anyone could change the vectors"
    ))
}

/// A write or a compaction on a model without a log: FAILED_PRECONDITION, the server must be
/// started with one.
pub(crate) fn no_log(model: &str) -> Status {
    Status::failed_precondition(format!(
        "model {:?} takes no writes: it has no log (start the server with --wal-dir DIR)",
        crate::limits::echo(model)
    ))
}

/// The protobuf codec of every service (`build.rs` names it): prost's, except that a message
/// that does not decode is the sender's mistake, INVALID_ARGUMENT. (tonic's codec answers
/// INTERNAL, the code of a server bug, which monitoring counts as one.) The generated clients
/// share it, so a client that gets an answer it cannot decode sees INVALID_ARGUMENT too.
#[derive(Debug, Clone)]
pub(crate) struct Codec<T, U>(PhantomData<(T, U)>);

impl<T, U> Default for Codec<T, U> {
    fn default() -> Self {
        Codec(PhantomData)
    }
}

impl<T, U> tonic::codec::Codec for Codec<T, U>
where
    T: prost::Message + Send + 'static,
    U: prost::Message + Default + Send + 'static,
{
    type Encode = T;
    type Decode = U;
    type Encoder = tonic_prost::ProstEncoder<T>;
    type Decoder = CheckedDecoder<U>;

    fn encoder(&mut self) -> Self::Encoder {
        tonic_prost::ProstEncoder::default()
    }

    fn decoder(&mut self) -> Self::Decoder {
        CheckedDecoder(tonic_prost::ProstDecoder::default())
    }
}

/// prost's decoder, its errors INVALID_ARGUMENT (see [`Codec`]).
#[derive(Debug, Clone)]
pub(crate) struct CheckedDecoder<U>(tonic_prost::ProstDecoder<U>);

impl<U: prost::Message + Default> Decoder for CheckedDecoder<U> {
    type Item = U;
    type Error = Status;

    fn decode(&mut self, buf: &mut DecodeBuf<'_>) -> Result<Option<U>, Status> {
        self.0.decode(buf).map_err(|s| {
            Status::invalid_argument(format!(
                "the message does not decode as its RPC's protobuf: {}",
                s.message()
            ))
        })
    }

    fn buffer_settings(&self) -> BufferSettings {
        self.0.buffer_settings()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tonic::Code;

    #[test]
    fn codes() {
        assert_eq!(
            Status::from(Error::UnknownWords(vec!["x".into()])).code(),
            Code::NotFound
        );
        assert_eq!(
            Status::from(Error::InvalidArgument("y".into())).code(),
            Code::InvalidArgument
        );
        assert_eq!(
            Status::from(Error::Device("z".into())).code(),
            Code::Unavailable
        );
        let s = Status::from(Error::UnknownWords(vec!["qq".into()]));
        assert!(s.message().contains("\"qq\""));
    }

    #[test]
    fn a_reload_that_cannot_read_its_files_is_not_retryable() {
        let gone = Error::io("cannot open", "m.wvec", std::io::Error::other("gone"));
        let s = reload_failed(gone.context("reload failed"));
        assert_eq!(s.code(), Code::FailedPrecondition);
        assert!(s.message().contains("m.wvec"), "{}", s.message());
        let corrupt = Error::format("m.wvec", None, 0, "bad magic");
        assert_eq!(reload_failed(corrupt).code(), Code::DataLoss);
    }

    #[test]
    fn refused_writes_are_failed_preconditions() {
        let s = writes_need_token("Upsert");
        assert_eq!(s.code(), Code::FailedPrecondition);
        assert!(s.message().contains("--auth-token-file"), "{}", s.message());
        let s = no_log("news");
        assert_eq!(s.code(), Code::FailedPrecondition);
        assert!(s.message().contains("\"news\"") && s.message().contains("--wal-dir"));
        let disk = Error::io(
            "cannot sync the log",
            "m.wal",
            std::io::Error::other("full"),
        );
        assert_eq!(write_failed(disk).code(), Code::FailedPrecondition);
        let bad = Error::invalid("the vector of \"x\" has 3 dimensions, the model has 4");
        assert_eq!(write_failed(bad).code(), Code::InvalidArgument);
    }

    /// The whole mapping, one error of every variant: a change here changes what clients see.
    #[test]
    fn every_variant_has_its_pinned_code() {
        let io = || std::io::Error::other("x");
        let table: Vec<(Error, Code, bool)> = vec![
            (
                Error::InvalidArgument("k is 0".into()),
                Code::InvalidArgument,
                true,
            ),
            (Error::UnknownWords(vec!["qq".into()]), Code::NotFound, true),
            (
                Error::format("m.bin", Some(3), 40, "truncated"),
                Code::DataLoss,
                false,
            ),
            (
                Error::NonFinite {
                    path: "m.bin".into(),
                    record: 1,
                    word: "w".into(),
                    offset: 8,
                    value: f32::NAN,
                },
                Code::DataLoss,
                false,
            ),
            (
                Error::io("cannot read", "m.bin", io()),
                Code::Unavailable,
                false,
            ),
            (
                Error::network("cannot listen on", "127.0.0.1:1", io()),
                Code::Unavailable,
                false,
            ),
            (Error::Device("no GPU".into()), Code::Unavailable, false),
            (Error::Cancelled("deadline".into()), Code::Cancelled, false),
            (Error::internal("a panic in hnsw_rs"), Code::Internal, false),
            (
                Error::UnknownWords(vec!["qq".into()]).context("pair 3"),
                Code::NotFound,
                true,
            ),
            (
                Error::format("m.i8", None, 0, "bad magic").context("opening the int8 copy"),
                Code::DataLoss,
                false,
            ),
        ];
        for (e, code, caller) in table {
            let what = e.to_string();
            assert_eq!(e.kind().is_caller_mistake(), caller, "{what}");
            let s = Status::from(e);
            assert_eq!(s.code(), code, "{what}");
            assert_eq!(s.message(), what);
        }
    }
}
