//! `mend logs NAME [-f]`: the last lines of a service's output files in the
//! state directory and, with `-f`, what it writes next. The files are
//! rotated by copy and truncate (`mend::process::LogFiles`), so a file that
//! shrinks was rotated: reading starts over at its beginning.

#![allow(
    clippy::disallowed_methods,
    clippy::disallowed_types,
    reason = "a service's output files, not checkpoint I/O"
)]

use std::fs::File;
use std::io::{Read as _, Seek as _, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use crate::config::Config;

/// How often `-f` looks for more.
const POLL: Duration = Duration::from_millis(100);

pub(crate) fn run(
    service: &str,
    config: &Path,
    state_dir: Option<&Path>,
    lines: usize,
    follow: bool,
) -> ExitCode {
    let config = match Config::load(config, state_dir) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    if !config.services.iter().any(|s| s.name() == service) {
        eprintln!(
            "error: no service named `{service}` in {}",
            config.file.display()
        );
        return ExitCode::FAILURE;
    }
    let mut streams: Vec<Stream> = ["out", "err"]
        .iter()
        .map(|suffix| {
            let path = config
                .state_dir
                .join("logs")
                .join(format!("{service}.{suffix}"));
            Stream::new(path)
        })
        .collect();
    for stream in &mut streams {
        println!("==> {} <==", stream.path.display());
        let text = stream.read_new();
        let all: Vec<&str> = text.lines().collect();
        for line in &all[all.len().saturating_sub(lines)..] {
            println!("{line}");
        }
    }
    if !follow {
        return ExitCode::SUCCESS;
    }
    let mut last = streams.len() - 1;
    loop {
        for (i, stream) in streams.iter_mut().enumerate() {
            let text = stream.read_new();
            if text.is_empty() {
                continue;
            }
            if i != last {
                println!("\n==> {} <==", stream.path.display());
                last = i;
            }
            print!("{text}");
        }
        use std::io::Write as _;
        let _ = std::io::stdout().flush();
        #[allow(
            clippy::disallowed_methods,
            reason = "a CLI polling a file, not a policy"
        )]
        std::thread::sleep(POLL);
    }
}

/// One output file, read up to `offset`; complete lines only.
struct Stream {
    path: PathBuf,
    offset: u64,
    partial: Vec<u8>,
}

impl Stream {
    fn new(path: PathBuf) -> Self {
        Stream {
            path,
            offset: 0,
            partial: Vec::new(),
        }
    }

    /// The complete lines written since the last read (from the start
    /// again when the file shrank: it was rotated).
    fn read_new(&mut self) -> String {
        let Ok(mut file) = File::open(&self.path) else {
            return String::new();
        };
        let len = file.metadata().map_or(0, |m| m.len());
        if len < self.offset {
            self.offset = 0;
            self.partial.clear();
        }
        let mut bytes = std::mem::take(&mut self.partial);
        if file.seek(SeekFrom::Start(self.offset)).is_ok()
            && let Ok(n) = file.read_to_end(&mut bytes)
        {
            self.offset += n as u64;
        }
        let complete = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        self.partial = bytes.split_off(complete);
        String::from_utf8_lossy(&bytes).into_owned()
    }
}
