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

const PREFIXES: &str = "@prefix doap: <http://usefulinc.com/ns/doap#> .\n\
@prefix lv2: <http://lv2plug.in/ns/lv2core#> .\n\
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

/// The plugin's description: class, name, features and ports.
pub fn plugin(header: &Header) -> String {
    let mut t = String::from(PREFIXES);
    let _ = write!(
        t,
        "\n<{}>\n    a lv2:Plugin , lv2:SimulatorPlugin ;\n    doap:name {} ;\n    doap:license <https://spdx.org/licenses/MIT> ;\n    \
         rdfs:comment \"An amp model played by ampsim-engine (model sample rate {} Hz).\" ;\n    \
         lv2:optionalFeature lv2:hardRTCapable , <http://lv2plug.in/ns/ext/log#log> , <http://lv2plug.in/ns/ext/urid#map> ;\n    lv2:port ",
        uri(&header.slug),
        literal(&header.name),
        header.sample_rate_hz
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
    t.push_str(&ports.join(" , "));
    t.push_str(" .\n");
    t
}
