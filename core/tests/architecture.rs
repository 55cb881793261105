//! The crate boundaries of ARCHITECTURE.md, checked on `cargo metadata`: dependencies between
//! workspace crates point down the layers only (ui → shell → core → models / evaluation /
//! ingest → kernels), no library crate depends on a command-line parser or a log subscriber,
//! and only the desktop shell depends on tauri.

use std::process::Command;

use serde_json::Value;

/// Each workspace crate's layer; a crate may depend only on crates of a lower layer.
const LAYERS: &[(&str, u8)] = &[
    ("raddraft-kernels", 0),
    ("raddraft-ingest", 1),
    ("raddraft-models", 1),
    ("raddraft-eval", 1),
    ("raddraft-core", 2),
    ("raddraft-cli", 3),
    ("raddraft-desktop", 3),
    ("raddraft-bench", 4),
];

/// Programs rather than libraries: they may parse command lines and install log subscribers.
const APPLICATIONS: &[&str] = &["raddraft-cli", "raddraft-desktop", "raddraft-bench"];
const APPLICATION_ONLY: &[&str] = &["clap", "tracing-subscriber"];
const SHELL: &str = "raddraft-desktop";

fn layer(name: &str) -> Option<u8> {
    LAYERS.iter().find(|(n, _)| *n == name).map(|(_, l)| *l)
}

/// Every rule broken in `metadata` (the JSON of `cargo metadata --no-deps`), one line each.
fn violations(metadata: &Value) -> Vec<String> {
    let mut found = Vec::new();
    for package in metadata["packages"].as_array().into_iter().flatten() {
        let name = package["name"].as_str().unwrap_or_default();
        let Some(own_layer) = layer(name) else {
            found.push(format!(
                "{name} has no layer: add it to ARCHITECTURE.md and LAYERS"
            ));
            continue;
        };
        for dependency in package["dependencies"].as_array().into_iter().flatten() {
            // Dev-dependencies serve tests only; build-dependencies run at build time.
            if !dependency["kind"].is_null() {
                continue;
            }
            let target = dependency["name"].as_str().unwrap_or_default();
            if let Some(target_layer) = layer(target) {
                if target_layer >= own_layer {
                    found.push(format!(
                        "{name} (layer {own_layer}) depends on {target} (layer {target_layer})"
                    ));
                }
            }
            if APPLICATION_ONLY.contains(&target) && !APPLICATIONS.contains(&name) {
                found.push(format!("library {name} depends on {target}"));
            }
            if (target == "tauri" || target.starts_with("tauri-")) && name != SHELL {
                found.push(format!("{name} depends on {target}; only {SHELL} may"));
            }
        }
    }
    found
}

fn workspace_metadata() -> Value {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo metadata runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("cargo metadata prints JSON")
}

#[test]
fn dependencies_point_down_the_layers_only() {
    let metadata = workspace_metadata();
    let names: Vec<&str> = metadata["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    for (name, _) in LAYERS {
        assert!(names.contains(name), "{name} is not a workspace member");
    }
    let found = violations(&metadata);
    assert!(found.is_empty(), "{}", found.join("\n"));
}

/// The rules catch each kind of wrong edge (so the test above can fail).
#[test]
fn each_wrong_direction_is_reported() {
    let package = |name: &str, dependencies: &[(&str, Option<&str>)]| {
        serde_json::json!({
            "name": name,
            "dependencies": dependencies
                .iter()
                .map(|(d, kind)| serde_json::json!({ "name": d, "kind": kind }))
                .collect::<Vec<_>>(),
        })
    };
    let metadata = serde_json::json!({ "packages": [
        package("raddraft-ingest", &[("raddraft-models", None), ("raddraft-kernels", None)]),
        package("raddraft-models", &[("clap", None), ("raddraft-kernels", None)]),
        package("raddraft-core", &[("tauri", None), ("tempfile", Some("dev"))]),
        package("raddraft-kernels", &[("raddraft-core", Some("dev"))]),
        package("raddraft-cli", &[("clap", None), ("raddraft-core", None)]),
        package("raddraft-extra", &[]),
    ]});
    assert_eq!(
        violations(&metadata),
        [
            "raddraft-ingest (layer 1) depends on raddraft-models (layer 1)",
            "library raddraft-models depends on clap",
            "raddraft-core depends on tauri; only raddraft-desktop may",
            "raddraft-extra has no layer: add it to ARCHITECTURE.md and LAYERS",
        ]
    );
}
