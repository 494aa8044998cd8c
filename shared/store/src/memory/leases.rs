//! The leases of the embedded default's single process: it owns every partition.

use crate::StoreError;
use crate::ports::leases::PartitionLeases;
use async_trait::async_trait;
use std::time::Duration;

/// The leases of a single process: it is the only worker.
#[derive(Debug, Default)]
pub struct MemoryLeases;

#[async_trait]
impl PartitionLeases for MemoryLeases {
    async fn heartbeat(&self, _worker: &str) -> Result<u32, StoreError> {
        Ok(1)
    }

    async fn acquire(&self, _worker: &str, _partition: u32, min_epoch: u64) -> Result<Option<u64>, StoreError> {
        Ok(Some(min_epoch))
    }

    async fn renew(&self, _worker: &str, _partition: u32) -> Result<bool, StoreError> {
        Ok(true)
    }

    async fn release(&self, _worker: &str, _partition: u32) -> Result<(), StoreError> {
        Ok(())
    }

    async fn leave(&self, _worker: &str) -> Result<(), StoreError> {
        Ok(())
    }

    fn lease(&self) -> Duration {
        // Nobody else could take over; renewal rounds only pace the loop.
        Duration::from_secs(5)
    }
}
