//! Sites of the service network (中心带站): a town centre leads stations and village points.

use serde::{Deserialize, Serialize};

use super::validation::{NAME_MAX, ValidationError, required_text};
use crate::ids::Id;

/// What kind of place a site is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SiteKind {
    /// 镇街养老服务中心: the town or street elder-care service centre.
    Centre,
    /// 社区养老服务站: an urban community service station.
    Station,
    /// 村级互助养老点: a village mutual-aid point.
    VillagePoint,
}

/// A centre, station or village point.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Site {
    /// The site's random id.
    pub site_id: Id,
    /// Centre, station or village point.
    pub kind: SiteKind,
    /// The name people use, e.g. 石桥村互助养老点.
    pub name: String,
    /// The centre that leads this station or point; none for a centre.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<Id>,
}

impl Site {
    /// Checks the site's own fields.
    pub fn validate(&self) -> Result<(), ValidationError> {
        required_text("name", &self.name, NAME_MAX)?;
        match (self.kind, self.parent) {
            (SiteKind::Centre, Some(_)) => Err(ValidationError::Inconsistent(
                "a centre is not led by another site",
            )),
            (SiteKind::Station | SiteKind::VillagePoint, None) => Err(
                ValidationError::Inconsistent("a station or village point needs its centre"),
            ),
            (_, Some(parent)) if parent == self.site_id => {
                Err(ValidationError::Inconsistent("a site cannot lead itself"))
            }
            _ => Ok(()),
        }
    }
}
