//! The one thread fan-out of the workspace: split `0..len` into contiguous ranges, one per
//! thread (at most 8), run them in a scope and return the results in range order.

use std::ops::Range;

/// Runs `work` on contiguous parts of `0..len`, one per thread, and returns their results in
/// order. With one core (or one item) it runs on the calling thread.
pub fn map_ranges<T: Send>(len: usize, work: impl Fn(Range<usize>) -> T + Sync) -> Vec<T> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, 8).min(len.max(1));
    if threads <= 1 {
        return vec![work(0..len)];
    }
    let chunk = len.div_ceil(threads);
    std::thread::scope(|scope| {
        let work = &work;
        let handles: Vec<_> =
            (0..len).step_by(chunk).map(|start| scope.spawn(move || work(start..(start + chunk).min(len)))).collect();
        handles.into_iter().map(|h| h.join().expect("worker thread panicked")).collect()
    })
}

/// `items.iter().map(f)`, spread over threads; the results keep the order of `items`.
pub fn map<I: Sync, T: Send>(items: &[I], f: impl Fn(&I) -> T + Sync) -> Vec<T> {
    map_ranges(items.len(), |range| items[range].iter().map(&f).collect::<Vec<T>>()).into_iter().flatten().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_keep_the_order_of_the_input() {
        let items: Vec<u64> = (0..1000).collect();
        assert_eq!(map(&items, |x| x * 2), items.iter().map(|x| x * 2).collect::<Vec<_>>());
        assert_eq!(map(&[] as &[u64], |x| *x), Vec::<u64>::new());
        let parts = map_ranges(10, |r| r.len());
        assert_eq!(parts.iter().sum::<usize>(), 10);
    }
}
