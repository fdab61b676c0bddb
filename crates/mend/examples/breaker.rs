//! Run with: cargo run --example breaker
//!
//! A circuit breaker in front of a real dependency: a TCP server on
//! 127.0.0.1 that answers `pong`, fails for two seconds, then recovers. The
//! client calls it every 50 ms through a breaker and prints one character per
//! call (`.` success, `x` failure, `-` rejected without calling) and every
//! transition as it happens: closed -> open when failures pile up, half-open
//! trials after the wait, open again (with a longer wait) while the server is
//! still down, and closed once it answers again.

use std::io::{self, BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::time::Duration;

use mend::Error;
use mend::breaker::CircuitBreaker;
use mend::clock::{Clock, SystemClock};
use mend::observe::Event;

/// A line server: `pong` while healthy, `error` while not.
fn start_server(healthy: Arc<AtomicBool>) -> io::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(&stream);
            let mut line = String::new();
            if reader.read_line(&mut line).is_ok() {
                let reply = if healthy.load(Ordering::Relaxed) {
                    "pong\n"
                } else {
                    "error\n"
                };
                let _ = (&stream).write_all(reply.as_bytes());
            }
        }
    });
    Ok(addr)
}

/// One request to the dependency.
fn ping(addr: SocketAddr) -> io::Result<()> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(1))?;
    stream.set_read_timeout(Some(Duration::from_secs(1)))?;
    stream.write_all(b"ping\n")?;
    let mut reply = String::new();
    BufReader::new(stream).read_line(&mut reply)?;
    match reply.trim() {
        "pong" => Ok(()),
        other => Err(io::Error::other(format!("server said {other:?}"))),
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let healthy = Arc::new(AtomicBool::new(true));
    let addr = start_server(healthy.clone())?;
    let clock = SystemClock;
    let start = clock.precise();
    // Events arrive inside `call`; print them after the call's own mark.
    let (events, transitions) = mpsc::channel::<Arc<Event>>();

    let breaker = CircuitBreaker::builder("pong-server")
        .count_window(10)
        .minimum_calls(5)
        .failure_rate_threshold(50.0)
        .wait_in_open_growing(Duration::from_millis(400), 2.0, Duration::from_secs(2))
        .half_open_calls(2)
        .without_logging()
        .on_event(move |event: &Event| {
            let _ = events.send(event.to_arc());
        })
        .build()?;

    println!("calling {addr} every 50 ms; the server fails from 1 s to 3 s");
    for tick in 0..100u32 {
        let at = Duration::from_millis(u64::from(tick) * 50);
        healthy.store(
            !(Duration::from_secs(1)..Duration::from_secs(3)).contains(&at),
            Ordering::Relaxed,
        );
        let mark = match breaker.call(|| ping(addr)) {
            Ok(()) => '.',
            Err(Error::Inner(_)) => 'x',
            Err(_) => '-',
        };
        print!("{mark}");
        for event in transitions.try_iter() {
            let at = clock.precise() - start;
            print!("\n[{:>5} ms] {event}\n", at.as_millis());
        }
        io::stdout().flush()?;
        #[allow(clippy::disallowed_methods)] // an example paces its calls in real time
        std::thread::sleep(Duration::from_millis(50));
    }
    let metrics = breaker.metrics();
    println!(
        "\nfinal state {}; {} calls were rejected without touching the server",
        metrics.state, metrics.not_permitted_calls
    );
    Ok(())
}
