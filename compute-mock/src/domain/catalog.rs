//! Flavors and base images, seeded once from settings and shared by every tenant.

use std::collections::HashMap;

use crate::configuration::{FlavorSettings, ImageSettings};

use super::digest::stable_uuid;

#[derive(Debug, Clone, PartialEq)]
pub struct Image {
    pub id: String,
    pub name: String,
    pub min_ram: u64,
    pub min_disk: u64,
    pub os_type: String,
    pub os_distro: String,
    pub regions: Vec<String>,
    /// The server a snapshot was taken of (`createImage`); `None` for base images.
    pub server: Option<String>,
    pub created_ms: i64,
}

/// Flavors and images by id, in settings order.
#[derive(Debug, Default)]
pub struct Catalog {
    pub flavors: Vec<FlavorSettings>,
    flavor_index: HashMap<String, usize>,
    pub images: Vec<Image>,
    image_index: HashMap<String, usize>,
}

/// Base images carry the date Rackspace's canned images show.
const BASE_IMAGE_CREATED_MS: i64 = 1_420_070_400_000; // 2015-01-01T00:00:00Z

impl Catalog {
    pub fn new(flavors: &[FlavorSettings], images: &[ImageSettings]) -> Catalog {
        let images: Vec<Image> = images
            .iter()
            .map(|i| Image {
                id: i
                    .id
                    .clone()
                    .unwrap_or_else(|| stable_uuid(&i.name).to_string()),
                name: i.name.clone(),
                min_ram: i.min_ram,
                min_disk: i.min_disk,
                os_type: i.os_type.clone(),
                os_distro: i.os_distro.clone(),
                regions: i.regions.clone(),
                server: None,
                created_ms: BASE_IMAGE_CREATED_MS,
            })
            .collect();
        Catalog {
            flavor_index: flavors
                .iter()
                .enumerate()
                .map(|(n, f)| (f.id.clone(), n))
                .collect(),
            flavors: flavors.to_vec(),
            image_index: images
                .iter()
                .enumerate()
                .map(|(n, i)| (i.id.clone(), n))
                .collect(),
            images,
        }
    }

    /// A flavor offered in `region`.
    pub fn flavor(&self, id: &str, region: &str) -> Option<&FlavorSettings> {
        self.flavor_index
            .get(id)
            .map(|n| &self.flavors[*n])
            .filter(|f| in_region(&f.regions, region))
    }

    /// Any flavor, whatever its regions (to render a server that already uses it).
    pub fn any_flavor(&self, id: &str) -> Option<&FlavorSettings> {
        self.flavor_index.get(id).map(|n| &self.flavors[*n])
    }

    pub fn flavors_in<'a>(&'a self, region: &'a str) -> impl Iterator<Item = &'a FlavorSettings> {
        self.flavors
            .iter()
            .filter(move |f| in_region(&f.regions, region))
    }

    pub fn image(&self, id: &str, region: &str) -> Option<&Image> {
        self.image_index
            .get(id)
            .map(|n| &self.images[*n])
            .filter(|i| in_region(&i.regions, region))
    }

    pub fn images_in<'a>(&'a self, region: &'a str) -> impl Iterator<Item = &'a Image> {
        self.images
            .iter()
            .filter(move |i| in_region(&i.regions, region))
    }
}

pub fn in_region(regions: &[String], region: &str) -> bool {
    regions.is_empty() || regions.iter().any(|r| r == region)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_ids_are_the_same_on_every_start() {
        let s: crate::configuration::Settings =
            common::settings::defaults().expect("defaults load");
        let a = Catalog::new(&s.compute.flavors, &s.compute.images);
        let b = Catalog::new(&s.compute.flavors, &s.compute.images);
        assert_eq!(a.images[0].id, b.images[0].id);
        assert!(a.image(&a.images[0].id, "ORD").is_some());
    }

    #[test]
    fn region_only_entries_are_hidden_elsewhere() {
        let s: crate::configuration::Settings =
            common::settings::defaults().expect("defaults load");
        let c = Catalog::new(&s.compute.flavors, &s.compute.images);
        assert!(c.flavor("onmetal-io1", "IAD").is_some());
        assert!(c.flavor("onmetal-io1", "ORD").is_none());
        assert!(c.flavor("2", "ORD").is_some());
    }
}
