//! Connecting: a libpq-style connection string, the password from the environment or the
//! password file, TLS with rustls.
//!
//! The rules are in the docs of the public function, [`super::connect`].

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use ::postgres::config::Host;
use ::postgres::{Client, Config};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;

use super::pgpass;
use crate::error::{Error, Result};

/// How long connecting may take when the connection string does not say.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Opens a connection: a libpq-style connection string, the password from the environment or the
/// password file (never from the command line), and TLS with rustls where the server offers it.
///
/// - The string is a URL (`postgres://USER@HOST:PORT/DB?sslmode=require`) or `key=value` pairs,
///   as libpq takes them. A password inside it is refused: a command line is visible to every
///   user of the machine (`ps`), and shells keep it in their history.
/// - Missing parts come from libpq's variables: `PGHOST` (else `localhost`), `PGPORT` (else
///   5432), `PGUSER` (else the login name in `USER`), `PGDATABASE` (else the user name).
/// - The password is `PGPASSWORD`, else the first matching line of the password file
///   (`PGPASSFILE` or `~/.pgpass`: one `host:port:database:user:password` a line, `*`
///   matching anything; ignored when others may read it), else none (trust or peer auth).
/// - `sslmode` is `disable`, `prefer` (the default: TLS when the server offers it) or `require`.
///   Certificates are always verified, against `PGSSLROOTCERT` (a PEM file; else
///   `~/.postgresql/root.crt` when it exists) or the system's roots: unlike libpq's `require`,
///   an unverified certificate is an error, so a server with a self-signed certificate needs its
///   certificate in `PGSSLROOTCERT`.
/// - Connecting gives up after 10 seconds unless `connect_timeout` says otherwise.
pub fn connect(conn: &str) -> Result<Client> {
    let config = parse(conn)?;
    let target = describe(&config);
    let tls = tokio_postgres_rustls::MakeRustlsConnect::new(tls_config()?);
    config
        .connect(tls)
        .map_err(|e| Error::database("cannot connect to", target, e))
}

/// The connection string as a [`Config`], completed from the environment and the password file.
fn parse(conn: &str) -> Result<Config> {
    let mut config: Config = conn
        .parse()
        .map_err(|e| Error::invalid(format!("connection string: {e}")))?;
    if config.get_password().is_some() {
        return Err(Error::invalid(
            "the connection string holds a password: give it in PGPASSWORD or ~/.pgpass \
             instead (a command line is visible to every user of the machine)",
        ));
    }
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    if config.get_hosts().is_empty() {
        config.host(&env("PGHOST").unwrap_or_else(|| "localhost".into()));
    }
    if config.get_ports().is_empty() {
        let port = env("PGPORT").unwrap_or_else(|| "5432".into());
        config.port(
            port.parse()
                .map_err(|_| Error::invalid(format!("PGPORT {port:?}")))?,
        );
    }
    if config.get_user().is_none() {
        let user = env("PGUSER").or_else(|| env("USER")).ok_or_else(|| {
            Error::invalid("no user: name one in the connection string (postgres://USER@HOST/DB)")
        })?;
        config.user(&user);
    }
    if config.get_dbname().is_none() {
        let db = env("PGDATABASE").unwrap_or_else(|| config.get_user().unwrap_or("").to_owned());
        config.dbname(&db);
    }
    if let Some(pw) = env("PGPASSWORD").or_else(|| password_file(&config)) {
        config.password(pw);
    }
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(CONNECT_TIMEOUT);
    }
    Ok(config)
}

/// The password file's password for the first host of `config`.
fn password_file(config: &Config) -> Option<String> {
    let host = host_name(config.get_hosts().first()?);
    let target = pgpass::Target {
        host: &host,
        port: *config.get_ports().first()?,
        database: config.get_dbname()?,
        user: config.get_user()?,
    };
    pgpass::lookup(&pgpass::default_path()?, target)
}

fn host_name(h: &Host) -> String {
    match h {
        Host::Tcp(h) => h.clone(),
        #[cfg(unix)]
        Host::Unix(p) => p.display().to_string(),
    }
}

/// `postgres://USER@HOST:PORT/DB`, without the password, for messages.
fn describe(config: &Config) -> String {
    let host = config
        .get_hosts()
        .first()
        .map(host_name)
        .unwrap_or_default();
    let port = config.get_ports().first().copied().unwrap_or(5432);
    format!(
        "postgres://{}@{host}:{port}/{}",
        config.get_user().unwrap_or(""),
        config.get_dbname().unwrap_or("")
    )
}

/// rustls's client configuration: ring's cryptography, the roots the module docs name.
fn tls_config() -> Result<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    match root_cert_file() {
        Some(path) => {
            let certs = CertificateDer::pem_file_iter(&path)
                .and_then(|it| it.collect::<Result<Vec<_>, _>>())
                .map_err(|e| {
                    Error::invalid(format!("TLS root certificates {}: {e}", path.display()))
                })?;
            roots.add_parsable_certificates(certs);
        }
        None => {
            roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::internal(format!("TLS protocol versions: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// `PGSSLROOTCERT`, else `~/.postgresql/root.crt` when it exists.
fn root_cert_file() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("PGSSLROOTCERT") {
        return Some(p.into());
    }
    let p = PathBuf::from(std::env::var_os("HOME")?).join(".postgresql/root.crt");
    p.is_file().then_some(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_in_the_connection_string_is_refused() {
        for conn in [
            "postgres://u:secret@127.0.0.1/db",
            "host=127.0.0.1 user=u password=secret",
        ] {
            let e = parse(conn).unwrap_err().to_string();
            assert!(e.contains("PGPASSWORD or ~/.pgpass"), "{e}");
            assert!(!e.contains("secret"), "{e}");
        }
    }

    #[test]
    fn descriptions_name_user_host_port_and_database() {
        let c = parse("postgres://wv@127.0.0.1:6543/vectors").unwrap();
        assert_eq!(describe(&c), "postgres://wv@127.0.0.1:6543/vectors");
        assert_eq!(c.get_connect_timeout(), Some(&CONNECT_TIMEOUT));
        assert!(parse("postgres://wv@127.0.0.1:notaport/db").is_err());
    }
}
