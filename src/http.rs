//! Plain HTTP GETs to the local gateway. Loopback only: the host is not a parameter.

use std::time::Duration;

use crate::secret::Secret;

#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub body: String,
}

impl Response {
    /// The body as JSON, when it is JSON.
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_str(self.body.trim()).ok()
    }
}

/// GET `http://127.0.0.1:PORT/PATH`. `None` when nothing answers in time.
pub fn get(port: u16, path: &str, bearer: Option<&Secret>, timeout: Duration) -> Option<Response> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .http_status_as_error(false)
        .max_redirects(0)
        .proxy(None)
        .build()
        .into();
    let url = format!("http://127.0.0.1:{port}{path}");
    let mut req = agent.get(&url);
    if let Some(token) = bearer {
        req = req.header("Authorization", &format!("Bearer {}", token.expose()));
    }
    let mut resp = req.call().ok()?;
    let status = resp.status().as_u16();
    let body = resp
        .body_mut()
        .with_config()
        .limit(256 * 1024)
        .read_to_string()
        .unwrap_or_default();
    Some(Response { status, body })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    #[test]
    fn reads_status_and_body_and_sends_bearer() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let server = std::thread::spawn(move || {
            let (mut s, _) = l.accept().unwrap();
            let mut buf = [0u8; 2048];
            let n = s.read(&mut buf).unwrap();
            let req = String::from_utf8_lossy(&buf[..n]).to_string();
            let body = r#"{"ok":true}"#;
            write!(
                s,
                "HTTP/1.1 503 Service Unavailable\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            )
            .unwrap();
            req
        });
        let r = get(
            port,
            "/startupz",
            Some(&Secret::new("t0k")),
            Duration::from_secs(2),
        )
        .unwrap();
        assert_eq!(r.status, 503);
        assert_eq!(r.json().unwrap()["ok"], true);
        let req = server.join().unwrap();
        assert!(req.starts_with("GET /startupz"));
        assert!(req.contains("Bearer t0k"));
    }

    #[test]
    fn nothing_listening_is_none() {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        assert!(get(port, "/healthz", None, Duration::from_millis(300)).is_none());
    }
}
