//! What a run was made on and from: the machine, the commit, the time.

use serde::Serialize;

/// Where and from what a run was made.
#[derive(Debug, Serialize)]
pub struct Provenance {
    /// Processor model and count, memory, kernel.
    pub machine: String,
    /// The commit (with `-dirty` when the tree had changes), or `unknown`.
    pub commit: String,
    /// Whether this binary was built with optimisations.
    pub release: bool,
}

impl Provenance {
    /// Reads them from the system.
    pub fn detect() -> Provenance {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let model = cpuinfo
            .lines()
            .find(|l| l.starts_with("model name"))
            .and_then(|l| l.split(':').nth(1))
            .map(|m| m.trim().to_string())
            .unwrap_or_else(|| std::env::consts::ARCH.to_string());
        let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
        let memory_gb = std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|m| {
                let line = m.lines().find(|l| l.starts_with("MemTotal:"))?.to_string();
                let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
                Some(kb / 1024.0 / 1024.0)
            })
            .unwrap_or(0.0);
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|k| k.trim().to_string())
            .unwrap_or_else(|_| std::env::consts::OS.to_string());
        let git = |args: &[&str]| {
            std::process::Command::new("git")
                .args(args)
                .output()
                .ok()
                .filter(|o| o.status.success())
                .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        };
        let commit = match git(&["rev-parse", "--short=12", "HEAD"]) {
            Some(c) => {
                let dirty = git(&["status", "--porcelain", "--untracked-files=no"])
                    .is_some_and(|s| !s.is_empty());
                if dirty { format!("{c}-dirty") } else { c }
            }
            None => "unknown".into(),
        };
        Provenance {
            machine: format!("{model}, {cpus} CPUs, {memory_gb:.0} GB, Linux {kernel}"),
            commit,
            release: !cfg!(debug_assertions),
        }
    }
}

/// This process's peak resident memory so far, in bytes (0 where the system does not say).
pub fn peak_rss() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            let line = s.lines().find(|l| l.starts_with("VmHWM:"))?.to_string();
            line.split_whitespace().nth(1)?.parse::<u64>().ok()
        })
        .map_or(0, |kb| kb * 1024)
}
