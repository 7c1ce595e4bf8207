//! Comparison and sharing-map DTOs: `GET /api/v1/compare` answers with
//! [`crate::compare::Comparison`] itself once every image is loaded, or with
//! [`ComparePending`] (202) while their load jobs run; `GET /api/v1/sharing` answers with
//! [`SharingReport`].

use super::JobInfo;
use crate::compare::SharingMap;
use serde::{Deserialize, Serialize};

/// `GET /api/v1/compare` while some images are still being read (HTTP 202): the load
/// jobs to follow (`/api/v1/jobs/{id}/events`) before asking again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComparePending {
    /// One job per compared image, in the order asked (finished ones included).
    pub jobs: Vec<JobInfo>,
}

/// `GET /api/v1/sharing`: the sharing map of every local daemon image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SharingReport {
    pub map: SharingMap,
    /// Images left out, one sentence each (history that cannot be matched to layers).
    pub skipped: Vec<String>,
}
