//! The one translation of library errors into gRPC statuses.

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
