//! The figures of one run: each a measured value, optionally set against a reference measured in
//! the same run (a baseline or a floor) as a ratio, and a target; printed as one table and
//! written as JSON so that runs compare across versions.

use serde::Serialize;

/// One row of the table.
#[derive(Debug, Clone, Serialize)]
pub struct Figure {
    /// What was measured.
    pub name: String,
    /// The measured value.
    pub value: f64,
    /// Its unit.
    pub unit: &'static str,
    /// What it is set against, when anything: the reference's name and value (same unit).
    pub reference: Option<(String, f64)>,
    /// `value / reference`.
    pub ratio: Option<f64>,
    /// The target, for people (`≤ 1 ms`), when there is one.
    pub target: Option<String>,
    /// Whether the target is met.
    pub met: Option<bool>,
}

/// A target on a value or on a ratio.
#[derive(Debug, Clone, Copy)]
pub enum Target {
    /// The value at most this.
    AtMost(f64),
    /// The value at least this.
    AtLeast(f64),
    /// The ratio to the reference at most this.
    RatioAtMost(f64),
}

/// The rows of a run, in order.
#[derive(Debug, Default, Serialize)]
pub struct Figures {
    /// Every row.
    pub rows: Vec<Figure>,
}

impl Figures {
    /// Adds a plain figure.
    pub fn add(&mut self, name: impl Into<String>, value: f64, unit: &'static str) {
        self.push(name.into(), value, unit, None, None);
    }

    /// Adds a figure with a target on its value.
    pub fn target(&mut self, name: impl Into<String>, value: f64, unit: &'static str, t: Target) {
        self.push(name.into(), value, unit, None, Some(t));
    }

    /// Adds a figure set against a reference, with an optional target.
    pub fn versus(
        &mut self,
        name: impl Into<String>,
        value: f64,
        unit: &'static str,
        reference: (&str, f64),
        t: Option<Target>,
    ) {
        self.push(
            name.into(),
            value,
            unit,
            Some((reference.0.to_string(), reference.1)),
            t,
        );
    }

    fn push(
        &mut self,
        name: String,
        value: f64,
        unit: &'static str,
        reference: Option<(String, f64)>,
        t: Option<Target>,
    ) {
        let ratio = reference.as_ref().map(|(_, r)| value / r);
        let (target, met) = match t {
            None => (None, None),
            Some(Target::AtMost(x)) => (Some(format!("≤ {} {unit}", num(x))), Some(value <= x)),
            Some(Target::AtLeast(x)) => (Some(format!("≥ {} {unit}", num(x))), Some(value >= x)),
            Some(Target::RatioAtMost(x)) => (Some(format!("≤ {x}×")), ratio.map(|r| r <= x)),
        };
        self.rows.push(Figure {
            name,
            value,
            unit,
            reference,
            ratio,
            target,
            met,
        });
    }

    /// The table, as Markdown.
    pub fn table(&self) -> String {
        let mut out = String::from(
            "| figure | value | against | reference | ratio | target | met |\n|---|---:|---|---:|---:|---|---|\n",
        );
        for f in &self.rows {
            let (against, reference) = match &f.reference {
                Some((name, v)) => (name.clone(), format!("{} {}", num(*v), f.unit)),
                None => (String::new(), String::new()),
            };
            out.push_str(&format!(
                "| {} | {} {} | {} | {} | {} | {} | {} |\n",
                f.name,
                num(f.value),
                f.unit,
                against,
                reference,
                f.ratio.map(|r| format!("{r:.2}×")).unwrap_or_default(),
                f.target.clone().unwrap_or_default(),
                match f.met {
                    Some(true) => "yes",
                    Some(false) => "**no**",
                    None => "",
                }
            ));
        }
        out
    }
}

/// A number with as many digits as it deserves.
fn num(x: f64) -> String {
    let a = x.abs();
    if a >= 100.0 || a == a.trunc() {
        let rounded = x.round() as i64;
        // Thousands separated, for byte counts.
        let s = rounded.abs().to_string();
        let mut grouped = String::new();
        for (i, c) in s.chars().enumerate() {
            if i > 0 && (s.len() - i).is_multiple_of(3) {
                grouped.push(',');
            }
            grouped.push(c);
        }
        if rounded < 0 {
            format!("-{grouped}")
        } else {
            grouped
        }
    } else if a >= 10.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.2}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratios_and_targets_are_judged_on_the_right_side() {
        let mut f = Figures::default();
        f.versus(
            "bytes",
            120.0,
            "B",
            ("floor", 100.0),
            Some(Target::RatioAtMost(1.2)),
        );
        f.target("rate", 25_000.0, "records/s", Target::AtLeast(30_000.0));
        assert_eq!(f.rows[0].met, Some(true));
        assert_eq!(f.rows[1].met, Some(false));
        let table = f.table();
        assert!(table.contains("| bytes | 120 B | floor | 100 B | 1.20× | ≤ 1.2× | yes |"));
        assert!(table.contains("25,000 records/s"));
    }
}
