//! Environment files (systemd's `EnvironmentFile=`): `KEY=VALUE` lines;
//! blank lines and lines starting with `#` or `;` are skipped; an
//! `export ` prefix is allowed; a value in single or double quotes loses
//! them (no escapes, no variable expansion).

use std::path::Path;

/// The variables of the file at `path`, in order.
pub(crate) fn read(path: &Path) -> Result<Vec<(String, String)>, String> {
    #[allow(
        clippy::disallowed_methods,
        reason = "a config input, not checkpoint I/O"
    )]
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read environment file {}: {e}", path.display()))?;
    parse(&text).map_err(|(line, why)| format!("{}:{line}: {why}", path.display()))
}

/// Parses the text of an environment file; on error, the line and why.
pub(crate) fn parse(text: &str) -> Result<Vec<(String, String)>, (usize, String)> {
    let mut vars = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line);
        let Some((key, value)) = line.split_once('=') else {
            return Err((n + 1, format!("expected KEY=VALUE, found {line:?}")));
        };
        let key = key.trim();
        if key.is_empty()
            || key.starts_with(|c: char| c.is_ascii_digit())
            || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return Err((n + 1, format!("{key:?} is not a variable name")));
        }
        let value = value.trim();
        let unquoted = [('"', '"'), ('\'', '\'')]
            .iter()
            .find_map(|&(open, close)| value.strip_prefix(open)?.strip_suffix(close))
            .unwrap_or(value);
        vars.push((key.to_owned(), unquoted.to_owned()));
    }
    Ok(vars)
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn lines_comments_quotes_and_export() {
        let text = "# comment\n; also\n\nA=1\nexport B = \"two words\"\nC='x=y'\nD=\n";
        assert_eq!(
            parse(text).unwrap(),
            [("A", "1"), ("B", "two words"), ("C", "x=y"), ("D", "")]
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
        );
        assert_eq!(parse("A=1\nnonsense\n").unwrap_err().0, 2);
        assert_eq!(parse("1A=x").unwrap_err().0, 1);
    }
}
