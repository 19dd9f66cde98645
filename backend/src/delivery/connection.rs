//! HTTP/1.1 connections to webhook hosts: opened through the checked resolver, with TLS
//! for `https`, and kept open between requests in a pool shared by the senders.
//!
//! A connection is driven by the sender that uses it, inside that sender's task, so a
//! request crosses no task boundary. An idle connection in the pool is not driven at
//! all. When a sender takes it, one poll finds out whether the host closed it meanwhile.

use std::collections::HashMap;
use std::fmt;
use std::future::{Future, poll_fn};
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::Poll;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::Full;
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use url::{Host, Url};

use super::address::{CheckedResolver, LocalDelivery, ResolveError};

/// Time after which an idle pooled connection is closed rather than used again. Hosts
/// close idle connections too, and one closed just as a request starts can fail it.
const IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// Shortest time between two sweeps of the idle connections.
const SWEEP_INTERVAL: Duration = Duration::from_secs(1);

/// Request body of a card post.
pub type CardBody = Full<Bytes>;

/// The future that reads and writes one connection, which must be polled while a
/// request on it is in progress.
type Driver = Pin<Box<dyn Future<Output = hyper::Result<()>> + Send>>;

/// Scheme, host and port of a webhook URL: requests to the same origin can share a
/// connection.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Origin {
    tls: bool,
    host: Host,
    port: u16,
}

impl Origin {
    /// Returns the origin of `url`, or `None` for a URL without a host or with a scheme
    /// other than `http` and `https`.
    pub fn of(url: &Url) -> Option<Self> {
        let tls = match url.scheme() {
            "https" => true,
            "http" => false,
            _ => return None,
        };
        Some(Self {
            tls,
            host: url.host()?.to_owned(),
            port: url.port_or_known_default()?,
        })
    }

    /// Returns the value of the `Host` header: the host, with an IPv6 address in
    /// brackets, and the port when it is not the scheme's default.
    pub fn host_header(&self) -> String {
        let default_port = if self.tls { 443 } else { 80 };
        // `Host`'s `Display` puts an IPv6 address in brackets.
        if self.port == default_port {
            self.host.to_string()
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// Returns the host as the resolver and TLS take it: a domain, or an IP address
    /// without brackets.
    fn host_name(&self) -> String {
        match &self.host {
            Host::Domain(domain) => domain.clone(),
            Host::Ipv4(address) => address.to_string(),
            Host::Ipv6(address) => address.to_string(),
        }
    }
}

// The host is part of a secret webhook URL, so debug output leaves it out.
impl fmt::Debug for Origin {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("Origin")
            .field("tls", &self.tls)
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

/// Open HTTP/1.1 connection to one origin.
pub struct Connection {
    origin: Origin,
    sender: SendRequest<CardBody>,
    /// `None` once the connection has ended.
    driver: Option<Driver>,
}

impl Connection {
    /// Returns the request sender, for requests awaited through [`Connection::drive`].
    pub fn sender(&mut self) -> &mut SendRequest<CardBody> {
        &mut self.sender
    }

    /// Waits for `future` while driving the connection. Returns `None` when the
    /// connection ends before `future` completes.
    pub async fn drive<F: Future>(&mut self, future: F) -> Option<F::Output> {
        let mut future = std::pin::pin!(future);
        poll_fn(|context| {
            if let Poll::Ready(output) = future.as_mut().poll(context) {
                return Poll::Ready(Some(output));
            }
            let Some(driver) = self.driver.as_mut() else {
                return Poll::Ready(None);
            };
            if driver.as_mut().poll(context).is_ready() {
                self.driver = None;
                // The driver may have completed the future on its way out.
                return match future.as_mut().poll(context) {
                    Poll::Ready(output) => Poll::Ready(Some(output)),
                    Poll::Pending => Poll::Ready(None),
                };
            }
            Poll::Pending
        })
        .await
    }

    /// Returns whether the connection can take a request, after reading what the host
    /// sent while it was idle, such as the end of the connection.
    async fn is_usable(&mut self) -> bool {
        let Some(driver) = self.driver.as_mut() else {
            return false;
        };
        let ended = poll_fn(|context| Poll::Ready(driver.as_mut().poll(context).is_ready())).await;
        if ended {
            self.driver = None;
            return false;
        }
        self.sender.is_ready()
    }
}

/// Opens connections: resolves the host through the checked resolver, connects over
/// TCP, and adds TLS for `https`.
pub struct Connector {
    resolver: CheckedResolver,
    tls: TlsConnector,
    connect_timeout: Duration,
}

impl Connector {
    /// Builds a connector that trusts the Mozilla root certificates that webpki-roots
    /// ships and offers only HTTP/1.1. `connect_timeout` is shared by the addresses of
    /// a host, tried in turn.
    pub fn new(local: LocalDelivery, connect_timeout: Duration) -> Result<Self, rustls::Error> {
        let roots = rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];

        Ok(Self {
            resolver: CheckedResolver::new(local),
            tls: TlsConnector::from(Arc::new(config)),
            connect_timeout,
        })
    }

    /// Opens a connection to `origin`, trying its allowed addresses in turn.
    pub async fn connect(&self, origin: &Origin) -> Result<Connection, ConnectError> {
        let host = origin.host_name();
        let addresses = self.resolver.resolve_host(&host).await?;
        let deadline = Instant::now() + self.connect_timeout;
        let stream = connect_tcp(&addresses, origin.port, deadline).await?;
        // Cards are small and written at once, so waiting to fill a packet only adds
        // latency.
        stream.set_nodelay(true).map_err(ConnectError::Io)?;

        if !origin.tls {
            return handshake(origin, stream).await;
        }
        let server_name = ServerName::try_from(host).map_err(|_| ConnectError::ServerName)?;
        let stream = self
            .tls
            .connect(server_name, stream)
            .await
            .map_err(tls_failed)?;
        handshake(origin, stream).await
    }
}

/// Connects to the first of `addresses` that accepts, each with `port`. Each address
/// gets an equal share of the time left until `deadline`, so that one that drops
/// packets leaves time for the others.
async fn connect_tcp(
    addresses: &[SocketAddr],
    port: u16,
    deadline: Instant,
) -> Result<TcpStream, ConnectError> {
    let mut last_error = None;
    for (index, address) in addresses.iter().enumerate() {
        let left = u32::try_from(addresses.len() - index).unwrap_or(u32::MAX);
        let share = deadline.saturating_duration_since(Instant::now()) / left;
        let connect = TcpStream::connect(SocketAddr::new(address.ip(), port));
        match tokio::time::timeout(share, connect).await {
            Ok(Ok(stream)) => return Ok(stream),
            Ok(Err(error)) => last_error = Some(error),
            Err(_) => last_error = Some(io::ErrorKind::TimedOut.into()),
        }
    }
    let error = last_error.unwrap_or_else(|| io::Error::other("the host has no address"));
    Err(ConnectError::Io(error))
}

/// Classifies a failed TLS handshake. rustls names the host in some messages, such as
/// a certificate issued for another name, so those become fixed messages.
fn tls_failed(error: io::Error) -> ConnectError {
    match error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
    {
        Some(rustls::Error::InvalidCertificate(_)) => ConnectError::Certificate,
        Some(_) => ConnectError::Tls,
        None => ConnectError::Io(error),
    }
}

/// Starts HTTP/1.1 on `stream`.
async fn handshake<S>(origin: &Origin, stream: S) -> Result<Connection, ConnectError>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static,
{
    let (sender, driver) = http1::handshake(TokioIo::new(stream))
        .await
        .map_err(ConnectError::Http)?;
    Ok(Connection {
        origin: origin.clone(),
        sender,
        driver: Some(Box::pin(driver)),
    })
}

/// Reason a connection could not be opened. No variant contains the host or the URL.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error(transparent)]
    Resolve(#[from] ResolveError),
    #[error("the webhook host is not a valid TLS server name")]
    ServerName,
    #[error("the webhook's TLS certificate was rejected")]
    Certificate,
    #[error("the TLS handshake with the webhook failed")]
    Tls,
    #[error("{0}")]
    Io(#[source] io::Error),
    #[error("{0}")]
    Http(#[source] hyper::Error),
}

/// Idle connections by origin, shared by the senders.
#[derive(Default)]
pub struct ConnectionPool {
    idle: Mutex<IdleConnections>,
}

#[derive(Default)]
struct IdleConnections {
    by_origin: HashMap<Origin, Vec<(Instant, Connection)>>,
    last_sweep: Option<Instant>,
}

impl ConnectionPool {
    /// Takes the most recently used idle connection to `origin` that is still open, or
    /// returns `None`.
    pub async fn take(&self, origin: &Origin) -> Option<Connection> {
        loop {
            let mut connection = self.pop(origin)?;
            if connection.is_usable().await {
                return Some(connection);
            }
        }
    }

    /// Puts `connection` back for the next request to its origin, unless it has ended.
    pub fn put(&self, connection: Connection) {
        if connection.driver.is_none() || connection.sender.is_closed() {
            return;
        }
        let now = Instant::now();
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        idle.by_origin
            .entry(connection.origin.clone())
            .or_default()
            .push((now, connection));
    }

    /// Closes the connections that have been idle for the idle timeout. Idle
    /// connections are not driven, so this is what closes those that no request takes
    /// any more. Sweeps at most once per `SWEEP_INTERVAL`, however often it is called.
    pub fn close_expired(&self) {
        let now = Instant::now();
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        if idle
            .last_sweep
            .is_some_and(|last| now.duration_since(last) < SWEEP_INTERVAL)
        {
            return;
        }
        idle.by_origin.retain(|_, connections| {
            connections.retain(|(since, _)| now.duration_since(*since) < IDLE_TIMEOUT);
            !connections.is_empty()
        });
        idle.last_sweep = Some(now);
    }

    fn pop(&self, origin: &Origin) -> Option<Connection> {
        let now = Instant::now();
        let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
        let connections = idle.by_origin.get_mut(origin)?;
        while let Some((since, connection)) = connections.pop() {
            if now.duration_since(since) < IDLE_TIMEOUT {
                return Some(connection);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origin_keeps_scheme_host_and_port() {
        let url = Url::parse("https://contoso.webhook.office.com/webhookb2/abc").unwrap();

        let origin = Origin::of(&url).unwrap();

        assert!(origin.tls);
        assert_eq!(origin.host_name(), "contoso.webhook.office.com");
        assert_eq!(origin.port, 443);
        assert_eq!(origin.host_header(), "contoso.webhook.office.com");
    }

    #[test]
    fn host_header_names_other_port() {
        let url = Url::parse("http://127.0.0.1:8081/webhooks/1").unwrap();

        let origin = Origin::of(&url).unwrap();

        assert_eq!(origin.host_header(), "127.0.0.1:8081");
    }

    #[test]
    fn ipv6_host_keeps_brackets_only_in_header() {
        let url = Url::parse("http://[::1]:8081/webhooks/1").unwrap();

        let origin = Origin::of(&url).unwrap();

        assert_eq!(origin.host_header(), "[::1]:8081");
        assert_eq!(origin.host_name(), "::1");
    }

    #[test]
    fn other_schemes_have_no_origin() {
        let url = Url::parse("ftp://contoso.example/file").unwrap();

        assert!(Origin::of(&url).is_none());
    }

    // A self-signed certificate for `localhost`, valid until 2126, whose key is only
    // used by this test. No root of the connector vouches for it.
    const TEST_CERTIFICATE: &[u8] = include_bytes!("testdata/localhost-cert.der");
    const TEST_KEY: &[u8] = include_bytes!("testdata/localhost-key.der");

    #[tokio::test]
    async fn untrusted_certificate_is_rejected_without_host() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let certificate = rustls::pki_types::CertificateDer::from(TEST_CERTIFICATE.to_vec());
        let key = rustls::pki_types::PrivatePkcs8KeyDer::from(TEST_KEY.to_vec());
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![certificate], key.into())
            .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let server = tokio::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            acceptor.accept(stream).await.is_err()
        });
        let connector = Connector::new(LocalDelivery::On, Duration::from_secs(5)).unwrap();
        let url = Url::parse(&format!("https://127.0.0.1:{port}/webhooks/x")).unwrap();

        let error = connector.connect(&Origin::of(&url).unwrap()).await.err();

        let error = error.expect("the handshake must fail");
        assert!(matches!(error, ConnectError::Certificate), "{error}");
        assert!(!error.to_string().contains("127.0.0.1"), "{error}");
        assert!(server.await.unwrap(), "the server saw the handshake fail");
    }

    #[test]
    fn debug_output_leaves_host_out() {
        let url = Url::parse("https://secret-tenant.webhook.office.com/x").unwrap();

        let debug = format!("{:?}", Origin::of(&url).unwrap());

        assert!(!debug.contains("secret-tenant"), "{debug}");
    }
}
