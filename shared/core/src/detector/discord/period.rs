//! The period of a series, from its autocorrelation: the lag of the highest
//! autocorrelation after the first lag where it drops below 0, when that
//! correlation is at least [`MIN_CORRELATION`]. A series without a clear
//! period (noise, a trend, a level) has none.

/// The weakest autocorrelation taken as a period (0.1 and 0.3 chosen
/// between on ucr-dev: heartbeats of varying rate correlate weakly).
pub const MIN_CORRELATION: f64 = 0.1;

/// The period of `values` in points, at most a third of their count, and
/// the autocorrelation at that lag (how regular the series is).
pub fn period(values: &[f64]) -> Option<(usize, f64)> {
    let n = values.len();
    let longest = n / 3;
    if longest < 4 {
        return None;
    }
    let mean = values.iter().sum::<f64>() / n as f64;
    let centred: Vec<f64> = values.iter().map(|v| v - mean).collect();
    let energy: f64 = centred.iter().map(|v| v * v).sum();
    if !(energy > 0.0 && energy.is_finite()) {
        return None;
    }
    let correlation = |lag: usize| centred[lag..].iter().zip(&centred).map(|(a, b)| a * b).sum::<f64>() / energy;
    let first_negative = (1..=longest).find(|&lag| correlation(lag) < 0.0)?;
    let (best, r) = (first_negative..=longest)
        .map(|lag| (lag, correlation(lag)))
        .fold((0, f64::NEG_INFINITY), |best, candidate| if candidate.1 > best.1 { candidate } else { best });
    (r >= MIN_CORRELATION).then_some((best, r))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_period_of_a_wave_and_none_in_noise_or_a_trend() {
        let wave: Vec<f64> = (0..2000).map(|i| (f64::from(i) * std::f64::consts::TAU / 77.0).sin()).collect();
        assert_eq!(period(&wave).map(|(p, _)| p), Some(77));
        assert!(period(&wave).is_some_and(|(_, r)| r > 0.95), "a clean wave is regular");
        let beats: Vec<f64> = (0..3000).map(|i| if i % 150 < 10 { 5.0 } else { f64::from(i % 7) * 0.01 }).collect();
        assert_eq!(period(&beats).map(|(p, _)| p), Some(150));
        let mut next = crate::detector::lcg(7);
        let noise: Vec<f64> = (0..2000).map(|_| (next() >> 33) as f64).collect();
        assert_eq!(period(&noise), None);
        let trend: Vec<f64> = (0..2000).map(f64::from).collect();
        assert_eq!(period(&trend), None);
        assert_eq!(period(&[1.0; 500]), None);
        assert_eq!(period(&[1.0, 2.0]), None);
    }
}
