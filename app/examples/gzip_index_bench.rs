//! Measures the seekable gzip index against a plain `MultiGzDecoder` on ~256 MB of
//! compressible data: build time, index size, and time to the first MiB at 95 % of the data.
//!
//! Run with `cargo run --release -p app --example gzip_index_bench` (optionally a size in MiB
//! as the first argument).

use app::compress::gzip_index::{GzipIndex, DEFAULT_SPACING};
use std::error::Error;
use std::io::{self, Cursor, Read, Write};
use std::time::{Duration, Instant};

const MIB: usize = 1 << 20;

/// Tar-like, compressible content: word salad, random runs, zeros and repeats.
fn sample(len: usize) -> Vec<u8> {
    const WORDS: &[&[u8]] = &[
        b"usr/",
        b"lib/",
        b"bin/",
        b"share/",
        b"locale/",
        b".so.6",
        b"\n",
        b" ",
        b"0644 ",
        b"root ",
        b"sha256:",
        b"python3",
        b"README",
        b"\0\0\0\0",
    ];
    let mut s: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        s ^= s >> 12;
        s ^= s << 25;
        s ^= s >> 27;
        s.wrapping_mul(0x2545_f491_4f6c_dd1d)
    };
    let mut out = Vec::with_capacity(len + 64 * 1024);
    while out.len() < len {
        let seg = (next() % (64 << 10)) as usize + 1;
        match next() % 8 {
            0 => (0..seg / 4).for_each(|_| out.push(next() as u8)),
            1 => out.resize(out.len() + seg, 0),
            2 | 3 if out.len() > seg => {
                let from = (next() % (out.len() - seg) as u64) as usize;
                out.extend_from_within(from..from + seg);
            }
            _ => {
                let end = out.len() + seg;
                while out.len() < end {
                    out.extend_from_slice(WORDS[(next() % WORDS.len() as u64) as usize]);
                }
            }
        }
    }
    out.truncate(len);
    out
}

fn mb_s(bytes: usize, d: Duration) -> f64 {
    bytes as f64 / MIB as f64 / d.as_secs_f64()
}

fn main() -> Result<(), Box<dyn Error>> {
    let size_mib: usize = std::env::args().nth(1).map_or(Ok(256), |a| a.parse())?;
    let data = sample(size_mib * MIB);

    let t = Instant::now();
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(&data)?;
    let blob = enc.finish()?;
    println!(
        "data {} MiB, gzip -6 {:.1} MiB ({:.1} %), compressed in {:.2?}",
        data.len() / MIB,
        blob.len() as f64 / MIB as f64,
        100.0 * blob.len() as f64 / data.len() as f64,
        t.elapsed()
    );

    let t = Instant::now();
    let n = io::copy(
        &mut flate2::read::MultiGzDecoder::new(blob.as_slice()),
        &mut io::sink(),
    )?;
    let flate2_full = t.elapsed();
    println!(
        "flate2 MultiGzDecoder, whole stream: {flate2_full:.2?} ({:.0} MiB/s out)",
        mb_s(n as usize, flate2_full)
    );

    let t = Instant::now();
    let idx = GzipIndex::build(blob.as_slice(), DEFAULT_SPACING, u64::MAX, &mut |_| {})?;
    let build = t.elapsed();
    println!(
        "GzipIndex::build (spacing 4 MiB): {build:.2?} ({:.0} MiB/s out, {:.2}x flate2), {} checkpoints",
        mb_s(data.len(), build),
        build.as_secs_f64() / flate2_full.as_secs_f64(),
        idx.checkpoints()
    );

    let t = Instant::now();
    let bytes = idx.to_bytes();
    let ser = t.elapsed();
    let t = Instant::now();
    let back = GzipIndex::from_bytes(&bytes)?;
    let de = t.elapsed();
    println!(
        "index: {} bytes ({:.1} KiB per checkpoint, {:.2} % of the blob); to_bytes {ser:.2?}, from_bytes {de:.2?}",
        bytes.len(),
        bytes.len() as f64 / 1024.0 / idx.checkpoints().max(1) as f64,
        100.0 * bytes.len() as f64 / blob.len() as f64
    );

    let at = data.len() as u64 * 95 / 100;
    let want = &data[at as usize..at as usize + MIB];
    let mut got = vec![0u8; MIB];

    let mut best = Duration::MAX;
    for _ in 0..5 {
        let t = Instant::now();
        back.reader_at(Cursor::new(blob.as_slice()), at)?
            .read_exact(&mut got)?;
        best = best.min(t.elapsed());
    }
    if got != want {
        return Err("index read returned wrong bytes".into());
    }
    println!("1 MiB at 95 % via the index: {best:.2?} (best of 5)");

    let t = Instant::now();
    let mut d = flate2::read::MultiGzDecoder::new(blob.as_slice());
    io::copy(&mut (&mut d).take(at), &mut io::sink())?;
    d.read_exact(&mut got)?;
    let scan = t.elapsed();
    if got != want {
        return Err("flate2 read returned wrong bytes".into());
    }
    println!(
        "1 MiB at 95 % via flate2 from the start: {scan:.2?} ({:.0}x slower)",
        scan.as_secs_f64() / best.as_secs_f64()
    );
    Ok(())
}
