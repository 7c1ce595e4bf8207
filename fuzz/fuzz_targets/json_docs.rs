//! JSON documents: the first byte picks which document the rest of the input becomes:
//! 0 an image config parsed directly (and re-serialised), 1 a `docker save`
//! `manifest.json`, 2 an OCI `index.json`, 3 an OCI image manifest, 4 an image config
//! inside an OCI layout. Cases 1–4 wrap the document into an otherwise valid archive (see
//! `strata_fuzz::archive`) and run the whole archive reader and selection on it.
#![no_main]

use app::archive::read_archive;
use app::model::ImageConfig;
use libfuzzer_sys::fuzz_target;
use strata_fuzz::archive as fx;

fuzz_target!(|data: &[u8]| {
    let Some((&which, doc)) = data.split_first() else {
        return;
    };
    let f = fx::fixture();
    let tar = match which % 5 {
        0 => {
            if let Ok(cfg) = serde_json::from_slice::<ImageConfig>(doc) {
                let _ = (cfg.layer_history(), cfg.history_mismatch());
                let text = serde_json::to_vec(&cfg).unwrap_or_else(|e| panic!("serialise: {e}"));
                let back: ImageConfig = serde_json::from_slice(&text)
                    .unwrap_or_else(|e| panic!("re-parse of a serialised config: {e}"));
                assert_eq!(back.rootfs, cfg.rootfs, "rootfs changed in a round trip");
                assert_eq!(back.history, cfg.history, "history changed in a round trip");
            }
            return;
        }
        1 => fx::docker_save_with_manifest(f, doc),
        2 => fx::oci_with_index(f, doc),
        3 => fx::oci_with_manifest(f, doc),
        _ => fx::oci_with_config(f, doc),
    };
    let limits = strata_fuzz::limits();
    if let Ok(archive) = read_archive(&tar[..], &limits, &mut |_| {}) {
        fx::exercise(&archive);
    }
});
