//! What the shell keeps while it runs: the open study store (or why it could not be opened),
//! the settings, loaded drafting models and running jobs, and the loaded RadGraph model.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use raddraft_core::drafting::{DraftService, JobHandle};
use raddraft_core::store::{DbLocation, Store};
use raddraft_eval::radgraph::RadGraph;

use crate::error::{CommandError, CommandResult};
use crate::settings::{self, Settings};

pub struct AppState {
    store: Result<Store, CommandError>,
    /// The database as shown to users (a PostgreSQL password masked).
    pub db_shown: String,
    pub settings_path: PathBuf,
    settings: Mutex<Settings>,
    /// Why the settings file could not be read at start, if it could not.
    pub settings_problem: Option<String>,
    pub demo_model_dir: Option<PathBuf>,
    /// Loaded models, one worker each, kept for the app's lifetime, by (name, dtype name).
    pub services: tokio::sync::Mutex<HashMap<(String, String), Arc<DraftService>>>,
    jobs: Mutex<HashMap<u64, RunningJob>>,
    next_job: AtomicU64,
    /// The RadGraph model and the folder it came from.
    pub radgraph: tokio::sync::Mutex<Option<(String, Arc<RadGraph>)>>,
    /// Image row id to file; image rows never change once stored.
    image_paths: Mutex<HashMap<i64, PathBuf>>,
}

/// A draft job of this app, from `start_draft` until its finished or failed event.
pub struct RunningJob {
    pub study: i64,
    /// Set once the job reached the drafting worker (after the model loaded).
    pub handle: Option<JobHandle>,
    pub cancel_requested: bool,
}

impl AppState {
    /// Opens the store named by `db_override` (`RADDRAFT_DB`) or else by the settings. A store
    /// that cannot be opened (corrupt, foreign, unreachable) is kept as the error every command
    /// then returns; `Store::open` leaves such a file untouched.
    pub async fn open(
        settings_path: PathBuf,
        db_override: Option<String>,
        demo_model_dir: Option<PathBuf>,
    ) -> AppState {
        let (settings, settings_problem) = settings::load(&settings_path);
        let db = db_override.unwrap_or_else(|| settings.db.clone());
        let (store, db_shown) = match DbLocation::parse(&db) {
            Ok(location) => {
                let shown = location.to_string();
                let store = Store::open(&location)
                    .await
                    .map(|store| store.with_actor(settings.user_name.clone()))
                    .map_err(|e| {
                        CommandError::new(
                            "database",
                            format!("the study database cannot be opened: {e}"),
                        )
                    });
                (store, shown)
            }
            Err(e) => (Err(CommandError::new("database", e.to_string())), db),
        };
        AppState {
            store,
            db_shown,
            settings_path,
            settings: Mutex::new(settings),
            settings_problem,
            demo_model_dir,
            services: Default::default(),
            jobs: Default::default(),
            next_job: AtomicU64::new(1),
            radgraph: Default::default(),
            image_paths: Default::default(),
        }
    }

    /// The store, or why it is not open.
    pub fn store(&self) -> CommandResult<Store> {
        self.store.clone()
    }

    pub fn settings(&self) -> Settings {
        lock(&self.settings).clone()
    }

    pub fn replace_settings(&self, settings: Settings) {
        *lock(&self.settings) = settings;
    }

    /// Remembers where the images of a study are.
    pub fn remember_images(&self, images: &[raddraft_core::store::Image]) {
        let mut paths = lock(&self.image_paths);
        for image in images {
            paths.insert(image.id.0, PathBuf::from(&image.path));
        }
    }

    /// The file of image row `image`, looking through the stored studies on first use.
    pub async fn image_path(&self, image: i64) -> CommandResult<PathBuf> {
        if let Some(path) = lock(&self.image_paths).get(&image) {
            return Ok(path.clone());
        }
        let store = self.store()?;
        for summary in store.studies().await? {
            let detail = store.study(summary.study.id).await?;
            self.remember_images(&detail.images);
            if detail.images.iter().any(|i| i.id.0 == image) {
                break;
            }
        }
        lock(&self.image_paths).get(&image).cloned().ok_or_else(|| {
            CommandError::new("not_found", format!("no image {image} in the database"))
        })
    }

    /// Registers a new job for `study`; refused while this app is drafting that study.
    pub fn add_job(&self, study: i64) -> CommandResult<u64> {
        let mut jobs = lock(&self.jobs);
        if jobs.values().any(|job| job.study == study) {
            return Err(CommandError::new(
                "busy",
                format!("study {study} is already being drafted: wait for it or cancel it"),
            ));
        }
        let id = self.next_job.fetch_add(1, Ordering::Relaxed);
        jobs.insert(
            id,
            RunningJob {
                study,
                handle: None,
                cancel_requested: false,
            },
        );
        Ok(id)
    }

    /// Gives a job its worker handle; returns false when it was cancelled meanwhile.
    pub fn attach_handle(&self, job: u64, handle: JobHandle) -> bool {
        let mut jobs = lock(&self.jobs);
        match jobs.get_mut(&job) {
            Some(running) => {
                if running.cancel_requested {
                    handle.cancel();
                }
                running.handle = Some(handle);
                true
            }
            None => false,
        }
    }

    pub fn cancel_requested(&self, job: u64) -> bool {
        lock(&self.jobs)
            .get(&job)
            .is_some_and(|j| j.cancel_requested)
    }

    /// Asks a job to stop: at the next token, or before generation when the model is still loading.
    pub fn cancel_job(&self, job: u64) -> CommandResult<()> {
        let mut jobs = lock(&self.jobs);
        let running = jobs.get_mut(&job).ok_or_else(|| {
            CommandError::new(
                "not_found",
                format!("no running draft job {job}: it may have finished"),
            )
        })?;
        running.cancel_requested = true;
        if let Some(handle) = &running.handle {
            handle.cancel();
        }
        Ok(())
    }

    pub fn remove_job(&self, job: u64) {
        lock(&self.jobs).remove(&job);
    }
}

/// Locks a mutex, recovering the data if a panicking thread poisoned it (the values stay valid).
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
