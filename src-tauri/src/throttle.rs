//! Rate limiting of progress events. A draft's token events each carry the whole text so far; one
//! per token floods the webview with a fast model, so the shell sends at most one per interval,
//! always the newest.

use std::time::{Duration, Instant};

/// Decides, for a stream of progress states, which to emit now and which to hold. The first state
/// is due at once, later ones at most once per `interval`; a held state is replaced by each newer
/// one. The caller emits whatever [`offer`](Self::offer) or [`take_due`](Self::take_due) returns,
/// waits for the next state no later than [`deadline`](Self::deadline) (so a held state does not
/// wait for the next one), and emits what [`flush`](Self::flush) returns before its final event.
#[derive(Debug)]
pub struct Throttle<T> {
    interval: Duration,
    last_emit: Option<Instant>,
    held: Option<T>,
}

impl<T> Throttle<T> {
    pub fn new(interval: Duration) -> Self {
        Self {
            interval,
            last_emit: None,
            held: None,
        }
    }

    /// A new state at `now`: returned when it is due, else held in place of any older one.
    pub fn offer(&mut self, state: T, now: Instant) -> Option<T> {
        self.held = Some(state);
        self.take_due(now)
    }

    /// The held state, when it is due at `now`.
    pub fn take_due(&mut self, now: Instant) -> Option<T> {
        let due = self
            .last_emit
            .is_none_or(|last| now.saturating_duration_since(last) >= self.interval);
        if !due {
            return None;
        }
        let state = self.held.take()?;
        self.last_emit = Some(now);
        Some(state)
    }

    /// When the held state falls due; `None` when nothing is held. (A state is held only after
    /// an earlier one was emitted: the first is always due.)
    pub fn deadline(&self) -> Option<Instant> {
        self.held.as_ref()?;
        self.last_emit.map(|last| last + self.interval)
    }

    /// The held state, due or not: emit it before the final event.
    pub fn flush(&mut self) -> Option<T> {
        self.held.take()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn first_state_is_immediate_and_later_ones_coalesce_to_the_newest() {
        let t0 = Instant::now();
        let mut throttle = Throttle::new(40 * MS);
        assert_eq!(throttle.deadline(), None);
        assert_eq!(throttle.offer(1, t0), Some(1));
        assert_eq!(throttle.deadline(), None, "nothing held");
        assert_eq!(throttle.offer(2, t0 + 5 * MS), None);
        assert_eq!(throttle.offer(3, t0 + 10 * MS), None);
        assert_eq!(throttle.deadline(), Some(t0 + 40 * MS));
        // A quiet period: the held state is due at the deadline without a newer one arriving.
        assert_eq!(throttle.take_due(t0 + 39 * MS), None);
        assert_eq!(throttle.take_due(t0 + 40 * MS), Some(3));
        assert_eq!(throttle.take_due(t0 + 100 * MS), None, "emitted once");
        assert_eq!(throttle.deadline(), None);
        // The window restarts at the last emission.
        assert_eq!(throttle.offer(4, t0 + 60 * MS), None);
        assert_eq!(throttle.deadline(), Some(t0 + 80 * MS));
        assert_eq!(throttle.offer(5, t0 + 81 * MS), Some(5));
    }

    #[test]
    fn flush_hands_over_the_newest_held_state_once() {
        let t0 = Instant::now();
        let mut throttle = Throttle::new(40 * MS);
        assert_eq!(throttle.flush(), None);
        assert_eq!(throttle.offer("a", t0), Some("a"));
        assert_eq!(throttle.offer("b", t0 + MS), None);
        assert_eq!(throttle.offer("c", t0 + 2 * MS), None);
        assert_eq!(throttle.flush(), Some("c"));
        assert_eq!(throttle.flush(), None);
        assert_eq!(throttle.deadline(), None);
    }

    #[test]
    fn a_steady_stream_is_emitted_at_most_once_per_interval() {
        let t0 = Instant::now();
        let mut throttle = Throttle::new(40 * MS);
        let emitted: Vec<u32> = (0..1000)
            .filter_map(|i| throttle.offer(i, t0 + i * MS))
            .collect();
        assert_eq!(emitted.len(), 25, "{emitted:?}");
        assert!(emitted.windows(2).all(|w| w[1] - w[0] == 40), "{emitted:?}");
        assert_eq!(throttle.flush(), Some(999));
    }
}
