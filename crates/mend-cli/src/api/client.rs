//! The API's client, for the CLI: one HTTP/1 request over the daemon's
//! Unix socket, with errors that say what is wrong: no daemon, a socket
//! that belongs to someone else, something that is not mend, or a mend of
//! another version.

use std::io::ErrorKind;
use std::os::unix::fs::{FileTypeExt as _, MetadataExt as _};
use std::path::Path;

use anyhow::{Context as _, bail};
use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper::{Method, Request};
use hyper_util::rt::TokioIo;

use super::VERSION_HEADER;

/// Sends `method path` to the daemon at `socket`; the status and body.
pub(crate) async fn request(
    socket: &Path,
    method: Method,
    path: &str,
) -> anyhow::Result<(u16, String)> {
    check_socket(socket)?;
    let stream = match tokio::net::UnixStream::connect(socket).await {
        Ok(stream) => stream,
        Err(e) if e.kind() == ErrorKind::ConnectionRefused => bail!(
            "no mend answers at {}: the socket is left from a mend that ended without \
             removing it (start it again with `mend run`)",
            socket.display()
        ),
        Err(e) => {
            return Err(e).with_context(|| format!("connecting to mend at {}", socket.display()));
        }
    };
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .with_context(|| format!("talking HTTP to {}", socket.display()))?;
    tokio::spawn(connection);
    let request = Request::builder()
        .method(method)
        .uri(path)
        .header("host", "mend")
        .body(Empty::<Bytes>::new())?;
    let response = sender
        .send_request(request)
        .await
        .with_context(|| format!("{} did not answer as mend's API", socket.display()))?;
    let ours = env!("CARGO_PKG_VERSION");
    match response
        .headers()
        .get(VERSION_HEADER)
        .and_then(|v| v.to_str().ok())
    {
        Some(version) if version == ours => {}
        Some(version) => bail!(
            "the mend at {} is version {version}, this command is {ours}: use the `mend` \
             binary of the running daemon (or restart the daemon with this one)",
            socket.display()
        ),
        None => bail!(
            "{} answers, but not as mend (no `{VERSION_HEADER}` header): is another program \
             using this state directory?",
            socket.display()
        ),
    }
    let status = response.status().as_u16();
    let body = response.into_body().collect().await?.to_bytes();
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
}

/// Refuses, with a clear message, a socket that is missing, not a socket,
/// or owned by another user than this one (root may use any).
fn check_socket(socket: &Path) -> anyhow::Result<()> {
    #[allow(
        clippy::disallowed_methods,
        reason = "the daemon's socket, not a checkpoint"
    )]
    let meta = match std::fs::metadata(socket) {
        Ok(meta) => meta,
        Err(e) if e.kind() == ErrorKind::NotFound => bail!(
            "no mend is running here: no socket at {} (start one with `mend run`, or give \
             the config and --state-dir it runs with)",
            socket.display()
        ),
        Err(e) => return Err(e).with_context(|| format!("looking at {}", socket.display())),
    };
    if !meta.file_type().is_socket() {
        bail!(
            "{} is not a socket: is another program using this state directory?",
            socket.display()
        );
    }
    let me = rustix::process::geteuid();
    if !me.is_root() && meta.uid() != me.as_raw() {
        bail!(
            "{} belongs to uid {}, and only its owner may use it (mode 0600): run this as \
             that user",
            socket.display(),
            meta.uid()
        );
    }
    Ok(())
}
