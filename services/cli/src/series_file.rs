//! Reading a series from CSV: the NAB layout (`timestamp,value`, times as
//! `YYYY-MM-DD HH:MM:SS` UTC) and the Yahoo S5 layout
//! (`timestamp,value,is_anomaly`, or `timestamps,value,anomaly`, times as
//! integers), whose 0/1 label column is kept; other columns are ignored.
//! Files of a folder are found recursively, in name order.

use anyhow::{Context, bail};
use chrono::NaiveDateTime;
use std::path::{Path, PathBuf};

/// One series read from a file.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesFile {
    /// The series id: given, or the file's name without `.csv`, with
    /// characters outside `[A-Za-z0-9._:-]` replaced by `_`.
    pub series_id: String,
    /// Unix seconds, in file order.
    pub timestamps: Vec<i64>,
    /// The values.
    pub values: Vec<f64>,
    /// The labels (true: anomalous) when the file has a label column.
    pub labels: Option<Vec<bool>>,
}

/// The CSV files at `path`: the file itself, or every `.csv` below a folder.
pub fn csv_files(path: &Path) -> anyhow::Result<Vec<PathBuf>> {
    if path.is_file() {
        return Ok(vec![path.to_owned()]);
    }
    let mut found = Vec::new();
    let mut folders = vec![path.to_owned()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).with_context(|| format!("reading {}", folder.display()))? {
            let path = entry?.path();
            if path.is_dir() {
                folders.push(path);
            } else if path.extension().is_some_and(|e| e == "csv") {
                found.push(path);
            }
        }
    }
    found.sort();
    if found.is_empty() {
        bail!("no .csv file at {}", path.display());
    }
    Ok(found)
}

/// The series id a file gets when none is given.
pub fn series_id_of(path: &Path) -> String {
    let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let id: String = stem
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-') { c } else { '_' })
        .take(128)
        .collect();
    if id.is_empty() { "series".into() } else { id }
}

/// Reads `path` as a series named `series_id`.
pub fn read(path: &Path, series_id: String) -> anyhow::Result<SeriesFile> {
    let mut reader = csv::Reader::from_path(path).with_context(|| format!("opening {}", path.display()))?;
    let headers = reader.headers()?.clone();
    let column = |names: &[&str]| headers.iter().position(|h| names.iter().any(|n| h.trim().eq_ignore_ascii_case(n)));
    let (Some(time_at), Some(value_at)) = (column(&["timestamp", "timestamps"]), column(&["value"])) else {
        bail!("{}: needs the columns timestamp and value; found {:?}", path.display(), headers);
    };
    let label_at = column(&["is_anomaly", "anomaly"]);
    let (mut timestamps, mut values, mut labels) = (Vec::new(), Vec::new(), Vec::new());
    for (line, record) in reader.records().enumerate() {
        let record = record?;
        let field = |at: usize| record.get(at).unwrap_or_default().trim();
        let at = || format!("{} line {}", path.display(), line + 2);
        timestamps.push(parse_time(field(time_at)).with_context(at)?);
        let value = field(value_at);
        let value = value.parse::<f64>().with_context(|| format!("{}: value {value:?}", at()))?;
        if !value.is_finite() {
            bail!("{}: value {value} is not a finite number", at());
        }
        values.push(value);
        if let Some(label_at) = label_at {
            let label = field(label_at);
            labels.push(label.parse::<f64>().with_context(|| format!("{}: label {label:?}", at()))? != 0.0);
        }
    }
    Ok(SeriesFile { series_id, timestamps, values, labels: label_at.map(|_| labels) })
}

/// Unix seconds from an integer, or from `YYYY-MM-DD HH:MM:SS` (UTC).
fn parse_time(text: &str) -> anyhow::Result<i64> {
    if let Ok(seconds) = text.parse::<i64>() {
        return Ok(seconds);
    }
    let time = NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S")
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S"))
        .with_context(|| format!("timestamp {text:?} is neither Unix seconds nor YYYY-MM-DD HH:MM:SS"))?;
    Ok(time.and_utc().timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_nab_and_yahoo_layouts() {
        let dir = tempfile::tempdir().expect("tempdir");
        let nab = dir.path().join("nyc taxi.csv");
        std::fs::write(&nab, "timestamp,value\n2014-07-01 00:00:00,10844\n2014-07-01 00:30:00,8127.5\n")
            .expect("write");
        let series = read(&nab, series_id_of(&nab)).expect("reads");
        assert_eq!(series.series_id, "nyc_taxi");
        assert_eq!(series.timestamps, [1_404_172_800, 1_404_174_600]);
        assert_eq!(series.values, [10844.0, 8127.5]);

        let yahoo = dir.path().join("sub").join("real_1.csv");
        std::fs::create_dir_all(yahoo.parent().expect("parent")).expect("mkdir");
        std::fs::write(&yahoo, "timestamp,value,is_anomaly\n1,0.5,0\n2,9.5,1\n").expect("write");
        let series = read(&yahoo, "y".into()).expect("reads");
        assert_eq!((series.timestamps, series.values), (vec![1, 2], vec![0.5, 9.5]));
        assert_eq!(series.labels, Some(vec![false, true]));
        assert_eq!(csv_files(dir.path()).expect("found"), [nab, yahoo]);

        let bad = dir.path().join("bad.csv");
        std::fs::write(&bad, "time,v\n1,2\n").expect("write");
        assert!(read(&bad, "b".into()).is_err());
        std::fs::write(&bad, "timestamp,value\n1,NaN\n").expect("write");
        assert!(read(&bad, "b".into()).is_err(), "NaN is refused");
    }
}
