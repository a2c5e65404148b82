//! A plugin's parameters, the same in every format: input gain and output level in dB, an
//! on/off switch (the host's bypass), and one parameter per control of the model — its name,
//! range and default from the `.nam` file's `controls` (a loader has [`LOADER_KNOBS`] generic
//! ones, mapped onto the loaded model's controls in order).

use ampsim_engine::ControlSpec;
use serde::{Deserialize, Serialize};

/// Generic knobs of the loader plugin: the loaded model's first controls, in order.
pub const LOADER_KNOBS: usize = 8;

/// What a parameter does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Role {
    /// Gain before the model, dB.
    InputDb,
    /// Level after the model, dB.
    OutputDb,
    /// 1 plays the model, 0 passes the input through (faded, no click): the host's bypass.
    Enabled,
    /// The model's control number `k` (0-based), in the units it was trained with.
    Control(usize),
    /// The loader's knob `k`: 0 to 1 over the loaded model's control `k` trained range.
    Knob(usize),
}

/// One parameter.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ParamSpec {
    pub role: Role,
    /// A short identifier (LV2's port symbol): lower-case letters, digits and `_`.
    pub symbol: String,
    /// What the host shows.
    pub name: String,
    pub min: f64,
    pub max: f64,
    pub default: f64,
    /// "dB", or empty.
    pub unit: String,
}

/// Input gain range, dB.
pub const INPUT_DB: (f64, f64) = (-24.0, 24.0);
/// Output level range, dB.
pub const OUTPUT_DB: (f64, f64) = (-40.0, 24.0);

fn fixed() -> Vec<ParamSpec> {
    let p = |role, symbol: &str, name: &str, (min, max): (f64, f64), default, unit: &str| ParamSpec { role, symbol: symbol.into(), name: name.into(), min, max, default, unit: unit.into() };
    vec![
        p(Role::InputDb, "input_db", "Input gain", INPUT_DB, 0.0, "dB"),
        p(Role::OutputDb, "output_db", "Output level", OUTPUT_DB, 0.0, "dB"),
        p(Role::Enabled, "enabled", "Enabled", (0.0, 1.0), 1.0, ""),
    ]
}

/// The parameters of a plugin that carries a model with these controls: the fixed three, then
/// each control over its trained range, starting in the middle of it.
pub fn for_model(controls: &[ControlSpec]) -> Vec<ParamSpec> {
    let mut params = fixed();
    for (k, c) in controls.iter().enumerate() {
        let symbol = unique_symbol(&symbol_of(&c.name), &params);
        let (min, max) = (c.trained_min, c.trained_max);
        params.push(ParamSpec { role: Role::Control(k), symbol, name: c.name.clone(), min, max, default: 0.5 * (min + max), unit: String::new() });
    }
    params
}

/// The loader's parameters: the fixed three and [`LOADER_KNOBS`] knobs from 0 to 1.
pub fn for_loader() -> Vec<ParamSpec> {
    let mut params = fixed();
    for k in 0..LOADER_KNOBS {
        params.push(ParamSpec { role: Role::Knob(k), symbol: format!("knob{}", k + 1), name: format!("Knob {}", k + 1), min: 0.0, max: 1.0, default: 0.5, unit: String::new() });
    }
    params
}

/// `name` as an LV2 symbol: `[a-z_][a-z0-9_]*`.
pub fn symbol_of(name: &str) -> String {
    let mut s: String = name.trim().chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' }).collect();
    if s.is_empty() || s.starts_with(|c: char| c.is_ascii_digit()) {
        s.insert(0, '_');
    }
    s
}

fn unique_symbol(base: &str, taken: &[ParamSpec]) -> String {
    let free = |s: &str| !taken.iter().any(|p| p.symbol == s) && !["in", "out", "latency"].contains(&s);
    if free(base) {
        return base.to_string();
    }
    (2..).map(|n| format!("{base}_{n}")).find(|s| free(s)).expect("some suffix is free")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_become_parameters_with_their_names_ranges_and_unique_symbols() {
        let mut treble = ControlSpec::new("Treble", 0.0, 10.0);
        treble.trained_min = 2.0;
        let params = for_model(&[ControlSpec::new("bass", 0.0, 10.0), treble, ControlSpec::new("Input dB", 0.0, 1.0), ControlSpec::new("3 band", -1.0, 1.0)]);
        let symbols: Vec<&str> = params.iter().map(|p| p.symbol.as_str()).collect();
        assert_eq!(symbols, ["input_db", "output_db", "enabled", "bass", "treble", "input_db_2", "_3_band"]);
        assert_eq!((params[4].min, params[4].max, params[4].default), (2.0, 10.0, 6.0));
        assert_eq!(params[4].name, "Treble");
        assert_eq!(params[6].role, Role::Control(3));
        assert_eq!(for_model(&[]).len(), 3);
        assert_eq!(for_loader().len(), 3 + LOADER_KNOBS);
    }
}
