//! The `anomaly` command line: `anomaly replay` streams CSV series (NAB or
//! Yahoo S5 layout) into a running platform through `POST /ingest`;
//! `anomaly eval` scores detectors on a labelled corpus the way NAB does,
//! and `anomaly tune` searches their parameters on one half of it.

pub mod eval;
pub mod replay;
pub mod series_file;
