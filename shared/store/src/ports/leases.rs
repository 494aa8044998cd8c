//! Who judges which partition: leases that a worker renews, with a fencing
//! epoch handed out on each acquisition, and a membership list so that the
//! workers split the partitions evenly. The in-process leases
//! ([`crate::MemoryLeases`]) are the single process of the embedded default.

use crate::StoreError;
use async_trait::async_trait;
use std::time::Duration;

/// Partition leases and worker membership.
#[async_trait]
pub trait PartitionLeases: Send + Sync {
    /// Says `worker` is alive; returns how many workers are.
    async fn heartbeat(&self, worker: &str) -> Result<u32, StoreError>;

    /// Takes `partition` if nobody holds it, or if it is held under
    /// `worker`'s own name (an earlier run of a restarted worker). The epoch
    /// returned is larger than any handed out before for it, and at least
    /// `min_epoch`.
    async fn acquire(&self, worker: &str, partition: u32, min_epoch: u64) -> Result<Option<u64>, StoreError>;

    /// Extends `worker`'s lease; false if it is no longer `worker`'s.
    async fn renew(&self, worker: &str, partition: u32) -> Result<bool, StoreError>;

    /// Gives `partition` up, if `worker` holds it.
    async fn release(&self, worker: &str, partition: u32) -> Result<(), StoreError>;

    /// Leaves the membership.
    async fn leave(&self, worker: &str) -> Result<(), StoreError>;

    /// How long a lease lasts without renewal.
    fn lease(&self) -> Duration;
}
