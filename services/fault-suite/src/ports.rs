//! Free TCP ports on the loopback interface.
//!
//! A child process that must be reached (a service's HTTP port, the broker's listeners, the
//! database) cannot be given port 0, because the suite could not learn which port it took. So the
//! suite asks the kernel for a free port, releases it and hands the number to the child. A port is
//! never handed out twice by one run, so concurrent scenarios cannot collide with each other.

use std::{
    collections::HashSet,
    net::TcpListener,
    sync::{LazyLock, Mutex},
};

use anyhow::Context;

/// Every port this process handed out.
static HANDED_OUT: LazyLock<Mutex<HashSet<u16>>> = LazyLock::new(Default::default);

/// A port that nothing listened on a moment ago and that this process never handed out before.
pub fn free_port() -> anyhow::Result<u16> {
    for _ in 0..100 {
        let listener =
            TcpListener::bind("127.0.0.1:0").context("Failed to bind a free loopback port")?;
        let port = listener
            .local_addr()
            .context("Failed to read a bound port")?
            .port();
        let mut handed_out = HANDED_OUT
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if handed_out.insert(port) {
            return Ok(port);
        }
    }
    anyhow::bail!("no fresh free port after 100 attempts")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ports_are_never_handed_out_twice() {
        let ports: HashSet<u16> = (0..50).map(|_| free_port().unwrap()).collect();
        assert_eq!(ports.len(), 50);
    }
}
