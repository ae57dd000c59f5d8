//! The one translation of library errors into gRPC statuses.

use tonic::Status;

use crate::error::{Error, ErrorKind};

impl From<Error> for Status {
    fn from(e: Error) -> Status {
        let msg = e.to_string();
        match e.kind() {
            ErrorKind::NotFound => Status::not_found(msg),
            ErrorKind::InvalidArgument => Status::invalid_argument(msg),
            ErrorKind::Unavailable => Status::unavailable(msg),
            ErrorKind::Cancelled => Status::cancelled(msg),
            ErrorKind::Io | ErrorKind::Data => Status::internal(msg),
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
}
