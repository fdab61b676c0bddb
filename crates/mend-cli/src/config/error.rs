//! [`ConfigFileError`]: a refusal of a config file that names the file,
//! the line and column, the key, and what was expected.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

/// A config file that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ConfigFileError {
    pub(crate) file: PathBuf,
    /// 1-based; 0 when the error is about the whole file.
    pub(crate) line: usize,
    pub(crate) column: usize,
    /// The key path (`services.web.restart`), if one is at fault.
    pub(crate) key: Option<String>,
    pub(crate) message: String,
}

/// A refusal of one service's settings, before it is placed in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KeyError {
    /// The key within the service's table (`user`), or `None` for the
    /// table itself.
    pub(crate) key: Option<&'static str>,
    pub(crate) message: String,
}

impl KeyError {
    pub(crate) fn new(key: &'static str, message: impl Into<String>) -> Self {
        KeyError {
            key: Some(key),
            message: message.into(),
        }
    }

    /// Places it in `text`: the line of the key in the service's table,
    /// or of the table's header.
    pub(crate) fn locate(self, file: &Path, text: &str, service: &str) -> ConfigFileError {
        self.locate_in(
            file,
            text,
            &format!("services.{service}"),
            &format!("services.\"{service}\""),
        )
    }

    /// Places it in `text`: the line of the key in the table `table`
    /// (also written `quoted`), or of the table's header.
    pub(crate) fn locate_in(
        self,
        file: &Path,
        text: &str,
        table: &str,
        quoted: &str,
    ) -> ConfigFileError {
        let (line, column) = find_key(text, [table, quoted], self.key).unwrap_or((0, 0));
        let key = match self.key {
            Some(key) => format!("{table}.{key}"),
            None => table.to_owned(),
        };
        ConfigFileError {
            file: file.to_owned(),
            line,
            column,
            key: Some(key),
            message: self.message,
        }
    }
}

impl ConfigFileError {
    pub(crate) fn unreadable(file: &Path, error: &std::io::Error) -> Self {
        ConfigFileError {
            file: file.to_owned(),
            line: 0,
            column: 0,
            key: None,
            message: format!("cannot read it: {error}"),
        }
    }
}

impl fmt::Display for ConfigFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if self.line > 0 {
            write!(f, ":{}:{}", self.line, self.column)?;
        }
        if let Some(key) = &self.key {
            write!(f, ": `{key}`")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for ConfigFileError {}

/// Deserializes `text` (from `file`), naming the key path and the place of
/// any error.
pub(crate) fn deserialize<T: DeserializeOwned>(
    file: &Path,
    text: &str,
) -> Result<T, ConfigFileError> {
    let at =
        |span: Option<std::ops::Range<usize>>| span.map_or((0, 0), |s| line_column(text, s.start));
    let deserializer = toml::de::Deserializer::parse(text).map_err(|e| {
        let (line, column) = at(e.span());
        ConfigFileError {
            file: file.to_owned(),
            line,
            column,
            key: None,
            message: e.message().trim().to_owned(),
        }
    })?;
    serde_path_to_error::deserialize(deserializer).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let (line, column) = at(inner.span());
        ConfigFileError {
            file: file.to_owned(),
            line,
            column,
            key: (path != ".").then_some(path),
            message: inner.message().trim().to_owned(),
        }
    })
}

/// The 1-based line and column of byte `offset`.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
    (line, column)
}

/// The line and column of `key` in the table with one of `names` (or of
/// its header when `key` is `None` or not written there).
fn find_key(text: &str, names: [&str; 2], key: Option<&str>) -> Option<(usize, usize)> {
    let mut in_table = false;
    let mut header = None;
    for (n, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        if trimmed.starts_with('[') {
            let name = trimmed
                .trim_start_matches('[')
                .split(']')
                .next()
                .unwrap_or("")
                .trim();
            in_table = names.contains(&name);
            if in_table {
                header = Some((n + 1, line.len() - trimmed.len() + 1));
            }
            continue;
        }
        if let (true, Some(key)) = (in_table, key)
            && let Some(rest) = trimmed.strip_prefix(key)
            && rest.trim_start().starts_with('=')
        {
            return Some((n + 1, line.len() - trimmed.len() + 1));
        }
    }
    header
}

/// An error about the table `[groups.NAME]`, at its header.
pub(crate) fn group_error(file: &Path, text: &str, group: &str, message: &str) -> ConfigFileError {
    let header = [format!("[groups.{group}]"), format!("[groups.\"{group}\"]")];
    let line = text
        .lines()
        .position(|l| header.iter().any(|h| l.trim() == h))
        .map_or(0, |n| n + 1);
    ConfigFileError {
        file: file.to_owned(),
        line,
        column: usize::from(line > 0),
        key: Some(format!("groups.{group}")),
        message: message.to_owned(),
    }
}
