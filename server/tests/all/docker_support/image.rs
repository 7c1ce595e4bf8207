//! Test images built in the real daemon from `FROM scratch` + /bin/busybox, tagged
//! `strata-test/...`, and removed when the guard drops ([`TestImage`] and the build and

//! removal rules that keep concurrent tests apart live in `crate::system_docker`).

use std::path::Path;
use std::process::Command;

pub use crate::system_docker::{unique_tag, TestImage};

impl TestImage {
    /// Builds `dockerfile` (which may `COPY busybox /bin/busybox`) with the legacy builder.
    pub fn build(name: &str, dockerfile: &str) -> TestImage {
        let dir = tempfile::tempdir().expect("tempdir");
        crate::system_docker::copy_busybox(&dir.path().join("busybox")).expect("copy busybox");
        let tag = unique_tag(name);
        // A label makes the image ID unique even when the layers equal another test's.
        let dockerfile = format!("{dockerfile}\nLABEL strata.test=\"{tag}\"\n");
        std::fs::write(dir.path().join("Dockerfile"), dockerfile).expect("write Dockerfile");
        let out = crate::system_docker::build(&tag, &[], dir.path()).expect("run docker build");
        assert!(
            out.status.success(),
            "docker build failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let id = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        assert!(id.starts_with("sha256:"), "unexpected build output {id:?}");
        TestImage { tag, id }
    }

    /// A small three-layer image: busybox, a 300 KiB file, its deletion.
    pub fn busybox_with_waste(name: &str) -> TestImage {
        Self::build(
            name,
            "FROM scratch\nCOPY busybox /bin/busybox\n\
             RUN [\"/bin/busybox\",\"sh\",\"-c\",\"/bin/busybox mkdir -p /data && /bin/busybox dd if=/dev/zero of=/data/big bs=1k count=300 2>/dev/null\"]\n\
             RUN [\"/bin/busybox\",\"rm\",\"-f\",\"/data/big\"]\nENV STRATA=1\n",
        )
    }

    /// `docker save` of this image into `path`.
    pub fn save(&self, path: &Path) {
        let st = Command::new("docker")
            .args(["save", "-o"])
            .arg(path)
            .arg(&self.tag)
            .status()
            .expect("run docker save");
        assert!(st.success(), "docker save failed");
    }

    /// `skopeo copy docker-daemon:TAG <dest>` (dest like `oci:DIR:latest`).
    pub fn skopeo_copy(&self, dest: &str) {
        let out = Command::new("skopeo")
            .args([
                "copy",
                "--quiet",
                &format!("docker-daemon:{}", self.tag),
                dest,
            ])
            .output()
            .expect("run skopeo");
        assert!(
            out.status.success(),
            "skopeo copy failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// The diff IDs `docker inspect` reports.
    pub fn diff_ids(&self) -> Vec<String> {
        let out = Command::new("docker")
            .args([
                "inspect",
                "--format",
                "{{range .RootFS.Layers}}{{.}} {{end}}",
                &self.id,
            ])
            .output()
            .expect("run docker inspect");
        String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .map(str::to_owned)
            .collect()
    }
}
