//! `GET /api/v1/images/{id}/findings`: the findings of [`crate::findings`] (secrets and
//! leftovers), most severe first, values masked.

pub use crate::findings::{Category, Finding, Severity};
use crate::model::Digest;
use serde::{Deserialize, Serialize};

/// The findings of one analysed image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FindingsReport {
    pub image_id: Digest,
    pub findings: Vec<Finding>,
}
