//! Natural resources: properties and standard addresses (GCJ-02 coordinates).

use super::*;
use crate::dirt::{self, Planted};
use crate::rng::Rng;
use crate::table::{Cell, FileFormat, Table};
use crate::world::World;

/// WGS84 → GCJ-02 (the offset Chinese web maps apply), written from the published formula.
pub(super) fn gcj02(lon: f64, lat: f64) -> (f64, f64) {
    use std::f64::consts::PI;
    const A: f64 = 6_378_245.0;
    const EE: f64 = 0.006_693_421_622_965_943;
    let (x, y) = (lon - 105.0, lat - 35.0);
    let mut dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * x.abs().sqrt();
    dlat += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    dlat += (20.0 * (y * PI).sin() + 40.0 * (y / 3.0 * PI).sin()) * 2.0 / 3.0;
    dlat += (160.0 * (y / 12.0 * PI).sin() + 320.0 * (y * PI / 30.0).sin()) * 2.0 / 3.0;
    let mut dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * x.abs().sqrt();
    dlon += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    dlon += (20.0 * (x * PI).sin() + 40.0 * (x / 3.0 * PI).sin()) * 2.0 / 3.0;
    dlon += (150.0 * (x / 12.0 * PI).sin() + 300.0 * (x / 30.0 * PI).sin()) * 2.0 / 3.0;
    let rad = lat / 180.0 * PI;
    let magic = 1.0 - EE * rad.sin() * rad.sin();
    let sqrt_magic = magic.sqrt();
    dlat = (dlat * 180.0) / ((A * (1.0 - EE)) / (magic * sqrt_magic) * PI);
    dlon = (dlon * 180.0) / (A / sqrt_magic * rad.cos() * PI);
    (lon + dlon, lat + dlat)
}

pub(super) fn natural_resources(world: &World, rng: &Rng, d: &mut Deliveries) {
    let mut r = rng.fork("natural_resources");
    let mut properties = Table::new(
        "natural_resources",
        "properties",
        FileFormat::Parquet,
        vec!["不动产单元号", "权利人", "权利人证件号", "坐落"],
    );
    let mut addresses = Table::new(
        "natural_resources",
        "standard_addresses",
        FileFormat::CsvUtf8Bom,
        vec!["地址编码", "标准地址", "经度_GCJ02", "纬度_GCJ02"],
    );
    for (i, p) in world.properties.iter().enumerate() {
        let owner = &world.persons[p.owner];
        properties.push(
            vec![
                Cell::text(&p.unit),
                Cell::text(&owner.name),
                Cell::text(&owner.id),
                dirt::optional(&mut r, &p.address, &mut Planted::default()),
            ],
            clean(&p.unit),
        );
        let (lon, lat) = gcj02(p.wgs84.0, p.wgs84.1);
        addresses.push(
            vec![
                Cell::text(format!("DZ{:010}", i + 1)),
                Cell::text(&p.address),
                Cell::text(format!("{lon:.6}")),
                Cell::text(format!("{lat:.6}")),
            ],
            clean(&p.unit),
        );
    }
    d.tables.extend([properties, addresses]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gcj02_offset_is_a_few_hundred_metres() {
        let (lon, lat) = gcj02(116.397_128, 39.916_527);
        assert!(
            (lon - 116.403_4).abs() < 0.001 && (lat - 39.917_9).abs() < 0.001,
            "{lon} {lat}"
        );
    }
}
