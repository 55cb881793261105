//! Deterministic sharding of manifest items by id, for job arrays (`--shard K/N`).
//!
//! An item belongs to shard `fnv1a64(id) mod N`, where `fnv1a64` is the 64-bit FNV-1a hash of
//! the id's UTF-8 bytes (offset basis 0xcbf29ce484222325, prime 0x100000001b3). The hash does
//! not depend on the process, the machine, the manifest order or the Rust version, so every
//! node of a cluster agrees on which shard owns an id, and shard sizes are even in expectation.

use std::fmt;
use std::hash::Hasher;
use std::str::FromStr;

use crate::research::ResearchError;

/// Shard `index` of `count` (0-based: `0/4` … `3/4`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShardSpec {
    pub index: u64,
    pub count: u64,
}

impl ShardSpec {
    /// The whole manifest as one shard.
    pub const WHOLE: ShardSpec = ShardSpec { index: 0, count: 1 };

    /// Whether this shard owns `id`.
    pub fn owns(&self, id: &str) -> bool {
        shard_of(id, self.count) == self.index
    }
}

/// The 64-bit FNV-1a hash of `id`'s UTF-8 bytes.
pub fn id_hash(id: &str) -> u64 {
    let mut hasher = fnv::FnvHasher::default();
    // `write` on the bytes, not `id.hash(..)`: `Hash for str` appends a 0xff terminator.
    hasher.write(id.as_bytes());
    hasher.finish()
}

/// The shard (0-based) of `id` among `count` shards; `count` 0 is treated as 1.
pub fn shard_of(id: &str, count: u64) -> u64 {
    id_hash(id) % count.max(1)
}

impl FromStr for ShardSpec {
    type Err = ResearchError;

    fn from_str(spec: &str) -> Result<Self, Self::Err> {
        let invalid = |reason: &str| ResearchError::InvalidShard {
            spec: spec.to_owned(),
            reason: reason.to_owned(),
        };
        let (index, count) = spec
            .split_once('/')
            .ok_or_else(|| invalid("no '/' between K and N"))?;
        let index: u64 = index
            .trim()
            .parse()
            .map_err(|_| invalid("K is not a whole number"))?;
        let count: u64 = count
            .trim()
            .parse()
            .map_err(|_| invalid("N is not a whole number"))?;
        if count == 0 {
            return Err(invalid("N must be at least 1"));
        }
        if index >= count {
            return Err(invalid(
                "K must be less than N (shards are numbered from 0, like Slurm array and Kubernetes completion indices)",
            ));
        }
        Ok(ShardSpec { index, count })
    }
}

impl fmt::Display for ShardSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}
