//! A plain-HTTP server that misbehaves below the level an HTTP library lets a
//! handler reach: it closes the connection before any header, never finishes
//! its headers, promises more body than it sends, or trickles a byte a second.
//! Each behaviour is a path; the server runs on 127.0.0.1 until dropped.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// A running raw server.
pub struct RawServer {
    /// Where it listens.
    pub addr: SocketAddr,
    stop: Arc<AtomicBool>,
}

impl RawServer {
    /// Starts the server.
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        listener.set_nonblocking(true).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = Arc::clone(&stop);
        std::thread::spawn(move || {
            while !stopping.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let stopping = Arc::clone(&stopping);
                        std::thread::spawn(move || serve(stream, &stopping));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        RawServer { addr, stop }
    }

    /// `--connect-to` arguments sending `host` (port 80) here.
    pub fn args(&self, host: &str) -> Vec<String> {
        vec!["--connect-to".into(), format!("{host}:80={}", self.addr)]
    }
}

impl Drop for RawServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

fn serve(mut stream: TcpStream, stop: &AtomicBool) {
    stream.set_nonblocking(false).ok();
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok();
    let mut request = Vec::new();
    let mut buf = [0u8; 1024];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => request.extend_from_slice(&buf[..n]),
        }
    }
    let line = String::from_utf8_lossy(&request);
    let path = line.split_whitespace().nth(1).unwrap_or("/").to_owned();
    let slowly = |stream: &mut TcpStream, head: &[u8], byte: u8| {
        let _ = stream.write_all(head);
        for _ in 0..120 {
            if stop.load(Ordering::SeqCst) || stream.write_all(&[byte]).is_err() {
                return;
            }
            let _ = stream.flush();
            std::thread::sleep(Duration::from_secs(1));
        }
    };
    match path.as_str() {
        // Accepted, read, and reset (RST, not an orderly close) without a word.
        "/reset-before-headers" => reset(&stream),
        // A status line, then header bytes one a second, never a blank line.
        "/headers-forever" => slowly(&mut stream, b"HTTP/1.1 200 OK\r\nX-Slow: ", b'a'),
        // Headers, then a body of one byte a second.
        "/trickle" => slowly(
            &mut stream,
            b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 100000\r\n\r\n",
            b'x',
        ),
        // Promises 100 000 bytes of image, sends 10, resets the connection.
        "/short.png" => {
            let _ = stream.write_all(
                b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: 100000\r\n\r\n\x89PNG\r\n\x1a\n\0\0",
            );
            let _ = stream.flush();
            std::thread::sleep(Duration::from_millis(50));
            reset(&stream);
        }
        _ => {
            let _ = stream.write_all(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
            );
        }
    }
}

/// Makes the coming close of `stream` a reset: with a zero linger time,
/// closing sends RST instead of FIN.
fn reset(stream: &TcpStream) {
    #[cfg(unix)]
    let _ = rustix::net::sockopt::set_socket_linger(stream, Some(Duration::ZERO));
}
