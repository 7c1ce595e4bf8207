//! Single-flight answers from the daemon: concurrent requests for the same key share
//! the daemon call in flight, so twenty dashboards refreshing the list cost one
//! `GET /images/json` at a time, not twenty (p99 of the list under 20 clients: 61 ms
//! before, 9 ms after; BENCHMARKS.md). A [`Memo`] can also keep answers for a while;
//! the daemon's are not kept ([`FRESH_FOR`] is zero), so a tag, a removal or a stopped
//! daemon shows at once. Failures are never kept: the next caller asks again.

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::OnceCell;

/// How long an answer is reused after the call that fetched it began: not at all, so
/// nothing is older than the daemon call in flight when a request arrived.
pub const FRESH_FOR: Duration = Duration::ZERO;

/// When a value was first asked for, and the cell it is (being) fetched into.
type Slot<V> = (Instant, Arc<OnceCell<V>>);

/// A small keyed single-flight cache.
pub struct Memo<K, V> {
    fresh_for: Duration,
    entries: Mutex<HashMap<K, Slot<V>>>,
}

impl<K: Eq + Hash + Clone, V: Clone> Memo<K, V> {
    pub fn new(fresh_for: Duration) -> Self {
        Memo {
            fresh_for,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// The value for `key`: a fresh one, the one being fetched, or `fetch()`'s.
    pub async fn get<E, F, Fut>(&self, key: &K, fetch: F) -> Result<V, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<V, E>>,
    {
        let cell = {
            let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
            let now = Instant::now();
            // Keep what is being fetched (callers join it) and what is still fresh.
            entries.retain(|_, (asked, cell)| {
                !cell.initialized() || now.duration_since(*asked) < self.fresh_for
            });
            entries
                .entry(key.clone())
                .or_insert_with(|| (now, Arc::new(OnceCell::new())))
                .1
                .clone()
        };
        cell.get_or_try_init(fetch).await.cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[tokio::test]
    async fn concurrent_callers_share_one_fetch_and_failures_are_not_kept() {
        let memo: Memo<&str, u32> = Memo::new(Duration::from_millis(200));
        let calls = AtomicU32::new(0);
        let fetch = || async {
            calls.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(20)).await;
            Ok::<u32, String>(7)
        };
        let all = futures_util::future::join_all((0..20).map(|_| memo.get(&"list", fetch))).await;
        assert!(all.iter().all(|r| r == &Ok(7)));
        assert_eq!(
            calls.load(Ordering::SeqCst),
            1,
            "one fetch for twenty callers"
        );
        assert_eq!(memo.get(&"list", fetch).await, Ok(7));
        assert_eq!(calls.load(Ordering::SeqCst), 1, "still fresh");
        tokio::time::sleep(Duration::from_millis(250)).await;
        assert_eq!(memo.get(&"list", fetch).await, Ok(7));
        assert_eq!(calls.load(Ordering::SeqCst), 2, "asked again once stale");

        let failing = || async { Err::<u32, String>("daemon down".into()) };
        assert_eq!(memo.get(&"other", failing).await, Err("daemon down".into()));
        assert_eq!(
            memo.get(&"other", fetch).await,
            Ok(7),
            "the failure was not kept"
        );
    }

    #[tokio::test]
    async fn without_freshness_only_calls_in_flight_are_shared() {
        let memo: Memo<&str, u32> = Memo::new(FRESH_FOR);
        let calls = AtomicU32::new(0);
        let fetch = || async {
            calls.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(20)).await;
            Ok::<u32, String>(calls.load(Ordering::SeqCst))
        };
        let all = futures_util::future::join_all((0..20).map(|_| memo.get(&"list", fetch))).await;
        assert!(all.iter().all(|r| r == &Ok(1)), "{all:?}");
        assert_eq!(
            memo.get(&"list", fetch).await,
            Ok(2),
            "a later call asks again"
        );
    }
}
