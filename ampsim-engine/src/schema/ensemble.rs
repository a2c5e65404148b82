//! ampsim's ensemble file: several models of one amp, trained apart, played together and
//! averaged. Models that learned the same recording go wrong in different ways on playing none
//! of them heard (an LSTM and a WaveNet most of all), so their mean is closer to the amp than
//! either (docs/experiments.md).
//!
//! Layout: `architecture` `"AmpsimEnsemble"`, `config` `{"members": [{"architecture": …,
//! "config": …}, …]}` (each member an LSTM, a WaveNet or a grey-box model, as its own `.nam`
//! would say), `weights` the members' weight lists one after the other, in the members' order.
//! Every member reads the file's `controls`. NAM's tools do not play it; ampsim's engine,
//! plugin and CLI do.

use serde_json::Value;

/// The `architecture` of an ensemble file.
pub const ARCHITECTURE: &str = "AmpsimEnsemble";

/// Most members in one ensemble.
pub const MAX_MEMBERS: usize = 8;

/// One member as the config names it.
#[derive(Clone, Debug, PartialEq)]
pub struct Member {
    pub architecture: String,
    pub config: Value,
}

/// The members an ensemble's `config` names: 2 to [`MAX_MEMBERS`], none an ensemble or a
/// container itself.
pub fn members(config: &Value) -> Result<Vec<Member>, String> {
    let list = config.get("members").and_then(Value::as_array).ok_or_else(|| format!("an {ARCHITECTURE} config needs a \"members\" list"))?;
    if !(2..=MAX_MEMBERS).contains(&list.len()) {
        return Err(format!("{} members in an {ARCHITECTURE} (2 to {MAX_MEMBERS})", list.len()));
    }
    list.iter()
        .enumerate()
        .map(|(k, m)| {
            let architecture = m.get("architecture").and_then(Value::as_str).ok_or_else(|| format!("member {} names no \"architecture\"", k + 1))?;
            let config = m.get("config").filter(|c| c.is_object()).ok_or_else(|| format!("member {} has no \"config\" object", k + 1))?;
            if architecture == ARCHITECTURE || architecture == super::SLIMMABLE_CONTAINER {
                return Err(format!("member {} is an {architecture}: an ensemble holds single models", k + 1));
            }
            Ok(Member { architecture: architecture.into(), config: config.clone() })
        })
        .collect()
}

/// The `config` of an ensemble of `members` (architecture, config), as [`members`] reads it.
pub fn config_of(members: &[(String, Value)]) -> Value {
    let list: Vec<Value> = members.iter().map(|(a, c)| serde_json::json!({ "architecture": a, "config": c })).collect();
    serde_json::json!({ "members": list })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn members_round_trip_and_bad_lists_are_refused() {
        let lstm = json!({"input_size": 1, "hidden_size": 3, "num_layers": 1});
        let config = config_of(&[("LSTM".into(), lstm.clone()), ("LSTM".into(), lstm.clone())]);
        let m = members(&config).unwrap();
        assert_eq!(m.len(), 2);
        assert_eq!(m[1], Member { architecture: "LSTM".into(), config: lstm.clone() });
        assert!(members(&json!({})).unwrap_err().contains("\"members\""));
        assert!(members(&config_of(&[("LSTM".into(), lstm.clone())])).unwrap_err().contains("1 members"));
        let nested = config_of(&[("LSTM".into(), lstm.clone()), (ARCHITECTURE.into(), config.clone())]);
        assert!(members(&nested).unwrap_err().contains("single models"));
        assert!(members(&json!({"members": [{"architecture": "LSTM"}, {"config": {}}]})).unwrap_err().contains("member 1 has no"));
    }
}
