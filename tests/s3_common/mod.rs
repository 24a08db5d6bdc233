//! A real S3-compatible server for the object-store tests: each test starts its own moto server
//! (`python -m moto.server` in the tests' Python environment, `tests/py_common`) on a free port of 127.0.0.1, creates its
//! buckets, reads what flowc wrote with an independent client (boto3, in a Python snippet) and stops
//! the server when it is dropped.

#![allow(dead_code)]

// The tests' Python environment, through run_common (which every crate using this module includes).
use crate::run_common::py_common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Longest wait for the server to start (importing moto takes a few seconds on a busy machine).
const STARTUP: Duration = Duration::from_secs(120);

pub struct S3Server {
    child: Child,
    pub port: u16,
}

impl S3Server {
    /// Starts moto on a port the kernel picks and waits until it answers.
    pub fn start() -> S3Server {
        Self::start_with(&[])
    }

    /// Starts moto with extra environment variables (e.g. `INITIAL_NO_AUTH_ACTION_COUNT` to check
    /// credentials).
    pub fn start_with(env: &[(&str, &str)]) -> S3Server {
        let mut cmd = py_common::python();
        cmd.args(["-u", "-m", "moto.server", "-H", "127.0.0.1", "-p", "0"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap_or_else(|e| panic!("python -m moto.server does not start ({e})"));
        // Werkzeug prints `Running on http://127.0.0.1:PORT` on stderr once it listens.
        let stderr = child.stderr.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut seen = Vec::new();
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                let port = line
                    .split("http://127.0.0.1:")
                    .nth(1)
                    .and_then(|rest| rest.trim().trim_end_matches('/').parse::<u16>().ok());
                if let Some(port) = port {
                    // The loop goes on draining, so the server never blocks on a full pipe.
                    let _ = tx.send(Ok(port));
                    continue;
                }
                seen.push(line);
            }
            let _ = tx.send(Err(seen.join("\n")));
        });
        let port = match rx.recv_timeout(STARTUP) {
            Ok(Ok(port)) => port,
            Ok(Err(output)) => {
                let _ = child.kill();
                panic!("moto exited before listening (is `moto[server]` in tests/python/requirements.txt?):\n{output}")
            }
            Err(_) => {
                let _ = child.kill();
                panic!("moto did not start listening within {STARTUP:?}")
            }
        };
        let server = S3Server { child, port };
        let deadline = Instant::now() + STARTUP;
        while server.request("GET", "/moto-api/", "").map(|(status, _)| status).ok() != Some(200) {
            assert!(Instant::now() < deadline, "moto on port {port} never answered");
            std::thread::sleep(Duration::from_millis(100));
        }
        server
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Creates a bucket, with boto3.
    pub fn create_bucket(&self, name: &str) {
        self.python(&format!("s3.create_bucket(Bucket={name:?})"));
    }

    /// One plain HTTP/1.1 request; returns the status and body.
    pub fn request(&self, method: &str, path: &str, body: &str) -> std::io::Result<(u16, String)> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port))?;
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.port,
            body.len()
        )?;
        let mut answer = String::new();
        stream.read_to_string(&mut answer)?;
        let status = answer.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
        let body = answer.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
        Ok((status, body))
    }

    /// Runs a Python snippet with `s3` a boto3 client of this server (and `endpoint`, `json`, `sys`
    /// at hand); returns its standard output.
    pub fn python(&self, snippet: &str) -> String {
        let script = format!(
            "import boto3, json, sys\n\
             endpoint = {endpoint:?}\n\
             s3 = boto3.client('s3', endpoint_url=endpoint, region_name='us-east-1',\n\
                 aws_access_key_id='testing', aws_secret_access_key='testing')\n\
             {snippet}\n",
            endpoint = self.endpoint()
        );
        let out = py_common::python().arg("-c").arg(&script).output().expect("the tests' Python runs");
        assert!(out.status.success(), "python snippet failed:\n{script}\n{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).expect("UTF-8 output")
    }

    /// Every object under `bucket` (key → body as text), read with boto3.
    pub fn objects(&self, bucket: &str) -> std::collections::BTreeMap<String, String> {
        let out = self.python(&format!(
            "out = {{}}\n\
             for page in s3.get_paginator('list_objects_v2').paginate(Bucket={bucket:?}):\n\
             \x20   for o in page.get('Contents', []):\n\
             \x20       out[o['Key']] = s3.get_object(Bucket={bucket:?}, Key=o['Key'])['Body'].read().decode()\n\
             json.dump(out, sys.stdout)"
        ));
        serde_json::from_str(&out).expect("a JSON object")
    }

    /// Keys of the multipart uploads in progress in `bucket`.
    pub fn uploads_in_progress(&self, bucket: &str) -> Vec<String> {
        let out = self.python(&format!(
            "r = s3.list_multipart_uploads(Bucket={bucket:?})\n\
             json.dump([u['Key'] for u in r.get('Uploads', [])], sys.stdout)"
        ));
        serde_json::from_str(&out).expect("a JSON list")
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
