//! Results in NAB's own layout, so that NAB's scorer can check our figures:
//! `<dir>/<detector>/<category>/<detector>_<file>.csv` with the columns
//! `timestamp,value,anomaly_score,label` (label 1 inside a window).

use super::corpus::LabelledSeries;
use anyhow::Context;
use chrono::DateTime;
use std::fmt::Write as _;
use std::path::Path;

/// Writes `scores` (one per row of `series`) for `detector` below `dir`.
pub fn write_nab_results(dir: &Path, detector: &str, series: &LabelledSeries, scores: &[f64]) -> anyhow::Result<()> {
    let folder = dir.join(detector).join(series.category());
    std::fs::create_dir_all(&folder).with_context(|| format!("creating {}", folder.display()))?;
    let mut in_window = vec![false; series.values.len()];
    for &(left, right) in &series.windows {
        in_window[left..=right].iter_mut().for_each(|w| *w = true);
    }
    let mut text = String::from("timestamp,value,anomaly_score,label\n");
    for (((time, value), score), label) in series.timestamps.iter().zip(&series.values).zip(scores).zip(&in_window) {
        // A time chrono cannot format is written as Unix seconds.
        let time = DateTime::from_timestamp(*time, 0)
            .map_or_else(|| time.to_string(), |t| t.format("%Y-%m-%d %H:%M:%S").to_string());
        let _ = writeln!(text, "{time},{value},{score},{}", u8::from(*label));
    }
    let file = folder.join(format!("{detector}_{}.csv", series.stem()));
    std::fs::write(&file, text).with_context(|| format!("writing {}", file.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_nabs_columns_and_path() {
        let dir = tempfile::tempdir().expect("tempdir");
        let series =
            LabelledSeries::nab("realKnownCause/x.csv".into(), vec![0, 300, 600], vec![1.0, 2.5, 3.0], vec![(1, 1)]);
        write_nab_results(dir.path(), "ours", &series, &[0.0, 1.0, 0.0]).expect("writes");
        let text = std::fs::read_to_string(dir.path().join("ours/realKnownCause/ours_x.csv")).expect("written");
        assert_eq!(
            text,
            "timestamp,value,anomaly_score,label\n1970-01-01 00:00:00,1,0,0\n1970-01-01 00:05:00,2.5,1,1\n1970-01-01 00:10:00,3,0,0\n"
        );
    }
}
