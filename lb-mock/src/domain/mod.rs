//! Domain of lb-mock: stored records ([`model`]) and the pure status machine ([`status`]).
//! Nothing here knows HTTP; routes turn wire bodies into these types and back.

pub mod model;
pub mod status;
