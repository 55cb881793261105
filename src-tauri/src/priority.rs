//! Background priority for inference. A draft keeps every core busy for seconds; the app's main
//! thread and the webview's processes must still get a core at once, or the UI stutters (issue 6,
//! acceptance check 3: event-loop lag under 100 ms during a draft, on a 2-core machine). So the
//! inference threads run at nice [`BACKGROUND_NICE`]: the rayon pool (built by [`run`](crate::run)
//! with [`lower_current_thread`] as its start handler) and each model's drafting worker (started
//! by a thread that lowered its own priority first; see `commands::drafting`).

/// The nice value of the inference threads (0 is the default, 19 the lowest priority).
pub const BACKGROUND_NICE: i32 = 10;

/// Lowers the calling thread's scheduling priority to nice [`BACKGROUND_NICE`] (never raises
/// it); threads it creates afterwards inherit it. Linux only (where the nice value is per thread);
/// elsewhere a no-op. Lowering needs no privilege; a failure only leaves the priority as it was.
pub fn lower_current_thread() {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: getpriority and setpriority read only their integer arguments; on Linux,
        // `who` 0 with PRIO_PROCESS names the calling thread.
        let nice = unsafe { libc::getpriority(libc::PRIO_PROCESS, 0) }.max(BACKGROUND_NICE);
        if unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, nice) } != 0 {
            tracing::debug!(
                "could not lower the inference thread's priority: {}",
                std::io::Error::last_os_error()
            );
        }
    }
}

/// Runs `f` on a new thread at background priority and returns its result: the threads `f`
/// spawns inherit the priority, while the caller's stays as it was.
pub fn spawn_from_background<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                lower_current_thread();
                f()
            })
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    fn nice_of_this_thread() -> i32 {
        // SAFETY: as above; getpriority returns the nice value (errno aside, unused here).
        unsafe { libc::getpriority(libc::PRIO_PROCESS, 0) }
    }

    #[test]
    fn spawned_threads_inherit_background_priority_and_the_caller_keeps_its_own() {
        let before = nice_of_this_thread();
        let (helper, child) = spawn_from_background(|| {
            let child = std::thread::spawn(nice_of_this_thread).join().unwrap();
            (nice_of_this_thread(), child)
        });
        assert_eq!(helper, BACKGROUND_NICE.max(before));
        assert_eq!(
            child, helper,
            "a thread started from it inherits the priority"
        );
        assert_eq!(
            nice_of_this_thread(),
            before,
            "the caller's priority is unchanged"
        );
    }
}
