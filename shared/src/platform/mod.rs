//! Wiring: builds the ports and the configuration for where the code runs.
//! - `embedded` (feature `embedded`): the local process and `cargo lambda watch` (no AWS
//!   resources configured);
//! - `aws`: Lambda, from the environment SAM sets (`TABLE_NAME`, queue URLs, key ids).

#[cfg(feature = "embedded")]
pub mod embedded;

#[cfg(feature = "aws")]
pub mod aws;

use std::sync::Arc;

use crate::adapters::meta_graph::HttpGraph;
use crate::config::MetaConfig;
use crate::ports::MetaGraph;

/// Meta calls that take longer than this are treated as timeouts (and retried where safe).
pub const META_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// The Graph API client for a Meta configuration: graph.facebook.com on AWS, the simulator locally.
pub fn meta_graph(meta: &MetaConfig) -> Result<Arc<dyn MetaGraph>, String> {
    let graph =
        HttpGraph::new(&meta.graph_url, &meta.graph_version, &meta.app_id, meta.app_secret.clone(), META_TIMEOUT)
            .map_err(|e| e.to_string())?;
    Ok(Arc::new(graph))
}
