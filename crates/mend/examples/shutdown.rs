//! Run with: cargo run --example shutdown --features supervise
//! (then press Ctrl-C; press it twice to force). With `-- --demo` it sends
//! itself the Ctrl-C after two seconds.
//!
//! A small server shutting down cleanly: a TCP listener on 127.0.0.1 whose
//! connections are tracked tasks, a supervised worker, and cleanup hooks.
//! On SIGINT or SIGTERM one token is cancelled: the listener stops
//! accepting, open connections finish their line, the supervisor stops its
//! worker (after its grace), then the hooks run in reverse order of
//! registration, each under its own timeout, and the report is printed. A
//! second Ctrl-C while the hooks run returns `Forced`; this binary then
//! exits with status 130 (the library never exits the process itself).

use std::time::Duration;

use mend::cleanup::Shutdown;
use mend::supervise::{ChildSpec, Supervisor};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let shutdown = Shutdown::builder()
        .drain_timeout(Duration::from_secs(5))
        .build()?;
    shutdown.listen_for_signals()?;

    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (token, tracker) = (shutdown.token(), shutdown.tracker().clone());
    shutdown.tracker().spawn(async move {
        loop {
            tokio::select! {
                () = token.cancelled() => break, // stop accepting
                accepted = listener.accept() => {
                    if let Ok((stream, _)) = accepted {
                        tracker.spawn(serve(stream, token.clone()));
                    }
                }
            }
        }
        println!("listener: closed");
    });

    let _worker = shutdown.supervise(
        Supervisor::builder("jobs")
            .without_logging()
            .child(ChildSpec::new("worker", |ctx| async move {
                let mut done = 0;
                loop {
                    tokio::select! {
                        () = ctx.cancelled() => break,
                        () = tokio::time::sleep(Duration::from_millis(300)) => done += 1,
                    }
                }
                println!("worker: stopped after {done} jobs");
                Ok::<(), std::io::Error>(())
            }))
            .build()?,
    );

    shutdown.on_shutdown("close the database", Duration::from_secs(2), || async {
        println!("hook: database closed");
    });
    shutdown.on_shutdown("flush metrics", Duration::from_secs(2), || async {
        tokio::time::sleep(Duration::from_millis(500)).await;
        println!("hook: metrics flushed");
        Ok::<(), std::io::Error>(())
    });

    // A client that keeps a connection open, to show it finishing cleanly.
    tokio::spawn(async move {
        if let Ok(mut stream) = TcpStream::connect(addr).await {
            let _ = stream.write_all(b"hello\n").await;
            let mut reply = String::new();
            let _ = BufReader::new(&mut stream).read_line(&mut reply).await;
            print!("client: got {reply}");
        }
    });

    println!("serving on {addr}; press Ctrl-C to stop (twice to force)");
    if std::env::args().any(|a| a == "--demo") {
        send_myself_sigint_in(Duration::from_secs(2));
    }
    match shutdown.wait().await {
        Ok(report) => {
            print!("{report}");
            Ok(())
        }
        Err(forced) => {
            eprintln!("{forced}: exiting now");
            std::process::exit(130);
        }
    }
}

/// Answers each line with its upper case, until asked to stop; a line in
/// progress is finished first.
async fn serve(stream: TcpStream, stop: CancellationToken) {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read).lines();
    loop {
        tokio::select! {
            () = stop.cancelled() => break,
            line = lines.next_line() => match line {
                Ok(Some(line)) => {
                    let _ = write.write_all(format!("{}\n", line.to_uppercase()).as_bytes()).await;
                }
                _ => break,
            },
        }
    }
    println!("connection: closed");
}

/// The demo's Ctrl-C, sent with `kill` (the example uses no `unsafe`).
fn send_myself_sigint_in(after: Duration) {
    let pid = std::process::id().to_string();
    tokio::spawn(async move {
        tokio::time::sleep(after).await;
        println!("(demo: sending SIGINT)");
        let _ = tokio::task::spawn_blocking(move || {
            std::process::Command::new("kill")
                .args(["-INT", &pid])
                .status()
        })
        .await;
    });
}
