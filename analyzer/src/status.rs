//! One status line on stderr while a slow step runs, only on a terminal: what is being done and
//! for how long (`reading 2 files, 310 MB… 4.2s`). It shows after [`DELAY`], so quick runs never
//! see it, is redrawn by a ticker thread, and is erased before anything else goes to stderr.
//! (indicatif would bring a dependency tree for this one line.)

use std::io::{IsTerminal, Write};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long a phase runs before the line appears.
pub const DELAY: Duration = Duration::from_millis(400);
const TICK: Duration = Duration::from_millis(200);

type Sink = Box<dyn Write + Send>;

/// A status line; inert when stderr is not a terminal or progress is not wanted (`-q`).
pub struct StatusLine {
    shared: Option<Arc<Shared>>,
    ticker: Mutex<Option<JoinHandle<()>>>,
}

struct Shared {
    state: Mutex<State>,
    wake: Condvar,
    delay: Duration,
}

struct State {
    sink: Sink,
    /// Empty: nothing to show.
    text: String,
    started: Instant,
    drawn: bool,
    stopped: bool,
}

impl State {
    fn erase(&mut self) {
        if self.drawn {
            let _ = write!(self.sink, "\r\x1b[2K");
            let _ = self.sink.flush();
            self.drawn = false;
        }
    }

    fn draw(&mut self, delay: Duration) {
        let elapsed = self.started.elapsed();
        if self.text.is_empty() || elapsed < delay {
            return;
        }
        let _ = write!(self.sink, "\r\x1b[2K{}… {:.1}s", self.text, elapsed.as_secs_f64());
        let _ = self.sink.flush();
        self.drawn = true;
    }
}

impl StatusLine {
    /// Draws on stderr only when `wanted` and stderr is a terminal.
    pub fn new(wanted: bool) -> StatusLine {
        if wanted && std::io::stderr().is_terminal() {
            StatusLine::to(Box::new(std::io::stderr()), DELAY)
        } else {
            StatusLine { shared: None, ticker: Mutex::new(None) }
        }
    }

    /// Draws on `sink` once a phase has run for `delay`.
    pub fn to(sink: Sink, delay: Duration) -> StatusLine {
        let state = State { sink, text: String::new(), started: Instant::now(), drawn: false, stopped: false };
        let shared = Arc::new(Shared { state: Mutex::new(state), wake: Condvar::new(), delay });
        let ticking = Arc::clone(&shared);
        let ticker = std::thread::spawn(move || {
            let mut state = lock(&ticking.state);
            while !state.stopped {
                state.draw(ticking.delay);
                state = ticking.wake.wait_timeout(state, TICK).unwrap_or_else(|e| e.into_inner()).0;
            }
            state.erase();
        });
        StatusLine { shared: Some(shared), ticker: Mutex::new(Some(ticker)) }
    }

    /// A new phase: `text` from now on, its clock restarted.
    pub fn phase(&self, text: impl Into<String>) {
        self.with(|s| {
            s.text = text.into();
            s.started = Instant::now();
        });
    }

    /// The same phase, said anew (counts that grow): drawn at once when the line is showing.
    pub fn update(&self, text: impl Into<String>) {
        let delay = self.shared.as_ref().map_or(DELAY, |s| s.delay);
        self.with(|s| {
            s.text = text.into();
            if s.drawn {
                s.draw(delay);
            }
        });
    }

    /// Erases the line and shows nothing until the next [`phase`](Self::phase): call it before
    /// writing anything else on stderr.
    pub fn clear(&self) {
        self.with(|s| {
            s.text.clear();
            s.erase();
        });
    }

    /// Erases the line and stops the ticker.
    pub fn finish(&self) {
        self.with(|s| s.stopped = true);
        if let Some(shared) = &self.shared {
            shared.wake.notify_all();
        }
        if let Some(ticker) = lock(&self.ticker).take() {
            let _ = ticker.join();
        }
    }

    fn with(&self, change: impl FnOnce(&mut State)) {
        if let Some(shared) = &self.shared {
            change(&mut lock(&shared.state));
        }
    }
}

impl Drop for StatusLine {
    fn drop(&mut self) {
        self.finish();
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A sink the test reads back.
    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);

    impl Write for Shared {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            lock(&self.0).extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl Shared {
        fn text(&self) -> String {
            String::from_utf8(lock(&self.0).clone()).unwrap()
        }
    }

    #[test]
    fn a_slow_phase_is_shown_and_erased_when_done() {
        let sink = Shared::default();
        let line = StatusLine::to(Box::new(sink.clone()), Duration::ZERO);
        line.phase("reading 2 files");
        std::thread::sleep(TICK * 2);
        line.finish();
        let text = sink.text();
        assert!(text.starts_with("\r\x1b[2Kreading 2 files… "), "{text:?}");
        assert!(text.ends_with("\r\x1b[2K"), "erased at the end: {text:?}");
    }

    #[test]
    fn a_quick_phase_is_never_shown() {
        let sink = Shared::default();
        let line = StatusLine::to(Box::new(sink.clone()), Duration::from_secs(3600));
        line.phase("analyzing");
        std::thread::sleep(TICK * 2);
        line.clear();
        line.finish();
        assert_eq!(sink.text(), "");
    }

    #[test]
    fn clear_erases_and_shows_nothing_until_the_next_phase() {
        let sink = Shared::default();
        let line = StatusLine::to(Box::new(sink.clone()), Duration::ZERO);
        line.phase("reading");
        std::thread::sleep(TICK * 2);
        line.clear();
        let after_clear = sink.text().len();
        assert!(sink.text().ends_with("\r\x1b[2K"));
        std::thread::sleep(TICK * 2);
        assert_eq!(sink.text().len(), after_clear, "nothing drawn while cleared");
        line.finish();
    }
}
