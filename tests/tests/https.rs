//! Sync over HTTPS, with a certificate issued by a district's own CA: the relay behind a TLS
//! terminator on loopback, or serving HTTPS itself. A client that pins that CA syncs; one that
//! trusts another CA, or only the system's roots, is refused before any request leaves the phone.

use std::net::SocketAddr;
use std::sync::Arc;

use carebank_core::sync::SyncError;
use carebank_core::sync::http::RelayClient;
use carebank_relay::TlsFiles;
use carebank_scenarios::net::{self, relay_config, start_relay};
use carebank_scenarios::{Village, weekly_village};
use rcgen::{BasicConstraints, Certificate, CertificateParams, DnType, IsCa, KeyPair};
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// A CA and its key.
fn ca(name: &str) -> (Certificate, KeyPair) {
    let key = KeyPair::generate().expect("key");
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    (params.self_signed(&key).expect("CA"), key)
}

/// A certificate for `localhost` issued by `ca`, and its key.
fn localhost(ca: &(Certificate, KeyPair)) -> (Certificate, KeyPair) {
    let key = KeyPair::generate().expect("key");
    let params = CertificateParams::new(vec!["localhost".to_string()]).expect("params");
    (
        params.signed_by(&key, &ca.0, &ca.1).expect("certificate"),
        key,
    )
}

/// Terminates TLS on a loopback port with a certificate for `localhost` issued by `ca`, and
/// passes the bytes to `target`. Runs until the test process ends.
fn tls_terminator(target: SocketAddr, ca: &(Certificate, KeyPair)) -> SocketAddr {
    let (cert, key) = localhost(ca);
    let chain = vec![CertificateDer::from(cert.der().to_vec())];
    let private = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(chain, private)
        .expect("server config");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    listener.set_nonblocking(true).expect("nonblocking");
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
            while let Ok((client, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    // A client that refuses the certificate ends the handshake: nothing to pass on.
                    let Ok(mut tls) = acceptor.accept(client).await else {
                        return;
                    };
                    let Ok(mut relay) = tokio::net::TcpStream::connect(target).await else {
                        return;
                    };
                    let _ = tokio::io::copy_bidirectional(&mut tls, &mut relay).await;
                });
            }
        });
    });
    addr
}

fn village() -> Village {
    weekly_village(1, 0, 1, 0)
}

fn sync(v: &mut Village, relay: &RelayClient) -> Result<(), SyncError> {
    net::sync(&mut v.centre, relay).map(|_| ())
}

#[test]
fn a_client_pinning_the_districts_ca_syncs_over_https_and_others_are_refused() {
    let district = ca("石桥镇民政 test CA");
    let dir = tempfile::tempdir().expect("dir");
    let mut v = village();
    let relay = start_relay(dir.path(), v.circle, None, None);
    let port = tls_terminator(relay.addr(), &district).port();
    let url = format!("https://localhost:{port}");

    let pinned = RelayClient::with_ca(&url, &district.0.pem()).expect("client");
    pinned.health().expect("health over HTTPS");
    sync(&mut v, &pinned).expect("sync over HTTPS");
    let pushed = v.centre.store().record_ids().expect("ids").len();
    assert!(pushed > 0);

    // Another CA's certificate, or only the system's roots: the handshake fails, and says why.
    let stranger = ca("another CA");
    let others = [
        RelayClient::with_ca(&url, &stranger.0.pem()).expect("client"),
        RelayClient::new(&url).expect("client"),
    ];
    for client in others {
        let client = client.with_retries(1, std::time::Duration::ZERO);
        let err = sync(&mut v, &client).expect_err("untrusted certificate");
        assert!(
            matches!(err, SyncError::Transport(ref m) if m.contains("certificate")),
            "{err}"
        );
    }

    // What the relay holds came over HTTPS: a fresh phone of the circle reads it back.
    let mut coordinator_view = village();
    net::sync(&mut coordinator_view.coordinator.store, &pinned)
        .expect("coordinator syncs over HTTPS");
    assert!(
        coordinator_view
            .coordinator
            .store
            .store()
            .record_ids()
            .expect("ids")
            .len()
            >= pushed
    );

    // Text that holds no certificate is refused when the client is made.
    for pem in ["", "not a certificate"] {
        assert!(matches!(
            RelayClient::with_ca(&url, pem),
            Err(SyncError::Malformed(_))
        ));
    }
}

#[test]
fn the_relay_serves_https_itself_to_a_client_pinning_the_districts_ca() {
    let district = ca("石桥镇民政 test CA");
    let dir = tempfile::tempdir().expect("dir");
    let (cert, key) = localhost(&district);
    let files = TlsFiles {
        cert: dir.path().join("relay.crt"),
        key: dir.path().join("relay.key"),
    };
    std::fs::write(&files.cert, cert.pem()).expect("certificate file");
    std::fs::write(&files.key, key.serialize_pem()).expect("key file");
    let mut v = village();
    let mut config = relay_config(&dir.path().join("data"), v.circle, None, None);
    config.tls = Some(files);
    let relay = carebank_relay::spawn(config).expect("relay serving HTTPS");
    assert!(relay.url().starts_with("https://"), "{}", relay.url());
    let port = relay.addr().port();
    let url = format!("https://localhost:{port}");

    let pinned = RelayClient::with_ca(&url, &district.0.pem()).expect("client");
    pinned.health().expect("health over HTTPS");
    sync(&mut v, &pinned).expect("sync over HTTPS");
    let mut coordinator_view = village();
    net::sync(&mut coordinator_view.coordinator.store, &pinned)
        .expect("coordinator syncs over HTTPS");
    // What the centre pushed came back over HTTPS.
    let read_back = coordinator_view
        .coordinator
        .store
        .store()
        .record_ids()
        .expect("ids");
    assert!(read_back.is_superset(&v.centre.store().record_ids().expect("ids")));

    // Another CA's client, and plain HTTP to the same port: refused, no request served.
    let stranger = ca("another CA");
    let refused = [
        RelayClient::with_ca(&url, &stranger.0.pem()).expect("client"),
        RelayClient::new(&format!("http://localhost:{port}")).expect("client"),
    ];
    for client in refused {
        let client = client.with_retries(1, std::time::Duration::ZERO);
        let err = sync(&mut v, &client).expect_err("refused");
        assert!(matches!(err, SyncError::Transport(_)), "{err}");
    }
    relay.stop().expect("graceful stop");

    // A key file that holds no key: the relay does not start, and names the file.
    let mut config = relay_config(&dir.path().join("data"), v.circle, None, None);
    let cert = dir.path().join("relay.crt");
    config.tls = Some(TlsFiles {
        key: cert.clone(),
        cert,
    });
    let err = carebank_relay::spawn(config)
        .err()
        .expect("refused")
        .to_string();
    assert!(err.contains("relay.crt"), "{err}");
}
