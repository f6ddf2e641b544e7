//! Domain types of the compute mock, apart from the wire formats: the server record and
//! its status machine, flavors and images, quota usage, key pairs, paging queries and
//! Mimic's creation plans. Everything here is pure and unit-tested.

pub mod catalog;
pub mod digest;
pub mod glance;
pub mod keypair;
pub mod mimic;
pub mod paging;
pub mod quota;
pub mod server;
pub mod status;
