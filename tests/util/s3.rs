//! A real S3 server for the object-storage tests: moto's server (`pip install
//! 'moto[server]'`) started on an ephemeral port on 127.0.0.1 and stopped when
//! the test ends, a bucket in it, and a client to look inside.
//! Without moto, [`S3::start`] prints "skipped: …" and the test returns.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Stdio};

use futures_util::TryStreamExt as _;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path as Key;
use object_store::{ObjectStore as _, ObjectStoreExt as _};

use super::Run;

/// A moto server and one bucket in it.
pub struct S3 {
    server: Child,
    pub endpoint: String,
    pub bucket: String,
    client: AmazonS3,
    runtime: tokio::runtime::Runtime,
}

impl Drop for S3 {
    fn drop(&mut self) {
        let _ = self.server.kill();
        let _ = self.server.wait();
    }
}

/// One object as listed: its key, size and ETag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub key: String,
    pub size: u64,
    pub e_tag: Option<String>,
}

impl S3 {
    /// Starts moto's server with a fresh bucket, or `None` (having printed
    /// why) when moto is not installed.
    pub fn start(test: &str) -> Option<Self> {
        let spawned = Command::new("python3")
            .args(["-m", "moto.server", "-H", "127.0.0.1", "-p", "0"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn();
        let Ok(mut server) = spawned else {
            eprintln!("skipped: {test}: python3 is not installed");
            return None;
        };
        let stderr = server.stderr.take()?;
        let mut lines = BufReader::new(stderr).lines();
        let endpoint = loop {
            match lines.next() {
                Some(Ok(line)) => {
                    if let Some(at) = line.find("http://127.0.0.1:") {
                        break line[at..].trim().to_owned();
                    }
                }
                _ => {
                    let _ = server.kill();
                    let _ = server.wait();
                    eprintln!(
                        "skipped: {test}: moto's server is not installed (pip install 'moto[server]')"
                    );
                    return None;
                }
            }
        };
        // Its log goes on being read, so that the server never blocks on it.
        std::thread::spawn(move || for _ in lines {});
        let bucket = "archive-test".to_owned();
        create_bucket(&endpoint, &bucket);
        let client = AmazonS3Builder::new()
            .with_endpoint(&endpoint)
            .with_allow_http(true)
            .with_bucket_name(&bucket)
            .with_access_key_id("test")
            .with_secret_access_key("test-secret-never-printed")
            .with_region("us-east-1")
            .build()
            .unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        Some(S3 {
            server,
            endpoint,
            bucket,
            client,
            runtime,
        })
    }

    /// `s3://bucket/prefix`.
    pub fn url(&self, prefix: &str) -> String {
        format!("s3://{}/{prefix}", self.bucket)
    }

    /// The environment an archiver run reaches the server with.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ACCESS_KEY_ID", "test".into()),
            ("AWS_SECRET_ACCESS_KEY", "test-secret-never-printed".into()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_ENDPOINT_URL", self.endpoint.clone()),
            ("AWS_ALLOW_HTTP", "true".into()),
        ]
    }

    /// `run` with the server's environment.
    pub fn with(&self, mut run: Run) -> Run {
        for (key, value) in self.env() {
            run = run.env(key, value);
        }
        run
    }

    /// Every object under `prefix`, sorted, keys relative to it.
    pub fn list(&self, prefix: &str) -> Vec<Listed> {
        let key = Key::from(prefix);
        let metas: Vec<_> = self
            .runtime
            .block_on(self.client.list(Some(&key)).try_collect::<Vec<_>>())
            .unwrap();
        let mut listed: Vec<Listed> = metas
            .into_iter()
            .map(|m| Listed {
                key: m.location.as_ref()[prefix.len() + 1..].to_owned(),
                size: m.size,
                e_tag: m.e_tag,
            })
            .collect();
        listed.sort_by(|a, b| a.key.cmp(&b.key));
        listed
    }

    /// The keys under `prefix/objects/`, relative to `prefix`.
    pub fn objects(&self, prefix: &str) -> Vec<String> {
        self.list(prefix)
            .into_iter()
            .map(|l| l.key)
            .filter(|k| k.starts_with("objects/"))
            .collect()
    }

    pub fn get(&self, key: &str) -> Option<Vec<u8>> {
        self.runtime.block_on(async {
            match self.client.get(&Key::from(key)).await {
                Ok(got) => Some(got.bytes().await.unwrap().to_vec()),
                Err(_) => None,
            }
        })
    }

    pub fn put(&self, key: &str, bytes: &[u8]) {
        self.runtime
            .block_on(self.client.put(&Key::from(key), bytes.to_vec().into()))
            .unwrap();
    }

    /// Runs a few lines of Python with boto3 (moto's own dependency) against
    /// the server, for what object_store does not offer (listing multipart
    /// uploads); returns what it printed.
    pub fn boto3(&self, script: &str) -> String {
        let prelude = format!(
            "import boto3\ns3 = boto3.client('s3', endpoint_url='{}', aws_access_key_id='test', aws_secret_access_key='x', region_name='us-east-1')\nbucket = '{}'\n",
            self.endpoint, self.bucket
        );
        let out = Command::new("python3")
            .args(["-c", &format!("{prelude}{script}")])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// The keys of the multipart uploads under way.
    pub fn uploads(&self) -> Vec<String> {
        let out = self.boto3(
            "for u in s3.list_multipart_uploads(Bucket=bucket).get('Uploads', []): print(u['Key'])",
        );
        out.lines().map(str::to_owned).collect()
    }
}

/// Creates `bucket` with a plain HTTP request (moto takes it unsigned).
fn create_bucket(endpoint: &str, bucket: &str) {
    let host = endpoint.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(host).unwrap();
    write!(
        stream,
        "PUT /{bucket} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

/// The highest resident set size (VmHWM, in kB) of process `pid` seen so far.
pub fn peak_rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}
