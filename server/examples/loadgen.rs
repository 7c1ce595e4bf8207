//! A bounded loopback load generator for `scripts/load.sh`: N keep-alive clients issue
//! GET requests for a fixed time and report, per path, requests, errors (transport
//! failures and non-2xx statuses), p50 / p99 / max latency and throughput, as a Markdown
//! table (or JSON lines with `--json`). By default each path gets all N clients for the
//! whole time, one path after another; `--mixed` runs all paths at once instead, client
//! `w` always asking for path `w mod paths` (so a slow path cannot hold up the others).
//!
//! ```text
//! cargo run --release -p server --example loadgen -- \
//!     --base http://127.0.0.1:7878 --clients 20 --seconds 5 /api/v1/images /api/v1/health
//! ```

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use std::time::{Duration, Instant};

struct Args {
    base: String,
    clients: usize,
    seconds: f64,
    json: bool,
    mixed: bool,
    paths: Vec<String>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        base: "http://127.0.0.1:7878".into(),
        clients: 20,
        seconds: 5.0,
        json: false,
        mixed: false,
        paths: Vec::new(),
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let mut value = |name: &str| it.next().ok_or(format!("{name} needs a value"));
        match a.as_str() {
            "--base" => args.base = value("--base")?,
            "--clients" => {
                args.clients = value("--clients")?
                    .parse()
                    .map_err(|e| format!("--clients: {e}"))?
            }
            "--seconds" => {
                args.seconds = value("--seconds")?
                    .parse()
                    .map_err(|e| format!("--seconds: {e}"))?
            }
            "--json" => args.json = true,
            "--mixed" => args.mixed = true,
            p if p.starts_with('/') => args.paths.push(p.to_string()),
            other => {
                return Err(format!(
                    "unexpected argument {other:?} (paths start with /)"
                ))
            }
        }
    }
    if args.paths.is_empty()
        || args.clients == 0
        || !args.seconds.is_finite()
        || args.seconds <= 0.0
    {
        return Err(
            "usage: loadgen [--base URL] [--clients N] [--seconds S] [--mixed] [--json] PATH..."
                .into(),
        );
    }
    Ok(args)
}

/// Latencies (µs) and error count of one path.
#[derive(Default, Clone)]
struct PathStats {
    micros: Vec<u64>,
    errors: u64,
    first_error: Option<String>,
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn ms(micros: u64) -> f64 {
    micros as f64 / 1000.0
}

type HttpClient = Client<hyper_util::client::legacy::connect::HttpConnector, Empty<Bytes>>;

/// GET `base + path` once: `Ok` on a 2xx with its whole body read.
async fn get(client: &HttpClient, base: &str, path: &str) -> Result<(), String> {
    let uri = format!("{base}{path}");
    let uri: hyper::Uri = uri.parse().map_err(|e| format!("bad URL {uri}: {e}"))?;
    let resp = client
        .get(uri)
        .await
        .map_err(|e| format!("request failed: {e}"))?;
    let status = resp.status();
    resp.into_body()
        .collect()
        .await
        .map_err(|e| format!("body failed: {e}"))?;
    if status.is_success() {
        Ok(())
    } else {
        Err(format!("status {status}"))
    }
}

/// `clients` workers for `seconds`; worker `w` asks for `paths[w % paths.len()]`.
/// Returns the stats per path and the elapsed seconds.
async fn run(
    client: &HttpClient,
    base: &str,
    paths: &[String],
    clients: usize,
    seconds: f64,
) -> (Vec<PathStats>, f64) {
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let started = Instant::now();
    let mut workers = Vec::with_capacity(clients);
    for w in 0..clients {
        let (client, base) = (client.clone(), base.to_owned());
        let i = w % paths.len();
        let path = paths[i].clone();
        workers.push(tokio::spawn(async move {
            let mut s = PathStats::default();
            while Instant::now() < deadline {
                let t = Instant::now();
                let outcome = get(&client, &base, &path).await;
                s.micros.push(t.elapsed().as_micros() as u64);
                if let Err(e) = outcome {
                    s.errors += 1;
                    s.first_error.get_or_insert(e);
                }
            }
            (i, s)
        }));
    }
    let mut total = vec![PathStats::default(); paths.len()];
    for w in workers {
        match w.await {
            Ok((i, s)) => {
                let t = &mut total[i];
                t.micros.extend(s.micros);
                t.errors += s.errors;
                if t.first_error.is_none() {
                    t.first_error = s.first_error;
                }
            }
            Err(e) => {
                eprintln!("loadgen: a worker failed: {e}");
                std::process::exit(1);
            }
        }
    }
    (total, started.elapsed().as_secs_f64())
}

/// Prints one row; returns whether the path had errors.
fn report(path: &str, s: &mut PathStats, secs: f64, json: bool) -> bool {
    s.micros.sort_unstable();
    let n = s.micros.len();
    let (p50, p99) = (percentile(&s.micros, 50.0), percentile(&s.micros, 99.0));
    let max = s.micros.last().copied().unwrap_or(0);
    let rps = n as f64 / secs;
    if json {
        println!(
            "{{\"path\":{path:?},\"requests\":{n},\"errors\":{},\"rps\":{rps:.1},\"p50_ms\":{:.2},\"p99_ms\":{:.2},\"max_ms\":{:.2}}}",
            s.errors,
            ms(p50),
            ms(p99),
            ms(max)
        );
    } else {
        println!(
            "| `{path}` | {n} | {} | {rps:.0} | {:.2} | {:.2} | {:.2} |",
            s.errors,
            ms(p50),
            ms(p99),
            ms(max)
        );
    }
    if let Some(e) = &s.first_error {
        eprintln!("loadgen: {path}: {} errors, first: {e}", s.errors);
        return true;
    }
    false
}

#[tokio::main]
async fn main() {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("loadgen: {e}");
            std::process::exit(2);
        }
    };
    let client: HttpClient = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(args.clients)
        .build_http();
    if !args.json {
        println!("| path | requests | errors | req/s | p50 ms | p99 ms | max ms |");
        println!("|---|---|---|---|---|---|---|");
    }
    let mut failed = false;
    if args.mixed {
        let (mut stats, secs) =
            run(&client, &args.base, &args.paths, args.clients, args.seconds).await;
        for (path, s) in args.paths.iter().zip(stats.iter_mut()) {
            failed |= report(path, s, secs, args.json);
        }
    } else {
        for path in &args.paths {
            let one = std::slice::from_ref(path);
            let (mut stats, secs) = run(&client, &args.base, one, args.clients, args.seconds).await;
            if let Some(s) = stats.first_mut() {
                failed |= report(path, s, secs, args.json);
            }
        }
    }
    if failed {
        std::process::exit(1);
    }
}

#[cfg(test)]
mod tests {
    use super::percentile;

    #[test]
    fn percentiles_use_nearest_rank() {
        let v: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&v, 50.0), 50);
        assert_eq!(percentile(&v, 99.0), 99);
        assert_eq!(percentile(&v, 100.0), 100);
        assert_eq!(percentile(&[7], 99.0), 7);
        assert_eq!(percentile(&[], 99.0), 0);
    }
}
