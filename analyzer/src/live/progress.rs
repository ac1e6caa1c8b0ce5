//! One status line on stderr while listing, only on a terminal: `reading the cluster: 5/12
//! resources, 1,500 objects`. Erased when done, so it never mixes with notes or output.
//! (A dependency such as indicatif would be more than this one line needs.)

use std::io::{IsTerminal, Write};
use std::sync::Mutex;

pub(super) struct Progress {
    state: Option<Mutex<State>>,
}

struct State {
    resources_done: usize,
    resources: usize,
    objects: usize,
    drawn: bool,
}

fn thousands(n: usize) -> String {
    crate::render::text::thousands(n as u64)
}

impl Progress {
    /// Draws only when `wanted` and stderr is a terminal.
    pub(super) fn new(wanted: bool) -> Progress {
        let on = wanted && std::io::stderr().is_terminal();
        Progress { state: on.then(|| Mutex::new(State { resources_done: 0, resources: 0, objects: 0, drawn: false })) }
    }

    pub(super) fn set_total(&self, resources: usize) {
        self.update(|s| s.resources = resources);
    }

    pub(super) fn page(&self, objects: usize) {
        self.update(|s| s.objects += objects);
    }

    pub(super) fn resource_done(&self) {
        self.update(|s| s.resources_done += 1);
    }

    fn update(&self, change: impl FnOnce(&mut State)) {
        let Some(state) = &self.state else { return };
        let mut s = state.lock().unwrap_or_else(|e| e.into_inner());
        change(&mut s);
        let line = if s.resources == 0 {
            "reading the cluster…".to_string()
        } else {
            format!(
                "reading the cluster: {}/{} resources, {} objects",
                s.resources_done,
                s.resources,
                thousands(s.objects)
            )
        };
        let _ = write!(std::io::stderr(), "\r\x1b[2K{line}");
        s.drawn = true;
    }

    /// Erases the line.
    pub(super) fn finish(&self) {
        let Some(state) = &self.state else { return };
        let mut s = state.lock().unwrap_or_else(|e| e.into_inner());
        if s.drawn {
            let _ = write!(std::io::stderr(), "\r\x1b[2K");
            s.drawn = false;
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn thousands_separators() {
        assert_eq!(super::thousands(0), "0");
        assert_eq!(super::thousands(999), "999");
        assert_eq!(super::thousands(1500), "1,500");
        assert_eq!(super::thousands(1234567), "1,234,567");
    }
}
