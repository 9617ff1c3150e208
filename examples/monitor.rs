//! Watching a pool the way an operator does: named jobs, a slow-job watchdog, a worker dump,
//! and Prometheus metrics on `/metrics`.
//!
//! A pool named `monitor` runs a stream of short named jobs and one job that gets stuck. The
//! watchdog reports the stuck job while it is stuck, the program prints a dump of the workers,
//! then (built with `--features metrics`) serves the pool's figures with
//! `metrics-exporter-prometheus` on a loopback port:
//!
//! ```text
//! cargo run --release --features metrics --example monitor            # serves until Ctrl-C
//! cargo run --release --features metrics --example monitor -- --quick  # scrapes itself once
//! ```
//!
//! `--quick` finishes the workload, scrapes its own endpoint once and checks the counters.
//! Built without the feature it shows the watchdog and the dump only.

use std::sync::mpsc;
use std::sync::Mutex;
use std::time::Duration;

use boundpool::ThreadPool;

/// Short jobs in the workload.
const JOBS: u64 = 200;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let quick = std::env::args().any(|a| a == "--quick");

    #[cfg(feature = "metrics")]
    let endpoint = exporter::install()?;

    let (slow_tx, slow_rx) = mpsc::channel();
    let slow_tx = Mutex::new(slow_tx);
    let pool = ThreadPool::builder()
        .name("monitor")
        .workers(4)
        .queue_capacity(64)
        .record_latency(true)
        .slow_job(Duration::from_millis(200), move |slow| {
            eprintln!("watchdog: {slow}");
            let _ = slow_tx.lock().map(|tx| tx.send(slow.clone()));
        })
        .build()?;

    // One job that gets stuck until we let it go (or 60 s pass).
    let (release, stuck) = mpsc::channel::<()>();
    pool.job().name("export nightly report").execute(move || {
        let _ = stuck.recv_timeout(Duration::from_secs(60));
    })?;
    for i in 0..JOBS {
        pool.job().name("resize").execute(move || {
            std::thread::sleep(Duration::from_micros(200 + i % 7 * 100));
        })?;
    }

    let slow = slow_rx.recv_timeout(Duration::from_secs(10))?;
    assert_eq!(slow.name.as_deref(), Some("export nightly report"));
    println!("{}", pool.dump());

    release.send(())?;

    #[cfg(feature = "metrics")]
    {
        if quick {
            pool.shutdown(); // publishes the final figures
            let text = exporter::scrape(endpoint)?;
            let submitted = exporter::sample(&text, "boundpool_jobs_submitted_total");
            let completed = exporter::sample(&text, "boundpool_jobs_completed_total");
            println!("scraped http://{endpoint}/metrics: submitted {submitted:?}, completed {completed:?}");
            let all = (JOBS + 1) as f64;
            if submitted != Some(all) || completed != Some(all) {
                return Err(format!("expected {all} jobs submitted and completed, scraped:\n{text}").into());
            }
        } else {
            println!("serving http://{endpoint}/metrics; Ctrl-C to stop");
            loop {
                pool.job().name("heartbeat").execute(|| std::thread::sleep(Duration::from_millis(5)))?;
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
    #[cfg(not(feature = "metrics"))]
    {
        let report = pool.shutdown();
        println!("ran {} jobs; build with --features metrics to serve /metrics", report.completed);
        let _ = quick;
    }
    Ok(())
}

#[cfg(feature = "metrics")]
mod exporter {
    use std::io::{Read, Write};
    use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
    use std::time::{Duration, Instant};

    use metrics_exporter_prometheus::PrometheusBuilder;

    /// Installs the Prometheus recorder with its HTTP listener on a free loopback port.
    pub fn install() -> Result<SocketAddr, Box<dyn std::error::Error>> {
        // Ask the OS for a free port, then hand it to the exporter.
        let endpoint = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?.local_addr()?;
        PrometheusBuilder::new().with_http_listener(endpoint).install()?;
        Ok(endpoint)
    }

    /// One `GET /metrics`, retried for a few seconds while the listener starts.
    pub fn scrape(endpoint: SocketAddr) -> Result<String, Box<dyn std::error::Error>> {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            match get(endpoint) {
                Ok(text) => return Ok(text),
                Err(e) if Instant::now() >= deadline => return Err(e),
                Err(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    }

    fn get(endpoint: SocketAddr) -> Result<String, Box<dyn std::error::Error>> {
        let mut stream = TcpStream::connect_timeout(&endpoint, Duration::from_secs(1))?;
        stream.set_read_timeout(Some(Duration::from_secs(2)))?;
        write!(stream, "GET /metrics HTTP/1.1\r\nHost: {endpoint}\r\nConnection: close\r\n\r\n")?;
        let mut response = String::new();
        stream.read_to_string(&mut response)?;
        match response.split_once("\r\n\r\n") {
            Some((head, body)) if head.starts_with("HTTP/1.1 200") => Ok(body.to_owned()),
            _ => Err(format!("unexpected response: {response}").into()),
        }
    }

    /// The value of `name{pool="monitor"}` in the scraped text.
    pub fn sample(text: &str, name: &str) -> Option<f64> {
        let head = format!("{name}{{pool=\"monitor\"}} ");
        text.lines().find_map(|line| line.strip_prefix(&head)).and_then(|v| v.trim().parse().ok())
    }
}
