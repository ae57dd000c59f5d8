//! The password file, as libpq reads it: `~/.pgpass` (or the file `PGPASSFILE` names), one
//! `hostname:port:database:username:password` a line, `*` matching anything in the first four
//! fields, `\:` and `\\` escaping a colon and a backslash, `#` starting a comment. The first line
//! that matches is used. Like libpq, a file that others may read (any group or other permission
//! bit) is ignored with a warning: a password in it is no longer a secret.

use std::path::{Path, PathBuf};

/// What a connection is to, as the password file's fields name it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Target<'a> {
    pub(crate) host: &'a str,
    pub(crate) port: u16,
    pub(crate) database: &'a str,
    pub(crate) user: &'a str,
}

/// The password file's path: `PGPASSFILE`, else `~/.pgpass`.
pub(crate) fn default_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("PGPASSFILE") {
        return Some(p.into());
    }
    std::env::var_os("HOME").map(|h| Path::new(&h).join(".pgpass"))
}

/// The password for `target` from the file at `path`, if the file exists, is private to its
/// owner, and has a matching line.
pub(crate) fn lookup(path: &Path, target: Target<'_>) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).ok()?.permissions().mode();
        if mode & 0o077 != 0 {
            tracing::warn!(
                path = %path.display(),
                "password file has group or world access; ignored (chmod 0600 it)"
            );
            return None;
        }
    }
    text.lines()
        .find_map(|line| matching_password(line, target))
}

/// The password of one line when its first four fields match `target`.
fn matching_password(line: &str, target: Target<'_>) -> Option<String> {
    if line.starts_with('#') || line.trim().is_empty() {
        return None;
    }
    let fields = split_fields(line);
    if fields.len() != 5 {
        return None;
    }
    let port = target.port.to_string();
    let wanted = [target.host, &port, target.database, target.user];
    let host_ok =
        |f: &str| f == "*" || f == target.host || (f == "localhost" && is_local(target.host));
    let matches = host_ok(&fields[0])
        && fields[1..4]
            .iter()
            .zip(&wanted[1..])
            .all(|(f, w)| f == "*" || f == w);
    matches.then(|| fields[4].clone())
}

/// libpq matches `localhost` against a connection over a Unix socket; wordvec connects over TCP,
/// where `localhost` is the name the user wrote.
fn is_local(host: &str) -> bool {
    host.starts_with('/')
}

/// The colon-separated fields of a line, with `\:` and `\\` unescaped.
fn split_fields(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(n) = chars.next() {
                    fields.last_mut().expect("never empty").push(n);
                }
            }
            ':' => fields.push(String::new()),
            c => fields.last_mut().expect("never empty").push(c),
        }
    }
    fields
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Target<'static> = Target {
        host: "db.example",
        port: 5432,
        database: "vectors",
        user: "wv",
    };

    #[test]
    fn first_matching_line_wins_with_wildcards_and_escapes() {
        let file = "# comment\n\
                    other:5432:vectors:wv:no\n\
                    db.example:5433:*:wv:wrong-port\n\
                    db.example:*:vectors:wv:pa\\:ss\\\\word\n\
                    *:*:*:*:fallback\n";
        let found = file.lines().find_map(|l| matching_password(l, T));
        assert_eq!(found.as_deref(), Some("pa:ss\\word"));
        let other = Target { user: "else", ..T };
        let found = file.lines().find_map(|l| matching_password(l, other));
        assert_eq!(found.as_deref(), Some("fallback"));
        assert_eq!(matching_password("a:b:c", T), None);
    }

    #[cfg(unix)]
    #[test]
    fn a_file_others_can_read_is_ignored() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pgpass");
        std::fs::write(&path, "*:*:*:*:secret\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(lookup(&path, T).as_deref(), Some("secret"));
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert_eq!(lookup(&path, T), None);
        assert_eq!(lookup(&dir.path().join("absent"), T), None);
    }
}
