//! The `anomaly` command line: `anomaly replay` streams CSV series (NAB or
//! Yahoo S5 layout) into a running platform through `POST /ingest`.

pub mod replay;
pub mod series_file;
