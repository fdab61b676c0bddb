//! Real SIGTERM and SIGINT, sent to a child process (this test binary run
//! again, selecting the ignored `signalled_program` test), never to this
//! one, where a signal would reach every test. Real time: the parent waits
//! for lines from the child with a generous deadline.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use mend::cleanup::Shutdown;
use rustix::process::{Pid, Signal, kill_process};

/// What the child does, by `MEND_SIGNALLED`: `clean` shuts down at the
/// first signal; `forced` has a hook that takes a minute, so a second
/// signal forces it.
#[test]
#[ignore = "run by the signal tests in a child process"]
fn signalled_program() {
    let mode = std::env::var("MEND_SIGNALLED").expect("run by the signal tests");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let shutdown = Shutdown::builder().build().unwrap();
        shutdown.listen_for_signals().unwrap();
        if mode == "forced" {
            shutdown.on_shutdown("slow", Duration::from_secs(60), || async {
                println!("child: hook running");
                tokio::time::sleep(Duration::from_secs(60)).await;
            });
        }
        shutdown.on_shutdown("quick", Duration::from_secs(5), || async {});
        println!("child: ready");
        match shutdown.wait().await {
            Ok(report) => println!(
                "child: report reason={} clean={} hooks={}",
                report.reason,
                report.is_clean(),
                report.hooks.len()
            ),
            Err(forced) => println!("child: forced by {}", forced.reason),
        }
    });
}

/// The child, and its stdout lines as they come.
struct Program {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Program {
    fn start(mode: &str) -> Program {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "cleanup::signals::signalled_program",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env("MEND_SIGNALLED", mode)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            // libtest may print its own words before ours on a line.
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(at) = line.find("child: ")
                    && tx.send(line[at..].to_owned()).is_err()
                {
                    return;
                }
            }
        });
        Program { child, lines }
    }

    /// The child's next line, within 10 s.
    fn line(&self) -> String {
        self.lines
            .recv_timeout(Duration::from_secs(10))
            .expect("a line from the child within 10 s")
    }

    fn signal(&self, signal: Signal) {
        let pid = Pid::from_raw(self.child.id() as i32).unwrap();
        kill_process(pid, signal).unwrap();
    }

    fn exits_cleanly(mut self) {
        let status = self.child.wait().unwrap();
        assert!(status.success(), "{status}");
    }
}

#[test]
fn sigterm_shuts_the_program_down_cleanly() {
    let program = Program::start("clean");
    assert_eq!(program.line(), "child: ready");
    program.signal(Signal::TERM);
    assert_eq!(
        program.line(),
        "child: report reason=SIGTERM clean=true hooks=1"
    );
    program.exits_cleanly();
}

#[test]
fn a_second_signal_during_the_shutdown_forces_it() {
    let program = Program::start("forced");
    assert_eq!(program.line(), "child: ready");
    program.signal(Signal::INT);
    assert_eq!(program.line(), "child: hook running");
    program.signal(Signal::INT);
    assert_eq!(program.line(), "child: forced by SIGINT");
    program.exits_cleanly();
}
