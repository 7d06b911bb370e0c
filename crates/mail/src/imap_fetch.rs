//! New messages of an IMAP folder, by UID: the caller keeps the folder's
//! UIDVALIDITY and the last UID it took, and asks for what came after.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use crate::server::{Protocol, Security, ServerUrl};
use crate::{MailError, Result, TrustedRoots};

/// A message as the server keeps it.
#[derive(Debug, Clone)]
pub struct FetchedMessage {
    pub uid: u32,
    pub raw: Vec<u8>,
}

#[derive(Debug, Clone)]
pub struct Fetched {
    /// The folder's UIDVALIDITY: when it differs from the one the caller
    /// kept, UIDs were renumbered and the fetch started again from the
    /// first message.
    pub uid_validity: u32,
    /// Oldest first.
    pub messages: Vec<FetchedMessage>,
    /// Whether more new messages wait beyond `limit`.
    pub more: bool,
}

trait Stream: Read + Write + Send {}
impl<T: Read + Write + Send> Stream for T {}

const TIMEOUT: Duration = Duration::from_secs(30);

/// Fetches up to `limit` messages of the URL's folder whose UID is above
/// `after_uid` (all of them when `uid_validity` is not the folder's),
/// leaving them unread on the server.
pub fn fetch_new(
    server: &ServerUrl,
    roots: &TrustedRoots,
    uid_validity: Option<u32>,
    after_uid: u32,
    limit: usize,
) -> Result<Fetched> {
    if server.protocol != Protocol::Imap {
        return Err(MailError::Config(format!("{server} is not an IMAP server")));
    }
    let user = server.user.as_deref().ok_or_else(|| MailError::Config(format!("{server}: no user name")))?;
    let stream = connect(server, roots)?;
    let mut client = imap::Client::new(stream);
    if server.security != Security::StartTls && server.security != Security::Opportunistic {
        client.read_greeting().map_err(|e| failure(server, "greeting", e))?;
    }
    let mut session = client.login(user, server.password.as_deref().unwrap_or("")).map_err(|(e, _)| match e {
        imap::Error::No(_) | imap::Error::Bad(_) => {
            MailError::Refused(format!("{server}: the server refused the user name or password"))
        }
        other => failure(server, "login", other),
    })?;
    let mailbox = session.examine(&server.folder).map_err(|e| failure(server, "opening the folder", e))?;
    let validity = mailbox.uid_validity.unwrap_or(0);
    let after = if uid_validity == Some(validity) { after_uid } else { 0 };
    let mut uids: Vec<u32> = if mailbox.exists == 0 {
        Vec::new()
    } else {
        // `n:*` always names the last message, even below n: filter.
        let found = session
            .uid_search(format!("UID {}:*", after.saturating_add(1)))
            .map_err(|e| failure(server, "searching", e))?;
        found.into_iter().filter(|u| *u > after).collect()
    };
    uids.sort_unstable();
    let more = uids.len() > limit;
    uids.truncate(limit);
    let mut messages = Vec::with_capacity(uids.len());
    if !uids.is_empty() {
        let set: Vec<String> = uids.iter().map(u32::to_string).collect();
        let fetches =
            session.uid_fetch(set.join(","), "(UID BODY.PEEK[])").map_err(|e| failure(server, "fetching", e))?;
        for f in fetches.iter() {
            if let (Some(uid), Some(body)) = (f.uid, f.body()) {
                messages.push(FetchedMessage { uid, raw: body.to_vec() });
            }
        }
        messages.sort_by_key(|m| m.uid);
    }
    let _ = session.logout();
    Ok(Fetched { uid_validity: validity, messages, more })
}

fn failure(server: &ServerUrl, doing: &str, e: imap::Error) -> MailError {
    let text = format!("{server}: {doing}: {e}");
    match e {
        imap::Error::No(_) | imap::Error::Bad(_) | imap::Error::Validate(_) => MailError::Refused(text),
        _ => MailError::Transient(text),
    }
}

fn connect(server: &ServerUrl, roots: &TrustedRoots) -> Result<Box<dyn Stream>> {
    let unreachable = |e: std::io::Error| MailError::Transient(format!("{server}: {e}"));
    let addr = (server.host.as_str(), server.port)
        .to_socket_addrs()
        .map_err(unreachable)?
        .next()
        .ok_or_else(|| MailError::Transient(format!("{server}: the host name has no address")))?;
    let mut tcp = TcpStream::connect_timeout(&addr, TIMEOUT).map_err(unreachable)?;
    tcp.set_read_timeout(Some(TIMEOUT)).map_err(unreachable)?;
    tcp.set_write_timeout(Some(TIMEOUT)).map_err(unreachable)?;
    match server.security {
        Security::None => Ok(Box::new(tcp)),
        Security::Tls => tls(server, roots, tcp),
        Security::StartTls | Security::Opportunistic => {
            let greeting = read_line(&mut tcp).map_err(unreachable)?;
            if !greeting.starts_with("* OK") {
                return Err(MailError::Transient(format!("{server}: the server greeted with '{greeting}'")));
            }
            tcp.write_all(b"s1 STARTTLS\r\n").map_err(unreachable)?;
            loop {
                let line = read_line(&mut tcp).map_err(unreachable)?;
                if line.starts_with("s1 OK") {
                    return tls(server, roots, tcp);
                }
                if line.starts_with("s1 ") {
                    if server.security == Security::Opportunistic {
                        return Ok(Box::new(tcp));
                    }
                    return Err(MailError::Refused(format!("{server}: STARTTLS refused: {line}")));
                }
            }
        }
    }
}

fn tls(server: &ServerUrl, roots: &TrustedRoots, tcp: TcpStream) -> Result<Box<dyn Stream>> {
    let name = rustls::pki_types::ServerName::try_from(server.host.clone())
        .map_err(|e| MailError::Config(format!("{server}: {e}")))?;
    let conn = rustls::ClientConnection::new(roots.client_config()?, name)
        .map_err(|e| MailError::Config(format!("{server}: TLS: {e}")))?;
    let mut stream = rustls::StreamOwned::new(conn, tcp);
    // Handshake now, so that a certificate problem is named as such.
    while stream.conn.is_handshaking() {
        stream.conn.complete_io(&mut stream.sock).map_err(|e| {
            let text = format!("{server}: TLS handshake: {e}");
            if e.kind() == std::io::ErrorKind::InvalidData || crate::outgoing::tls_refused(&e) {
                MailError::Config(text)
            } else {
                MailError::Transient(text)
            }
        })?;
    }
    Ok(Box::new(stream))
}

/// One line of a server's answer, read byte by byte so that nothing past
/// it is consumed before TLS starts.
fn read_line(tcp: &mut TcpStream) -> std::io::Result<String> {
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    while line.len() < 8192 {
        if tcp.read(&mut byte)? == 0 {
            return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "the server closed the connection"));
        }
        if byte[0] == b'\n' {
            break;
        }
        line.push(byte[0]);
    }
    Ok(String::from_utf8_lossy(&line).trim_end().to_string())
}
