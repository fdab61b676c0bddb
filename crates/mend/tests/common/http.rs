//! A blocking HTTP/1.1 client for tests, over a fresh connection each
//! time (`Connection: close`): what a probe or a scraper sends. Shared by
//! the test binaries through `#[path]`.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// `METHOD path` with `body`; the status line's code, the head and the
/// body. Panics when the server cannot be reached or answers no HTTP.
pub(crate) fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: &str,
) -> (u16, String, String) {
    try_request(addr, method, path, body).unwrap_or_else(|e| panic!("{method} {path}: {e}"))
}

/// [`request`], with a failure to connect, send or read (a server that
/// died mid-request) as an error.
#[allow(dead_code, reason = "not every test binary calls it directly")]
pub(crate) fn try_request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: &str,
) -> std::io::Result<(u16, String, String)> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let invalid = |what: &str| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("{what}: {response:?}"),
        )
    };
    let (head, body) = response
        .split_once("\r\n\r\n")
        .ok_or_else(|| invalid("no HTTP response"))?;
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| invalid("no status line"))?;
    Ok((status, head.to_owned(), body.to_owned()))
}
