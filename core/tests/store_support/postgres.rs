//! The PostgreSQL server the store tests run against: `RADDRAFT_TEST_POSTGRES_URL` when set (a
//! user allowed to create databases), otherwise a throwaway server started from Debian's
//! `postgresql` package in a temporary folder, stopped and removed when the test process exits.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

use sqlx::{Connection, Executor, PgConnection};

/// URL of the `postgres` maintenance database, as a user that may create databases.
fn admin_url() -> &'static str {
    static SERVER: OnceLock<Result<String, String>> = OnceLock::new();
    match SERVER.get_or_init(|| match std::env::var("RADDRAFT_TEST_POSTGRES_URL") {
        Ok(url) if !url.is_empty() => Ok(url),
        _ => start_throwaway_server(),
    }) {
        Ok(url) => url,
        Err(reason) => panic!("PostgreSQL tests cannot run: {reason}"),
    }
}

/// Creates an empty database; returns its URL, the admin URL and its name.
pub async fn fresh_database() -> (String, String, String) {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let admin = admin_url().to_owned();
    let name = format!(
        "raddraft_test_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    let mut conn = PgConnection::connect(&admin)
        .await
        .unwrap_or_else(|e| panic!("connecting to the test server: {e}"));
    conn.execute(format!("CREATE DATABASE {name}").as_str())
        .await
        .unwrap_or_else(|e| panic!("CREATE DATABASE {name}: {e}"));
    let _ = conn.close().await;
    (with_database(&admin, &name), admin, name)
}

pub async fn drop_database(admin_url: &str, name: &str) {
    if let Ok(mut conn) = PgConnection::connect(admin_url).await {
        let _ = conn
            .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
            .await;
        let _ = conn.close().await;
    }
}

/// `url` with its database name replaced.
fn with_database(url: &str, name: &str) -> String {
    let (head, query) = match url.split_once('?') {
        Some((head, query)) => (head, Some(query)),
        None => (url, None),
    };
    let authority_start = head.find("://").map_or(0, |i| i + 3);
    let base = match head[authority_start..].find('/') {
        Some(slash) => &head[..authority_start + slash],
        None => head,
    };
    match query {
        Some(query) => format!("{base}/{name}?{query}"),
        None => format!("{base}/{name}"),
    }
}

fn start_throwaway_server() -> Result<String, String> {
    let bin = find_server_binaries().ok_or(
        "PostgreSQL server binaries not found (/usr/lib/postgresql/*/bin/initdb): run \
         scripts/bootstrap.sh (it installs Debian's postgresql package), or set \
         RADDRAFT_TEST_POSTGRES_URL to a server where the user may create databases",
    )?;
    let root = tempfile::Builder::new()
        .prefix("raddraft-pg-")
        .tempdir()
        .map_err(|e| format!("temporary folder: {e}"))?
        .keep();
    // PostgreSQL refuses to run as root: as root, run it as the package's `postgres` user.
    let run_as: Vec<String> = if running_as_root() {
        run(Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(&root))?;
        ["runuser", "-u", "postgres", "--"]
            .map(String::from)
            .to_vec()
    } else {
        Vec::new()
    };
    let data = root.join("data");
    let server_command = |tool: &str| {
        let mut command = Command::new(run_as.first().map_or(bin.join(tool), PathBuf::from));
        command.args(run_as.iter().skip(1));
        if !run_as.is_empty() {
            command.arg(bin.join(tool));
        }
        command
    };
    run(server_command("initdb").arg("-D").arg(&data).args([
        "-U",
        "raddraft",
        "-A",
        "trust",
        "--no-sync",
        "-E",
        "UTF8",
        "--no-locale",
    ]))?;
    let port = free_port()?;
    let options = format!(
        "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off \
         -c full_page_writes=off",
        root.display()
    );
    run(server_command("pg_ctl")
        .arg("-D")
        .arg(&data)
        .arg("-l")
        .arg(root.join("server.log"))
        .args(["-w", "-t", "60", "-o", &options, "start"]))?;
    watch_for_exit(&run_as, &bin, &data, &root)?;
    Ok(format!("postgres://raddraft@127.0.0.1:{port}/postgres"))
}

/// A detached shell that stops the server and removes its folder once this process has exited.
fn watch_for_exit(run_as: &[String], bin: &Path, data: &Path, root: &Path) -> Result<(), String> {
    let script = format!(
        "while [ -d /proc/{pid} ]; do sleep 1; done; {run_as} '{pg_ctl}' -D '{data}' -m immediate stop; rm -rf '{root}'",
        pid = std::process::id(),
        run_as = run_as.join(" "),
        pg_ctl = bin.join("pg_ctl").display(),
        data = data.display(),
        root = root.display(),
    );
    Command::new("setsid")
        .args(["sh", "-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map(drop)
        .map_err(|e| format!("starting the server's clean-up watcher: {e}"))
}

fn find_server_binaries() -> Option<PathBuf> {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let version = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, bin)| bin)
}

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0")
}

fn free_port() -> Result<u16, String> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .map_err(|e| format!("finding a free port: {e}"))
}

fn run(command: &mut Command) -> Result<(), String> {
    let output = command
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{command:?}: {e}"))?;
    if output.status.success() {
        return Ok(());
    }
    Err(format!(
        "{command:?} failed ({}): {}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    ))
}
