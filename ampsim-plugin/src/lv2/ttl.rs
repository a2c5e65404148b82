//! The Turtle files of an LV2 bundle: `manifest.ttl` (which plugin, which binary) and the
//! plugin's description (its ports: names, ranges, defaults, units).

use std::fmt::Write;

use crate::embedded::Header;
use crate::params::Role;

use super::{FIRST_PARAM_PORT, PORT_IN, PORT_LATENCY, PORT_OUT};

/// The plugin's URI for a slug.
pub fn uri(slug: &str) -> String {
    format!("urn:ampsim:{slug}")
}

const PREFIXES: &str = "@prefix atom: <http://lv2plug.in/ns/ext/atom#> .\n\
@prefix doap: <http://usefulinc.com/ns/doap#> .\n\
@prefix lv2: <http://lv2plug.in/ns/lv2core#> .\n\
@prefix patch: <http://lv2plug.in/ns/ext/patch#> .\n\
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .\n\
@prefix units: <http://lv2plug.in/ns/extensions/units#> .\n";

/// A Turtle string literal.
fn literal(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' | '\r' | '\t' => out.push(' '),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `manifest.ttl`: the plugin, its binary and its description.
pub fn manifest(header: &Header, binary: &str, description: &str) -> String {
    format!("{PREFIXES}\n<{}>\n    a lv2:Plugin ;\n    lv2:binary <{binary}> ;\n    rdfs:seeAlso <{description}> .\n", uri(&header.slug))
}

/// The plugin's description: class, name, features and ports. The loader (`loader`) has
/// the `atom:Path` parameter of its model, a worker, state, and two atom ports after the
/// parameters.
pub fn plugin(header: &Header, loader: bool) -> String {
    let mut t = String::from(PREFIXES);
    let uri = uri(&header.slug);
    if loader {
        let _ = write!(t, "\n<{}>\n    a lv2:Parameter ;\n    rdfs:label \"Model\" ;\n    rdfs:range atom:Path .\n", super::loader::MODEL_PARAMETER.to_str().unwrap_or_default());
    }
    let (comment, features) = if loader {
        (
            "Plays any .nam file (set its Model parameter) with ampsim-engine; knobs 1 to 8 turn the model's controls, in order.".to_string(),
            format!(
                "lv2:optionalFeature lv2:hardRTCapable , <http://lv2plug.in/ns/ext/log#log> ;\n    \
                 lv2:requiredFeature <http://lv2plug.in/ns/ext/urid#map> , <http://lv2plug.in/ns/ext/worker#schedule> ;\n    \
                 lv2:extensionData <http://lv2plug.in/ns/ext/worker#interface> , <http://lv2plug.in/ns/ext/state#interface> ;\n    \
                 patch:writable <{}> ;",
                super::loader::MODEL_PARAMETER.to_str().unwrap_or_default()
            ),
        )
    } else {
        (
            format!("An amp model played by ampsim-engine (model sample rate {} Hz).", header.sample_rate_hz),
            "lv2:optionalFeature lv2:hardRTCapable , <http://lv2plug.in/ns/ext/log#log> , <http://lv2plug.in/ns/ext/urid#map> ;".to_string(),
        )
    };
    let _ = write!(
        t,
        "\n<{uri}>\n    a lv2:Plugin , lv2:SimulatorPlugin ;\n    doap:name {} ;\n    doap:license <https://spdx.org/licenses/MIT> ;\n    \
         rdfs:comment {} ;\n    {features}\n    lv2:port ",
        literal(&header.name),
        literal(&comment),
    );
    let mut ports = vec![
        format!("[\n        a lv2:AudioPort , lv2:InputPort ;\n        lv2:index {PORT_IN} ;\n        lv2:symbol \"in\" ;\n        lv2:name \"In\"\n    ]"),
        format!("[\n        a lv2:AudioPort , lv2:OutputPort ;\n        lv2:index {PORT_OUT} ;\n        lv2:symbol \"out\" ;\n        lv2:name \"Out\"\n    ]"),
        format!(
            "[\n        a lv2:ControlPort , lv2:OutputPort ;\n        lv2:index {PORT_LATENCY} ;\n        lv2:symbol \"latency\" ;\n        lv2:name \"Latency\" ;\n        \
             lv2:designation lv2:latency ;\n        lv2:portProperty lv2:reportsLatency , lv2:integer ;\n        lv2:minimum 0 ;\n        lv2:maximum 65536 ;\n        units:unit units:frame\n    ]"
        ),
    ];
    for (i, p) in header.params.iter().enumerate() {
        let mut port = format!(
            "[\n        a lv2:ControlPort , lv2:InputPort ;\n        lv2:index {} ;\n        lv2:symbol {} ;\n        lv2:name {} ;\n        lv2:default {:?} ;\n        lv2:minimum {:?} ;\n        lv2:maximum {:?}",
            FIRST_PARAM_PORT as usize + i,
            literal(&p.symbol),
            literal(&p.name),
            p.default,
            p.min,
            p.max
        );
        match p.role {
            Role::Enabled => port.push_str(" ;\n        lv2:designation lv2:enabled ;\n        lv2:portProperty lv2:toggled"),
            Role::InputDb | Role::OutputDb => port.push_str(" ;\n        units:unit units:db"),
            Role::Control(_) | Role::Knob(_) => {}
        }
        port.push_str("\n    ]");
        ports.push(port);
    }
    if loader {
        let first = FIRST_PARAM_PORT as usize + header.params.len();
        for (k, (direction, symbol, name)) in [("lv2:InputPort", "control", "Control"), ("lv2:OutputPort", "notify", "Notify")].into_iter().enumerate() {
            ports.push(format!(
                "[\n        a atom:AtomPort , {direction} ;\n        atom:bufferType atom:Sequence ;\n        atom:supports patch:Message ;\n        \
                 lv2:designation lv2:control ;\n        lv2:index {} ;\n        lv2:symbol \"{symbol}\" ;\n        lv2:name \"{name}\"\n    ]",
                first + k
            ));
        }
    }
    t.push_str(&ports.join(" , "));
    t.push_str(" .\n");
    t
}
