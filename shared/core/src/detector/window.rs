//! The last `W` values of a series in arrival order: a ring that the
//! rolling detectors share.

use serde::{Deserialize, Serialize};

/// A ring of at most `capacity` values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Window {
    /// The values; once full, `next` is the oldest.
    values: Vec<f64>,
    /// Where the next value goes once full.
    next: usize,
    capacity: usize,
}

impl Window {
    /// An empty window of `capacity` (>= 1) values.
    pub(crate) fn new(capacity: usize) -> Self {
        Self { values: Vec::with_capacity(capacity), next: 0, capacity: capacity.max(1) }
    }

    /// Whether it holds `capacity` values.
    pub(crate) fn is_full(&self) -> bool {
        self.values.len() == self.capacity
    }

    /// Values held.
    pub(crate) fn len(&self) -> usize {
        self.values.len()
    }

    /// The values held, in no particular order.
    pub(crate) fn values(&self) -> &[f64] {
        &self.values
    }

    /// Adds `value`; returns the value it pushed out once full.
    pub(crate) fn push(&mut self, value: f64) -> Option<f64> {
        if !self.is_full() {
            self.values.push(value);
            return None;
        }
        let old = std::mem::replace(&mut self.values[self.next], value);
        self.next = (self.next + 1) % self.capacity;
        Some(old)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_last_values() {
        let mut window = Window::new(3);
        assert_eq!([window.push(1.0), window.push(2.0), window.push(3.0)], [None, None, None]);
        assert!(window.is_full());
        assert_eq!(window.push(4.0), Some(1.0));
        assert_eq!(window.push(5.0), Some(2.0));
        let mut held = window.values().to_vec();
        held.sort_by(f64::total_cmp);
        assert_eq!(held, [3.0, 4.0, 5.0]);
    }
}
