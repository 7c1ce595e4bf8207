//! The lock that keeps removals in the system daemon from pruning images a concurrent
//! build reuses (`crate::system_docker`): builds share it, a removal waits for them.
//! Needs no daemon.

use crate::system_docker::DaemonLock;
use std::sync::mpsc;
use std::time::Duration;

#[test]
fn a_removal_waits_for_running_builds_but_builds_share_the_lock() {
    let build = DaemonLock::shared();
    let (tx, rx) = mpsc::channel();
    let removal = std::thread::spawn(move || {
        let _lock = DaemonLock::exclusive();
        tx.send(()).unwrap();
    });
    assert!(
        rx.recv_timeout(Duration::from_millis(300)).is_err(),
        "a removal ran during a build"
    );
    // A second build does not wait for the first one.
    drop(DaemonLock::shared());
    drop(build);
    rx.recv_timeout(Duration::from_secs(60))
        .expect("the removal runs once no build holds the lock");
    removal.join().unwrap();
}
