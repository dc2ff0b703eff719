//! A TCP proxy between a service and the broker that can cut the network.
//!
//! The service connects to the proxy's port; each connection is forwarded to the broker. While
//! the proxy is [cut](Proxy::cut), bytes stop flowing both ways on the open connections: nothing
//! is read, so nothing is lost or reordered, exactly as when a link goes dark and TCP keeps
//! retransmitting. A cut longer than the AMQP heartbeat makes both ends give the connection up;
//! when the proxy [resumes](Proxy::resume) they see each other's close.
//!
//! A connection opened during a cut is swallowed: accepted, then never answered nor closed, as by
//! a load balancer or sidecar whose broker is out of reach, or a link that died mid-handshake.
//! Only a client that gives up on a handshake that never ends gets through: after the cut, new
//! connections are forwarded again.

use std::{
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
};

use anyhow::Context;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream, tcp},
    sync::watch,
};
use tokio_util::sync::CancellationToken;

/// Bytes read per hop.
const BUFFER: usize = 16 * 1024;

/// A running proxy; dropping it stops it and closes every forwarded connection.
pub struct Proxy {
    port: u16,
    /// `true` while bytes may flow.
    open: watch::Sender<bool>,
    stop: CancellationToken,
    /// Connections accepted so far.
    accepted: Arc<AtomicUsize>,
}

impl Proxy {
    /// Listens on a free loopback port and forwards to `upstream`.
    pub async fn start(upstream: SocketAddr) -> anyhow::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .context("Failed to bind the proxy")?;
        let port = listener
            .local_addr()
            .context("Failed to read the proxy's port")?
            .port();
        let (open, gate) = watch::channel(true);
        let stop = CancellationToken::new();
        let accepted = Arc::new(AtomicUsize::new(0));
        tokio::spawn(accept(
            listener,
            upstream,
            gate,
            stop.clone(),
            accepted.clone(),
        ));
        Ok(Self {
            port,
            open,
            stop,
            accepted,
        })
    }

    /// The port clients connect to.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops every byte, both ways, until [`Self::resume`].
    pub fn cut(&self) {
        self.open.send_replace(false);
    }

    /// Lets bytes flow again.
    pub fn resume(&self) {
        self.open.send_replace(true);
    }

    /// How many connections clients opened through the proxy.
    pub fn accepted(&self) -> usize {
        self.accepted.load(Ordering::Relaxed)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

async fn accept(
    listener: TcpListener,
    upstream: SocketAddr,
    gate: watch::Receiver<bool>,
    stop: CancellationToken,
    accepted: Arc<AtomicUsize>,
) {
    loop {
        let client = tokio::select! {
            () = stop.cancelled() => return,
            client = listener.accept() => client,
        };
        let Ok((client, _)) = client else {
            continue;
        };
        let during_cut = !*gate.borrow();
        accepted.fetch_add(1, Ordering::Relaxed);
        let gate = gate.clone();
        let stop = stop.clone();
        tokio::spawn(async move {
            let work = async move {
                if during_cut {
                    swallow(client).await
                } else {
                    forward(client, upstream, gate).await
                }
            };
            tokio::select! {
                () = stop.cancelled() => {}
                () = work => {}
            }
        });
    }
}

/// Connects to `upstream` and pumps both ways until either side closes.
async fn forward(client: TcpStream, upstream: SocketAddr, gate: watch::Receiver<bool>) {
    let Ok(server) = TcpStream::connect(upstream).await else {
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (client_read, client_write) = client.into_split();
    let (server_read, server_write) = server.into_split();
    tokio::select! {
        () = pump(client_read, server_write, gate.clone()) => {}
        () = pump(server_read, client_write, gate) => {}
    }
}

/// Holds a connection open and silent until the proxy stops.
async fn swallow(_client: TcpStream) {
    std::future::pending::<()>().await
}

/// Copies `from` to `to`, holding bytes back while the gate is closed.
async fn pump(
    mut from: tcp::OwnedReadHalf,
    mut to: tcp::OwnedWriteHalf,
    mut gate: watch::Receiver<bool>,
) {
    let mut buffer = vec![0u8; BUFFER];
    loop {
        if wait_open(&mut gate).await.is_err() {
            return;
        }
        let read = match from.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(read) => read,
        };
        // Bytes read just before a cut are held until it ends, not delivered through it.
        if wait_open(&mut gate).await.is_err() || to.write_all(&buffer[..read]).await.is_err() {
            return;
        }
    }
}

async fn wait_open(gate: &mut watch::Receiver<bool>) -> Result<(), watch::error::RecvError> {
    gate.wait_for(|open| *open).await.map(drop)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// An echo server on a free port.
    async fn echo() -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let (mut read, mut write) = socket.split();
                    let _ = tokio::io::copy(&mut read, &mut write).await;
                });
            }
        });
        address
    }

    async fn round_trip(stream: &mut TcpStream, payload: &[u8]) -> Vec<u8> {
        stream.write_all(payload).await.unwrap();
        let mut answer = vec![0u8; payload.len()];
        stream.read_exact(&mut answer).await.unwrap();
        answer
    }

    #[tokio::test]
    async fn bytes_flow_through_an_open_proxy() {
        let proxy = Proxy::start(echo().await).await.unwrap();
        let mut stream = TcpStream::connect(("127.0.0.1", proxy.port()))
            .await
            .unwrap();
        assert_eq!(round_trip(&mut stream, b"ping").await, b"ping");
        assert_eq!(proxy.accepted(), 1);
    }

    #[tokio::test]
    async fn a_cut_proxy_holds_bytes_back_until_it_resumes() {
        let proxy = Proxy::start(echo().await).await.unwrap();
        let mut stream = TcpStream::connect(("127.0.0.1", proxy.port()))
            .await
            .unwrap();
        assert_eq!(round_trip(&mut stream, b"one").await, b"one");

        proxy.cut();
        stream.write_all(b"two").await.unwrap();
        let mut answer = [0u8; 3];
        let during_cut =
            tokio::time::timeout(Duration::from_millis(300), stream.read_exact(&mut answer)).await;
        assert!(during_cut.is_err(), "nothing may cross a cut");

        proxy.resume();
        stream.read_exact(&mut answer).await.unwrap();
        assert_eq!(&answer, b"two", "held bytes arrive once the cut ends");
    }

    #[tokio::test]
    async fn a_connection_opened_during_a_cut_is_swallowed_and_later_ones_go_through() {
        let proxy = Proxy::start(echo().await).await.unwrap();
        proxy.cut();
        let mut swallowed = TcpStream::connect(("127.0.0.1", proxy.port()))
            .await
            .unwrap();
        swallowed.write_all(b"lost").await.unwrap();
        while proxy.accepted() == 0 {
            tokio::task::yield_now().await;
        }
        proxy.resume();
        let mut answer = [0u8; 4];
        let silent = tokio::time::timeout(
            Duration::from_millis(300),
            swallowed.read_exact(&mut answer),
        )
        .await;
        assert!(silent.is_err(), "a swallowed connection never answers");

        let mut later = TcpStream::connect(("127.0.0.1", proxy.port()))
            .await
            .unwrap();
        assert_eq!(round_trip(&mut later, b"next").await, b"next");
    }
}
