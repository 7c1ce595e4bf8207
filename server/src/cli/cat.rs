//! `strata cat SOURCE PATH [--layer N] [--diff A B]`: the bytes of one file of an image
//! on stdout — as the final filesystem has it, or as layer N stored it (even if a later
//! layer deletes it) — or a unified diff of two layers' versions. A path that is absent
//! or a directory is exit 2 with one line ("not in layer 3; present in layers 1, 2").

use super::{cache_dir, engine, load, CatArgs, CliError, GlobalArgs};
use crate::content::{self, Contents, LayerBytes, Side, MAX_DIFF_BYTES};
use crate::source::storage::LayerStore;
use app::content::unified;
use app::filetree::{Follow, OpenedFile, StackedTree};
use app::limits::Limits;
use app::model::Image;
use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;

pub async fn cat(global: &GlobalArgs, args: CatArgs) -> Result<ExitCode, CliError> {
    let prepared = load(global, &args.source, args.platform.as_deref()).await?;
    let image = prepared.loaded.image.clone();
    let mut source = prepared.source.clone();
    let mut store = None;
    // Kept until the end: the export read instead of an unreadable layer store.
    let mut _spool = None;
    if source.is_docker() {
        let engine = engine(global);
        // Only a driver with per-layer directories serves contents (not vfs).
        store = engine.layer_store().await.filter(|s| s.has_diff_dirs());
        if store.is_none() {
            let dir = tempfile::Builder::new()
                .prefix("strata-cat-")
                .tempdir()
                .map_err(|e| CliError(format!("cannot create a temporary directory: {e}")))?;
            let path = dir.path().join("image.tar");
            engine
                .export_to_file(&image.id, &path)
                .await
                .map_err(|e| CliError(format!("exporting {}: {e}", args.source)))?;
            source = crate::source::Source::DockerArchive {
                path,
                reference: None,
            };
            _spool = Some(dir);
        }
    }
    // Registry layers are fetched into the blob store on demand (from the blocking
    // thread, through the runtime's handle).
    let registry = match &source {
        crate::source::Source::Registry(r) => Some(RegistryBytes {
            engine: engine(global),
            reference: r.clone(),
            runtime: tokio::runtime::Handle::current(),
        }),
        _ => None,
    };
    let contents = Contents::new(cache_dir(global).as_deref());
    let task = tokio::task::spawn_blocking(move || {
        let tree = StackedTree::from_layers(image.layers.iter().cloned())
            .map_err(|e| CliError(format!("{}: {e}", args.source)))?;
        let ctx = Ctx {
            image: &image,
            tree: &tree,
            source: &source,
            store: store.as_ref(),
            registry: registry.as_ref(),
            limits: Limits::default(),
            contents: &contents,
            path: &args.path,
        };
        match args.diff.as_deref() {
            Some([a, b]) => ctx.diff(*a, *b),
            _ => ctx.cat(args.layer),
        }
    });
    task.await
        .map_err(|e| CliError(format!("internal error: {e}")))?
        .map(|()| ExitCode::SUCCESS)
}

struct Ctx<'a> {
    image: &'a Arc<Image>,
    tree: &'a StackedTree,
    source: &'a crate::source::Source,
    store: Option<&'a LayerStore>,
    registry: Option<&'a RegistryBytes>,
    limits: Limits,
    contents: &'a Contents,
    path: &'a str,
}

/// What reads the layers of a registry image.
struct RegistryBytes {
    engine: crate::engine::Engine,
    reference: crate::registry::RegistryRef,
    runtime: tokio::runtime::Handle,
}

impl Ctx<'_> {
    fn fail(&self, what: impl std::fmt::Display) -> CliError {
        CliError(format!("{}: {what}", self.path))
    }

    /// The file as of the final filesystem, or as stored in `layer`.
    fn open(&self, layer: Option<u32>) -> Result<OpenedFile<'_>, CliError> {
        let path = self.path.as_bytes();
        let last = self.tree.layer_count().saturating_sub(1);
        match layer {
            Some(n) => self.tree.open_in_layer(path, n, Follow::Yes),
            None => self.tree.open_at(path, last, Follow::Yes),
        }
        .map_err(|e| self.fail(e))
    }

    fn bytes_of(&self, layer: u32) -> Result<LayerBytes, CliError> {
        if let Some(r) = self.registry {
            return r
                .runtime
                .block_on(
                    r.engine
                        .registry_layer_bytes(&r.reference, self.image, layer as usize),
                )
                .map_err(|e| self.fail(e));
        }
        content::locate(
            self.source,
            self.store,
            self.image,
            layer as usize,
            &self.limits,
        )
        .map_err(|e| self.fail(e))
    }

    fn cat(&self, layer: Option<u32>) -> Result<(), CliError> {
        let file = self.open(layer)?;
        let bytes = self.bytes_of(file.layer)?;
        let mut opened = self
            .contents
            .open_file(&bytes, file.entry, 0)
            .map_err(|e| self.fail(e))?;
        let mut out = std::io::BufWriter::new(std::io::stdout().lock());
        match std::io::copy(&mut opened.reader, &mut out).and_then(|_| out.flush()) {
            Ok(()) => Ok(()),
            // `strata cat … | head` closes the pipe early: not an error
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
            Err(e) => Err(self.fail(e)),
        }
    }

    fn side<'f>(&self, f: &OpenedFile<'f>) -> Result<Side<'f>, CliError> {
        Ok(Side {
            image: self.image.id.clone(),
            layer: f.layer,
            entry: f.entry,
            bytes: self.bytes_of(f.layer)?,
        })
    }

    fn diff(&self, a: u32, b: u32) -> Result<(), CliError> {
        let (fa, fb) = (self.open(Some(a))?, self.open(Some(b))?);
        let (sa, sb) = (self.side(&fa)?, self.side(&fb)?);
        let d = content::diff(self.contents, &sa, &sb, MAX_DIFF_BYTES).map_err(|e| self.fail(e))?;
        let shown = self.path.trim_start_matches('/');
        let text = match (&d.hunks, &d.note) {
            (Some(h), _) if !h.is_empty() => unified(
                &format!("layer{a}/{shown}"),
                &format!("layer{b}/{shown}"),
                h,
            ),
            (Some(_), _) => format!("{}: identical in layers {a} and {b}\n", self.path),
            (None, note) => format!(
                "{}: layers {a} and {b}: {} ({} vs {} bytes){}\n",
                self.path,
                if d.identical {
                    "identical"
                } else {
                    "different"
                },
                d.a.size,
                d.b.size,
                note.as_deref()
                    .map(|n| format!("; {n}"))
                    .unwrap_or_default()
            ),
        };
        let mut out = std::io::stdout().lock();
        match out.write_all(text.as_bytes()) {
            Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(self.fail(e)),
            _ => Ok(()),
        }
    }
}
