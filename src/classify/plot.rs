//! Loss curves as a PNG (plotters, with a font compiled in so that no system font library is
//! needed).

use std::path::Path;
use std::sync::Once;

use plotters::prelude::*;

use super::config::EpochReport;
use crate::error::{Error, Result};

static FONT: Once = Once::new();

/// Draws the training and validation loss per epoch into `path` (PNG), atomically.
pub fn plot_losses(history: &[EpochReport], path: &Path) -> Result<()> {
    if history.is_empty() {
        return Err(Error::invalid("no epochs to plot"));
    }
    FONT.call_once(|| {
        // The font is a valid TTF compiled into the binary; registering cannot fail on it.
        let _ = plotters::style::register_font(
            "sans-serif",
            FontStyle::Normal,
            epaint_default_fonts::UBUNTU_LIGHT,
        );
    });
    let out = crate::io::OutputPath::new(path)?;
    let tmp = out.temp_file_ending(".png")?;
    let draw_err = |e: &dyn std::fmt::Display| {
        Error::io("cannot draw", path, std::io::Error::other(e.to_string()))
    };
    {
        let root = BitMapBackend::new(tmp.path(), (900, 560)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| draw_err(&e))?;
        let train: Vec<(f64, f64)> = history
            .iter()
            .map(|r| (r.epoch as f64, r.train_loss))
            .collect();
        let valid: Vec<(f64, f64)> = history
            .iter()
            .filter_map(|r| r.valid_loss.map(|v| (r.epoch as f64, v)))
            .collect();
        let (lo, hi) = train
            .iter()
            .chain(&valid)
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &(_, y)| {
                (lo.min(y), hi.max(y))
            });
        let pad = ((hi - lo) * 0.08).max(1e-3);
        let last = history.last().map_or(1, |r| r.epoch) as f64;
        let first = history.first().map_or(1, |r| r.epoch) as f64;
        let mut chart = ChartBuilder::on(&root)
            .caption("wordvec classify: loss per epoch", ("sans-serif", 26))
            .margin(16)
            .x_label_area_size(44)
            .y_label_area_size(64)
            .build_cartesian_2d(first.min(last - 1.0)..last, (lo - pad).max(0.0)..hi + pad)
            .map_err(|e| draw_err(&e))?;
        chart
            .configure_mesh()
            .x_desc("epoch")
            .x_label_formatter(&|x| format!("{x:.0}"))
            .x_labels(((last - first.min(last - 1.0)) as usize + 1).min(16))
            .y_desc("loss")
            .label_style(("sans-serif", 16))
            .draw()
            .map_err(|e| draw_err(&e))?;
        chart
            .draw_series(LineSeries::new(train, BLUE.stroke_width(2)))
            .map_err(|e| draw_err(&e))?
            .label("train")
            .legend(|(x, y)| PathElement::new([(x, y), (x + 24, y)], BLUE.stroke_width(2)));
        if !valid.is_empty() {
            chart
                .draw_series(LineSeries::new(valid, RED.stroke_width(2)))
                .map_err(|e| draw_err(&e))?
                .label("validation")
                .legend(|(x, y)| PathElement::new([(x, y), (x + 24, y)], RED.stroke_width(2)));
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK)
            .label_font(("sans-serif", 16))
            .draw()
            .map_err(|e| draw_err(&e))?;
        root.present().map_err(|e| draw_err(&e))?;
    }
    out.commit(tmp)
}
