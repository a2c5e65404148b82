//! CLAP, through `clack-plugin`: the same [`Amp`] as the LV2 plugin, with the parameters of
//! [`crate::params`] (sample-accurate: a block is cut at each parameter change), one mono input
//! and output, the latency, and the parameter values saved with the host's session.
//!
//! The `.clap` file is the plugin library with the model appended ([`crate::embedded`]); the
//! entry reads it from the path the host passes to `clap_entry.init`.

use std::ffi::{CStr, CString};
use std::fmt::Write as _;
use std::io::{Read, Write};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use ampsim_engine::nam::NamFile;
use clack_extensions::audio_ports::{AudioPortFlags, AudioPortInfo, AudioPortInfoWriter, AudioPortType, PluginAudioPorts, PluginAudioPortsImpl};
use clack_extensions::latency::{PluginLatency, PluginLatencyImpl};
use clack_extensions::log::{HostLog, LogSeverity};
use clack_extensions::params::{ParamDisplayWriter, ParamInfo, ParamInfoFlags, ParamInfoWriter, PluginAudioProcessorParams, PluginMainThreadParams, PluginParams};
use clack_extensions::state::{PluginState, PluginStateImpl};
use clack_plugin::entry::prelude::*;
use clack_plugin::events::spaces::CoreEventSpace;
use clack_plugin::prelude::*;
use clack_plugin::stream::{InputStream, OutputStream};

use crate::amp::{Amp, PreparedModel, CHUNK_SAMPLES};
use crate::embedded::{self, Header};
use crate::params::{ParamSpec, Role};

/// The plugin's identifier for a slug.
pub fn id(slug: &str) -> String {
    format!("org.ampsim.{slug}")
}

/// What the `.clap` file holds: the header, and the model parsed (or why it could not be).
struct Config {
    header: Header,
    model: Result<NamFile, String>,
}

/// The entry: reads the model the `.clap` file carries.
pub struct AmpsimEntry {
    factory: PluginFactoryWrapper<Factory>,
}

impl Entry for AmpsimEntry {
    fn new(bundle_path: Option<&CStr>) -> Result<Self, EntryLoadError> {
        let path = bundle_path.and_then(|p| p.to_str().ok()).map(std::path::PathBuf::from).or_else(embedded::own_library).ok_or(EntryLoadError)?;
        // A library that carries no model has no plugin to offer (yet): the host lists nothing.
        let (header, bytes) = embedded::read(&path).ok().flatten().ok_or(EntryLoadError)?;
        if header.slug.is_empty() || header.name.is_empty() || header.slug.contains('\0') || header.name.contains('\0') {
            return Err(EntryLoadError);
        }
        let model = std::str::from_utf8(&bytes)
            .map_err(|_| format!("{}: the model it carries is not text", header.name))
            .and_then(|text| NamFile::parse(text, &header.name).map_err(|e| e.to_string()))
            .and_then(|file| {
                if crate::params::for_model(&file.controls) == header.params {
                    Ok(file)
                } else {
                    Err(format!("{}: the model's controls do not match the plugin's parameters", header.name))
                }
            });
        let descriptor = PluginDescriptor::new(&id(&header.slug), &header.name)
            .with_vendor("ampsim")
            .with_version(env!("CARGO_PKG_VERSION"))
            .with_description("An amp model played by ampsim-engine")
            .with_features([clack_plugin::plugin::features::AUDIO_EFFECT, clack_plugin::plugin::features::DISTORTION, clack_plugin::plugin::features::MONO]);
        Ok(AmpsimEntry { factory: PluginFactoryWrapper::new(Factory { descriptor, config: Config { header, model } }) })
    }

    fn declare_factories<'a>(&'a self, builder: &mut EntryFactories<'a>) {
        builder.register_factory(&self.factory);
    }
}

pub struct Factory {
    descriptor: PluginDescriptor,
    config: Config,
}

impl PluginFactoryImpl for Factory {
    fn plugin_count(&self) -> u32 {
        1
    }

    fn plugin_descriptor(&self, index: u32) -> Option<&PluginDescriptor> {
        (index == 0).then_some(&self.descriptor)
    }

    fn create_plugin<'a>(&'a self, host_info: HostInfo<'a>, plugin_id: &CStr) -> Option<PluginInstance<'a>> {
        if plugin_id != self.descriptor.id()? {
            return None;
        }
        let config: &'a Config = &self.config;
        Some(PluginInstance::new::<AmpPlugin>(host_info, &self.descriptor, move |_| Ok(Shared::new(config)), move |host, shared| Ok(MainThread::new(host, shared))))
    }
}

clack_export_entry!(AmpsimEntry);

pub struct AmpPlugin;

impl Plugin for AmpPlugin {
    type AudioProcessor<'a> = Processor<'a>;
    type Shared<'a> = Shared<'a>;
    type MainThread<'a> = MainThread<'a>;

    fn declare_extensions(builder: &mut PluginExtensions<Self>, _shared: Option<&Shared<'_>>) {
        builder.register::<PluginAudioPorts>().register::<PluginParams>().register::<PluginLatency>().register::<PluginState>();
    }
}

/// What both threads see: the parameter values (f64 bits) and the latency.
pub struct Shared<'a> {
    config: &'a Config,
    values: Box<[AtomicU64]>,
    latency_samples: AtomicU32,
}

impl<'a> PluginShared<'a> for Shared<'a> {}

impl<'a> Shared<'a> {
    fn new(config: &'a Config) -> Shared<'a> {
        let values = config.header.params.iter().map(|p| AtomicU64::new(p.default.to_bits())).collect();
        Shared { config, values, latency_samples: AtomicU32::new(0) }
    }

    fn params(&self) -> &[ParamSpec] {
        &self.config.header.params
    }

    fn get(&self, index: usize) -> Option<f64> {
        self.values.get(index).map(|v| f64::from_bits(v.load(Ordering::Relaxed)))
    }

    /// Store a value (clamped; a non-number reads as the default); its index and the value kept.
    fn set(&self, index: usize, value: f64) -> Option<(usize, f64)> {
        let (slot, spec) = (self.values.get(index)?, self.params().get(index)?);
        let v = if value.is_finite() { value.clamp(spec.min, spec.max) } else { spec.default };
        slot.store(v.to_bits(), Ordering::Relaxed);
        Some((index, v))
    }

    /// A parameter-value event stored; its index and value.
    fn take_event(&self, event: &UnknownEvent) -> Option<(usize, f64)> {
        match event.as_core_event()? {
            CoreEventSpace::ParamValue(ev) => self.set(ev.param_id()?.get() as usize, ev.value()),
            _ => None,
        }
    }
}

pub struct MainThread<'a> {
    host: HostMainThreadHandle<'a>,
    shared: &'a Shared<'a>,
    log: Option<HostLog>,
}

impl<'a> PluginMainThread<'a, Shared<'a>> for MainThread<'a> {}

impl<'a> MainThread<'a> {
    fn new(host: HostMainThreadHandle<'a>, shared: &'a Shared<'a>) -> MainThread<'a> {
        let log = host.get_extension::<HostLog>();
        let me = MainThread { host, shared, log };
        if let Err(e) = &shared.config.model {
            me.log(LogSeverity::Error, &format!("{e}; the plugin passes its input through"));
        }
        me
    }

    /// One message in the host's log (stderr when it has none).
    fn log(&self, severity: LogSeverity, message: &str) {
        let text = format!("ampsim: {message}");
        match (&self.log, CString::new(text.replace('\0', " "))) {
            (Some(log), Ok(c)) => log.log(&self.host, severity, &c),
            _ => eprintln!("{text}"),
        }
    }
}

impl PluginAudioPortsImpl for MainThread<'_> {
    fn count(&self, _is_input: bool) -> u32 {
        1
    }

    fn get(&self, index: u32, is_input: bool, writer: &mut AudioPortInfoWriter) {
        if index == 0 {
            writer.set(&AudioPortInfo {
                id: ClapId::new(0),
                name: if is_input { b"Guitar in" } else { b"Amp out" },
                channel_count: 1,
                flags: AudioPortFlags::IS_MAIN,
                port_type: Some(AudioPortType::MONO),
                in_place_pair: Some(ClapId::new(0)),
            });
        }
    }
}

impl PluginMainThreadParams for MainThread<'_> {
    fn count(&self) -> u32 {
        self.shared.params().len() as u32
    }

    fn get_info(&self, index: u32, info: &mut ParamInfoWriter) {
        let Some(p) = self.shared.params().get(index as usize) else { return };
        let flags = match p.role {
            Role::Enabled => ParamInfoFlags::IS_AUTOMATABLE | ParamInfoFlags::IS_STEPPED | ParamInfoFlags::IS_BYPASS,
            _ => ParamInfoFlags::IS_AUTOMATABLE,
        };
        info.set(&ParamInfo { id: ClapId::new(index), flags, cookie: Default::default(), name: p.name.as_bytes(), module: b"", min_value: p.min, max_value: p.max, default_value: p.default });
    }

    fn get_value(&self, id: ClapId) -> Option<f64> {
        self.shared.get(id.get() as usize)
    }

    fn value_to_text(&self, id: ClapId, value: f64, writer: &mut ParamDisplayWriter) -> std::fmt::Result {
        let p = self.shared.params().get(id.get() as usize).ok_or(std::fmt::Error)?;
        match p.role {
            Role::Enabled => write!(writer, "{}", if value >= 0.5 { "on" } else { "off" }),
            _ if p.unit.is_empty() => write!(writer, "{value:.2}"),
            _ => write!(writer, "{value:.1} {}", p.unit),
        }
    }

    fn text_to_value(&self, id: ClapId, text: &CStr) -> Option<f64> {
        let p = self.shared.params().get(id.get() as usize)?;
        let t = text.to_str().ok()?.trim();
        match (p.role, t) {
            (Role::Enabled, "on") => Some(1.0),
            (Role::Enabled, "off") => Some(0.0),
            _ => t.trim_end_matches(p.unit.as_str()).trim().parse().ok(),
        }
    }

    fn flush(&self, input: &InputEvents, _output: &mut OutputEvents) {
        for event in input {
            self.shared.take_event(event);
        }
    }
}

impl PluginLatencyImpl for MainThread<'_> {
    fn get(&self) -> u32 {
        self.shared.latency_samples.load(Ordering::Relaxed)
    }
}

/// The state: the parameter values by symbol, as JSON (a later version with other parameters
/// still reads the ones it knows).
impl PluginStateImpl for MainThread<'_> {
    fn save(&self, output: &mut OutputStream) -> Result<(), PluginError> {
        let values: serde_json::Map<String, serde_json::Value> = self.shared.params().iter().enumerate().map(|(i, p)| (p.symbol.clone(), self.shared.get(i).unwrap_or(p.default).into())).collect();
        let doc = serde_json::json!({ "ampsim_plugin": 1, "params": values });
        output.write_all(doc.to_string().as_bytes())?;
        Ok(())
    }

    fn load(&self, input: &mut InputStream) -> Result<(), PluginError> {
        let mut bytes = Vec::new();
        input.take(1 << 20).read_to_end(&mut bytes)?;
        let doc: serde_json::Value = serde_json::from_slice(&bytes).map_err(|_| PluginError::Message("ampsim: the saved state is not ampsim's"))?;
        let values = doc.get("params").and_then(|v| v.as_object()).ok_or(PluginError::Message("ampsim: the saved state has no parameters"))?;
        for (i, p) in self.shared.params().iter().enumerate() {
            if let Some(v) = values.get(&p.symbol).and_then(|v| v.as_f64()) {
                self.shared.set(i, v);
            }
        }
        Ok(())
    }
}

pub struct Processor<'a> {
    shared: &'a Shared<'a>,
    amp: Amp,
    /// The parameter values the amp last heard.
    heard: Vec<f64>,
    scratch: Vec<f32>,
}

impl<'a> PluginAudioProcessor<'a, Shared<'a>, MainThread<'a>> for Processor<'a> {
    fn activate(_host: HostAudioProcessorHandle<'a>, main_thread: &MainThread<'a>, shared: &'a Shared<'a>, audio_config: PluginAudioConfiguration) -> Result<Self, PluginError> {
        let mut amp = Amp::new(shared.params().to_vec(), audio_config.sample_rate);
        if let Ok(file) = &shared.config.model {
            match PreparedModel::new(file, audio_config.sample_rate) {
                Ok(m) => {
                    amp.swap_model(Some(m));
                }
                Err(e) => main_thread.log(LogSeverity::Error, &format!("{e}; the plugin passes its input through")),
            }
        }
        let heard: Vec<f64> = (0..shared.params().len()).map(|i| shared.get(i).unwrap_or(0.0)).collect();
        for (i, &v) in heard.iter().enumerate() {
            amp.set_param(i, v);
        }
        shared.latency_samples.store(amp.latency_samples() as u32, Ordering::Relaxed);
        Ok(Processor { shared, amp, heard, scratch: vec![0.0; CHUNK_SAMPLES] })
    }

    fn process(&mut self, _process: Process, mut audio: Audio, events: Events) -> Result<ProcessStatus, PluginError> {
        // Values set while inactive or through the main thread's flush.
        self.catch_up();
        let Some(mut pair) = audio.port_pair(0) else { return Ok(ProcessStatus::Continue) };
        let Some(mut channels) = pair.channels()?.into_f32() else { return Ok(ProcessStatus::Continue) };
        match channels.channel_pair(0) {
            Some(ChannelPair::InPlace(buf)) => {
                for batch in events.input.batch() {
                    self.events(batch.events());
                    let part = &mut buf[batch.sample_bounds()];
                    for piece in part.chunks_mut(CHUNK_SAMPLES) {
                        let m = piece.len();
                        self.scratch[..m].copy_from_slice(piece);
                        self.amp.process(&self.scratch[..m], piece);
                    }
                }
            }
            Some(ChannelPair::InputOutput(input, output)) => {
                for batch in events.input.batch() {
                    self.events(batch.events());
                    let r = batch.sample_bounds();
                    self.amp.process(&input[r], &mut output[r]);
                }
            }
            Some(ChannelPair::OutputOnly(output)) => output.fill(0.0),
            Some(ChannelPair::InputOnly(_)) | None => {}
        }
        Ok(ProcessStatus::Continue)
    }

    fn reset(&mut self) {
        self.amp.reset();
    }
}

impl<'a> Processor<'a> {
    fn events<'e>(&mut self, events: impl Iterator<Item = &'e UnknownEvent>) {
        for event in events {
            if let Some((i, v)) = self.shared.take_event(event) {
                self.heard[i] = v;
                self.amp.set_param(i, v);
            }
        }
    }

    fn catch_up(&mut self) {
        for i in 0..self.heard.len() {
            let v = self.shared.get(i).unwrap_or(self.heard[i]);
            if v.to_bits() != self.heard[i].to_bits() {
                self.heard[i] = v;
                self.amp.set_param(i, v);
            }
        }
    }
}

impl PluginAudioProcessorParams for Processor<'_> {
    fn flush(&mut self, input: &InputEvents, _output: &mut OutputEvents) {
        self.events(input.iter());
    }
}
