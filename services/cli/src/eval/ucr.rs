//! The UCR anomaly archive's layout (KDD Cup 2021): files named
//! `NNN_UCR_Anomaly_<name>_<train>_<begin>_<end>.txt`, one value per row
//! (whitespace-separated; a few files hold them on one line). Rows
//! 1..=train are the anomaly-free training part; the one anomaly is rows
//! begin..=end, 1-based and inclusive. The training part is the file's
//! probation (not scored, given to the detector to learn from); the NAB
//! score uses NAB-sized windows (10% of the file centred on the anomaly);
//! the archive's own metric is [`top1`].

use super::corpus::{LabelledSeries, windows_around};
use anyhow::{Context, bail};
use std::path::Path;

/// The archive's metric allows the highest score this many rows either
/// side of the anomaly.
pub const TOP1_SLACK: usize = 100;

/// What a UCR file name says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UcrName {
    /// The recording's name, e.g. `DISTORTEDpark3m`.
    pub recording: String,
    /// Rows of the training part.
    pub train: usize,
    /// The anomaly's first and last rows, 0-based and inclusive.
    pub anomaly: (usize, usize),
}

/// Whether `file_name` looks like a file of the archive (so a folder
/// holding one is read in this layout).
pub fn is_ucr_file(file_name: &str) -> bool {
    file_name.contains("_UCR_Anomaly_") && file_name.ends_with(".txt")
}

/// Parses a file name of the archive's layout.
pub fn parse_name(file_name: &str) -> anyhow::Result<UcrName> {
    let layout = "NNN_UCR_Anomaly_<name>_<train>_<begin>_<end>.txt";
    let stem = file_name
        .strip_suffix(".txt")
        .with_context(|| format!("{file_name:?} is not a UCR file: the name must end in .txt ({layout})"))?;
    let parts: Vec<&str> = stem.split('_').collect();
    let [number, "UCR", "Anomaly", name @ .., train, begin, end] = parts.as_slice() else {
        bail!("{file_name:?} is not a UCR file name: expected {layout}");
    };
    if name.is_empty() || number.parse::<u32>().is_err() {
        bail!("{file_name:?} is not a UCR file name: expected {layout}");
    }
    let row = |what: &str, text: &str| {
        text.parse::<usize>()
            .ok()
            .filter(|n| *n > 0)
            .with_context(|| format!("{file_name:?}: <{what}> must be a row number from 1; got {text:?}"))
    };
    let (train, begin, end) = (row("train", train)?, row("begin", begin)?, row("end", end)?);
    if begin > end {
        bail!("{file_name:?}: the anomaly begins at row {begin}, after its end {end}");
    }
    if begin <= train {
        bail!("{file_name:?}: the anomaly (row {begin}) lies in the training part (rows 1 to {train})");
    }
    Ok(UcrName { recording: name.join("_"), train, anomaly: (begin - 1, end - 1) })
}

/// Reads one file of the archive.
pub fn read(path: &Path) -> anyhow::Result<LabelledSeries> {
    let file_name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let layout = parse_name(&file_name)?;
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let values = text
        .split_whitespace()
        .enumerate()
        .map(|(i, token)| {
            token
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .with_context(|| format!("{file_name}: value {} is not a finite number: {token:?}", i + 1))
        })
        .collect::<anyhow::Result<Vec<f64>>>()?;
    let (_, end) = layout.anomaly;
    if end >= values.len() {
        bail!("{file_name}: the anomaly ends at row {}, past the last row {}", end + 1, values.len());
    }
    let mut labels = vec![false; values.len()];
    labels[layout.anomaly.0..=end].iter_mut().for_each(|l| *l = true);
    Ok(LabelledSeries {
        name: file_name,
        timestamps: (0..values.len() as i64).collect(),
        windows: windows_around(&labels),
        values,
        probation: layout.train,
        anomaly: Some(layout.anomaly),
    })
}

/// Reads every file of the archive in `dir`, in name order.
pub fn load(dir: &Path) -> anyhow::Result<Vec<LabelledSeries>> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.file_name().is_some_and(|n| is_ucr_file(&n.to_string_lossy())))
        .collect();
    files.sort();
    files.iter().map(|path| read(path)).collect()
}

/// The archive's metric on one file: the row scoring highest after the
/// probation (the first of equals), and whether it lies within
/// [`TOP1_SLACK`] rows of `anomaly`. `None` when no row is scored.
pub fn top1(scores: &[f64], probation: usize, anomaly: (usize, usize)) -> Option<(usize, bool)> {
    let (at, _) =
        scores.iter().enumerate().skip(probation).fold(None, |best: Option<(usize, f64)>, (i, s)| match best {
            Some((_, top)) if *s <= top => best,
            _ => Some((i, *s)),
        })?;
    let solved = at + TOP1_SLACK >= anomaly.0 && at <= anomaly.1 + TOP1_SLACK;
    Some((at, solved))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_archive_s_names() {
        let name = parse_name("073_UCR_Anomaly_DISTORTEDpark3m_60000_72150_72495.txt").expect("valid");
        assert_eq!(name, UcrName { recording: "DISTORTEDpark3m".into(), train: 60000, anomaly: (72149, 72494) });
        let underscored = parse_name("001_UCR_Anomaly_a_b_10_20_30.txt").expect("a name with underscores");
        assert_eq!(underscored.recording, "a_b");
    }

    #[test]
    fn a_bad_name_is_a_clear_error() {
        for (bad, says) in [
            ("073_UCR_Anomaly_park3m_60000_72150_72495.csv", "must end in .txt"),
            ("UCR_Anomaly_park3m_60000_72150_72495.txt", "expected NNN_UCR_Anomaly_"),
            ("073_UCR_Anomaly_60000_72150_72495.txt", "expected NNN_UCR_Anomaly_"),
            ("073_UCR_Anomaly_park3m_x_72150_72495.txt", "<train> must be a row number"),
            ("073_UCR_Anomaly_park3m_100_0_72495.txt", "<begin> must be a row number"),
            ("073_UCR_Anomaly_park3m_100_300_200.txt", "after its end"),
            ("073_UCR_Anomaly_park3m_500_300_400.txt", "lies in the training part"),
            ("", "must end in .txt"),
        ] {
            let error = format!("{:#}", parse_name(bad).expect_err(bad));
            assert!(error.contains(says), "{bad:?}: {error}");
        }
    }

    #[test]
    fn reads_a_file_with_nab_sized_windows_and_its_training_part_as_probation() {
        let dir = tempfile::tempdir().expect("tempdir");
        let values: String = (0..1000).map(|i| format!("{}\n", f64::from(i % 10))).collect();
        std::fs::write(dir.path().join("001_UCR_Anomaly_wave_300_500_510.txt"), values).expect("write");
        std::fs::write(dir.path().join("notes.txt"), "not a series").expect("write");
        let corpus = super::super::corpus::load(dir.path()).expect("loads the archive's layout");
        assert_eq!(corpus.len(), 1);
        let series = &corpus[0];
        assert_eq!((series.values.len(), series.probation, series.anomaly), (1000, 300, Some((499, 509))));
        assert_eq!(series.windows, [(454, 554)], "100 rows, centred on the anomaly");

        std::fs::write(dir.path().join("002_UCR_Anomaly_wave_300_995_1200.txt"), "1\n2\n").expect("write");
        let error = format!("{:#}", super::super::corpus::load(dir.path()).expect_err("too short"));
        assert!(error.contains("past the last row"), "{error}");
    }

    #[test]
    fn top1_takes_the_first_highest_row_after_the_training_part() {
        let mut scores = vec![0.0; 1000];
        scores[10] = 1.0; // in the training part: not counted
        scores[700] = 0.6;
        scores[820] = 0.6;
        assert_eq!(top1(&scores, 300, (500, 600)), Some((700, true)), "within 100 rows after the end");
        assert_eq!(top1(&scores, 300, (820, 830)), Some((700, false)));
        assert_eq!(top1(&scores, 300, (800, 810)), Some((700, true)), "within 100 rows before the start");
        assert_eq!(top1(&scores, 1000, (800, 810)), None);
    }
}
