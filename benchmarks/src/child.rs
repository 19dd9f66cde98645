//! Child processes that are killed when their handle is dropped, so that an error in the
//! benchmark leaves no sink or backend running.

use std::process::{Child, Command};

use anyhow::{Context as _, bail};

/// A running child process, killed and reaped on drop.
pub struct ChildProcess {
    name: &'static str,
    child: Child,
}

impl ChildProcess {
    /// Starts `command`. `name` names the process in errors.
    pub fn spawn(name: &'static str, command: &mut Command) -> anyhow::Result<Self> {
        let child = command.spawn().with_context(|| {
            format!(
                "starting the {name} ({}) failed",
                command.get_program().to_string_lossy()
            )
        })?;
        Ok(Self { name, child })
    }

    pub fn id(&self) -> u32 {
        self.child.id()
    }

    pub fn child_mut(&mut self) -> &mut Child {
        &mut self.child
    }

    /// Fails when the process has exited.
    pub fn ensure_running(&mut self) -> anyhow::Result<()> {
        if let Some(status) = self.child.try_wait()? {
            bail!("the {} exited early with {status}", self.name);
        }
        Ok(())
    }
}

impl Drop for ChildProcess {
    fn drop(&mut self) {
        // Killing a process that already exited fails harmlessly.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
