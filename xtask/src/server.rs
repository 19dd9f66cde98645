//! A server started as a child process: its health check and its shutdown.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, ExitStatus};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};

use crate::process;

/// Maximum time a server gets to exit after SIGTERM before it is killed.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);

/// A running server, stopped when the value drops so that no server outlives xtask.
pub struct Server {
    pub name: &'static str,
    child: Child,
}

impl Server {
    /// Prints and starts `command` as a child process that inherits the standard streams.
    pub fn start(name: &'static str, command: &mut Command) -> Result<Self> {
        println!("$ {}", process::describe(command));
        let child = command
            .spawn()
            .map_err(|error| process::start_error(command, error))?;
        Ok(Self { name, child })
    }

    /// Returns the exit status when the server has exited.
    pub fn exit_status(&mut self) -> Result<Option<ExitStatus>> {
        Ok(self.child.try_wait()?)
    }

    /// Sends SIGTERM so the server shuts down gracefully, and kills it when it is still
    /// running after `SHUTDOWN_TIMEOUT`.
    fn stop(&mut self) {
        if !matches!(self.child.try_wait(), Ok(None)) {
            return;
        }

        // std can only send SIGKILL, so the `kill` program sends SIGTERM.
        let terminated = process::command("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .is_ok_and(|status| status.success());

        if terminated {
            let deadline = Instant::now() + SHUTDOWN_TIMEOUT;
            while Instant::now() < deadline {
                if !matches!(self.child.try_wait(), Ok(None)) {
                    return;
                }
                thread::sleep(Duration::from_millis(100));
            }
        }

        eprintln!("{} did not stop after SIGTERM; killing it", self.name);
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Waits until `GET /api/health` on every address responds with 200, and fails when a
/// server exits first or `timeout` passes.
pub fn wait_until_healthy(
    servers: &mut [Server],
    addresses: &[SocketAddr],
    timeout: Duration,
) -> Result<()> {
    let deadline = Instant::now() + timeout;

    loop {
        for server in servers.iter_mut() {
            if let Some(status) = server.exit_status()? {
                bail!(
                    "{} exited with {status} before it became healthy",
                    server.name
                );
            }
        }

        if addresses.iter().all(|address| is_healthy(*address)) {
            return Ok(());
        }

        if Instant::now() >= deadline {
            let list: Vec<String> = addresses.iter().map(SocketAddr::to_string).collect();
            bail!(
                "GET /api/health did not respond with 200 on {} within {} s; see the server \
                 logs above",
                list.join(" and "),
                timeout.as_secs()
            );
        }
        thread::sleep(Duration::from_millis(200));
    }
}

/// Sends `GET /api/health` to `address` and returns whether the status is 200.
fn is_healthy(address: SocketAddr) -> bool {
    let Ok(mut stream) = TcpStream::connect_timeout(&address, Duration::from_secs(1)) else {
        return false;
    };
    if stream
        .set_read_timeout(Some(Duration::from_secs(2)))
        .is_err()
    {
        return false;
    }

    let request =
        format!("GET /api/health HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }

    let mut status_line = String::new();
    if BufReader::new(stream).read_line(&mut status_line).is_err() {
        return false;
    }
    is_ok_status_line(&status_line)
}

/// Returns whether an HTTP/1.x status line carries status 200.
fn is_ok_status_line(line: &str) -> bool {
    let mut words = line.split_whitespace();
    let is_http = words
        .next()
        .is_some_and(|version| version.starts_with("HTTP/1."));
    is_http && words.next() == Some("200")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_line_200_is_ok() {
        assert!(is_ok_status_line("HTTP/1.1 200 OK\r\n"));
    }

    #[test]
    fn status_line_other_status_is_not_ok() {
        assert!(!is_ok_status_line("HTTP/1.1 502 Bad Gateway\r\n"));
    }

    #[test]
    fn status_line_without_http_is_not_ok() {
        assert!(!is_ok_status_line("SSH-2.0 200\r\n"));
    }

    #[test]
    fn status_line_empty_is_not_ok() {
        assert!(!is_ok_status_line(""));
    }

    #[test]
    fn health_check_reads_local_server() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
        let address = listener.local_addr().expect("listener address");
        let responder = thread::spawn(move || {
            let (stream, _) = listener.accept().expect("accept the health check");
            let mut reader = BufReader::new(stream);
            let mut request_line = String::new();
            reader.read_line(&mut request_line).expect("read request");
            reader
                .get_mut()
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
                .expect("write response");
            request_line
        });

        let healthy = is_healthy(address);
        let request_line = responder.join().expect("responder thread");

        assert!(healthy);
        assert_eq!(request_line, "GET /api/health HTTP/1.1\r\n");
    }

    #[test]
    fn health_check_fails_without_server() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
        let address = listener.local_addr().expect("listener address");
        drop(listener);

        assert!(!is_healthy(address));
    }
}
