//! The env store: where each instance's rendered Tutor `env/` is kept between pipelines.

use crate::failure::Failure;
use crate::Context;
use grove_core::name::InstanceName;

/// `grove tutor sync`: pull `env/`, lay `env-overrides/` over it, save the config, push it back.
pub fn sync(_context: &Context, _name: &InstanceName) -> Result<(), Failure> {
    Err(Failure::External(
        "grove tutor sync is not implemented yet".into(),
    ))
}
