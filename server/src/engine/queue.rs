//! The export queue: at most N exports at once (each costs the daemon a temporary copy
//! of the image), first come first served, and every waiter told its place in line as
//! the line moves.
//!
//! Invariants: a waiter that gives up (its future is dropped, e.g. on cancellation)
//! leaves the line at once and the others move up; positions are 1-based and count the
//! waiters ahead plus one; a waiter that got a slot is told `None`.

use parking_lot::Mutex;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::{watch, Semaphore, SemaphorePermit};

/// Why no slot was obtained.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("export queue closed")]
pub struct QueueClosed;

/// A fair queue in front of a fixed number of export slots.
#[derive(Debug)]
pub struct ExportQueue {
    slots: Semaphore,
    capacity: usize,
    /// Tickets of the waiters, oldest first.
    line: Mutex<VecDeque<u64>>,
    next: AtomicU64,
    /// Bumped whenever the line changes.
    moved: watch::Sender<u64>,
}

impl ExportQueue {
    /// A queue with `capacity` slots (at least one).
    pub fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        ExportQueue {
            slots: Semaphore::new(capacity),
            capacity,
            line: Mutex::new(VecDeque::new()),
            next: AtomicU64::new(0),
            moved: watch::channel(0).0,
        }
    }

    /// Slots in total.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Waiters currently in line.
    pub fn waiting(&self) -> usize {
        self.line.lock().len()
    }

    /// Waits for a slot. `on_position` gets `Some(k)` while this caller is k-th in
    /// line (again each time the line moves) and `None` once it holds a slot; a caller
    /// served at once hears nothing. Dropping the future leaves the line.
    pub async fn acquire(
        &self,
        on_position: &(dyn Fn(Option<usize>) + Send + Sync),
    ) -> Result<SemaphorePermit<'_>, QueueClosed> {
        if let Ok(permit) = self.slots.try_acquire() {
            return Ok(permit);
        }
        let ticket = self.next.fetch_add(1, Ordering::Relaxed);
        self.line.lock().push_back(ticket);
        let place = Place {
            queue: self,
            ticket,
        };
        let mut moved = self.moved.subscribe();
        self.moved.send_modify(|v| *v = v.wrapping_add(1));
        // One acquire future for the whole wait: the semaphore is FIFO, and a new
        // future would lose this caller's place.
        let acquire = self.slots.acquire();
        tokio::pin!(acquire);
        let mut told = None;
        loop {
            let position = place.position();
            if position.is_some() && position != told {
                on_position(position);
                told = position;
            }
            tokio::select! {
                permit = &mut acquire => {
                    drop(place);
                    on_position(None);
                    return permit.map_err(|_| QueueClosed);
                }
                changed = moved.changed() => {
                    if changed.is_err() {
                        return Err(QueueClosed);
                    }
                }
            }
        }
    }
}

/// A caller's place in line; leaving (drop) lets the others move up.
struct Place<'a> {
    queue: &'a ExportQueue,
    ticket: u64,
}

impl Place<'_> {
    fn position(&self) -> Option<usize> {
        let line = self.queue.line.lock();
        line.iter().position(|t| *t == self.ticket).map(|i| i + 1)
    }
}

impl Drop for Place<'_> {
    fn drop(&mut self) {
        self.queue.line.lock().retain(|t| *t != self.ticket);
        self.queue.moved.send_modify(|v| *v = v.wrapping_add(1));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::Duration;

    type Seen = Arc<Mutex<Vec<Option<usize>>>>;

    fn recorder() -> (Seen, impl Fn(Option<usize>) + Send + Sync) {
        let seen: Seen = Arc::default();
        let s = seen.clone();
        (seen, move |p| s.lock().push(p))
    }

    async fn settle() {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn waiters_learn_their_place_and_move_up() {
        let q = Arc::new(ExportQueue::new(1));
        let first = q.acquire(&|_| {}).await.unwrap();
        let (seen_a, rec_a) = recorder();
        let (seen_b, rec_b) = recorder();
        let qa = q.clone();
        let a = tokio::spawn(async move {
            let _p = qa.acquire(&rec_a).await.unwrap();
            tokio::time::sleep(Duration::from_millis(100)).await;
        });
        settle().await;
        let qb = q.clone();
        let b = tokio::spawn(async move {
            let _p = qb.acquire(&rec_b).await.unwrap();
        });
        settle().await;
        assert_eq!(*seen_a.lock(), vec![Some(1)]);
        assert_eq!(*seen_b.lock(), vec![Some(2)]);
        assert_eq!(q.waiting(), 2);
        drop(first);
        a.await.unwrap();
        b.await.unwrap();
        assert_eq!(*seen_a.lock(), vec![Some(1), None]);
        assert_eq!(*seen_b.lock(), vec![Some(2), Some(1), None]);
        assert_eq!(q.waiting(), 0);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_waiter_that_gives_up_leaves_the_line() {
        let q = Arc::new(ExportQueue::new(1));
        let _held = q.acquire(&|_| {}).await.unwrap();
        let qa = q.clone();
        let a = tokio::spawn(async move {
            let _p = qa.acquire(&|_| {}).await;
        });
        settle().await;
        let (seen_b, rec_b) = recorder();
        let qb = q.clone();
        let b = tokio::spawn(async move {
            let _p = qb.acquire(&rec_b).await;
        });
        settle().await;
        a.abort();
        settle().await;
        assert_eq!(*seen_b.lock(), vec![Some(2), Some(1)]);
        assert_eq!(q.waiting(), 1);
        b.abort();
        settle().await;
        assert_eq!(q.waiting(), 0);
    }
}
