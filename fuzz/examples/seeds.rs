//! Writes the seed corpora (`fuzz/seeds/<target>/`) from small valid inputs: layer tars
//! in every header dialect the reader supports (ustar, GNU long names, PAX, globals,
//! devices, base-256 numbers, sparse files from GNU tar when it is installed), their gzip
//! and zstd forms, tar-split metadata for them, and `docker save` / OCI archives around
//! the fixture image. Each seed is under 10 KB. Run from `fuzz/`:
//! `cargo run --example seeds` (the seeds are checked in; rerun after changing this).

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use strata_fuzz::archive as fx;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn header(kind: tar::EntryType, size: u64) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_size(size);
    h.set_mode(0o644);
    h.set_mtime(1_700_000_000);
    h.set_entry_type(kind);
    h
}

fn file(b: &mut tar::Builder<Vec<u8>>, path: &str, data: &[u8]) -> Result<()> {
    let mut h = header(tar::EntryType::Regular, data.len() as u64);
    b.append_data(&mut h, path, data)?;
    Ok(())
}

fn special(
    b: &mut tar::Builder<Vec<u8>>,
    path: &str,
    kind: tar::EntryType,
    link: &str,
) -> Result<()> {
    let mut h = header(kind, 0);
    if !link.is_empty() {
        b.append_link(&mut h, path, link)?;
    } else {
        b.append_data(&mut h, path, &[][..])?;
    }
    Ok(())
}

/// An entry whose name (< 100 bytes) and link are written verbatim, however odd.
fn raw(
    b: &mut tar::Builder<Vec<u8>>,
    name: &str,
    kind: tar::EntryType,
    link: &str,
    data: &[u8],
) -> Result<()> {
    let mut h = header(kind, data.len() as u64);
    let old = h.as_old_mut();
    old.name[..name.len()].copy_from_slice(name.as_bytes());
    old.linkname[..link.len()].copy_from_slice(link.as_bytes());
    h.set_cksum();
    b.append(&h, data)?;
    Ok(())
}

/// Layer tars in the dialects the header reader supports.
fn layer_tars() -> Result<Vec<(&'static str, Vec<u8>)>> {
    let mut out = Vec::new();

    let mut b = tar::Builder::new(Vec::new());
    special(&mut b, "./", tar::EntryType::Directory, "")?;
    special(&mut b, "etc/", tar::EntryType::Directory, "")?;
    file(&mut b, "etc/hostname", b"strata\n")?;
    special(&mut b, "etc/alias", tar::EntryType::Symlink, "hostname")?;
    special(&mut b, "etc/hard", tar::EntryType::Link, "etc/hostname")?;
    file(&mut b, "etc/.wh.gone", b"")?;
    file(&mut b, "usr/.wh..wh..opq", b"")?;
    out.push(("basic", b.into_inner()?));

    let mut b = tar::Builder::new(Vec::new());
    let long = format!("deep/{}/{}", "d".repeat(120), "f".repeat(150));
    file(&mut b, &long, b"long name\n")?;
    special(
        &mut b,
        "link-to-long",
        tar::EntryType::Symlink,
        &"t".repeat(140),
    )?;
    out.push(("gnu_long", b.into_inner()?));

    let mut b = tar::Builder::new(Vec::new());
    b.append_pax_extensions([
        ("path", &b"pax/\xc3\xa9t\xc3\xa9.txt"[..]),
        ("mtime", b"1700000000.5"),
        ("uid", b"4294967296"),
    ])?;
    file(&mut b, "pax/ignored-name", b"pax data\n")?;
    b.append_pax_extensions([("linkpath", &b"pax/target"[..])])?;
    special(&mut b, "pax/link", tar::EntryType::Symlink, "short")?;
    out.push(("pax", b.into_inner()?));

    let mut b = tar::Builder::new(Vec::new());
    let mut g = header(tar::EntryType::XGlobalHeader, 30);
    let rec = b"30 comment=git archive xyzzy\n\n";
    g.set_size(rec.len() as u64);
    b.append_data(&mut g, "pax_global_header", &rec[..])?;
    file(&mut b, "a", b"after a global header\n")?;
    out.push(("pax_global", b.into_inner()?));

    let mut b = tar::Builder::new(Vec::new());
    for (p, k) in [
        ("dev/null", tar::EntryType::Char),
        ("dev/sda", tar::EntryType::Block),
        ("run/fifo", tar::EntryType::Fifo),
    ] {
        special(&mut b, p, k, "")?;
    }
    let mut h = header(tar::EntryType::Regular, 3);
    h.set_uid(1 << 40); // base-256 in a GNU header
    h.set_mtime(u64::MAX >> 2);
    b.append_data(&mut h, "big-ids", &b"abc"[..])?;
    out.push(("devices_base256", b.into_inner()?));

    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_old();
    h.set_size(4);
    h.set_mode(0o644);
    h.set_entry_type(tar::EntryType::Regular);
    b.append_data(&mut h, "v7-file", &b"v7!\n"[..])?;
    let mut h = tar::Header::new_ustar();
    h.set_size(0);
    h.set_mode(0o755);
    h.set_entry_type(tar::EntryType::Directory);
    b.append_data(&mut h, format!("{}/ustar-dir/", "p".repeat(110)), &[][..])?;
    out.push(("v7_ustar_prefix", b.into_inner()?));

    let mut b = tar::Builder::new(Vec::new());
    raw(&mut b, "../escape", tar::EntryType::Regular, "", b"x")?;
    raw(&mut b, "/abs/./path//x", tar::EntryType::Regular, "", b"y")?;
    raw(&mut b, "h", tar::EntryType::Link, "../../outside", b"")?;
    file(&mut b, "dup", b"1")?;
    file(&mut b, "dup", b"2")?;
    raw(&mut b, "./", tar::EntryType::Symlink, "/elsewhere", b"")?;
    let mut data = b.into_inner()?;
    data.extend_from_slice(b"trailing junk after the end marker");
    out.push(("odd_names_trailer", data));

    out.push(("empty_1024", vec![0u8; 1024]));
    let mut truncated = out[0].1.clone();
    truncated.truncate(1024);
    out.push(("truncated_on_block", truncated));

    out.extend(gnu_tar_sparse());
    Ok(out)
}

/// Sparse tars written by GNU tar (old GNU and PAX 0.1/1.0), when `tar` is installed.
fn gnu_tar_sparse() -> Vec<(&'static str, Vec<u8>)> {
    let dir = std::env::temp_dir().join(format!("strata-seeds-{}", std::process::id()));
    let _ = fs::create_dir_all(&dir);
    let path = dir.join("sparse");
    let made = (|| -> std::io::Result<()> {
        let mut f = fs::File::create(&path)?;
        // Holes are found per 4 KiB block: one data block, then a 10-byte tail.
        f.set_len((1 << 20) + 10)?;
        use std::io::Seek;
        f.seek(std::io::SeekFrom::Start(100 << 10))?;
        f.write_all(b"data in the middle")?;
        f.seek(std::io::SeekFrom::Start(1 << 20))?;
        f.write_all(b"tail!tail!")?;
        Ok(())
    })();
    let mut out = Vec::new();
    if made.is_ok() {
        for (name, args) in [
            ("sparse_gnu", &["--format=gnu"][..]),
            (
                "sparse_pax01",
                &["--format=posix", "--sparse-version=0.1"][..],
            ),
            (
                "sparse_pax10",
                &["--format=posix", "--sparse-version=1.0"][..],
            ),
        ] {
            let tar = Command::new("tar")
                .args(args)
                .args([
                    "-b1",
                    "--sparse",
                    "--mtime=@0",
                    "--owner=0",
                    "--group=0",
                    "-cf",
                    "-",
                ])
                .arg("-C")
                .arg(&dir)
                .arg("sparse")
                .output();
            match tar {
                Ok(o) if o.status.success() => out.push((name, o.stdout)),
                _ => eprintln!("GNU tar unavailable: no {name} seed"),
            }
        }
    }
    let _ = fs::remove_dir_all(&dir);
    out
}

fn zstd(data: &[u8]) -> Result<Vec<u8>> {
    Ok(zstd::encode_all(data, 3)?)
}

struct Seeds {
    root: PathBuf,
}

impl Seeds {
    fn put(&self, target: &str, name: &str, data: &[u8]) -> Result<()> {
        if data.len() >= 10 * 1024 {
            return Err(format!("seed {target}/{name} is {} bytes", data.len()).into());
        }
        let dir = self.root.join(target);
        fs::create_dir_all(&dir)?;
        fs::write(dir.join(name), data)?;
        Ok(())
    }
}

fn main() -> Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("seeds");
    let _ = fs::remove_dir_all(&root);
    let s = Seeds { root };
    let limits = strata_fuzz::limits();

    for (name, tar) in layer_tars()? {
        s.put("tar_headers", name, &tar)?;
        s.put("layer_plain", name, &tar)?;
        s.put("layer_gzip", name, &tar)?;
        s.put("tar_split_roundtrip", name, &tar)?;
        match strata_fuzz::tarsplit::tar_split_of(&tar, &limits) {
            Ok(lines) => {
                let mut plain = vec![0u8];
                plain.extend_from_slice(&lines);
                s.put("tar_split", name, &plain)?;
                let mut zipped = vec![1u8];
                zipped.extend_from_slice(&lines);
                s.put("tar_split", &format!("{name}.gz"), &zipped)?;
            }
            Err(_) => eprintln!("{name}: no tar-split form (sparse or refused)"),
        }
    }
    for (name, tar) in layer_tars()?.into_iter().take(3) {
        s.put(
            "layer_plain",
            &format!("{name}.gz"),
            &strata_fuzz::gzip(&tar),
        )?;
        s.put("layer_plain", &format!("{name}.zst"), &zstd(&tar)?)?;
    }
    let first = layer_tars()?.swap_remove(0).1;
    let two = [strata_fuzz::gzip(&first), strata_fuzz::gzip(b"")].concat();
    s.put("layer_plain", "multi_member.gz", &two)?;

    let f = fx::fixture();
    let docker_manifest = fx::docker_manifest();
    let index = fx::index_for(&f.manifest);
    s.put(
        "archive",
        "docker_save",
        &fx::docker_save_with_manifest(f, &docker_manifest),
    )?;
    s.put("archive", "oci_layout", &fx::oci_with_index(f, &index))?;
    s.put(
        "archive",
        "oci_manifest",
        &fx::oci_with_manifest(f, &f.manifest),
    )?;
    s.put("archive", "oci_config", &fx::oci_with_config(f, &f.config))?;
    let symlinked = fx::outer_tar(&[
        ("config.json", &f.config),
        ("l1/layer.tar", &f.layer),
        (
            "manifest.json",
            br#"[{"Config":"config.json","RepoTags":["a:b","c:d"],"Layers":["link/layer.tar"]}]"#,
        ),
    ]);
    s.put("archive", "docker_save_missing_layer", &symlinked)?;

    for (which, name, doc) in [
        (0u8, "config", &f.config),
        (1, "docker_manifest", &docker_manifest),
        (2, "oci_index", &index),
        (3, "oci_manifest", &f.manifest),
        (4, "config_in_layout", &f.config),
    ] {
        let mut seed = vec![which];
        seed.extend_from_slice(doc);
        s.put("json_docs", name, &seed)?;
    }
    println!("seeds written to {}", s.root.display());
    Ok(())
}
