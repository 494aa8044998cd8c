//! The detectors `anomaly eval` can run: the platform's own (exactly as the
//! stream serves them) and the evaluation-only Random Cut Forest.

use super::corpus::LabelledSeries;
use super::forest::{ForestParams, run_forest};
use super::params::{describe, detector_configs};
use super::run::{Scores, probation_param, run_detector, takes_corpus_probation};
use anomaly_core::DetectorConfig;
use anyhow::{Context, bail};

/// The kind name of the forest.
pub const FOREST: &str = "rcf";

/// One detector to evaluate.
#[derive(Debug, Clone, PartialEq)]
pub enum EvalDetector {
    /// A platform detector, and whether it takes each file's NAB probation
    /// length (see [`run_detector`]).
    Platform(DetectorConfig, bool),
    /// Random Cut Forest (evaluation only).
    Forest(ForestParams),
}

impl EvalDetector {
    /// The detectors `kinds` names, each with `params`; when none is named,
    /// every kind that has defaults (a rule needs its bounds named).
    pub fn chosen(kinds: &[String], params: &[String]) -> anyhow::Result<Vec<Self>> {
        let every: Vec<String> = DetectorConfig::kinds_with_defaults().chain([FOREST]).map(|k| k.to_owned()).collect();
        let kinds = if kinds.is_empty() { &every[..] } else { kinds };
        kinds
            .iter()
            .map(|kind| {
                if kind == FOREST {
                    forest_params(params).map(Self::Forest)
                } else {
                    detector_configs(std::slice::from_ref(kind), params).map(|mut one| {
                        let config = one.remove(0);
                        Self::Platform(config, takes_corpus_probation(&config, params))
                    })
                }
            })
            .collect()
    }

    /// The kind's name, for files and folders.
    pub fn slug(&self) -> &'static str {
        match self {
            Self::Platform(config, _) => config.kind(),
            Self::Forest(_) => FOREST,
        }
    }

    /// The name with the parameters, as the table shows it.
    pub fn describe(&self) -> String {
        match self {
            Self::Platform(config, true) => match probation_param(config) {
                Some((name, value)) => {
                    describe(config).replace(&format!("{name}={value}"), &format!("{name}=per file"))
                }
                None => describe(config),
            },
            Self::Platform(config, false) => describe(config),
            Self::Forest(params) => params.describe(),
        }
    }

    /// Runs the detector over `series`.
    pub fn run(&self, series: &LabelledSeries) -> anyhow::Result<Scores> {
        match self {
            Self::Platform(config, corpus_probation) => Ok(run_detector(config, series, *corpus_probation)),
            Self::Forest(params) => run_forest(*params, series).with_context(|| series.name.clone()),
        }
    }
}

fn forest_params(params: &[String]) -> anyhow::Result<ForestParams> {
    let mut forest = ForestParams::DEFAULT;
    for param in params {
        let (key, value) = param.split_once('=').with_context(|| format!("--param {param:?} is not key=value"))?;
        let count = value.parse::<usize>().with_context(|| format!("--param {key}: {value:?} is not a count"))?;
        let (field, range) = match key {
            "trees" => (&mut forest.trees, 1..=1000),
            "capacity" => (&mut forest.capacity, 2..=10_000),
            "shingle" => (&mut forest.shingle, 1..=256),
            other => bail!("--param {other} does not apply to {FOREST}; it takes trees, capacity and shingle"),
        };
        if !range.contains(&count) {
            bail!("--param {key} of {FOREST} must be from {} to {}; got {count}", range.start(), range.end());
        }
        *field = count;
    }
    Ok(forest)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_detector_includes_the_forest_and_params_are_checked() {
        let every = EvalDetector::chosen(&[], &[]).expect("valid");
        assert_eq!(every.last(), Some(&EvalDetector::Forest(ForestParams::DEFAULT)));
        assert_eq!(every.len(), DetectorConfig::KINDS.len(), "every kind but the rule, and the forest");
        let rule = EvalDetector::chosen(&["rule".into()], &["above=5".into()]).expect("valid");
        assert_eq!(rule[0].slug(), "rule");
        let one = EvalDetector::chosen(&["rcf".into()], &["trees=10".into()]).expect("valid");
        assert_eq!(one, vec![EvalDetector::Forest(ForestParams { trees: 10, ..ForestParams::DEFAULT })]);
        assert!(EvalDetector::chosen(&["rcf".into()], &["window=5".into()]).is_err());
        assert!(EvalDetector::chosen(&["rcf".into()], &["trees=0".into()]).is_err());
    }

    #[test]
    fn novelty_takes_nab_s_probation_unless_one_is_given() {
        let default = EvalDetector::chosen(&["novelty".into()], &[]).expect("valid").remove(0);
        assert!(matches!(default, EvalDetector::Platform(_, true)));
        assert!(default.describe().contains("probation=per file"), "{}", default.describe());
        let given = EvalDetector::chosen(&["novelty".into()], &["probation=750".into()]).expect("valid").remove(0);
        assert!(matches!(given, EvalDetector::Platform(_, false)));
        assert!(given.describe().contains("probation=750"), "{}", given.describe());
    }
}
