//! Single-flight work by key: concurrent callers asking for the same key share one run
//! of the work, so twenty dashboards refreshing the list cost one `GET /images/json` at
//! a time, not twenty (p99 of the list under 20 clients: 61 ms before, 9 ms after;
//! BENCHMARKS.md), and twenty users opening one image cost one export.
//!
//! Ownership: the work runs in a task spawned by [`SingleFlight::join`], not in the first
//! caller's future, so a caller that gives up does not abort it for the others. Each
//! caller holds a [`Ticket`]; when the last ticket of an unfinished run is dropped, the
//! run's [`CancellationToken`] is cancelled and its entry removed (work that watches the
//! token stops; a later caller starts afresh and never joins a run being cancelled).
//!
//! Eviction ([`Keep`]): failures are never kept (the next caller runs the work again).
//! Successes are dropped as soon as the run ends with [`Keep::InFlight`] (nothing is
//! older than the run in flight when a caller arrived), or kept for the
//! [`Keep::Recent`]`(n)` most recently finished keys (oldest finished dropped first).
//!
//! Keys are typed (`K: Hash + Eq + Clone`); each entry may carry a context `C` created
//! with the run (the engine keeps the progress fan-out of a load there).

use futures_util::future::{BoxFuture, FutureExt as _, Shared};
use parking_lot::{Mutex, MutexGuard};
use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// Which finished runs are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    /// None: only runs in flight are shared.
    InFlight,
    /// The successes of the `n` most recently finished keys.
    Recent(usize),
}

/// The spawned task of a run panicked or was aborted (a bug, reported as an error).
#[derive(Debug, Clone, thiserror::Error)]
#[error("single-flight task failed: {0}")]
pub struct TaskFailed(pub String);

impl From<TaskFailed> for String {
    fn from(e: TaskFailed) -> String {
        e.to_string()
    }
}

type Outcome<T, E> = Shared<BoxFuture<'static, Result<T, E>>>;

struct Entry<T, E, C> {
    serial: u64,
    outcome: Outcome<T, E>,
    cancel: CancellationToken,
    waiters: usize,
    context: C,
    /// When the run succeeded and is kept: its place in finishing order.
    finished: Option<u64>,
}

struct Table<K, T, E, C> {
    entries: HashMap<K, Entry<T, E, C>>,
    serials: u64,
}

/// A keyed single-flight map; see the module documentation for its policy.
pub struct SingleFlight<K, T, E, C = ()> {
    keep: Keep,
    table: Arc<Mutex<Table<K, T, E, C>>>,
}

impl<K, T, E, C> SingleFlight<K, T, E, C>
where
    K: Hash + Eq + Clone + Send + 'static,
    T: Clone + Send + Sync + 'static,
    E: Clone + Send + Sync + From<TaskFailed> + 'static,
    C: Clone + Send + 'static,
{
    pub fn new(keep: Keep) -> Self {
        SingleFlight {
            keep,
            table: Arc::new(Mutex::new(Table {
                entries: HashMap::new(),
                serials: 0,
            })),
        }
    }

    /// A ticket for the run of `key`: a kept result, the run in flight, or a new run of
    /// `start(token)` in a spawned task (`start` also makes the run's context).
    pub fn join<F, Fut>(&self, key: K, start: F) -> Ticket<K, T, E, C>
    where
        F: FnOnce(CancellationToken) -> (C, Fut),
        Fut: Future<Output = Result<T, E>> + Send + 'static,
    {
        let mut table = lock(&self.table);
        let joinable = table
            .entries
            .get_mut(&key)
            .filter(|e| e.finished.is_some() || !e.cancel.is_cancelled());
        let (serial, outcome, context) = match joinable {
            Some(e) => {
                e.waiters += 1;
                (e.serial, e.outcome.clone(), e.context.clone())
            }
            None => {
                table.serials += 1;
                let serial = table.serials;
                let cancel = CancellationToken::new();
                let (context, work) = start(cancel.clone());
                let owner = Arc::downgrade(&self.table);
                let keep = self.keep;
                let done_key = key.clone();
                let task = tokio::spawn(async move {
                    let r = work.await;
                    if let Some(table) = owner.upgrade() {
                        finish(&mut lock(&table), keep, &done_key, serial, r.is_ok());
                    }
                    r
                });
                let outcome: Outcome<T, E> = async move {
                    task.await
                        .unwrap_or_else(|e| Err(E::from(TaskFailed(e.to_string()))))
                }
                .boxed()
                .shared();
                table.entries.insert(
                    key.clone(),
                    Entry {
                        serial,
                        outcome: outcome.clone(),
                        cancel,
                        waiters: 1,
                        context: context.clone(),
                        finished: None,
                    },
                );
                (serial, outcome, context)
            }
        };
        Ticket {
            table: self.table.clone(),
            key,
            serial,
            outcome,
            context,
        }
    }

    /// [`Self::join`] and wait, for runs that need no context.
    pub async fn get<F, Fut>(&self, key: K, start: F) -> Result<T, E>
    where
        F: FnOnce(CancellationToken) -> Fut,
        Fut: Future<Output = Result<T, E>> + Send + 'static,
        C: Default,
    {
        self.join(key, |cancel| (C::default(), start(cancel)))
            .wait()
            .await
    }
}

fn lock<K, T, E, C>(table: &Mutex<Table<K, T, E, C>>) -> MutexGuard<'_, Table<K, T, E, C>> {
    table.lock()
}

/// Books the end of run `serial` of `key` (an entry replaced since is left alone).
fn finish<K: Hash + Eq + Clone, T, E, C>(
    table: &mut Table<K, T, E, C>,
    keep: Keep,
    key: &K,
    serial: u64,
    ok: bool,
) {
    if table.entries.get(key).is_none_or(|e| e.serial != serial) {
        return;
    }
    let Keep::Recent(n) = keep else {
        table.entries.remove(key);
        return;
    };
    if !ok || n == 0 {
        table.entries.remove(key);
        return;
    }
    table.serials += 1;
    let order = table.serials;
    if let Some(e) = table.entries.get_mut(key) {
        e.finished = Some(order);
    }
    let mut kept: Vec<(u64, K)> = table
        .entries
        .iter()
        .filter_map(|(k, e)| e.finished.map(|f| (f, k.clone())))
        .collect();
    let excess = kept.len().saturating_sub(n);
    kept.sort_by_key(|(f, _)| *f);
    for (_, k) in kept.into_iter().take(excess) {
        table.entries.remove(&k);
    }
}

/// One caller's share of a run. Dropping the last ticket of an unfinished run cancels it.
pub struct Ticket<K: Hash + Eq, T, E, C> {
    table: Arc<Mutex<Table<K, T, E, C>>>,
    key: K,
    serial: u64,
    outcome: Outcome<T, E>,
    context: C,
}

impl<K: Hash + Eq, T: Clone, E: Clone, C> Ticket<K, T, E, C> {
    /// The context the run was started with.
    pub fn context(&self) -> &C {
        &self.context
    }

    /// The run's result (the ticket is held, so the run is wanted, until it comes).
    pub async fn wait(self) -> Result<T, E> {
        let outcome = self.outcome.clone();
        outcome.await
    }
}

impl<K: Hash + Eq, T, E, C> Drop for Ticket<K, T, E, C> {
    fn drop(&mut self) {
        let mut table = lock(&self.table);
        let Some(e) = self.key_entry(&mut table) else {
            return;
        };
        e.waiters = e.waiters.saturating_sub(1);
        if e.waiters == 0 && e.finished.is_none() {
            e.cancel.cancel();
            table.entries.remove(&self.key);
        }
    }
}

impl<K: Hash + Eq, T, E, C> Ticket<K, T, E, C> {
    fn key_entry<'t>(&self, table: &'t mut Table<K, T, E, C>) -> Option<&'t mut Entry<T, E, C>> {
        table
            .entries
            .get_mut(&self.key)
            .filter(|e| e.serial == self.serial)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::time::Duration;

    type Flights = SingleFlight<&'static str, u32, String>;

    #[tokio::test]
    async fn concurrent_callers_share_one_run_and_failures_are_not_kept() {
        let flights = Flights::new(Keep::InFlight);
        let calls = Arc::new(AtomicU32::new(0));
        let run = |calls: Arc<AtomicU32>| {
            move |_| async move {
                let n = calls.fetch_add(1, Ordering::SeqCst) + 1;
                tokio::time::sleep(Duration::from_millis(20)).await;
                Ok::<u32, String>(n)
            }
        };
        let all = futures_util::future::join_all(
            (0..20).map(|_| flights.get("list", run(calls.clone()))),
        )
        .await;
        assert!(all.iter().all(|r| r == &Ok(1)), "{all:?}");
        assert_eq!(
            flights.get("list", run(calls.clone())).await,
            Ok(2),
            "not kept"
        );

        let failing = |_| async { Err::<u32, String>("daemon down".into()) };
        assert_eq!(
            flights.get("other", failing).await,
            Err("daemon down".into())
        );
        assert_eq!(flights.get("other", run(calls.clone())).await, Ok(3));
    }

    #[tokio::test]
    async fn recent_successes_are_kept_oldest_dropped_first() {
        let flights = Flights::new(Keep::Recent(2));
        let calls = Arc::new(AtomicU32::new(0));
        let run = |calls: Arc<AtomicU32>| {
            move |_| async move { Ok::<u32, String>(calls.fetch_add(1, Ordering::SeqCst)) }
        };
        assert_eq!(flights.get("a", run(calls.clone())).await, Ok(0));
        assert_eq!(flights.get("b", run(calls.clone())).await, Ok(1));
        assert_eq!(flights.get("a", run(calls.clone())).await, Ok(0), "kept");
        assert_eq!(flights.get("c", run(calls.clone())).await, Ok(2));
        assert_eq!(flights.get("b", run(calls.clone())).await, Ok(1), "kept");
        assert_eq!(
            flights.get("a", run(calls.clone())).await,
            Ok(3),
            "dropped first"
        );
    }

    #[tokio::test]
    async fn the_last_caller_leaving_cancels_the_run() {
        let flights = Flights::new(Keep::InFlight);
        let (tx, rx) = tokio::sync::oneshot::channel();
        let ticket = flights.join("load", |cancel| {
            ((), async move {
                cancel.cancelled().await;
                let _ = tx.send(());
                Err::<u32, String>("cancelled".into())
            })
        });
        let second = flights.join("load", |_| ((), async { Ok(9) }));
        drop(ticket);
        drop(second);
        tokio::time::timeout(Duration::from_secs(5), rx)
            .await
            .expect("the run saw its token")
            .unwrap();
        assert_eq!(flights.get("load", |_| async { Ok(1) }).await, Ok(1));
    }
}
