//! User settings of the desktop app, kept as JSON in the app's config folder. A database change
//! takes effect at the next start; the others at once (threads: at the next start).

use std::path::{Path, PathBuf};

use raddraft_core::store::DbLocation;
use serde::{Deserialize, Serialize};

use crate::error::{CommandError, CommandResult};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settings {
    /// A RadGraph model folder or `.tar.gz`; the RadGraph view is off without one.
    pub radgraph_model_dir: Option<String>,
    /// `cpu`, `cuda`, `cuda:N` or `metal` (GPU builds only).
    pub device: String,
    /// Worker threads for inference; `None` uses every core.
    pub threads: Option<usize>,
    /// A SQLite file or a `postgres://` URL.
    pub db: String,
    /// The model preselected in the draft panel.
    pub default_model: Option<String>,
    /// The name recorded as author and signer.
    pub user_name: String,
}

impl Settings {
    /// First-start values: the platform's default database, the CPU, the login name.
    pub fn defaults() -> Settings {
        Settings {
            radgraph_model_dir: None,
            device: "cpu".into(),
            threads: None,
            db: DbLocation::default_sqlite()
                .map(|l| l.to_string())
                .unwrap_or_else(|_| "raddraft.db".into()),
            default_model: None,
            user_name: ["USER", "USERNAME"]
                .iter()
                .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()))
                .unwrap_or_default(),
        }
    }

    /// Refuses values that cannot work, naming the field.
    pub fn validate(&self) -> CommandResult<()> {
        raddraft_models::device::parse_device(&self.device).map_err(|e| {
            CommandError::new("invalid_input", format!("device {:?}: {e}", self.device))
        })?;
        if self.threads == Some(0) {
            return Err(CommandError::new(
                "invalid_input",
                "threads: give at least 1, or leave it empty to use every core",
            ));
        }
        DbLocation::parse(&self.db)
            .map_err(|e| CommandError::new("invalid_input", format!("db: {e}")))?;
        Ok(())
    }
}

/// Reads the settings file; a missing file gives the defaults. An unreadable file also gives the
/// defaults, with the reason, and is left as it is until the user saves new settings.
pub fn load(path: &Path) -> (Settings, Option<String>) {
    match std::fs::read_to_string(path) {
        Ok(text) => match serde_json::from_str(&text) {
            Ok(settings) => (settings, None),
            Err(e) => (
                Settings::defaults(),
                Some(format!(
                    "{}: unreadable settings ({e}); using the defaults until settings are saved",
                    path.display()
                )),
            ),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => (Settings::defaults(), None),
        Err(e) => (
            Settings::defaults(),
            Some(format!("{}: cannot read the settings: {e}", path.display())),
        ),
    }
}

/// Writes the settings through a temporary file and a rename, so a crash leaves the old or the new file.
pub fn save(path: &Path, settings: &Settings) -> CommandResult<()> {
    let io = |e: std::io::Error| {
        CommandError::new(
            "io",
            format!("{}: cannot save the settings: {e}", path.display()),
        )
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let text = serde_json::to_string_pretty(settings).map_err(|e| {
        CommandError::new("internal", format!("cannot serialise the settings: {e}"))
    })?;
    let temporary = path.with_extension("json.tmp");
    std::fs::write(&temporary, text).map_err(io)?;
    std::fs::rename(&temporary, path).map_err(io)
}

/// `settings.json` in `RADDRAFT_DESKTOP_CONFIG` when set (tests, portable installs), else in the
/// platform's config folder for the app.
pub fn settings_path(app_config_dir: Option<PathBuf>) -> PathBuf {
    std::env::var_os("RADDRAFT_DESKTOP_CONFIG")
        .map(PathBuf::from)
        .or(app_config_dir)
        .unwrap_or_else(|| PathBuf::from("."))
        .join("settings.json")
}
