//! No input makes a service panic or answer 5xx: valid bodies with random
//! byte flips, truncations and insertions, plus random bytes, sent to fit
//! and predict with odd series ids and versions; random query strings sent
//! to the monitor's listings, history and dashboard pages. Every answer
//! must be a 2xx or a 4xx (with the JSON error shape on the API).

use blackbox_tests::*;

/// Numbers that pass or nearly pass validation and have broken readers
/// before: overflow, the largest and smallest doubles, huge thresholds.
const HOSTILE_NUMBERS: [&str; 6] =
    ["1e999", "1.7976931348623157e308", "-1e308", "5e-324", "1e308", "9223372036854775808"];

/// A small deterministic generator (xorshift), so a failure reproduces.
struct Noise(u64);

impl Noise {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn mutate(&mut self, seed: &[u8]) -> Vec<u8> {
        let mut body = seed.to_vec();
        for _ in 0..=self.below(4) {
            let at = self.below(body.len() + 1);
            match self.below(4) {
                0 if at < body.len() => body[at] = self.next() as u8,
                1 => body.truncate(at),
                2 => body.insert(at.min(body.len()), b"-0.e9[]{}\",:n1\\"[self.below(15)]),
                _ => {
                    let token = HOSTILE_NUMBERS[self.below(HOSTILE_NUMBERS.len())].as_bytes();
                    body.splice(at.min(body.len())..at.min(body.len()), token.iter().copied()).for_each(drop)
                }
            }
        }
        body
    }
}

async fn assert_client_error_or_success(url: &str, body: Vec<u8>) {
    let response = client().post(url).body(body.clone()).send().await.expect("the service answers");
    let status = response.status();
    let answer: serde_json::Value = response.json().await.unwrap_or_default();
    assert!(status.as_u16() < 500, "{url} answered {status} to {:?}: {answer}", String::from_utf8_lossy(&body));
    if !status.is_success() {
        assert!(answer["error"].is_string() && answer["message"].is_string(), "{url} {status}: {answer}");
    }
}

async fn random_input_never_gets_a_5xx(env: TestEnv) {
    let platform = Platform::start(&env).await;
    fit(&platform.train, "s", &series_body(5)).await;
    let fit_seed =
        br#"{"timestamps": [1, 2, 3, 4], "values": [1.5, 2, -3e2, 4], "threshold": 2.5, "direction": "upper"}"#;
    let predict_seed = br#"{"timestamp": "1609459500", "value": 25.5}"#;
    let ids = ["s", "s.2", "a:b-c_d", "%00", "%FF", "..", "x%2Fy"];
    let versions = [
        "",
        "?version=1",
        "?version=v1",
        "?version=%FF",
        "?version=v99999999999",
        "?version[]=1",
        "?version=1&version=2",
    ];
    let mut noise = Noise(0x9e37_79b9_7f4a_7c15);
    for round in 0..200 {
        let id = ids[noise.below(ids.len())];
        let version = versions[noise.below(versions.len())];
        let random: Vec<u8> = (0..noise.below(64)).map(|_| noise.next() as u8).collect();
        let (fit_body, predict_body) = if round % 5 == 0 {
            (random.clone(), random)
        } else {
            (noise.mutate(fit_seed), noise.mutate(predict_seed))
        };
        assert_client_error_or_success(&format!("{}/fit/{id}", platform.train.url), fit_body).await;
        assert_client_error_or_success(&format!("{}/predict/{id}{version}", platform.infer.url), predict_body).await;
    }
}

async fn random_queries_never_get_a_5xx(env: TestEnv) {
    let platform = Platform::start(&env).await;
    fit(&platform.train, "s", &series_body(5)).await;
    for value in [99.0, f64::MAX, -1e308, 5e-324] {
        predict(&platform.infer, "s", None, value).await;
    }
    let paths = [
        "/series/s/predictions",
        "/series/%FF/predictions",
        "/anomalies",
        "/models",
        "/plot",
        "/dashboard",
        "/dashboard/series",
        "/dashboard/series/s",
        "/dashboard/series/%00",
        "/dashboard/anomalies",
    ];
    let keys = ["from", "to", "limit", "series_id", "version", "filter", "after", "sort", "order", "page"];
    let values = [
        "",
        "-1",
        "0",
        "1",
        "v1",
        "x",
        "%FF",
        "%00",
        "1e3",
        "9223372036854775807",
        "-9223372036854775808",
        "99999999999999999999",
        "2021-01-01T00:00",
        "2021-13-40T99:99",
        "series_id",
        "desc",
        "_%25\\",
    ];
    let mut noise = Noise(0x2545_f491_4f6c_dd1d);
    for _ in 0..300 {
        let path = paths[noise.below(paths.len())];
        let query: Vec<String> = (0..noise.below(4))
            .map(|_| format!("{}={}", keys[noise.below(keys.len())], values[noise.below(values.len())]))
            .collect();
        let url = format!("{}{path}?{}", platform.monitor.url, query.join("&"));
        let response = client().get(&url).send().await.expect("the service answers");
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        assert!(status.as_u16() < 500, "{url} answered {status}: {body}");
    }
}

on_both_backends!(random_input_never_gets_a_5xx, random_queries_never_get_a_5xx);
