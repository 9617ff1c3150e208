//! `capacity.svg`: p99 latency (left) and throughput (right) against workers, one line per queue
//! capacity, with the target p99 and the offered rate drawn in for reference.

use std::path::Path;

use plotters::prelude::*;

use crate::args::{Arrival, Plan};
use crate::sweep::Point;

type DrawResult = Result<(), Box<dyn std::error::Error>>;

/// Writes the chart of `points` to `path`.
pub fn write_svg(points: &[Point], plan: &Plan, path: &Path) -> DrawResult {
    let root = SVGBackend::new(path, (1200, 500)).into_drawing_area();
    root.fill(&WHITE)?;
    let (left, right) = root.split_horizontally(600);

    let mut queues: Vec<usize> = points.iter().map(|p| p.queue).collect();
    queues.sort_unstable();
    queues.dedup();
    let max_workers = points.iter().map(|p| p.workers).max().unwrap_or(1) as f64;
    let x_range = (0.8f64..max_workers * 1.25).log_scale().base(2.0);
    let series = |q: usize| -> Vec<&Point> {
        let mut v: Vec<&Point> = points.iter().filter(|p| p.queue == q).collect();
        v.sort_by_key(|p| p.workers);
        v
    };
    let target_ms = plan.target_p99.as_secs_f64() * 1e3;
    let ms = |p: &Point| (p.latency.p99.as_secs_f64() * 1e3).max(0.01);

    // Left: p99 latency, log scale, because overloaded points are orders of magnitude slower.
    let lat_max = points.iter().map(ms).fold(target_ms, f64::max) * 2.0;
    let lat_min = points.iter().map(ms).fold(target_ms, f64::min) / 2.0;
    let mut chart = ChartBuilder::on(&left)
        .caption("p99 latency (arrival to job end)", ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(x_range.clone(), (lat_min..lat_max).log_scale())?;
    chart
        .configure_mesh()
        .x_desc("workers")
        .y_desc("p99 (ms, log)")
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_label_formatter(&|y| format!("{y}"))
        .draw()?;
    for (i, &q) in queues.iter().enumerate() {
        let color = Palette99::pick(i).to_rgba();
        let line: Vec<(f64, f64)> = series(q).iter().map(|p| (p.workers as f64, ms(p))).collect();
        chart
            .draw_series(LineSeries::new(line.clone(), color.stroke_width(2)))?
            .label(format!("queue {q}"))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], color.stroke_width(2)));
        chart.draw_series(line.into_iter().map(|xy| Circle::new(xy, 3, color.filled())))?;
    }
    chart
        .draw_series(LineSeries::new(
            [(0.8, target_ms), (max_workers * 1.25, target_ms)],
            BLACK.mix(0.6).stroke_width(1),
        ))?
        .label("target p99")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], BLACK.mix(0.6)));
    chart.configure_series_labels().background_style(WHITE.mix(0.8)).border_style(BLACK).draw()?;

    // Right: throughput, linear.
    let offered = match plan.arrival {
        Arrival::Open { rate, .. } => Some(rate),
        Arrival::Closed => None,
    };
    let tput_max = points.iter().map(|p| p.throughput).fold(offered.unwrap_or(1.0), f64::max) * 1.15;
    let mut chart = ChartBuilder::on(&right)
        .caption("throughput", ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(x_range, 0f64..tput_max)?;
    chart
        .configure_mesh()
        .x_desc("workers")
        .y_desc("jobs/s completed")
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_label_formatter(&|y| format!("{y:.0}"))
        .draw()?;
    for (i, &q) in queues.iter().enumerate() {
        let color = Palette99::pick(i).to_rgba();
        let line: Vec<(f64, f64)> = series(q).iter().map(|p| (p.workers as f64, p.throughput)).collect();
        chart
            .draw_series(LineSeries::new(line.clone(), color.stroke_width(2)))?
            .label(format!("queue {q}"))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], color.stroke_width(2)));
        chart.draw_series(line.into_iter().map(|xy| Circle::new(xy, 3, color.filled())))?;
    }
    if let Some(rate) = offered {
        chart
            .draw_series(LineSeries::new(
                [(0.8, rate), (max_workers * 1.25, rate)],
                BLACK.mix(0.6).stroke_width(1),
            ))?
            .label("offered rate")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], BLACK.mix(0.6)));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}
