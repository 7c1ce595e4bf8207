//! Who may read file contents at once: at most [`MAX_CONCURRENT_READS`] reads on the
//! server and [`MAX_READS_PER_USER`] per user (or client address without auth, the same
//! key as the jobs' per-user cap), so one viewer's downloads cannot take every slot.
//! A [`ReadSlot`] lives as long as its answer's body streams.

use super::super::error::ApiError;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// File reads running at once on this server.
pub const MAX_CONCURRENT_READS: usize = 8;
/// File reads one user may have running at once.
pub const MAX_READS_PER_USER: usize = 4;

/// The server's read slots.
#[derive(Debug)]
pub struct ReadSlots {
    server: Arc<Semaphore>,
    running: Mutex<HashMap<String, usize>>,
    per_user: usize,
}

/// One running read; gives its slots back when dropped.
#[derive(Debug)]
pub struct ReadSlot {
    _server: OwnedSemaphorePermit,
    slots: Arc<ReadSlots>,
    user: String,
}

impl Drop for ReadSlot {
    fn drop(&mut self) {
        let mut running = self.slots.running.lock();
        if let Some(n) = running.get_mut(&self.user) {
            *n -= 1;
            if *n == 0 {
                running.remove(&self.user);
            }
        }
    }
}

impl Default for ReadSlots {
    fn default() -> Self {
        ReadSlots::new(MAX_CONCURRENT_READS, MAX_READS_PER_USER)
    }
}

impl ReadSlots {
    pub fn new(server: usize, per_user: usize) -> Self {
        ReadSlots {
            server: Arc::new(Semaphore::new(server)),
            running: Mutex::new(HashMap::new()),
            per_user,
        }
    }

    /// A slot for `user`, or 429: the user's own reads come first, then the server's.
    pub fn acquire(self: &Arc<Self>, user: String) -> Result<ReadSlot, ApiError> {
        let mut running = self.running.lock();
        let mine = running.get(&user).copied().unwrap_or(0);
        if mine >= self.per_user {
            return Err(ApiError::UserReadsBusy {
                user,
                max: self.per_user,
            });
        }
        let permit = self
            .server
            .clone()
            .try_acquire_owned()
            .map_err(|_| ApiError::ReadsBusy {
                max: MAX_CONCURRENT_READS,
            })?;
        running.insert(user.clone(), mine + 1);
        Ok(ReadSlot {
            _server: permit,
            slots: self.clone(),
            user,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_user_has_a_share_and_the_server_a_total() {
        let slots = Arc::new(ReadSlots::new(3, 2));
        let a1 = slots.acquire("a".into()).unwrap();
        let _a2 = slots.acquire("a".into()).unwrap();
        let err = slots.acquire("a".into()).unwrap_err();
        assert!(
            matches!(err, ApiError::UserReadsBusy { max: 2, .. }),
            "{err}"
        );
        let _b1 = slots.acquire("b".into()).unwrap();
        let err = slots.acquire("b".into()).unwrap_err();
        assert!(matches!(err, ApiError::ReadsBusy { .. }), "{err}");
        drop(a1);
        let _b2 = slots.acquire("b".into()).unwrap();
        assert_eq!(slots.running.lock().get("a"), Some(&1));
    }
}
