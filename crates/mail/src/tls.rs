//! Which certificate authorities a TLS connection to a mail server trusts:
//! Mozilla's, plus optionally a company's own (a PEM file, for servers
//! whose certificate an internal CA signed).

use std::sync::Arc;

use crate::{MailError, Result};

#[derive(Clone, Default)]
pub struct TrustedRoots {
    /// The extra CA certificates, PEM.
    extra_pem: Option<Vec<u8>>,
}

impl std::fmt::Debug for TrustedRoots {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TrustedRoots(mozilla{})", if self.extra_pem.is_some() { " + extra" } else { "" })
    }
}

impl TrustedRoots {
    /// Mozilla's roots only.
    pub fn public() -> TrustedRoots {
        TrustedRoots::default()
    }

    /// Mozilla's roots and the certificates of a PEM file's text.
    pub fn with_pem(pem: Vec<u8>) -> Result<TrustedRoots> {
        let roots = TrustedRoots { extra_pem: Some(pem) };
        if roots.extra()?.is_empty() {
            return Err(MailError::Config("the trusted CA file holds no PEM certificate".into()));
        }
        Ok(roots)
    }

    pub(crate) fn extra_pem(&self) -> Option<&[u8]> {
        self.extra_pem.as_deref()
    }

    fn extra(&self) -> Result<Vec<rustls::pki_types::CertificateDer<'static>>> {
        use rustls::pki_types::pem::PemObject;
        let Some(pem) = &self.extra_pem else { return Ok(Vec::new()) };
        rustls::pki_types::CertificateDer::pem_slice_iter(pem)
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| MailError::Config(format!("the trusted CA file is not PEM: {e}")))
    }

    /// A rustls client configuration trusting these roots.
    pub(crate) fn client_config(&self) -> Result<Arc<rustls::ClientConfig>> {
        let mut store = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
        for cert in self.extra()? {
            store.add(cert).map_err(|e| MailError::Config(format!("the trusted CA certificate is refused: {e}")))?;
        }
        // ring: the provider lettre is built with, so both speak alike.
        #[allow(deprecated)]
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| MailError::Config(format!("TLS: {e}")))?
            .with_root_certificates(store)
            .with_no_client_auth();
        Ok(Arc::new(config))
    }
}
