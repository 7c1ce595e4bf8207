//! A Unix-socket proxy to the system dockerd that a test can cut: its listener goes away
//! and every open connection is shut down, as when a host's daemon or its network dies
//! while the system dockerd itself stays up for the other tests.

use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

pub struct CutProxy {
    pub path: PathBuf,
    cut: Arc<AtomicBool>,
    open: Arc<Mutex<Vec<UnixStream>>>,
}

impl CutProxy {
    /// Listens on `path`, forwarding each connection to `/var/run/docker.sock`.
    pub fn start(path: &Path) -> CutProxy {
        let listener = UnixListener::bind(path).expect("bind the proxy socket");
        let cut = Arc::new(AtomicBool::new(false));
        let open: Arc<Mutex<Vec<UnixStream>>> = Arc::default();
        let (c, o) = (cut.clone(), open.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if c.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(down) = conn else { continue };
                let Ok(up) = UnixStream::connect("/var/run/docker.sock") else {
                    continue;
                };
                let mut list = o.lock().unwrap();
                list.push(down.try_clone().unwrap());
                list.push(up.try_clone().unwrap());
                for (mut from, mut to) in [
                    (down.try_clone().unwrap(), up.try_clone().unwrap()),
                    (up, down),
                ] {
                    std::thread::spawn(move || {
                        let _ = std::io::copy(&mut from, &mut to);
                        let _ = to.shutdown(std::net::Shutdown::Write);
                    });
                }
            }
        });
        CutProxy {
            path: path.to_owned(),
            cut,
            open,
        }
    }

    /// Stops listening and shuts every open connection down.
    pub fn cut(&self) {
        self.cut.store(true, Ordering::SeqCst);
        let _ = UnixStream::connect(&self.path); // wakes the accept loop, which ends
        let _ = std::fs::remove_file(&self.path);
        for s in self.open.lock().unwrap().drain(..) {
            let _ = s.shutdown(std::net::Shutdown::Both);
        }
    }
}
