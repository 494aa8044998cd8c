//! The model store's port: durable storage of model versions with their
//! training points, the series list, and what is owed to the cache.

use crate::StoreError;
use anomaly_core::{ModelParams, ModelRecord, ModelVersion, SeriesId, TrainingSeries};
use async_trait::async_trait;
use std::collections::HashSet;

/// Training points of one stored version, in time order.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainingPoints {
    /// Unix seconds, ascending.
    pub timestamps: Vec<i64>,
    /// The values.
    pub values: Vec<f64>,
}

/// Durable storage of model versions.
#[async_trait]
pub trait ModelStore: Send + Sync {
    /// Stores `params` and the training points as the next version of the
    /// series, atomically. Versions are gapless and increasing per series
    /// even under concurrent calls: the database serialises them. The
    /// series is also marked as owed to the shared cache, in the same
    /// transaction, until [`ModelStore::cache_repaired`] says otherwise.
    async fn insert_next_version(
        &self,
        series_id: &SeriesId,
        params: &ModelParams,
        training: TrainingSeries,
    ) -> Result<ModelRecord, StoreError>;

    /// One version of a series, or its latest when `version` is `None`.
    async fn model(
        &self,
        series_id: &SeriesId,
        version: Option<ModelVersion>,
    ) -> Result<Option<ModelRecord>, StoreError>;

    /// The latest model of each series whose id contains `filter` (any
    /// case), ordered by id, starting after `after`, at most `limit`.
    async fn latest_models(
        &self,
        filter: Option<&str>,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<ModelRecord>, StoreError>;

    /// One page of series with their latest model, in the order `sort`
    /// asks, skipping `offset`; with the number of series that match.
    async fn series_page(
        &self,
        filter: Option<&str>,
        sort: SeriesSort,
        offset: u64,
        limit: u32,
    ) -> Result<(Vec<ModelRecord>, u64), StoreError>;

    /// How many model versions are stored, over all series.
    async fn version_count(&self) -> Result<u64, StoreError>;

    /// Every version of a series, newest first (empty for an unknown series).
    async fn versions(&self, series_id: &SeriesId) -> Result<Vec<ModelRecord>, StoreError>;

    /// The training points of one stored version.
    async fn training_points(
        &self,
        series_id: &SeriesId,
        version: ModelVersion,
    ) -> Result<Option<TrainingPoints>, StoreError>;

    /// Those of `series` that have at least one model (one query for many
    /// series: the stream worker asks this of the series it meets first).
    async fn fitted_among(&self, series: &[SeriesId]) -> Result<HashSet<SeriesId>, StoreError>;

    /// How many series have at least one model.
    async fn series_count(&self) -> Result<u64, StoreError>;

    /// Removes every version of `series_id` with its training points,
    /// prediction history, stream state and stream anomalies, atomically,
    /// and marks the removal as owed to the shared cache. Returns the last
    /// version removed, `None` when the series has no model (nothing
    /// removed). A later fit continues after that version.
    async fn delete_series(&self, series_id: &SeriesId) -> Result<Option<ModelVersion>, StoreError>;

    /// Series that the shared cache and the replicas may not know the
    /// state of yet (a fit or a delete committed, its cache write or
    /// announcement not confirmed), oldest first, at most `limit`.
    async fn cache_repairs(&self, limit: u32) -> Result<Vec<OwedSeries>, StoreError>;

    /// The shared cache holds `version` of `series_id` (or a newer one)
    /// and every replica was told: the series is owed nothing up to it,
    /// unless a delete is still owed ([`ModelStore::cache_forgotten`]).
    async fn cache_repaired(&self, series_id: &SeriesId, version: ModelVersion) -> Result<(), StoreError>;

    /// The shared cache and every replica forgot the versions of
    /// `series_id` up to `through`: the delete is owed no more.
    async fn cache_forgotten(&self, series_id: &SeriesId, through: ModelVersion) -> Result<(), StoreError>;

    /// Checks that the database answers.
    async fn ping(&self) -> Result<(), StoreError>;

    /// `postgres` or `sqlite`.
    fn backend(&self) -> &'static str;
}

/// A series owed to the shared cache and the replicas.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwedSeries {
    /// The series.
    pub series_id: SeriesId,
    /// Set when its versions up to this one were deleted and that is not
    /// confirmed yet.
    pub deleted_through: Option<ModelVersion>,
}

/// What the series list can be sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SeriesSortKey {
    /// The series id, in byte order.
    #[default]
    SeriesId,
    /// The latest version number.
    Version,
    /// Points used by the latest fit.
    PointsUsed,
    /// When the latest version was trained.
    TrainedAt,
}

impl SeriesSortKey {
    /// Parses `series_id`, `version`, `points_used` or `trained_at`.
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "series_id" => Self::SeriesId,
            "version" => Self::Version,
            "points_used" => Self::PointsUsed,
            "trained_at" => Self::TrainedAt,
            _ => return None,
        })
    }

    /// The name [`SeriesSortKey::parse`] reads.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::SeriesId => "series_id",
            Self::Version => "version",
            Self::PointsUsed => "points_used",
            Self::TrainedAt => "trained_at",
        }
    }
}

/// An order of the series list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SeriesSort {
    /// The column.
    pub key: SeriesSortKey,
    /// Largest first.
    pub descending: bool,
}
