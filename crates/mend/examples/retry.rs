//! Run with: cargo run --example retry
//!
//! A flaky server on a real local socket, called through retry, a circuit
//! breaker and a timeout. The server drops the first three connections,
//! hangs on the fourth and answers from then on. Watch the retry back off,
//! the breaker open and turn away attempts (the retry waits out what the
//! rejection says), a trial call time out and reopen it, and the next trial
//! close it. Exits by itself after a few seconds.

use std::future::Future;
use std::io::{self, BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use mend::Error;
use mend::breaker::CircuitBreaker;
use mend::compose::{AsyncPolicy, stack};
use mend::limit::Timeout;
use mend::observe::Event;
use mend::retry::{Backoff, Jitter, Retry};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt};

/// Accepts connections forever: drops the first three, holds the fourth
/// open without answering, answers the rest.
fn flaky_server() -> io::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    std::thread::spawn(move || {
        let mut hung: Vec<TcpStream> = Vec::new();
        for (n, conn) in listener.incoming().enumerate() {
            let Ok(conn) = conn else { continue };
            match n {
                0..=2 => drop(conn),  // the client reads end-of-file
                3 => hung.push(conn), // never answered
                _ => {
                    let mut line = String::new();
                    let mut reader = BufReader::new(&conn);
                    if reader.read_line(&mut line).is_ok() {
                        let _ = (&conn).write_all(format!("ok: {}", line).as_bytes());
                    }
                }
            }
        }
    });
    Ok(addr)
}

/// One request: connect, send a line, read the answer.
async fn fetch(addr: SocketAddr) -> io::Result<String> {
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    stream.write_all(b"price of lamp\n").await?;
    let mut answer = String::new();
    tokio::io::BufReader::new(stream)
        .read_line(&mut answer)
        .await?;
    if answer.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::ConnectionReset,
            "closed without an answer",
        ));
    }
    Ok(answer.trim_end().to_owned())
}

/// The innermost-but-one layer: prints how each attempt ended, including
/// the ones a layer refused before the server was called.
struct PrintAttempts(AtomicU32);

/// A layer is a handle to a policy: its future holds the handle (here a
/// borrow), never a borrow of the stack.
impl<'a, T: std::fmt::Debug, E: std::fmt::Display> AsyncPolicy<T, E> for &'a PrintAttempts {
    fn run_async<F, Fut>(
        &self,
        f: F,
    ) -> impl Future<Output = Result<T, Error<E>>> + use<'a, T, E, F, Fut>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, Error<E>>>,
    {
        let printer: &'a PrintAttempts = self;
        async move {
            let n = printer.0.fetch_add(1, Ordering::Relaxed) + 1;
            let result = f().await;
            match &result {
                Ok(v) => println!("attempt {n}: success: {v:?}"),
                Err(Error::Rejected(r)) => println!("attempt {n}: rejected, not sent: {r}"),
                Err(e) => println!("attempt {n}: failed: {e}"),
            }
            result
        }
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let addr = flaky_server()?;
    println!("flaky server on {addr}");

    let print = |event: &Event| println!("  event: {event}");
    let retry = Retry::builder("prices")
        .max_attempts(10)
        .backoff(Backoff::exponential(Duration::from_millis(100), 2.0))
        .jitter(Jitter::Equal)
        .deadline(Duration::from_secs(10))
        .on_event(print)
        .without_logging()
        .build()?;
    let breaker = CircuitBreaker::builder("prices")
        .consecutive_failures(3)
        .wait_in_open(Duration::from_secs(1))
        .half_open_calls(1)
        .on_event(print)
        .without_logging()
        .build()?;
    let timeout = Timeout::builder("timeout", Duration::from_millis(300)).build()?;
    let printer = PrintAttempts(AtomicU32::new(0));

    // Retry around: print, breaker, timeout, the call.
    let policies = stack(&printer).then(&breaker).then(&timeout);
    let answer = retry.call_through_async(&policies, || fetch(addr)).await?;
    println!("recovered: {answer}");

    let again = retry.call_through_async(&policies, || fetch(addr)).await?;
    println!("and again, first time: {again}");
    Ok(())
}
