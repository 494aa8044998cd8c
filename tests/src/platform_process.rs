//! The `platform` binary as a child process of a test, on the test's
//! storage: for what only a real process shows (`kill -9`, SIGTERM).

use crate::{TestEnv, client};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port()
}

/// The platform binary built next to this test binary.
pub fn platform_binary() -> std::path::PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let binary = exe.parent().and_then(|deps| deps.parent()).map(|dir| dir.join("platform")).expect("target dir");
    assert!(binary.exists(), "{} is missing: `cargo build -p platform` (make test builds it)", binary.display());
    binary
}

/// The platform as a child process; killed (SIGKILL) when dropped.
pub struct PlatformProcess {
    child: Child,
    /// Train's base URL.
    pub train: String,
    /// Infer's base URL.
    pub infer: String,
    /// Monitor's base URL.
    pub monitor: String,
}

impl PlatformProcess {
    /// The platform on `env`'s storage.
    pub async fn start(env: &TestEnv) -> Self {
        Self::start_with(env, &[]).await
    }

    /// The platform on `env`'s storage with extra settings.
    pub async fn start_with(env: &TestEnv, settings: &[(&str, &str)]) -> Self {
        let (train, infer, monitor) = (free_port(), free_port(), free_port());
        let storage = &env.storage;
        let mut command = Command::new(platform_binary());
        command
            .env_remove("DATABASE_URL")
            .env_remove("REDIS_URL")
            .env("SQLITE_PATH", &storage.sqlite_path)
            .env("REDIS_KEY_PREFIX", &storage.redis_key_prefix)
            .env("HOST", "127.0.0.1")
            .env("TRAIN_PORT", train.to_string())
            .env("INFER_PORT", infer.to_string())
            .env("MONITOR_PORT", monitor.to_string())
            .env("RUST_LOG", "warn")
            // As the in-process platform of the tests (tests/src/lib.rs).
            .env("STREAM_DETECTOR", "rolling_zscore")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        command.envs(settings.iter().copied());
        if let Some(url) = &storage.database_url {
            command.env("DATABASE_URL", url);
        }
        if let Some(url) = &storage.redis_url {
            command.env("REDIS_URL", url);
        }
        let child = command.spawn().expect("platform starts");
        let url = |port: u16| format!("http://127.0.0.1:{port}");
        let process = Self { child, train: url(train), infer: url(infer), monitor: url(monitor) };
        let deadline = Instant::now() + Duration::from_secs(30);
        while client().get(format!("{}/healthcheck", process.monitor)).send().await.is_err() {
            assert!(Instant::now() < deadline, "the platform process did not come up");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        process
    }

    /// Sends `signal` (`STOP`, `CONT`, ...) to the process.
    pub fn signal(&self, signal: &str) {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args([&format!("-{signal}"), &pid]).status().is_ok_and(|s| s.success());
        assert!(sent, "SIG{signal} sent to {pid}");
    }

    /// `kill -9`.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, then waits (at most 30 s) for the process to exit; its exit
    /// code (`None`: still running, or ended by a signal).
    pub fn terminate(mut self) -> Option<i32> {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status().is_ok_and(|s| s.success());
        assert!(sent, "SIGTERM sent to {pid}");
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }
}

impl Drop for PlatformProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
