//! Reading and saving the settings.

use tauri::State;

use crate::error::CommandResult;
use crate::settings::{save, Settings};
use crate::state::AppState;

#[tauri::command]
pub fn get_settings(state: State<'_, AppState>) -> Settings {
    state.settings()
}

/// Validates and saves; the database change applies at the next start.
#[tauri::command]
pub fn set_settings(state: State<'_, AppState>, settings: Settings) -> CommandResult<Settings> {
    settings.validate()?;
    save(&state.settings_path, &settings)?;
    state.replace_settings(settings.clone());
    Ok(settings)
}
