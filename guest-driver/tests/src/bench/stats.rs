//! Medians, percentiles and spreads of repeated measurements.

/// Sorted samples.
pub struct Samples(Vec<f64>);

impl Samples {
    pub fn new(mut v: Vec<f64>) -> Samples {
        v.sort_by(|a, b| a.total_cmp(b));
        Samples(v)
    }
    pub fn quantile(&self, q: f64) -> f64 {
        if self.0.is_empty() {
            return f64::NAN;
        }
        let i = ((self.0.len() - 1) as f64 * q).round() as usize;
        self.0[i]
    }
    pub fn median(&self) -> f64 {
        self.quantile(0.5)
    }
    pub fn p99(&self) -> f64 {
        self.quantile(0.99)
    }
    pub fn min(&self) -> f64 {
        self.quantile(0.0)
    }
    pub fn max(&self) -> f64 {
        self.quantile(1.0)
    }
}
