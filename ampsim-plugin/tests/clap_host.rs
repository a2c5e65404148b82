//! The CLAP plugin in a host built on `clack-host`: a model written as its own `.clap` is
//! listed under its name, shows its knobs as parameters, plays in blocks of 64 and 512 samples
//! exactly as the engine alone renders it, saves its settings with the session and restores
//! them in a fresh instance; a damaged model logs one message and passes audio through.

mod common;

use std::path::Path;
use std::sync::Mutex;

use clack_extensions::latency::PluginLatency;
use clack_extensions::log::{HostLog, HostLogImpl, LogSeverity};
use clack_extensions::params::{ParamInfoBuffer, PluginParams};
use clack_extensions::preset_discovery::prelude::Location;
use clack_extensions::preset_discovery::PluginPresetLoad;
use clack_extensions::state::PluginState;
use clack_host::events::event_types::ParamValueEvent;
use clack_host::prelude::*;
use ampsim_plugin::bundle::Destination;
use common::*;

#[derive(Default)]
struct Shared {
    logs: Mutex<Vec<(LogSeverity, String)>>,
}

impl SharedHandler<'_> for Shared {
    fn request_restart(&self) {}
    fn request_process(&self) {}
    fn request_callback(&self) {}
}

impl HostLogImpl for Shared {
    fn log(&self, severity: LogSeverity, message: &str) {
        self.logs.lock().unwrap().push((severity, message.to_string()));
    }
}

struct Host;

impl HostHandlers for Host {
    type Shared<'a> = Shared;
    type MainThread<'a> = ();
    type AudioProcessor<'a> = ();

    fn declare_extensions(builder: &mut HostExtensions<Self>, _shared: &Self::Shared<'_>) {
        builder.register::<HostLog>();
    }
}

fn host_info() -> HostInfo {
    HostInfo::new("ampsim test host", "ampsim", "https://example.invalid", "0.1").unwrap()
}

fn load(path: &Path) -> PluginEntry {
    // SAFETY: loading our own plugin library.
    unsafe { PluginEntry::load(path) }.unwrap_or_else(|e| panic!("{}: {e:?}", path.display()))
}

fn instance(entry: &PluginEntry) -> PluginInstance<Host> {
    let factory = entry.get_plugin_factory().unwrap();
    let id = factory.plugin_descriptor(0).unwrap().id().unwrap().to_owned();
    PluginInstance::<Host>::new(|_| Shared::default(), |_| (), entry, &id, &host_info()).unwrap()
}

fn logs(instance: &PluginInstance<Host>) -> Vec<(LogSeverity, String)> {
    instance.access_shared_handler(|s| std::mem::take(&mut *s.logs.lock().unwrap()))
}

/// Play `x` in blocks of `block` samples at `rate_hz`, sending `events` (param index, value)
/// at sample 0 of the first block; the plugin's output and its latency.
fn play(instance: &mut PluginInstance<Host>, x: &[f32], block: usize, rate_hz: f64, events: &[(u32, f64)]) -> (Vec<f32>, u32) {
    let config = PluginAudioConfiguration { sample_rate: rate_hz, min_frames_count: 1, max_frames_count: block as u32 };
    let mut processor = instance.activate(|_, _| (), config).unwrap().start_processing().unwrap();
    let (mut in_ports, mut out_ports) = (AudioPorts::with_capacity(1, 1), AudioPorts::with_capacity(1, 1));
    let mut output = vec![0.0f32; x.len()];
    let mut input = vec![0.0f32; block];
    let mut out_events = EventBuffer::new();
    let first: Vec<ParamValueEvent> = events.iter().map(|&(i, v)| ParamValueEvent::new(0, ClapId::new(i), Pckn::match_all(), v)).collect();
    let mut at = 0;
    while at < x.len() {
        let n = block.min(x.len() - at);
        input[..n].copy_from_slice(&x[at..at + n]);
        let in_audio = in_ports.with_input_buffers([AudioPortBuffer { latency: 0, channels: AudioPortBufferType::f32_input_only([InputChannel::variable(&mut input[..n])]) }]);
        let mut out_audio = out_ports.with_output_buffers([AudioPortBuffer { latency: 0, channels: AudioPortBufferType::f32_output_only([&mut output[at..at + n]]) }]);
        let batch: &[ParamValueEvent] = if at == 0 { &first } else { &[] };
        out_events.clear();
        processor.process(&in_audio, &mut out_audio, &InputEvents::from_buffer(&batch), &mut OutputEvents::from_buffer(&mut out_events), Some(at as u64), None).unwrap();
        at += n;
    }
    let stopped = processor.stop_processing();
    let latency: PluginLatency = instance.plugin_shared_handle().get_extension().unwrap();
    let l = latency.get(&mut instance.plugin_handle());
    instance.deactivate(stopped);
    (output, l)
}

#[test]
fn a_knob_model_is_listed_with_its_knobs_plays_in_any_block_size_and_restores_its_settings() {
    let dir = tmpdir("clap");
    let model = knob_lstm(&[("gain", 0.0, 1.0), ("treble", 0.0, 10.0)], 48_000);
    let nam = dir.join("knobs.nam");
    std::fs::write(&nam, &model).unwrap();
    let w = ampsim_plugin::bundle::write_model_plugin(&library(), &nam, "Knob LSTM", &Destination::under(&dir)).unwrap();
    let entry = load(&w.clap_file);
    let factory = entry.get_plugin_factory().unwrap();
    let d = factory.plugin_descriptor(0).unwrap();
    assert_eq!((d.id().unwrap().to_str().unwrap(), d.name().unwrap().to_str().unwrap()), ("org.ampsim.knob-lstm", "Knob LSTM"));

    let mut first = instance(&entry);
    let params: PluginParams = first.plugin_shared_handle().get_extension().unwrap();
    {
        let mut h = first.plugin_handle();
        assert_eq!(params.count(&mut h), 5);
        let mut buf = ParamInfoBuffer::new();
        let info = params.get_info(&mut h, 4, &mut buf).unwrap();
        assert_eq!((String::from_utf8_lossy(info.name).as_ref(), info.min_value, info.max_value, info.default_value), ("treble", 0.0, 10.0, 5.0));
        let info = params.get_info(&mut h, 0, &mut buf).unwrap();
        assert_eq!(String::from_utf8_lossy(info.name), "Input gain");
    }
    let x = guitar(48_000.0, 1.0);
    let reference = engine_render(&model, &[0.3, 7.0], &x);
    for block in [64, 512] {
        let (y, latency) = play(&mut first, &x, block, 48_000.0, &[(3, 0.3), (4, 7.0)]);
        let d = max_difference(&y, &reference);
        assert!(d < 1e-5 && latency == 0, "blocks of {block}: CLAP vs the engine {d}, latency {latency}");
    }
    assert!(logs(&first).is_empty());

    // The session: saved, restored in a fresh instance, which then plays the same.
    let state: PluginState = first.plugin_shared_handle().get_extension().unwrap();
    let mut saved = Vec::new();
    state.save(&mut first.plugin_handle(), &mut saved).unwrap();
    let mut second = instance(&entry);
    let state2: PluginState = second.plugin_shared_handle().get_extension().unwrap();
    state2.load(&mut second.plugin_handle(), &mut saved.as_slice()).unwrap();
    let params2: PluginParams = second.plugin_shared_handle().get_extension().unwrap();
    assert_eq!(params2.get_value(&mut second.plugin_handle(), ClapId::new(4)), Some(7.0));
    let (y, _) = play(&mut second, &x, 256, 48_000.0, &[]);
    assert!(max_difference(&y, &reference) < 1e-5, "restored, it plays at the saved setting");
    assert!(state2.load(&mut second.plugin_handle(), &mut &b"not a state"[..]).is_err());

    // At 44.1 kHz it resamples and says by how much it is late.
    let (y, latency) = play(&mut second, &guitar(44_100.0, 0.5), 128, 44_100.0, &[]);
    assert_eq!(latency, 587);
    assert!(y.iter().all(|v| v.is_finite()) && y[600..].iter().any(|v| v.abs() > 1e-2));
    drop((first, second));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_damaged_model_logs_one_message_and_passes_audio_through() {
    let dir = tmpdir("clap-damaged");
    let model = knob_lstm(&[("gain", 0.0, 1.0)], 48_000);
    let controls = ampsim_engine::nam::NamFile::parse(&model, "m").unwrap().controls;
    let header = ampsim_plugin::embedded::Header { slug: "damaged".into(), name: "Damaged".into(), sample_rate_hz: 48_000, params: ampsim_plugin::params::for_model(&controls) };
    let truncated = &model[..model.len() / 2];
    let clap = dir.join("damaged.clap");
    std::fs::write(&clap, ampsim_plugin::embedded::append(&std::fs::read(library()).unwrap(), &header, truncated.as_bytes())).unwrap();
    let entry = load(&clap);
    let mut inst = instance(&entry);
    let x: Vec<f32> = guitar(48_000.0, 0.2).iter().enumerate().map(|(i, &v)| if i == 100 { f32::NAN } else { v }).collect();
    let (y, _) = play(&mut inst, &x, 8192, 48_000.0, &[]);
    let expected: Vec<f32> = x.iter().map(|&v| if v.is_finite() { v } else { 0.0 }).collect();
    assert_eq!(y, expected, "no model: the input passes through (a NaN as silence)");
    let messages = logs(&inst);
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert!(messages[0].0 == LogSeverity::Error && messages[0].1.contains("not a .nam file") && messages[0].1.contains("passes its input through"), "{messages:?}");
    drop(inst);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn the_loader_plays_any_model_the_host_gives_it_and_keeps_it_in_the_session() {
    let dir = tmpdir("clap-loader");
    let w = ampsim_plugin::bundle::write_loader(&library(), &Destination::under(&dir)).unwrap();
    let specs = [("gain", 0.0, 1.0), ("treble", 0.0, 10.0)];
    let texts = [knob_lstm_seeded(&specs, 48_000, 7), knob_lstm_seeded(&specs, 48_000, 99)];
    let models = [dir.join("a.nam"), dir.join("b.nam")];
    for (p, t) in models.iter().zip(&texts) {
        std::fs::write(p, t).unwrap();
    }
    let entry = load(&w.clap_file);
    let d = entry.get_plugin_factory().unwrap().plugin_descriptor(0).unwrap();
    assert_eq!(d.id().unwrap().to_str().unwrap(), "org.ampsim.loader");
    let mut first = instance(&entry);
    let x = guitar(48_000.0, 0.5);
    let (y, _) = play(&mut first, &x, 64, 48_000.0, &[]);
    assert_eq!(y, x, "no model yet: the input passes through");

    // The host loads a file (CLAP's preset-load extension); knob 2 turns its second control.
    let preset: PluginPresetLoad = first.plugin_shared_handle().get_extension().unwrap();
    let path = std::ffi::CString::new(models[0].to_str().unwrap()).unwrap();
    preset.load_from_location(&mut first.plugin_handle(), Location::File { path: &path }, None).unwrap();
    let params: PluginParams = first.plugin_shared_handle().get_extension().unwrap();
    let mut buf = ParamInfoBuffer::new();
    let info = params.get_info(&mut first.plugin_handle(), 4, &mut buf).unwrap();
    assert_eq!(String::from_utf8_lossy(info.name), "Knob 2 (treble)");
    let (y, _) = play(&mut first, &x, 64, 48_000.0, &[(4, 0.7)]);
    let d = max_difference(&y, &engine_render(&texts[0], &[0.5, 7.0], &x));
    assert!(d < 1e-5, "the loaded model plays as the engine renders it: {d}");

    // A file that is no model: refused with one message; the model playing goes on.
    let junk = dir.join("junk.nam");
    std::fs::write(&junk, "{}").unwrap();
    let path = std::ffi::CString::new(junk.to_str().unwrap()).unwrap();
    assert!(preset.load_from_location(&mut first.plugin_handle(), Location::File { path: &path }, None).is_err());
    let messages: Vec<_> = logs(&first).into_iter().filter(|(s, _)| *s == LogSeverity::Error).collect();
    assert!(messages.len() == 1 && messages[0].1.contains("not a .nam file") && messages[0].1.contains("the model playing goes on"), "{messages:?}");

    // While playing, another model: swapped in with a fade, the old one handed back to be freed.
    let config = PluginAudioConfiguration { sample_rate: 48_000.0, min_frames_count: 1, max_frames_count: 64 };
    let mut processor = first.activate(|_, _| (), config).unwrap().start_processing().unwrap();
    let (mut in_ports, mut out_ports) = (AudioPorts::with_capacity(1, 1), AudioPorts::with_capacity(1, 1));
    let mut out_events = EventBuffer::new();
    let mut y = vec![0.0f32; x.len()];
    let mut input = vec![0.0f32; 64];
    for (k, at) in (0..x.len()).step_by(64).enumerate() {
        if k == 10 {
            let path = std::ffi::CString::new(models[1].to_str().unwrap()).unwrap();
            preset.load_from_location(&mut first.plugin_handle(), Location::File { path: &path }, None).unwrap();
        }
        let n = 64.min(x.len() - at);
        input[..n].copy_from_slice(&x[at..at + n]);
        let in_audio = in_ports.with_input_buffers([AudioPortBuffer { latency: 0, channels: AudioPortBufferType::f32_input_only([InputChannel::variable(&mut input[..n])]) }]);
        let mut out_audio = out_ports.with_output_buffers([AudioPortBuffer { latency: 0, channels: AudioPortBufferType::f32_output_only([&mut y[at..at + n]]) }]);
        processor.process(&in_audio, &mut out_audio, &InputEvents::empty(), &mut OutputEvents::from_buffer(&mut out_events), Some(at as u64), None).unwrap();
        first.call_on_main_thread_callback();
    }
    let stopped = processor.stop_processing();
    first.deactivate(stopped);
    let from = 640;
    let d = max_difference(&y[from + 480..], &engine_render(&texts[1], &[0.5, 7.0], &x[from..])[480..]);
    assert!(d < 1e-5, "after its fade the new model plays as the engine renders it: {d}");

    // The session keeps the model: a fresh instance restores it.
    let state: PluginState = first.plugin_shared_handle().get_extension().unwrap();
    let mut saved = Vec::new();
    state.save(&mut first.plugin_handle(), &mut saved).unwrap();
    assert!(String::from_utf8_lossy(&saved).contains("b.nam"));
    let mut second = instance(&entry);
    let state2: PluginState = second.plugin_shared_handle().get_extension().unwrap();
    state2.load(&mut second.plugin_handle(), &mut saved.as_slice()).unwrap();
    let (y, _) = play(&mut second, &x, 512, 48_000.0, &[]);
    let d = max_difference(&y, &engine_render(&texts[1], &[0.5, 7.0], &x));
    assert!(d < 1e-5, "restored, the model plays from the first sample: {d}");
    drop((first, second));
    std::fs::remove_dir_all(dir).unwrap();
}
