//! A throwaway PostgreSQL cluster: `initdb` into a fresh private directory, `pg_ctl` to start it
//! listening on a Unix socket in that directory only (no TCP port), and removal when dropped.
//! The collector's tests, its benchmark and `audit demo --fleet` use it; production points the
//! collector at a server the operator runs.
//!
//! The server programs are found on `$PATH` or in Debian's `/usr/lib/postgresql/<version>/bin`
//! (package `postgresql`; `cargo xtask packages` installs it). PostgreSQL refuses to run as root:
//! when this process is root, the cluster is owned by the `postgres` user the package creates,
//! and its programs run through `runuser`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::error::CollectorError;

/// The port number in the socket's name (`.s.PGSQL.<port>`); nothing listens on TCP.
const PORT: u16 = 5432;
/// The cluster's superuser.
pub const SUPERUSER: &str = "postgres";

/// A running throwaway cluster. Dropping it stops the server (immediate mode) and removes the
/// directory.
#[derive(Debug)]
pub struct TempCluster {
    dir: PathBuf,
    bin: PathBuf,
    run_as: Option<String>,
}

impl TempCluster {
    /// Creates and starts a cluster in a new directory under the system's temporary directory.
    pub fn start() -> Result<Self, CollectorError> {
        let bin = postgres_bin_dir().ok_or_else(|| {
            CollectorError::Cluster(
                "PostgreSQL's server programs (initdb, pg_ctl, postgres) are not installed: run \
                 `cargo xtask packages` as root, or `apt-get install postgresql`"
                    .to_owned(),
            )
        })?;
        let mut random = [0u8; 8];
        getrandom::fill(&mut random)
            .map_err(|e| CollectorError::Cluster(format!("no randomness: {e}")))?;
        let dir = std::env::temp_dir()
            .join(format!("audit-pg-{}", base16ct::lower::encode_string(&random)));
        std::fs::create_dir(&dir).map_err(|e| io_err("creating", &dir, &e))?;
        let run_as = is_root().then(|| SUPERUSER.to_owned());
        let cluster = Self { dir, bin, run_as };
        cluster.prepare_dir()?;
        cluster.pg(
            "initdb",
            &[
                "-D",
                &cluster.data().to_string_lossy(),
                "-U",
                SUPERUSER,
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                "--no-instructions",
            ],
        )?;
        cluster.start_server()?;
        Ok(cluster)
    }

    /// The libpq connection string of the superuser's `postgres` database.
    pub fn connection_string(&self) -> String {
        format!("host={} port={PORT} user={SUPERUSER} dbname=postgres", self.dir.display())
    }

    /// Stops the server at once, as a crash would (`pg_ctl stop -m immediate`): committed
    /// transactions survive, open ones are lost.
    pub fn crash(&self) -> Result<(), CollectorError> {
        self.pg("pg_ctl", &["-D", &self.data().to_string_lossy(), "-m", "immediate", "-w", "stop"])
            .map(drop)
    }

    /// Starts the server again after [`crash`](Self::crash).
    pub fn restart(&self) -> Result<(), CollectorError> {
        self.start_server()
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    fn start_server(&self) -> Result<(), CollectorError> {
        let options = format!("-c listen_addresses='' -k {} -p {PORT}", self.dir.display());
        self.pg(
            "pg_ctl",
            &[
                "-D",
                &self.data().to_string_lossy(),
                "-l",
                &self.dir.join("server.log").to_string_lossy(),
                "-o",
                &options,
                "-w",
                "-t",
                "60",
                "start",
            ],
        )
        .map(drop)
    }

    /// Makes the directory the cluster's owner's own (mode 0700).
    fn prepare_dir(&self) -> Result<(), CollectorError> {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&self.dir, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| io_err("setting the mode of", &self.dir, &e))?;
        if let Some(user) = &self.run_as {
            let (uid, gid) = user_ids(user)?;
            std::os::unix::fs::chown(&self.dir, Some(uid), Some(gid))
                .map_err(|e| io_err("changing the owner of", &self.dir, &e))?;
        }
        Ok(())
    }

    /// Runs one of the server programs (as the cluster's owner when this process is root).
    fn pg(&self, program: &str, args: &[&str]) -> Result<Output, CollectorError> {
        let path = self.bin.join(program);
        let mut command = match &self.run_as {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(&path);
                c
            }
            None => Command::new(&path),
        };
        let output = command
            .args(args)
            .current_dir(&self.dir)
            .output()
            .map_err(|e| CollectorError::Cluster(format!("could not start {program}: {e}")))?;
        if !output.status.success() {
            let log = std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default();
            return Err(CollectorError::Cluster(format!(
                "{program} exited with {}: {}{}\n{}",
                output.status,
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr),
                tail(&log, 2000),
            )));
        }
        Ok(output)
    }
}

impl Drop for TempCluster {
    fn drop(&mut self) {
        if self.data().join("postmaster.pid").exists() {
            let _ = self.crash();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn tail(text: &str, bytes: usize) -> &str {
    let mut start = text.len().saturating_sub(bytes);
    while !text.is_char_boundary(start) {
        start += 1;
    }
    &text[start..]
}

fn io_err(what: &str, path: &Path, e: &std::io::Error) -> CollectorError {
    CollectorError::Cluster(format!("{what} {}: {e}", path.display()))
}

/// The directory holding `initdb`, `pg_ctl` and `postgres`: `$PATH` first, then the newest of
/// Debian's `/usr/lib/postgresql/<version>/bin`.
pub fn postgres_bin_dir() -> Option<PathBuf> {
    let complete =
        |dir: &Path| ["initdb", "pg_ctl", "postgres"].iter().all(|p| dir.join(p).is_file());
    if let Some(path) = std::env::var_os("PATH")
        && let Some(dir) = std::env::split_paths(&path).find(|dir| complete(dir))
    {
        return Some(dir);
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let version: u32 = entry.file_name().to_str()?.parse().ok()?;
            let bin = entry.path().join("bin");
            complete(&bin).then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

fn is_root() -> bool {
    std::fs::metadata("/proc/self").is_ok_and(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
}

fn user_ids(user: &str) -> Result<(u32, u32), CollectorError> {
    let id = |flag: &str| -> Result<u32, CollectorError> {
        let out = Command::new("id")
            .args([flag, user])
            .output()
            .map_err(|e| CollectorError::Cluster(format!("could not run id: {e}")))?;
        String::from_utf8_lossy(&out.stdout).trim().parse().map_err(|_| {
            CollectorError::Cluster(format!(
                "running as root, PostgreSQL needs the `{user}` user, which does not exist \
                 (Debian's postgresql package creates it)"
            ))
        })
    };
    Ok((id("-u")?, id("-g")?))
}
