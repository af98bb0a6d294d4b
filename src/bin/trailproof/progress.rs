//! What the command shows while it runs, on stderr: a bar on a terminal, a
//! plain line every few seconds otherwise (`--progress always`, for CI
//! logs), and with `--verbose` every file proved valid.

use std::io::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use trailproof::progress::{Phase, Progress, Proved};
use trailproof::text::escape_control;

/// How often the plain progress line is printed.
const PLAIN_EVERY: Duration = Duration::from_secs(5);

/// Counts a phase's work.
#[derive(Default)]
struct Counts {
    files_done: AtomicU64,
    files_total: AtomicU64,
    bytes_done: AtomicU64,
    bytes_total: AtomicU64,
}

impl Counts {
    fn start(&self, files: u64, bytes: u64) {
        self.files_done.store(0, Ordering::Relaxed);
        self.files_total.store(files, Ordering::Relaxed);
        self.bytes_done.store(0, Ordering::Relaxed);
        self.bytes_total.store(bytes, Ordering::Relaxed);
    }

    fn advance(&self, bytes: u64) {
        self.files_done.fetch_add(1, Ordering::Relaxed);
        self.bytes_done.fetch_add(bytes, Ordering::Relaxed);
    }
}

/// Where the run's progress goes.
pub(crate) struct Feedback {
    bar: Option<Bar>,
    plain: Option<Plain>,
    verbose: Option<Mutex<Box<dyn std::io::Write + Send>>>,
}

/// How the progress is shown.
pub(crate) struct Choice {
    /// The indicatif bar (stderr is a terminal).
    pub(crate) bar: bool,
    /// The plain line every few seconds.
    pub(crate) plain: bool,
    /// Where the `--verbose` lines go, if asked for.
    pub(crate) verbose: Option<Stream>,
}

/// A standard output stream.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stream {
    /// stdout (before the human report, like `validate-logs`).
    Stdout,
    /// stderr (when stdout carries a machine-readable report).
    Stderr,
}

impl Feedback {
    /// Progress as chosen.
    pub(crate) fn new(choice: &Choice) -> Feedback {
        Feedback {
            bar: choice.bar.then(Bar::new),
            plain: choice.plain.then(Plain::start),
            verbose: choice.verbose.map(|stream| {
                let sink: Box<dyn std::io::Write + Send> = match stream {
                    Stream::Stdout => Box::new(std::io::stdout()),
                    Stream::Stderr => Box::new(std::io::stderr()),
                };
                Mutex::new(sink)
            }),
        }
    }

    /// Clears the bar and stops the plain line, printing its last state.
    pub(crate) fn finish(self) {
        if let Some(bar) = &self.bar {
            bar.bar.finish_and_clear();
        }
        if let Some(plain) = self.plain {
            plain.stop();
        }
    }
}

impl Progress for Feedback {
    fn start(&self, phase: Phase, files: u64, bytes: u64) {
        if let Some(bar) = &self.bar {
            bar.start(phase, files, bytes);
        }
        if let Some(plain) = &self.plain {
            plain.phase_start(phase, files, bytes);
        }
    }

    fn advance(&self, bytes: u64) {
        if let Some(bar) = &self.bar {
            bar.advance(bytes);
        }
        if let Some(plain) = &self.plain {
            plain.shared.counts.advance(bytes);
        }
    }

    fn wants_proved(&self) -> bool {
        self.verbose.is_some()
    }

    fn proved(&self, evidence: Proved, url: &str) {
        if let Some(sink) = &self.verbose
            && let Ok(mut sink) = sink.lock()
        {
            let _ = writeln!(sink, "{}\t{}\tvalid", evidence.label(), escape_control(url));
        }
    }
}

/// State the plain printer shares with the run.
struct Shared {
    counts: Counts,
    phase: Mutex<Option<Phase>>,
    started: std::time::Instant,
}

impl Shared {
    /// `trailproof: log files 1200/5000 files, 12.0/48.0 MiB (25%), 14 s`.
    fn line(&self) -> Option<String> {
        let phase = (*self.phase.lock().ok()?)?;
        let c = &self.counts;
        let (files, total) = (
            c.files_done.load(Ordering::Relaxed),
            c.files_total.load(Ordering::Relaxed),
        );
        let (bytes, bytes_total) = (
            c.bytes_done.load(Ordering::Relaxed),
            c.bytes_total.load(Ordering::Relaxed),
        );
        let mib = |b: u64| b as f64 / f64::from(1u32 << 20);
        let mut line = format!("trailproof: {} {files}/{total} files", phase.name());
        if let Some(percent) = bytes.saturating_mul(100).checked_div(bytes_total) {
            line.push_str(&format!(
                ", {:.1}/{:.1} MiB ({percent}%)",
                mib(bytes),
                mib(bytes_total)
            ));
        }
        line.push_str(&format!(", {} s", self.started.elapsed().as_secs()));
        Some(line)
    }
}

/// A plain progress line on stderr when a phase starts and every
/// [`PLAIN_EVERY`] (no terminal codes: CI logs keep every line).
struct Plain {
    shared: Arc<Shared>,
    stop: std::sync::mpsc::Sender<()>,
    printer: std::thread::JoinHandle<()>,
}

impl Plain {
    fn start() -> Plain {
        let shared = Arc::new(Shared {
            counts: Counts::default(),
            phase: Mutex::new(None),
            started: std::time::Instant::now(),
        });
        let (stop, stopped) = std::sync::mpsc::channel::<()>();
        let theirs = Arc::clone(&shared);
        let printer = std::thread::spawn(move || {
            while let Err(std::sync::mpsc::RecvTimeoutError::Timeout) =
                stopped.recv_timeout(PLAIN_EVERY)
            {
                if let Some(line) = theirs.line() {
                    eprintln!("{line}");
                }
            }
        });
        Plain {
            shared,
            stop,
            printer,
        }
    }

    fn phase_start(&self, phase: Phase, files: u64, bytes: u64) {
        self.shared.counts.start(files, bytes);
        if let Ok(mut current) = self.shared.phase.lock() {
            *current = Some(phase);
        }
        if let Some(line) = self.shared.line() {
            eprintln!("{line}");
        }
    }

    fn stop(self) {
        let _ = self.stop.send(());
        let _ = self.printer.join();
        if let Some(line) = self.shared.line() {
            eprintln!("{line} (done)");
        }
    }
}

/// A progress bar on stderr: phase, files, bytes, rate and ETA.
struct Bar {
    bar: indicatif::ProgressBar,
    counts: Arc<Counts>,
}

impl Bar {
    fn new() -> Bar {
        let counts = Arc::new(Counts::default());
        let theirs = Arc::clone(&counts);
        let style = indicatif::ProgressStyle::with_template(
            "{msg:>9} [{bar:30}] {files} files  {bytes}/{total_bytes}  {bytes_per_sec}  ETA {eta}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        .with_key(
            "files",
            move |_: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                let _ = write!(
                    w,
                    "{}/{}",
                    theirs.files_done.load(Ordering::Relaxed),
                    theirs.files_total.load(Ordering::Relaxed)
                );
            },
        )
        .progress_chars("=> ");
        let bar = indicatif::ProgressBar::new(0).with_style(style);
        bar.enable_steady_tick(Duration::from_millis(200));
        Bar { bar, counts }
    }

    fn start(&self, phase: Phase, files: u64, bytes: u64) {
        self.counts.start(files, bytes);
        self.bar.set_length(bytes);
        self.bar.set_position(0);
        self.bar.reset_eta();
        self.bar.set_message(phase.name());
    }

    fn advance(&self, bytes: u64) {
        self.counts.advance(bytes);
        self.bar.inc(bytes);
    }
}
