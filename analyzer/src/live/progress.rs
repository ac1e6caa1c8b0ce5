//! The status line while listing: `reading the cluster: 5/12 resources, 1,500 objects`, on a
//! terminal only ([`StatusLine`]), erased when done so it never mixes with notes or output.

use crate::status::StatusLine;
use std::sync::Mutex;

pub(super) struct Progress {
    line: StatusLine,
    counts: Mutex<Counts>,
}

#[derive(Default)]
struct Counts {
    resources_done: usize,
    resources: usize,
    objects: usize,
}

impl Counts {
    fn text(&self) -> String {
        if self.resources == 0 {
            return "reading the cluster".to_string();
        }
        format!(
            "reading the cluster: {}/{} resources, {} objects",
            self.resources_done,
            self.resources,
            crate::render::text::thousands(self.objects as u64)
        )
    }
}

impl Progress {
    /// Draws only when `wanted` and stderr is a terminal.
    pub(super) fn new(wanted: bool) -> Progress {
        let line = StatusLine::new(wanted);
        line.phase(Counts::default().text());
        Progress { line, counts: Mutex::default() }
    }

    pub(super) fn set_total(&self, resources: usize) {
        self.update(|c| c.resources = resources);
    }

    pub(super) fn page(&self, objects: usize) {
        self.update(|c| c.objects += objects);
    }

    pub(super) fn resource_done(&self) {
        self.update(|c| c.resources_done += 1);
    }

    fn update(&self, change: impl FnOnce(&mut Counts)) {
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        change(&mut counts);
        self.line.update(counts.text());
    }

    /// Erases the line.
    pub(super) fn finish(&self) {
        self.line.finish();
    }
}

#[cfg(test)]
mod tests {
    use super::Counts;

    #[test]
    fn the_line_counts_resources_and_objects_with_separators() {
        assert_eq!(Counts::default().text(), "reading the cluster");
        let counts = Counts { resources_done: 5, resources: 12, objects: 1500 };
        assert_eq!(counts.text(), "reading the cluster: 5/12 resources, 1,500 objects");
    }
}
