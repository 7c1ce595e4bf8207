//! `ssh://[USER@]HOST[:PORT]` Docker hosts, reached the way the docker CLI reaches them:
//! each HTTP connection is an `ssh` process running `docker system dial-stdio` on the
//! remote machine, and the API is spoken over its stdin/stdout. The user's own `ssh`
//! binary is run, so `~/.ssh/config`, keys and the agent apply as they do for the docker
//! CLI; `BatchMode=yes` keeps it from ever prompting (a server has nobody to answer).
//!
//! Invariants: the process is killed when its connection is dropped; when it exits
//! before answering anything, the read fails with its last stderr line (e.g.
//! "Permission denied (publickey)") instead of a bare "connection closed".

use futures_util::task::AtomicWaker;
use hyper_util::client::legacy::connect::{Connected, Connection};
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, ReadBuf};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

/// Seconds `ssh` may take to connect (the docker CLI's default).
const CONNECT_TIMEOUT_SECS: u32 = 30;
/// Longest stderr line kept for the error message.
const MAX_STDERR_LINE: usize = 300;

/// Where an `ssh://` Docker host is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshTarget {
    pub user: Option<String>,
    pub host: String,
    pub port: Option<u16>,
}

impl SshTarget {
    /// Parses `ssh://[USER@]HOST[:PORT]` (an IPv6 host in brackets); no path, no password.
    pub fn parse(address: &str) -> Result<Self, String> {
        let rest = address
            .strip_prefix("ssh://")
            .ok_or("an ssh host starts with ssh://")?;
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        if rest.contains(['/', '?', '#', ' ']) {
            return Err("an ssh host is ssh://[USER@]HOST[:PORT], with no path".into());
        }
        let (user, hostport) = match rest.rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, rest),
        };
        if let Some(u) = user {
            if u.is_empty() || u.contains(':') {
                return Err(
                    "give the ssh user without a password (keys or the agent log in)".into(),
                );
            }
        }
        let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
            let (h, after) = v6.split_once(']').ok_or("unclosed [ in the ssh host")?;
            (h, after.strip_prefix(':'))
        } else {
            match hostport.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (hostport, None),
            }
        };
        if host.is_empty() || host.starts_with('-') {
            return Err("the ssh host name is missing".into());
        }
        let port = port
            .map(|p| {
                p.parse::<u16>()
                    .ok()
                    .filter(|p| *p > 0)
                    .ok_or(format!("ssh port {p:?} is not a port number"))
            })
            .transpose()?;
        Ok(SshTarget {
            user: user.map(str::to_owned),
            host: host.to_owned(),
            port,
        })
    }

    /// The `ssh` arguments, as the docker CLI builds them.
    fn args(&self) -> Vec<String> {
        let mut args = vec![
            "-o".to_owned(),
            format!("ConnectTimeout={CONNECT_TIMEOUT_SECS}"),
            "-o".to_owned(),
            "BatchMode=yes".to_owned(),
            "-T".to_owned(),
        ];
        if let Some(u) = &self.user {
            args.extend(["-l".to_owned(), u.clone()]);
        }
        if let Some(p) = self.port {
            args.extend(["-p".to_owned(), p.to_string()]);
        }
        args.extend(
            ["--", &self.host, "docker", "system", "dial-stdio"]
                .iter()
                .map(|s| (*s).to_owned()),
        );
        args
    }
}

/// Opens one `ssh … docker system dial-stdio` process per connection.
#[derive(Debug, Clone)]
pub struct SshConnector {
    target: Arc<SshTarget>,
}

impl SshConnector {
    pub fn new(target: SshTarget) -> Self {
        SshConnector {
            target: Arc::new(target),
        }
    }
}

impl tower_service::Service<http::Uri> for SshConnector {
    type Response = SshStream;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<SshStream>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: http::Uri) -> Self::Future {
        let target = self.target.clone();
        Box::pin(async move { SshStream::spawn(&target) })
    }
}

/// What the process said on stderr, and whether it has closed it (exited).
#[derive(Default)]
struct Stderr {
    last_line: parking_lot::Mutex<String>,
    closed: AtomicBool,
    waker: AtomicWaker,
}

/// One connection: the process's stdout is read, its stdin written.
pub struct SshStream {
    stdin: ChildStdin,
    stdout: ChildStdout,
    stderr: Arc<Stderr>,
    /// Whether the remote end ever answered; an EOF before that is a failed login.
    answered: bool,
    _child: Child,
}

impl SshStream {
    fn spawn(target: &SshTarget) -> io::Result<Self> {
        let mut child = Command::new("ssh")
            .args(target.args())
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| io::Error::new(e.kind(), format!("cannot run ssh: {e}")))?;
        let (Some(stdin), Some(stdout), Some(err)) =
            (child.stdin.take(), child.stdout.take(), child.stderr.take())
        else {
            return Err(io::Error::other("ssh started without its pipes"));
        };
        let stderr = Arc::new(Stderr::default());
        let sink = stderr.clone();
        tokio::spawn(async move {
            let mut lines = tokio::io::BufReader::new(err).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                let line = line.trim();
                if !line.is_empty() {
                    *sink.last_line.lock() = line.chars().take(MAX_STDERR_LINE).collect();
                }
            }
            sink.closed.store(true, Ordering::Release);
            sink.waker.wake();
        });
        Ok(SshStream {
            stdin,
            stdout,
            stderr,
            answered: false,
            _child: child,
        })
    }

    /// The error for a process that closed its output before answering, once its stderr
    /// is complete; `None` while it is still being read.
    fn failed_login(&self, cx: &mut Context<'_>) -> Option<io::Error> {
        self.stderr.waker.register(cx.waker());
        if !self.stderr.closed.load(Ordering::Acquire) {
            return None;
        }
        let line = self.stderr.last_line.lock().clone();
        let why = if line.is_empty() {
            "the ssh session closed without an answer (is docker installed there?)".to_owned()
        } else {
            line
        };
        Some(io::Error::new(
            io::ErrorKind::ConnectionRefused,
            format!("ssh: {why}"),
        ))
    }
}

impl hyper::rt::Read for SshStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let mut chunk = [0u8; 16 * 1024];
        let want = buf.remaining().min(chunk.len());
        let mut tmp = ReadBuf::new(&mut chunk[..want]);
        match Pin::new(&mut this.stdout).poll_read(cx, &mut tmp) {
            Poll::Ready(Ok(())) => {
                let got = tmp.filled();
                if got.is_empty() && want > 0 && !this.answered {
                    return match this.failed_login(cx) {
                        Some(e) => Poll::Ready(Err(e)),
                        None => Poll::Pending,
                    };
                }
                this.answered |= !got.is_empty();
                buf.put_slice(got);
                Poll::Ready(Ok(()))
            }
            other => other,
        }
    }
}

impl hyper::rt::Write for SshStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stdin).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stdin).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stdin).poll_shutdown(cx)
    }
}

impl Connection for SshStream {
    fn connected(&self) -> Connected {
        Connected::new()
    }
}

/// A bollard client whose every connection is an `ssh` process to `target`.
pub fn connect(
    target: SshTarget,
    timeout_secs: u64,
) -> Result<bollard::Docker, bollard::errors::Error> {
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build(SshConnector::new(target));
    let client = Arc::new(client);
    bollard::Docker::connect_with_custom_transport(
        move |req: bollard::BollardRequest| {
            let client = client.clone();
            async move {
                client
                    .request(req)
                    .await
                    .map_err(bollard::errors::Error::from)
            }
        },
        Some("http://docker.ssh"),
        timeout_secs,
        bollard::API_DEFAULT_VERSION,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse_like_the_docker_cli() {
        let t = SshTarget::parse("ssh://deploy@build-1.example:2222").unwrap();
        assert_eq!(t.user.as_deref(), Some("deploy"));
        assert_eq!(t.host, "build-1.example");
        assert_eq!(t.port, Some(2222));
        assert_eq!(
            t.args()[t.args().len() - 5..],
            ["--", "build-1.example", "docker", "system", "dial-stdio"]
        );
        assert!(t.args().contains(&"BatchMode=yes".to_owned()));
        let t = SshTarget::parse("ssh://[::1]:22").unwrap();
        assert_eq!((t.host.as_str(), t.port, t.user), ("::1", Some(22), None));
        assert_eq!(SshTarget::parse("ssh://h/").unwrap().host, "h");
    }

    #[test]
    fn bad_targets_are_refused_with_a_reason() {
        for (bad, why) in [
            ("ssh://", "missing"),
            ("ssh://u:pw@h", "password"),
            ("ssh://h:99999", "port"),
            ("ssh://h/path", "no path"),
            ("ssh://-oProxyCommand=x", "missing"),
            ("tcp://h", "ssh://"),
        ] {
            let e = SshTarget::parse(bad).unwrap_err();
            assert!(e.contains(why), "{bad}: {e}");
        }
    }

    #[tokio::test]
    async fn a_login_that_fails_is_named_with_the_ssh_error() {
        // No sshd listens on port 1 of loopback: ssh fails before answering.
        let docker = connect(SshTarget::parse("ssh://nobody@127.0.0.1:1").unwrap(), 20).unwrap();
        let err = docker.ping().await.unwrap_err();
        let mut cur: &dyn std::error::Error = &err;
        while let Some(next) = cur.source() {
            cur = next;
        }
        let msg = cur.to_string();
        assert!(msg.starts_with("ssh: "), "{msg}");
        assert!(msg.contains("refused") || msg.contains("ssh"), "{msg}");
    }
}
