//! The `[api]` table: the control API on a TCP address besides the Unix
//! socket, and the token that guards it.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::error::KeyError;

/// The `[api]` table, as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ApiConfig {
    listen: Option<SocketAddr>,
    token_file: Option<PathBuf>,
}

/// The API on TCP, checked.
#[derive(Debug, Clone)]
pub(crate) struct TcpApi {
    /// Where it listens.
    pub(crate) listen: SocketAddr,
    /// The token every request that changes anything must carry; `None`:
    /// changes are refused on TCP (reads are served).
    pub(crate) token: Option<String>,
}

impl ApiConfig {
    /// Checks the table: a non-loopback address needs a token, and the
    /// token file must hold one.
    pub(super) fn check(self, base: &Path) -> Result<Option<TcpApi>, KeyError> {
        let token = match self.token_file {
            Some(file) => Some(read_token(&base.join(file))?),
            None => None,
        };
        match (self.listen, token) {
            (None, Some(_)) => Err(KeyError::new(
                "token_file",
                "a token needs an address to guard: set `listen`",
            )),
            (None, None) => Ok(None),
            (Some(listen), None) if !listen.ip().is_loopback() => Err(KeyError::new(
                "listen",
                format!(
                    "{listen} is reachable from other machines: a non-loopback address needs \
                     `token_file` (or listen on 127.0.0.1)"
                ),
            )),
            (Some(listen), token) => Ok(Some(TcpApi { listen, token })),
        }
    }
}

/// The token in `file`: its first line, at least 16 characters.
fn read_token(file: &Path) -> Result<String, KeyError> {
    #[allow(
        clippy::disallowed_methods,
        reason = "the API's token file, not checkpoint I/O"
    )]
    let text = std::fs::read_to_string(file)
        .map_err(|e| KeyError::new("token_file", format!("cannot read {}: {e}", file.display())))?;
    let token = text.lines().next().unwrap_or_default().trim().to_owned();
    if token.len() < 16 {
        return Err(KeyError::new(
            "token_file",
            format!(
                "{} holds a token of {} characters: expected at least 16 (for example \
                 `openssl rand -hex 32`)",
                file.display(),
                token.len()
            ),
        ));
    }
    Ok(token)
}
