//! One bad entry never stops work, on real Redis and PostgreSQL: entries
//! another producer wrote to a partition's stream that are not UTF-8, not
//! JSON, lack the `points` field or hold series of another partition are
//! dead-lettered, counted and passed over; an entry with the largest possible id is moved back to now, so
//! ingest goes on; feed entries of the same kinds stop neither the live
//! feed nor the webhook fan-out; and a partition, or a fan-out, whose
//! rounds keep failing shows in `/ready`, `/healthcheck` and the metrics.

use anomaly_core::{SeriesId, partition_of};
use anomaly_store::{LogPosition, StreamPoint};
use blackbox_tests::*;
use serde_json::{Value, json};
use std::time::Duration;

/// The id after which Redis can append nothing.
const LARGEST_ID: &str = "18446744073709551615-18446744073709551615";
/// Partitions of the test platform (the default).
const PARTITIONS: u32 = 16;

async fn redis() -> redis::aio::MultiplexedConnection {
    let client = redis::Client::open(test_redis_url()).expect("redis url");
    client.get_multiplexed_async_connection().await.expect("redis answers")
}

/// `XADD key id field value` with raw bytes.
async fn xadd(conn: &mut redis::aio::MultiplexedConnection, key: &str, id: &str, field: &str, value: &[u8]) {
    let _: String = redis::cmd("XADD").arg(key).arg(id).arg(field).arg(value).query_async(conn).await.expect("xadd");
}

/// A stream entry as Redis gives it: its id, and its fields as bytes.
type RawEntry = (String, Vec<(Vec<u8>, Vec<u8>)>);

/// The entries of `key` as (id, fields), fields as lossy text.
async fn entries(conn: &mut redis::aio::MultiplexedConnection, key: &str) -> Vec<(String, Vec<(String, String)>)> {
    let raw: Vec<RawEntry> = redis::cmd("XRANGE").arg(key).arg("-").arg("+").query_async(conn).await.expect("xrange");
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    raw.into_iter().map(|(id, fields)| (id, fields.iter().map(|(n, v)| (text(n), text(v))).collect())).collect()
}

fn field<'a>(fields: &'a [(String, String)], name: &str) -> &'a str {
    fields.iter().find(|(n, _)| n == name).map_or("", |(_, v)| v.as_str())
}

fn partition(series: &str) -> u32 {
    partition_of(&SeriesId::parse(series).expect("valid id"), PARTITIONS)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_point_log_reads_past_entries_that_do_not_parse_and_ids_it_cannot_move_past() {
    let env = TestEnv::new(Kind::Production).await;
    let log = env.connect().await.points;
    let cpu = partition("cpu");
    let key = format!("{}points:{cpu}", env.storage.redis_key_prefix);
    let mut conn = redis().await;
    xadd(&mut conn, &key, "*", "points", b"[[\"cpu\",1700000013,1]]\xff").await;
    xadd(&mut conn, &key, LARGEST_ID, "points", br#"[["cpu",60,2.5]]"#).await;

    // Redis refuses `XADD *` after the largest id: the append moves it back to now first.
    let point = StreamPoint { series_id: SeriesId::parse("cpu").expect("valid"), timestamp: 120, value: 3.0 };
    let appended = log.append(cpu, std::slice::from_ref(&point)).await.expect("the append goes through");
    assert!(appended.major < u64::MAX, "{appended}");

    let read = log.read_after(cpu, LogPosition::START, 10).await.expect("the partition reads");
    let shape: Vec<(usize, u64)> = read.iter().map(|entry| (entry.points.len(), entry.malformed)).collect();
    assert_eq!(shape, [(0, 1), (1, 0), (1, 0)], "{read:?}");
    assert_eq!((read[1].points[0].timestamp, read[2].points[0].value), (60, 3.0), "moved entry first, in order");
    assert!(read.windows(2).all(|pair| pair[0].id < pair[1].id), "{read:?}");

    // Read twice (as a retried batch does), dead-lettered once.
    log.read_after(cpu, LogPosition::START, 10).await.expect("the partition reads again");
    let dead = entries(&mut conn, &format!("{}points_dead_letters", env.storage.redis_key_prefix)).await;
    assert_eq!(dead.len(), 1, "{dead:?}");
    let fields = &dead[0].1;
    assert_eq!(field(fields, "stream"), key);
    assert_eq!(field(fields, "entry"), read[0].id.to_string());
    assert_eq!(field(fields, "reason"), "the field `points` is not UTF-8");
    assert!(field(fields, "points").starts_with("[[\"cpu\""), "the entry's own fields come along: {fields:?}");
}

async fn ingest(infer: &Running, series: &str, body: &Value) {
    let (status, answer) = post_json(&format!("{}/ingest/{series}", infer.url), body).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{answer}");
}

async fn stream_points(infer: &Running, series: &str) -> u64 {
    let (_, state) = get_json(&format!("{}/stream/{series}", infer.url)).await;
    state["points"].as_u64().unwrap_or(0)
}

async fn metrics(url: &str) -> String {
    client().get(format!("{url}/metrics")).send().await.expect("metrics").text().await.expect("text")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poison_entries_in_the_points_and_the_feed_stop_neither_the_partition_nor_the_feed() {
    let env = TestEnv::new(Kind::Production).await;
    let platform = Platform::start(&env).await;
    let prefix = env.storage.redis_key_prefix.clone();
    let mut conn = redis().await;
    let hook = post_json(
        &format!("{}/webhooks", platform.monitor.url),
        &json!({"url": "http://127.0.0.1:9/hook", "mode": "anomaly"}),
    )
    .await;
    assert_eq!(hook.0, StatusCode::CREATED, "{}", hook.1);
    let mut live = SseClient::connect(&format!("{}/events", platform.monitor.url), None).await;

    // The feed: an entry that is not UTF-8, one with a field of another
    // name, and one at the largest id (after which nothing can be published).
    let feed = format!("{prefix}anomalies");
    xadd(&mut conn, &feed, "*", "anomaly", b"{\"series_id\":\"x\xff\"}").await;
    xadd(&mut conn, &feed, "*", "other", b"1").await;
    xadd(&mut conn, &feed, LARGEST_ID, "anomaly", b"not json").await;
    // The partition of `cpu`: the same, with a valid point at the largest id.
    let points = format!("{prefix}points:{}", partition("cpu"));
    xadd(&mut conn, &points, "*", "points", b"[[\"cpu\",1000,1]]\xff").await;
    xadd(&mut conn, &points, "*", "other", b"[]").await;
    xadd(&mut conn, &points, "*", "points", b"{\"not\": \"rows\"}").await;
    let elsewhere = (0..).map(|i| format!("m{i}")).find(|id| partition(id) != partition("cpu")).expect("a series");
    xadd(&mut conn, &points, "*", "points", format!(r#"[["{elsewhere}",1000,1]]"#).as_bytes()).await;
    xadd(&mut conn, &points, LARGEST_ID, "points", br#"[["cpu",1000,10.0]]"#).await;

    // Then 100 points with one spike: all judged, after the one moved back.
    ingest(&platform.infer, "cpu", &calm_points(1060, 100, &[80])).await;
    wait_until("every point of cpu judged", 15, async || stream_points(&platform.infer, "cpu").await == 101).await;
    let (_, state) = get_json(&format!("{}/stream/cpu", platform.infer.url)).await;
    assert_eq!((state["anomalies"].as_u64(), state["late"].as_u64()), (Some(1), Some(0)), "{state}");

    // The anomaly reaches the live feed and the webhook fan-out.
    let event = live.next_within(Duration::from_secs(15)).await.expect("the spike on the live feed");
    assert_eq!((event.event.as_str(), event.json()["timestamp"].as_i64()), ("anomaly", Some(1060 + 60 * 80)));
    let deliveries = format!("{}/webhooks/{}/deliveries", platform.monitor.url, hook.1["id"].as_str().expect("id"));
    wait_until("a delivery for the spike", 15, async || {
        get_json(&deliveries).await.1["deliveries"].as_array().is_some_and(|d| d.len() == 1)
    })
    .await;

    // Dead-lettered with their reasons, counted, and everybody healthy.
    let dead = entries(&mut conn, &format!("{prefix}points_dead_letters")).await;
    let reasons: Vec<&str> = dead.iter().map(|(_, fields)| field(fields, "reason")).collect();
    assert_eq!(
        reasons,
        [
            "the field `points` is not UTF-8",
            "the entry has no field `points`",
            "the field `points` is not a JSON array of rows",
            "1 row(s) are of series of other partitions (FNV-1a of the id modulo 16)"
        ]
    );
    assert!(metrics(&platform.infer.url).await.contains("anomaly_stream_malformed_points_total 4"));
    let (status, _) = get_json(&format!("{}/stream/{elsewhere}", platform.infer.url)).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "not judged in a partition it does not belong to");
    let skipped = metrics(&platform.monitor.url).await;
    assert!(skipped.contains(r#"anomaly_feed_skipped_entries_total{reader="webhooks"} 3"#), "{skipped}");
    assert_eq!(get_json(&format!("{}/ready", platform.infer.url)).await.0, StatusCode::OK);
    wait_for_health(&platform.infer.url, StatusCode::OK).await;
    wait_for_health(&platform.monitor.url, StatusCode::OK).await;
}

/// Runs `sql` on the test's own database.
async fn sql(env: &TestEnv, sql: &str) {
    use sqlx::Connection;
    let url = env.storage.database_url.as_deref().expect("a PostgreSQL test");
    let mut conn = sqlx::PgConnection::connect(url).await.expect("database answers");
    sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned())).execute(&mut conn).await.expect("sql runs");
}

/// A trigger that fails every write to `table` (of `series`, when it has a series).
async fn jam(env: &TestEnv, table: &str, condition: &str) {
    sql(
        env,
        &format!(
            "CREATE FUNCTION jam() RETURNS trigger AS $$ BEGIN IF {condition} THEN \
             RAISE EXCEPTION 'injected failure'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql; \
             CREATE TRIGGER jam BEFORE INSERT OR UPDATE ON {table} FOR EACH ROW EXECUTE FUNCTION jam();"
        ),
    )
    .await;
}

async fn unjam(env: &TestEnv, table: &str) {
    sql(env, &format!("DROP TRIGGER jam ON {table}; DROP FUNCTION jam();")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partition_whose_batches_keep_failing_shows_in_ready_health_and_metrics() {
    let env = TestEnv::new(Kind::Production).await;
    let platform = Platform::start(&env).await;
    ingest(&platform.infer, "warm", &calm_points(0, 3, &[])).await;
    wait_until("the stream running", 15, async || stream_points(&platform.infer, "warm").await == 3).await;
    jam(&env, "stream_series", "NEW.series_id = 'jammed'").await;
    ingest(&platform.infer, "jammed", &calm_points(0, 3, &[])).await;

    let stuck = partition("jammed");
    let health = wait_for_health(&platform.infer.url, StatusCode::SERVICE_UNAVAILABLE).await;
    assert_eq!(health["stream"]["status"], "stuck", "{health}");
    let reported = &health["stream"]["stuck_partitions"][0];
    assert_eq!(reported["partition"], stuck, "{health}");
    assert!(reported["failures"].as_u64() >= Some(3), "{health}");
    assert!(reported["error"].as_str().is_some_and(|e| e.contains("injected failure")), "{health}");
    let (status, ready) = get_json(&format!("{}/ready", platform.infer.url)).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{ready}");
    let reason = ready["reason"].as_str().unwrap_or_default();
    assert!(reason.contains(&format!("partition {stuck} is stuck")) && reason.contains("injected failure"), "{ready}");
    let gauge = format!("anomaly_stream_partition_failures{{partition=\"{stuck}\"}} ");
    let figures = metrics(&platform.infer.url).await;
    let failures = figures.lines().find_map(|line| line.strip_prefix(&gauge)).and_then(|v| v.parse::<f64>().ok());
    assert!(failures >= Some(3.0), "{figures}");

    // Fixed: the batch goes through, and the partition is healthy again.
    unjam(&env, "stream_series").await;
    wait_until("the jammed series judged", 15, async || stream_points(&platform.infer, "jammed").await == 3).await;
    let health = wait_for_health(&platform.infer.url, StatusCode::OK).await;
    assert_eq!(health["stream"]["stuck_partitions"], json!([]), "{health}");
    assert_eq!(get_json(&format!("{}/ready", platform.infer.url)).await.0, StatusCode::OK);
    assert!(metrics(&platform.infer.url).await.contains(&format!("{gauge}0")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_fan_out_that_keeps_failing_shows_in_the_monitors_health() {
    let env = TestEnv::new(Kind::Production).await;
    let platform = Platform::start(&env).await;
    let hook = post_json(
        &format!("{}/webhooks", platform.monitor.url),
        &json!({"url": "http://127.0.0.1:9/hook", "mode": "anomaly"}),
    )
    .await;
    assert_eq!(hook.0, StatusCode::CREATED, "{}", hook.1);
    let health = wait_for_health(&platform.monitor.url, StatusCode::OK).await;
    assert_eq!(health["webhook_fanout"]["status"], "up", "{health}");
    jam(&env, "webhook_feed_position", "true").await;
    ingest(&platform.infer, "cpu", &calm_points(0, 100, &[80])).await;

    let health = wait_for_health(&platform.monitor.url, StatusCode::SERVICE_UNAVAILABLE).await;
    let fanout = &health["webhook_fanout"];
    assert_eq!(fanout["status"], "stuck", "{health}");
    assert!(fanout["failures"].as_u64() >= Some(3), "{health}");
    assert!(fanout["error"].as_str().is_some_and(|e| e.contains("injected failure")), "{health}");

    unjam(&env, "webhook_feed_position").await;
    let health = wait_for_health(&platform.monitor.url, StatusCode::OK).await;
    assert_eq!(
        (health["webhook_fanout"]["failures"].as_u64(), &health["webhook_fanout"]["error"]),
        (Some(0), &Value::Null)
    );
}
