//! The SVG chart: p99 latency (left) and throughput (right) against workers, one colour per
//! queue capacity. Measured medians are solid lines with a bar over each point's range of
//! repeats; the model's predictions are dashed. The target p99 and the offered rate are drawn in.

use std::path::Path;
use std::time::Duration;

use plotters::prelude::*;

use crate::report::Point;
use crate::sweep::Arrival;

type DrawResult = Result<(), Box<dyn std::error::Error>>;

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e3).max(0.01)
}

/// Writes the chart of `points` to `path`.
pub(crate) fn write_svg(points: &[Point], arrival: Arrival, target: Duration, path: &Path) -> DrawResult {
    let root = SVGBackend::new(path, (1200, 500)).into_drawing_area();
    root.fill(&WHITE)?;
    let (left, right) = root.split_horizontally(600);

    let mut queues: Vec<usize> = points.iter().map(|p| p.queue).collect();
    queues.sort_unstable();
    queues.dedup();
    let max_workers = points.iter().map(|p| p.workers).max().unwrap_or(1) as f64;
    let x_end = max_workers * 1.25;
    let x_range = (0.8f64..x_end).log_scale().base(2.0);
    let series = |q: usize| -> Vec<&Point> {
        let mut v: Vec<&Point> = points.iter().filter(|p| p.queue == q).collect();
        v.sort_by_key(|p| p.workers);
        v
    };
    let target_ms = ms(target);

    // Left: p99 latency, log scale, because overloaded points are orders of magnitude slower.
    let all_ms = points.iter().flat_map(|p| {
        p.runs.iter().map(|r| ms(r.latency.p99)).chain(std::iter::once(ms(p.model.latency_p99)))
    });
    let (lat_min, lat_max) = all_ms.fold((target_ms, target_ms), |(lo, hi), x| (lo.min(x), hi.max(x)));
    let mut chart = ChartBuilder::on(&left)
        .caption("p99 latency: measured (solid, range of repeats), model (dashed)", ("sans-serif", 16))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(x_range.clone(), (lat_min / 2.0..lat_max * 2.0).log_scale())?;
    chart
        .configure_mesh()
        .x_desc("workers")
        .y_desc("p99 (ms, log)")
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_label_formatter(&|y| format!("{y}"))
        .draw()?;
    for (i, &q) in queues.iter().enumerate() {
        let color = Palette99::pick(i).to_rgba();
        let s = series(q);
        let line: Vec<(f64, f64)> = s.iter().map(|p| (p.workers as f64, ms(p.p99()))).collect();
        chart
            .draw_series(LineSeries::new(line.clone(), color.stroke_width(2)))?
            .label(format!("queue {q}"))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], color.stroke_width(2)));
        chart.draw_series(line.into_iter().map(|xy| Circle::new(xy, 3, color.filled())))?;
        chart.draw_series(s.iter().map(|p| {
            let x = p.workers as f64;
            let lo = p.runs.iter().map(|r| ms(r.latency.p99)).fold(f64::INFINITY, f64::min);
            let hi = p.runs.iter().map(|r| ms(r.latency.p99)).fold(0.0, f64::max);
            PathElement::new(vec![(x, lo.min(hi)), (x, hi)], color.stroke_width(1))
        }))?;
        let model: Vec<(f64, f64)> = s.iter().map(|p| (p.workers as f64, ms(p.model.latency_p99))).collect();
        chart.draw_series(DashedLineSeries::new(model, 6, 4, color.stroke_width(1)))?;
    }
    chart
        .draw_series(LineSeries::new([(0.8, target_ms), (x_end, target_ms)], BLACK.mix(0.6).stroke_width(1)))?
        .label("target p99")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], BLACK.mix(0.6)));
    chart.configure_series_labels().background_style(WHITE.mix(0.8)).border_style(BLACK).draw()?;

    // Right: throughput, linear.
    let offered = match arrival {
        Arrival::Open { rate, .. } => Some(rate),
        Arrival::Closed => None,
    };
    let tput_max = points
        .iter()
        .flat_map(|p| p.runs.iter().map(|r| r.throughput).chain(std::iter::once(p.model.throughput)))
        .fold(offered.unwrap_or(1.0), f64::max)
        * 1.15;
    let mut chart = ChartBuilder::on(&right)
        .caption("throughput: measured (solid), model (dashed)", ("sans-serif", 16))
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
        let s = series(q);
        let line: Vec<(f64, f64)> =
            s.iter().map(|p| (p.workers as f64, p.median(|r| r.throughput))).collect();
        chart
            .draw_series(LineSeries::new(line.clone(), color.stroke_width(2)))?
            .label(format!("queue {q}"))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 16, y)], color.stroke_width(2)));
        chart.draw_series(line.into_iter().map(|xy| Circle::new(xy, 3, color.filled())))?;
        let model: Vec<(f64, f64)> = s.iter().map(|p| (p.workers as f64, p.model.throughput)).collect();
        chart.draw_series(DashedLineSeries::new(model, 6, 4, color.stroke_width(1)))?;
    }
    if let Some(rate) = offered {
        chart
            .draw_series(LineSeries::new([(0.8, rate), (x_end, rate)], BLACK.mix(0.6).stroke_width(1)))?
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
