//! Coordinate systems met in Chinese data (domain.md §3.5): WGS84 ↔ GCJ-02 ("Mars"
//! coordinates of AMap/Tencent) and GCJ-02 ↔ BD-09 (Baidu).

use std::f64::consts::PI;

use crate::keyword::Keyword;

const A: f64 = 6_378_245.0;
const EE: f64 = 0.006_693_421_622_965_943;
const X_PI: f64 = PI * 3000.0 / 180.0;

/// True outside the bounding box where the GCJ-02 offset applies.
pub fn out_of_china(lng: f64, lat: f64) -> bool {
    !(72.004..=137.8347).contains(&lng) || !(0.8293..=55.8271).contains(&lat)
}

fn t_lat(x: f64, y: f64) -> f64 {
    -100.0
        + 2.0 * x
        + 3.0 * y
        + 0.2 * y * y
        + 0.1 * x * y
        + 0.2 * x.abs().sqrt()
        + (20.0 * (6.0 * PI * x).sin() + 20.0 * (2.0 * PI * x).sin()) * 2.0 / 3.0
        + (20.0 * (PI * y).sin() + 40.0 * (PI * y / 3.0).sin()) * 2.0 / 3.0
        + (160.0 * (PI * y / 12.0).sin() + 320.0 * (PI * y / 30.0).sin()) * 2.0 / 3.0
}

fn t_lng(x: f64, y: f64) -> f64 {
    300.0
        + x
        + 2.0 * y
        + 0.1 * x * x
        + 0.1 * x * y
        + 0.1 * x.abs().sqrt()
        + (20.0 * (6.0 * PI * x).sin() + 20.0 * (2.0 * PI * x).sin()) * 2.0 / 3.0
        + (20.0 * (PI * x).sin() + 40.0 * (PI * x / 3.0).sin()) * 2.0 / 3.0
        + (150.0 * (PI * x / 12.0).sin() + 300.0 * (PI * x / 30.0).sin()) * 2.0 / 3.0
}

/// WGS84 → GCJ-02.
pub fn wgs84_to_gcj02(lng: f64, lat: f64) -> (f64, f64) {
    if out_of_china(lng, lat) {
        return (lng, lat);
    }
    let rad = lat * PI / 180.0;
    let m = 1.0 - EE * rad.sin() * rad.sin();
    let sm = m.sqrt();
    let dlat = t_lat(lng - 105.0, lat - 35.0) * 180.0 / ((A * (1.0 - EE)) / (m * sm) * PI);
    let dlng = t_lng(lng - 105.0, lat - 35.0) * 180.0 / (A / sm * rad.cos() * PI);
    (lng + dlng, lat + dlat)
}

/// GCJ-02 → WGS84 by fixed-point iteration (no closed form exists); exact to 1e-9 degrees.
pub fn gcj02_to_wgs84(lng: f64, lat: f64) -> (f64, f64) {
    let (mut w_lng, mut w_lat) = (lng, lat);
    for _ in 0..30 {
        let (g_lng, g_lat) = wgs84_to_gcj02(w_lng, w_lat);
        let (d_lng, d_lat) = (lng - g_lng, lat - g_lat);
        w_lng += d_lng;
        w_lat += d_lat;
        if d_lng.abs() < 1e-10 && d_lat.abs() < 1e-10 {
            break;
        }
    }
    (w_lng, w_lat)
}

/// GCJ-02 → BD-09.
pub fn gcj02_to_bd09(lng: f64, lat: f64) -> (f64, f64) {
    let z = (lng * lng + lat * lat).sqrt() + 0.00002 * (lat * X_PI).sin();
    let theta = lat.atan2(lng) + 0.000003 * (lng * X_PI).cos();
    (z * theta.cos() + 0.0065, z * theta.sin() + 0.006)
}

/// BD-09 → GCJ-02.
pub fn bd09_to_gcj02(lng: f64, lat: f64) -> (f64, f64) {
    let (x, y) = (lng - 0.0065, lat - 0.006);
    let z = (x * x + y * y).sqrt() - 0.00002 * (y * X_PI).sin();
    let theta = y.atan2(x) - 0.000003 * (x * X_PI).cos();
    (z * theta.cos(), z * theta.sin())
}

/// A coordinate system a department may deliver.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CoordSystem {
    /// WGS84 (GPS); CGCS2000 agrees with it to well under a metre.
    Wgs84,
    /// GCJ-02 (AMap, Tencent).
    Gcj02,
    /// BD-09 (Baidu).
    Bd09,
}

impl Keyword for CoordSystem {
    const ALL: &'static [(&'static str, CoordSystem)] = &[
        ("wgs84", CoordSystem::Wgs84),
        ("gcj02", CoordSystem::Gcj02),
        ("bd09", CoordSystem::Bd09),
    ];
}

impl CoordSystem {
    /// A point of this system in WGS84.
    pub fn to_wgs84(self, lng: f64, lat: f64) -> (f64, f64) {
        match self {
            CoordSystem::Wgs84 => (lng, lat),
            CoordSystem::Gcj02 => gcj02_to_wgs84(lng, lat),
            CoordSystem::Bd09 => {
                let (g_lng, g_lat) = bd09_to_gcj02(lng, lat);
                gcj02_to_wgs84(g_lng, g_lat)
            }
        }
    }
}

/// A `lng,lat` text (comma, full-width comma or spaces between) of `from` as a WGS84
/// `lng,lat` with six decimals (about 0.1 m); `None` when it is not a point on Earth.
pub fn point_to_wgs84(text: &str, from: CoordSystem) -> Option<String> {
    let mut parts = text
        .split([',', '，', ' ', ';'])
        .filter(|p| !p.is_empty())
        .map(str::parse::<f64>);
    let (Some(Ok(lng)), Some(Ok(lat)), None) = (parts.next(), parts.next(), parts.next()) else {
        return None;
    };
    if !(-180.0..=180.0).contains(&lng) || !(-90.0..=90.0).contains(&lat) {
        return None;
    }
    let (x, y) = from.to_wgs84(lng, lat);
    Some(format!("{x:.6},{y:.6}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: (f64, f64), b: (f64, f64), eps: f64) -> bool {
        (a.0 - b.0).abs() < eps && (a.1 - b.1).abs() < eps
    }

    // domain.md §9 worked example.
    #[test]
    fn gcj02_worked_example() {
        let g = wgs84_to_gcj02(116.397128, 39.916527);
        assert!(close(g, (116.403372494, 39.917930749), 1e-9), "{g:?}");
        let w = gcj02_to_wgs84(g.0, g.1);
        assert!(close(w, (116.397128, 39.916527), 1e-9), "{w:?}");
        let b = gcj02_to_bd09(g.0, g.1);
        assert!(close(b, (116.409739337, 39.924269294), 1e-9), "{b:?}");
        let sh = wgs84_to_gcj02(121.473701, 31.230416);
        assert!(close(sh, (121.478224057, 31.228473742), 1e-9), "{sh:?}");
        assert_eq!(wgs84_to_gcj02(2.35, 48.85), (2.35, 48.85), "outside China");
    }

    #[test]
    fn points_as_text() {
        // The worked example's GCJ-02 and BD-09 forms both come back to the WGS84 point.
        assert_eq!(
            point_to_wgs84("116.403372494,39.917930749", CoordSystem::Gcj02).as_deref(),
            Some("116.397128,39.916527")
        );
        assert_eq!(
            point_to_wgs84("116.409739337 39.924269294", CoordSystem::Bd09).as_deref(),
            Some("116.397128,39.916527")
        );
        assert_eq!(
            point_to_wgs84("116.397128，39.916527", CoordSystem::Wgs84).as_deref(),
            Some("116.397128,39.916527")
        );
        assert_eq!(point_to_wgs84("116.4", CoordSystem::Gcj02), None);
        assert_eq!(point_to_wgs84("200,39", CoordSystem::Gcj02), None);
        assert_eq!(point_to_wgs84("东经116度", CoordSystem::Gcj02), None);
    }
}
