//! CLAP, through `clack-plugin`: the same [`Amp`] as the LV2 plugin, with the parameters of
//! [`crate::params`] (sample-accurate: a block is cut at each parameter change), one mono input
//! and output, the latency, and the parameter values saved with the host's session.
//!
//! The `.clap` file is the plugin library with the model appended ([`crate::embedded`]); the
//! entry reads it from the path the host passes to `clap_entry.init`.
//!
//! The plain library (`ampsim.clap`) is the loader, `org.ampsim.loader`: the host gives it a
//! `.nam` through CLAP's preset-load extension (a file location) or a saved session; the file
//! is read and the model built on the main thread, handed to the audio thread through a
//! lock-free slot, swapped in with a crossfade, and the model swapped out handed back to be
//! freed on the main thread. Knobs 1 to 8 take the loaded model's control names.

use std::ffi::{CStr, CString};
use std::fmt::Write as _;
use std::io::{Read, Write};
use std::cell::RefCell;
use std::sync::atomic::{AtomicPtr, AtomicU32, AtomicU64, Ordering};

use ampsim_engine::nam::NamFile;
use clack_extensions::audio_ports::{AudioPortFlags, AudioPortInfo, AudioPortInfoWriter, AudioPortType, PluginAudioPorts, PluginAudioPortsImpl};
use clack_extensions::latency::{PluginLatency, PluginLatencyImpl};
use clack_extensions::log::{HostLog, LogSeverity};
use clack_extensions::params::{HostParams, ParamDisplayWriter, ParamInfo, ParamInfoFlags, ParamInfoWriter, ParamRescanFlags, PluginAudioProcessorParams, PluginMainThreadParams, PluginParams};
use clack_extensions::preset_discovery::prelude::Location;
use clack_extensions::preset_discovery::{PluginPresetLoad, PluginPresetLoadImpl};
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

/// The plugin's CLAP descriptor: identity, name, an audio effect in mono.
fn descriptor(header: &Header, description: &str) -> PluginDescriptor {
    use clack_plugin::plugin::features::{AUDIO_EFFECT, DISTORTION, MONO};
    PluginDescriptor::new(&id(&header.slug), &header.name)
        .with_vendor("ampsim")
        .with_version(env!("CARGO_PKG_VERSION"))
        .with_description(description)
        .with_features([AUDIO_EFFECT, DISTORTION, MONO])
}

/// What the `.clap` file holds: the header, and the model parsed (or why it could not be); the
/// loader's carries none.
struct Config {
    header: Header,
    model: Result<NamFile, String>,
    loader: bool,
}

/// The entry: reads the model the `.clap` file carries.
pub struct AmpsimEntry {
    factory: PluginFactoryWrapper<Factory>,
}

impl Entry for AmpsimEntry {
    fn new(bundle_path: Option<&CStr>) -> Result<Self, EntryLoadError> {
        let path = bundle_path.and_then(|p| p.to_str().ok()).map(std::path::PathBuf::from).or_else(embedded::own_library).ok_or(EntryLoadError)?;
        let Some((header, bytes)) = embedded::read(&path).map_err(|_| EntryLoadError)? else {
            // The plain library: the loader.
            let header = crate::lv2::loader_header();
            let descriptor = descriptor(&header, "Plays any .nam file with ampsim-engine");
            let config = Config { header, model: Err("no model loaded yet".into()), loader: true };
            return Ok(AmpsimEntry { factory: PluginFactoryWrapper::new(Factory { descriptor, config }) });
        };
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
        let descriptor = descriptor(&header, "An amp model played by ampsim-engine");
        Ok(AmpsimEntry { factory: PluginFactoryWrapper::new(Factory { descriptor, config: Config { header, model, loader: false } }) })
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
        Some(PluginInstance::new::<AmpPlugin>(host_info, &self.descriptor, move |host| Ok(Shared::new(host, config)), move |host, shared| Ok(MainThread::new(host, shared))))
    }
}

clack_export_entry!(AmpsimEntry);

pub struct AmpPlugin;

impl Plugin for AmpPlugin {
    type AudioProcessor<'a> = Processor<'a>;
    type Shared<'a> = Shared<'a>;
    type MainThread<'a> = MainThread<'a>;

    fn declare_extensions(builder: &mut PluginExtensions<Self>, shared: Option<&Shared<'_>>) {
        builder.register::<PluginAudioPorts>().register::<PluginParams>().register::<PluginLatency>().register::<PluginState>();
        if shared.is_some_and(|s| s.config.loader) {
            builder.register::<PluginPresetLoad>();
        }
    }
}

/// A model on its way from the main thread to the audio thread, in a box that goes back with
/// the model swapped out (so that nothing is allocated or freed on the audio thread).
pub struct Carrier {
    model: Option<PreparedModel>,
}

/// Carriers on their way back to the main thread at most at once.
const RETURNING: usize = 8;

/// What both threads see: the parameter values (f64 bits), the latency, the loader's mailboxes.
pub struct Shared<'a> {
    config: &'a Config,
    host: HostSharedHandle<'a>,
    values: Box<[AtomicU64]>,
    latency_samples: AtomicU32,
    /// The host's rate while active (f64 bits; 0 inactive).
    rate_bits: AtomicU64,
    incoming: AtomicPtr<Carrier>,
    returning: [AtomicPtr<Carrier>; RETURNING],
}

impl<'a> PluginShared<'a> for Shared<'a> {}

impl Drop for Shared<'_> {
    fn drop(&mut self) {
        for slot in std::iter::once(&self.incoming).chain(&self.returning) {
            let c = slot.swap(std::ptr::null_mut(), Ordering::AcqRel);
            if !c.is_null() {
                // SAFETY: carriers are boxes made by the main thread; whoever swaps one out owns it.
                drop(unsafe { Box::from_raw(c) });
            }
        }
    }
}

impl<'a> Shared<'a> {
    fn new(host: HostSharedHandle<'a>, config: &'a Config) -> Shared<'a> {
        let values = config.header.params.iter().map(|p| AtomicU64::new(p.default.to_bits())).collect();
        Shared {
            config,
            host,
            values,
            latency_samples: AtomicU32::new(0),
            rate_bits: AtomicU64::new(0),
            incoming: AtomicPtr::new(std::ptr::null_mut()),
            returning: std::array::from_fn(|_| AtomicPtr::new(std::ptr::null_mut())),
        }
    }

    /// Send a carrier back to the main thread (real-time safe); the host is asked to call it.
    fn send_back(&self, c: *mut Carrier) {
        let placed = self.returning.iter().any(|slot| slot.compare_exchange(std::ptr::null_mut(), c, Ordering::AcqRel, Ordering::Relaxed).is_ok());
        if !placed {
            // Every slot full (the main thread has not called back for 8 swaps): keep it rather
            // than free on the audio thread.
            return;
        }
        self.host.request_callback();
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
    /// The loader's model: its path and file.
    loaded: RefCell<Option<(String, NamFile)>>,
}

impl<'a> PluginMainThread<'a, Shared<'a>> for MainThread<'a> {
    /// Free the carriers the audio thread handed back.
    fn on_main_thread(&self) {
        for slot in &self.shared.returning {
            let c = slot.swap(std::ptr::null_mut(), Ordering::AcqRel);
            if !c.is_null() {
                // SAFETY: a carrier box the audio thread is done with.
                drop(unsafe { Box::from_raw(c) });
            }
        }
    }
}

impl<'a> MainThread<'a> {
    fn new(host: HostMainThreadHandle<'a>, shared: &'a Shared<'a>) -> MainThread<'a> {
        let log = host.get_extension::<HostLog>();
        let me = MainThread { host, shared, log, loaded: RefCell::new(None) };
        if let (Err(e), false) = (&shared.config.model, shared.config.loader) {
            me.log(LogSeverity::Error, &format!("{e}; the plugin passes its input through"));
        }
        me
    }

    /// The model the plugin plays now: the one it carries, or the loader's.
    fn model_file(&self) -> Option<NamFile> {
        match &self.shared.config.model {
            Ok(f) => Some(f.clone()),
            Err(_) => self.loaded.borrow().as_ref().map(|(_, f)| f.clone()),
        }
    }

    /// The loader: read `path` and play it (handed to the audio thread when active). A file that
    /// cannot be played leaves the model playing as it is; the error says so.
    fn load(&self, path: &str) -> Result<(), String> {
        self.on_main_thread();
        // A panic must not cross into the host (the fuzzed loader should not panic; be sure).
        let read = |path: &str| std::panic::catch_unwind(|| NamFile::read(path).map_err(|e| e.to_string())).unwrap_or_else(|_| Err(format!("{path}: the model could not be read")));
        let prepare = |file: &NamFile, rate: f64| std::panic::catch_unwind(|| PreparedModel::new(file, rate)).unwrap_or_else(|_| Err(format!("{path}: the model could not be built")));
        let result = read(path).and_then(|file| {
            let rate = f64::from_bits(self.shared.rate_bits.load(Ordering::Acquire));
            if rate > 0.0 {
                let model = prepare(&file, rate)?;
                let c = Box::into_raw(Box::new(Carrier { model: Some(model) }));
                let stale = self.shared.incoming.swap(c, Ordering::AcqRel);
                if !stale.is_null() {
                    // SAFETY: a carrier the audio thread never took.
                    drop(unsafe { Box::from_raw(stale) });
                }
            }
            Ok(file)
        });
        match result {
            Ok(file) => {
                *self.loaded.borrow_mut() = Some((path.to_string(), file));
                if let Some(params) = self.host.get_extension::<HostParams>() {
                    params.rescan(&self.host, ParamRescanFlags::INFO | ParamRescanFlags::TEXT);
                }
                Ok(())
            }
            Err(e) => {
                let what = if self.loaded.borrow().is_some() { "the model playing goes on" } else { "the plugin passes its input through" };
                Err(format!("ampsim: {e}; {what}"))
            }
        }
    }

    /// The loaded model's control `k`, for the loader's knob `k`.
    fn knob_control(&self, k: usize) -> Option<ampsim_engine::ControlSpec> {
        self.loaded.borrow().as_ref().and_then(|(_, f)| f.controls.get(k).cloned())
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

impl PluginPresetLoadImpl for MainThread<'_> {
    fn load_from_location(&self, location: Location, _load_key: Option<&CStr>) -> Result<(), PluginError> {
        let Location::File { path } = location else { return Err(PluginError::Message("ampsim: give a .nam file")) };
        let path = path.to_str().map_err(|_| PluginError::Message("ampsim: a model path that is not UTF-8"))?;
        // clack puts the error in the host's log.
        self.load(path).map_err(|e| PluginError::Error(e.into()))
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
        // The loader's knobs say which of the loaded model's controls they turn.
        let name = match p.role {
            Role::Knob(k) => self.knob_control(k).map_or(p.name.clone(), |c| format!("{} ({})", p.name, c.name)),
            _ => p.name.clone(),
        };
        info.set(&ParamInfo { id: ClapId::new(index), flags, cookie: Default::default(), name: name.as_bytes(), module: b"", min_value: p.min, max_value: p.max, default_value: p.default });
    }

    fn get_value(&self, id: ClapId) -> Option<f64> {
        self.shared.get(id.get() as usize)
    }

    fn value_to_text(&self, id: ClapId, value: f64, writer: &mut ParamDisplayWriter) -> std::fmt::Result {
        let p = self.shared.params().get(id.get() as usize).ok_or(std::fmt::Error)?;
        match p.role {
            Role::Enabled => write!(writer, "{}", if value >= 0.5 { "on" } else { "off" }),
            Role::Knob(k) => match self.knob_control(k) {
                Some(c) => write!(writer, "{} {:.2}", c.name, c.trained_min + value * (c.trained_max - c.trained_min)),
                None => write!(writer, "{value:.2}"),
            },
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
        let mut doc = serde_json::json!({ "ampsim_plugin": 1, "params": values });
        if let Some((path, _)) = self.loaded.borrow().as_ref() {
            doc["model"] = path.clone().into();
        }
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
        if let (true, Some(path)) = (self.shared.config.loader, doc.get("model").and_then(|m| m.as_str())) {
            // A model that is gone: the session opens, the message says which file.
            if let Err(e) = self.load(path) {
                self.log(LogSeverity::Error, e.trim_start_matches("ampsim: "));
            }
        }
        Ok(())
    }
}

pub struct Processor<'a> {
    shared: &'a Shared<'a>,
    amp: Amp,
    /// The carrier that waits for the model fading out, to take it back to the main thread.
    holding: *mut Carrier,
    /// The parameter values the amp last heard.
    heard: Vec<f64>,
    scratch: Vec<f32>,
}

// SAFETY: `holding` is a box only this processor owns (handed between threads with it).
unsafe impl Send for Processor<'_> {}

impl<'a> PluginAudioProcessor<'a, Shared<'a>, MainThread<'a>> for Processor<'a> {
    fn activate(_host: HostAudioProcessorHandle<'a>, main_thread: &MainThread<'a>, shared: &'a Shared<'a>, audio_config: PluginAudioConfiguration) -> Result<Self, PluginError> {
        let mut amp = Amp::new(shared.params().to_vec(), audio_config.sample_rate);
        let stale = shared.incoming.swap(std::ptr::null_mut(), Ordering::AcqRel);
        if !stale.is_null() {
            // SAFETY: a carrier from before this activation, never taken.
            drop(unsafe { Box::from_raw(stale) });
        }
        shared.rate_bits.store(audio_config.sample_rate.to_bits(), Ordering::Release);
        if let Some(file) = main_thread.model_file() {
            match PreparedModel::new(&file, audio_config.sample_rate) {
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
        Ok(Processor { shared, amp, holding: std::ptr::null_mut(), heard, scratch: vec![0.0; CHUNK_SAMPLES] })
    }

    fn deactivate(self, _main_thread: &MainThread<'a>) {
        self.shared.rate_bits.store(0, Ordering::Release);
        if !self.holding.is_null() {
            // SAFETY: the carrier this processor held (deactivate runs on the main thread).
            drop(unsafe { Box::from_raw(self.holding) });
        }
    }

    fn process(&mut self, _process: Process, mut audio: Audio, events: Events) -> Result<ProcessStatus, PluginError> {
        // Values set while inactive or through the main thread's flush; a model the loader sent.
        self.catch_up();
        self.receive();
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

    /// Take a model the main thread sent, and hand back the one a fade finished with.
    fn receive(&mut self) {
        if let Some(old) = self.amp.take_retired() {
            if self.holding.is_null() {
                std::mem::forget(old);
            } else {
                // SAFETY: the carrier this processor holds.
                unsafe { (*self.holding).model = Some(old) };
                self.shared.send_back(self.holding);
                self.holding = std::ptr::null_mut();
            }
        }
        let c = self.shared.incoming.swap(std::ptr::null_mut(), Ordering::AcqRel);
        if c.is_null() {
            return;
        }
        // SAFETY: a carrier box the main thread made; this thread owns it now.
        let carrier = unsafe { &mut *c };
        if let Some(retired) = self.amp.swap_model(carrier.model.take()) {
            if self.holding.is_null() {
                carrier.model = Some(retired);
                self.shared.send_back(c);
                return;
            }
            // SAFETY: the carrier this processor holds.
            unsafe { (*self.holding).model = Some(retired) };
            self.shared.send_back(self.holding);
            self.holding = std::ptr::null_mut();
        }
        if self.amp.fading_out() {
            self.holding = c;
        } else {
            self.shared.send_back(c);
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
