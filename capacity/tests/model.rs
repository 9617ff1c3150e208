//! The queueing model against closed-form values: Erlang C at known points, the M/M/1 wait and
//! the M/M/1/K loss formula, the CPU cap and the Allen–Cunneen spread correction.

use std::time::Duration;

use boundpool_capacity::model::{erlang_c, erlang_c_wait_p99, predict, Load, Service};

fn close(a: f64, b: f64, rel: f64) -> bool {
    (a - b).abs() <= rel * b.abs().max(1e-12)
}

#[test]
fn erlang_c_matches_the_closed_form_at_known_points() {
    // (servers, offered load in erlangs, C from the closed form a^c/c!·c/(c−a) / (Σ + same)).
    let known = [
        (1, 0.5, 0.5),
        (1, 0.9, 0.9),
        (2, 1.0, 1.0 / 3.0),
        (3, 2.0, 4.0 / 9.0),
        (5, 4.5, 0.762_493_220_732_935_6),
        (10, 8.0, 0.409_180_150_796_443_5),
        (20, 15.0, 0.160_429_387_416_923_64),
    ];
    for (c, a, expected) in known {
        let got = erlang_c(c, a);
        assert!(close(got, expected, 1e-12), "C({c}, {a}) = {got}, expected {expected}");
    }
    assert_eq!(erlang_c(4, 4.0), 1.0, "saturated: every arrival waits");
    assert_eq!(erlang_c(4, 0.0), 0.0);
}

#[test]
fn the_erlang_c_wait_tail_is_exponential() {
    // M/M/1, μ = 1000/s, λ = 900/s: P(W > t) = 0.9·e^(−100 t), so p99 = ln(90)/100 s.
    let t = erlang_c_wait_p99(1, 1000.0, 900.0).expect("below saturation");
    assert!(close(t, 90f64.ln() / 100.0, 1e-12), "{t}");
    // C(10, 8) ≈ 0.409 > 1 %: p99 = ln(C/0.01) / (cμ − λ) with μ = 1, λ = 8.
    let t = erlang_c_wait_p99(10, 1.0, 8.0).expect("below saturation");
    assert!(close(t, (0.409_180_150_796_443_5f64 / 0.01).ln() / 2.0, 1e-9), "{t}");
    assert_eq!(erlang_c_wait_p99(2, 1.0, 2.0), None, "saturated");
    // C below 1 %: the p99 wait is zero.
    assert_eq!(erlang_c_wait_p99(20, 1.0, 5.0), Some(0.0));
}

fn exp_job(mean: Duration, cpu: Duration) -> Service {
    Service::new(cpu, mean, 1.0, mean.mul_f64(100f64.ln()))
}

#[test]
fn a_deep_queue_converges_to_erlang_c() {
    // 4 workers, 1 ms jobs (no CPU), 3 000 jobs/s, a queue far deeper than any wait: the finite
    // model's p99 wait must equal the Erlang C one.
    let job = exp_job(Duration::from_millis(1), Duration::ZERO);
    let p = predict(&job, Load::Open { rate: 3000.0, ca2: 1.0 }, 4, 10_000, 2);
    let expected = erlang_c_wait_p99(4, 1000.0, 3000.0).unwrap();
    assert!(close(p.wait_p99.as_secs_f64(), expected, 1e-6), "{:?} vs {expected}", p.wait_p99);
    assert!(p.rejected_share < 1e-12);
    assert!(close(p.throughput, 3000.0, 1e-9));
    assert!(close(p.utilisation, 0.75, 1e-12));
}

#[test]
fn a_full_queue_refuses_as_m_m_1_k_says() {
    // M/M/1/K with K = 1 + 4 places, ρ = 1.5: P(full) = (1−ρ)ρ^K / (1−ρ^(K+1)).
    let job = exp_job(Duration::from_millis(1), Duration::ZERO);
    let p = predict(&job, Load::Open { rate: 1500.0, ca2: 1.0 }, 1, 4, 1);
    let (rho, k) = (1.5f64, 5);
    let expected = (1.0 - rho) * rho.powi(k) / (1.0 - rho.powi(k + 1));
    assert!(close(p.rejected_share, expected, 1e-9), "{} vs {expected}", p.rejected_share);
    assert!(close(p.throughput, 1500.0 * (1.0 - expected), 1e-9));
}

#[test]
fn cpu_caps_what_many_workers_can_do() {
    // 1 ms jobs of which 500 µs CPU: 64 workers could do 64 000/s, 2 cores only 4 000/s.
    let job = exp_job(Duration::from_millis(1), Duration::from_micros(500));
    assert!(close(job.capacity(64, 2), 4000.0, 1e-12));
    assert!(close(job.capacity(2, 2), 2000.0, 1e-12));
    assert!(close(job.capacity(64, 16), 32_000.0, 1e-12));
    let p = predict(&job, Load::Open { rate: 5000.0, ca2: 1.0 }, 64, 16, 2);
    assert!(p.utilisation > 1.0 && p.throughput < 4000.0 + 1e-6, "{p:?}");
    assert!(p.rejected_share > 0.15, "{p:?}");
    // Closed loop: capacity, and a full queue's drain as the wait.
    let closed = predict(&job, Load::Closed, 64, 400, 2);
    assert!(close(closed.throughput, 4000.0, 1e-12));
    assert!(close(closed.wait_p99.as_secs_f64(), 0.1, 1e-9));
}

#[test]
fn allen_cunneen_scales_waits_by_the_spread() {
    let rate = Load::Open { rate: 3000.0, ca2: 1.0 };
    let exp = exp_job(Duration::from_millis(1), Duration::ZERO);
    let fixed = Service { cv: 0.0, ..exp };
    let (e, f) = (predict(&exp, rate, 4, 10_000, 4), predict(&fixed, rate, 4, 10_000, 4));
    // (ca² + cs²)/2: 1 for exponential service, 1/2 for fixed.
    assert!(close(f.wait_p99.as_secs_f64(), e.wait_p99.as_secs_f64() / 2.0, 1e-6), "{f:?} {e:?}");
    // Evenly spaced arrivals and fixed service: no queueing at all in this approximation.
    let even = predict(&fixed, Load::Open { rate: 3000.0, ca2: 0.0 }, 4, 10_000, 4);
    assert_eq!(even.wait_p99, Duration::ZERO);
    // Saturated, the queue is full whatever the spread: no correction.
    let over = Load::Open { rate: 6000.0, ca2: 1.0 };
    let (e, f) = (predict(&exp, over, 4, 64, 4), predict(&fixed, over, 4, 64, 4));
    assert_eq!(e.wait_p99, f.wait_p99);
    // About 64 jobs ahead, drained at 4 000/s: an Erlang(65, 4000/s) wait, mean 16.25 ms,
    // standard deviation 2 ms, p99 near 21 ms.
    assert!(e.wait_p99 > Duration::from_millis(19) && e.wait_p99 < Duration::from_millis(23), "{e:?}");
}
