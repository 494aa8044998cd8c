//! Labelled corpora: the NAB layout (`data/<category>/<file>.csv` and
//! `labels/combined_windows.json`) and the Yahoo S5 layout (CSV files with
//! a 0/1 label column, `is_anomaly` or `anomaly`, whose windows are derived
//! the NAB way: 10% of the file's length shared among its anomalies, each
//! window centred on one). The UCR archive's layout is read by [`ucr`](super::ucr).

use super::scorer::probation_length;
use super::ucr;
use crate::series_file;
use anyhow::{Context, bail};
use chrono::NaiveDateTime;
use std::collections::BTreeMap;
use std::path::Path;

/// One series with its anomaly windows.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelledSeries {
    /// Path below the corpus' data folder, e.g. `realKnownCause/nyc_taxi.csv`.
    pub name: String,
    /// Unix seconds, in file order.
    pub timestamps: Vec<i64>,
    /// The values.
    pub values: Vec<f64>,
    /// Anomaly windows as inclusive row ranges, sorted and disjoint.
    pub windows: Vec<(usize, usize)>,
    /// The first rows, not scored and given to a detector to learn from
    /// (NAB's probation; UCR's training part).
    pub probation: usize,
    /// The labelled anomaly's rows, when the corpus marks exactly one
    /// (UCR): the archive's top-1 metric is scored on it.
    pub anomaly: Option<(usize, usize)>,
}

impl LabelledSeries {
    /// A series scored the NAB way: its probation is NAB's, no single
    /// labelled anomaly.
    pub fn nab(name: String, timestamps: Vec<i64>, values: Vec<f64>, windows: Vec<(usize, usize)>) -> Self {
        let probation = probation_length(values.len());
        Self { name, timestamps, values, windows, probation, anomaly: None }
    }

    /// The folder part of the name (NAB's category); empty when none.
    pub fn category(&self) -> &str {
        self.name.rsplit_once('/').map_or("", |(category, _)| category)
    }

    /// The file name without folders or `.csv`.
    pub fn stem(&self) -> &str {
        let file = self.name.rsplit_once('/').map_or(self.name.as_str(), |(_, file)| file);
        file.strip_suffix(".csv").or_else(|| file.strip_suffix(".txt")).unwrap_or(file)
    }
}

/// Reads the corpus at `dir`: NAB's layout when `dir/labels/combined_windows.json`
/// exists, the UCR archive's when `dir` holds its files, else every CSV
/// below `dir` in the Yahoo S5 layout.
pub fn load(dir: &Path) -> anyhow::Result<Vec<LabelledSeries>> {
    let windows = dir.join("labels").join("combined_windows.json");
    if windows.is_file() {
        load_nab(dir, &windows)
    } else if holds_ucr_files(dir) {
        ucr::load(dir)
    } else {
        load_yahoo(dir)
    }
}

fn holds_ucr_files(dir: &Path) -> bool {
    std::fs::read_dir(dir)
        .map(|entries| entries.filter_map(Result::ok).any(|e| ucr::is_ucr_file(&e.file_name().to_string_lossy())))
        .unwrap_or(false)
}

fn load_nab(dir: &Path, windows_file: &Path) -> anyhow::Result<Vec<LabelledSeries>> {
    let text = std::fs::read_to_string(windows_file).with_context(|| format!("reading {}", windows_file.display()))?;
    let windows: BTreeMap<String, Vec<[String; 2]>> =
        serde_json::from_str(&text).with_context(|| format!("{}: not NAB's windows file", windows_file.display()))?;
    let data = dir.join("data");
    windows
        .iter()
        .map(|(name, limits)| {
            let series = series_file::read(&data.join(name), name.clone())?;
            let windows = limits
                .iter()
                .map(|[start, end]| {
                    Ok((row_at_or_after(&series.timestamps, start)?, row_at_or_before(&series.timestamps, end)?))
                })
                .collect::<anyhow::Result<Vec<_>>>()
                .with_context(|| format!("windows of {name}"))?;
            Ok(LabelledSeries::nab(name.clone(), series.timestamps, series.values, windows))
        })
        .collect()
}

fn window_time(text: &str) -> anyhow::Result<i64> {
    let time = NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f")
        .with_context(|| format!("window limit {text:?} is not YYYY-MM-DD HH:MM:SS.ffffff"))?;
    Ok(time.and_utc().timestamp())
}

fn row_at_or_after(timestamps: &[i64], limit: &str) -> anyhow::Result<usize> {
    let time = window_time(limit)?;
    let row = timestamps.partition_point(|t| *t < time);
    if row == timestamps.len() {
        bail!("window starts at {limit}, after the last row");
    }
    Ok(row)
}

fn row_at_or_before(timestamps: &[i64], limit: &str) -> anyhow::Result<usize> {
    let time = window_time(limit)?;
    timestamps
        .partition_point(|t| *t <= time)
        .checked_sub(1)
        .with_context(|| format!("window ends at {limit}, before the first row"))
}

fn load_yahoo(dir: &Path) -> anyhow::Result<Vec<LabelledSeries>> {
    series_file::csv_files(dir)?
        .iter()
        .map(|file| {
            let name = file.strip_prefix(dir).unwrap_or(file).to_string_lossy().replace('\\', "/");
            let series = series_file::read(file, name.clone())?;
            let labels = series.labels.with_context(|| {
                format!("{}: needs a label column (is_anomaly or anomaly) outside NAB's layout", file.display())
            })?;
            Ok(LabelledSeries::nab(name, series.timestamps, series.values, windows_around(&labels)))
        })
        .collect()
}

/// NAB's windows for labelled rows: each run of labelled rows is one
/// anomaly; every anomaly gets a window of `10% of the rows / anomalies`
/// rows centred on it (and at least covering it); overlapping windows merge.
pub fn windows_around(labels: &[bool]) -> Vec<(usize, usize)> {
    let mut runs = Vec::new();
    let mut i = 0;
    while i < labels.len() {
        if labels[i] {
            let start = i;
            while i < labels.len() && labels[i] {
                i += 1;
            }
            runs.push((start, i - 1));
        }
        i += 1;
    }
    if runs.is_empty() {
        return runs;
    }
    let half = labels.len() / 10 / runs.len() / 2;
    let last = labels.len() - 1;
    let mut windows: Vec<(usize, usize)> = Vec::with_capacity(runs.len());
    for (start, end) in runs {
        let centre = (start + end) / 2;
        let window = (centre.saturating_sub(half).min(start), (centre + half).min(last).max(end));
        match windows.last_mut() {
            Some(previous) if previous.1 + 1 >= window.0 => previous.1 = previous.1.max(window.1),
            _ => windows.push(window),
        }
    }
    windows
}

/// The files of `corpus` in `split`.
pub fn split(corpus: Vec<LabelledSeries>, split: &str) -> anyhow::Result<Vec<LabelledSeries>> {
    let keep_dev = match split {
        "all" => return Ok(corpus),
        "dev" => true,
        "test" => false,
        other => bail!("--split must be all, dev or test; got {other:?}"),
    };
    let dev = in_dev_half(&corpus);
    Ok(corpus.into_iter().zip(dev).filter(|(_, in_dev)| *in_dev == keep_dev).map(|(series, _)| series).collect())
}

/// For each file of `corpus`, whether it is in the DEV half: the even
/// files (first, third...) within each category, in corpus order.
pub fn in_dev_half(corpus: &[LabelledSeries]) -> Vec<bool> {
    let mut index_in_category = std::collections::HashMap::<&str, usize>::new();
    corpus
        .iter()
        .map(|series| {
            let index = index_in_category.entry(series.category()).or_default();
            let even = index.is_multiple_of(2);
            *index += 1;
            even
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yahoo_windows_share_a_tenth_of_the_file_and_merge_when_they_meet() {
        let mut labels = vec![false; 1000];
        labels[100] = true;
        labels[500] = true;
        labels[501] = true;
        assert_eq!(windows_around(&labels), [(75, 125), (475, 525)]);
        labels[520] = true;
        // Three anomalies share 100 rows: 33 each, 16 either side; the last two meet.
        assert_eq!(windows_around(&labels), [(84, 116), (484, 536)]);
        assert_eq!(windows_around(&[false; 10]), []);
    }

    #[test]
    fn reads_both_layouts() {
        let dir = tempfile::tempdir().expect("tempdir");
        let data = dir.path().join("data").join("cat");
        std::fs::create_dir_all(&data).expect("mkdir");
        std::fs::create_dir_all(dir.path().join("labels")).expect("mkdir");
        let rows: String = (0..10).map(|i| format!("2014-01-01 00:0{i}:00,{i}\n")).collect();
        std::fs::write(data.join("a.csv"), format!("timestamp,value\n{rows}")).expect("write");
        std::fs::write(
            dir.path().join("labels").join("combined_windows.json"),
            r#"{"cat/a.csv": [["2014-01-01 00:03:00.000000", "2014-01-01 00:05:00.000000"]]}"#,
        )
        .expect("write");
        let nab = load(dir.path()).expect("loads");
        assert_eq!(nab.len(), 1);
        assert_eq!((nab[0].windows.as_slice(), nab[0].category(), nab[0].stem()), (&[(3, 5)][..], "cat", "a"));

        let yahoo = tempfile::tempdir().expect("tempdir");
        let rows: String = (0..20).map(|i| format!("{i},{i}.5,{}\n", u8::from(i == 10))).collect();
        std::fs::write(yahoo.path().join("real_1.csv"), format!("timestamp,value,is_anomaly\n{rows}")).expect("write");
        let series = load(yahoo.path()).expect("loads");
        assert_eq!((series[0].name.as_str(), series[0].windows.as_slice()), ("real_1.csv", &[(9, 11)][..]));
    }
}
