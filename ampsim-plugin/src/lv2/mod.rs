//! LV2: the C ABI of LV2's core (`lv2_descriptor`, instantiate, connect_port, run, cleanup)
//! and the two host features it uses (URID map and log), written out here.
//!
//! Why not the `lv2` crates: their plugins declare their ports as a Rust struct fixed at
//! compile time, but here one binary serves every model, each with its own knobs — the ports
//! are known only when the host loads the bundle (from what the binary carries, see
//! [`crate::embedded`]). The part of the LV2 ABI needed is a few `repr(C)` structs.
//!
//! Ports: 0 audio in, 1 audio out, 2 latency (output, `lv2:reportsLatency`), then one control
//! port per parameter in [`crate::params`] order: input gain, output level, enabled
//! (`lv2:enabled`: the host's bypass), the model's controls.
//!
//! The loader (the library with no model appended, `urn:ampsim:loader`) has 8 generic knobs and
//! two atom ports after them: the host sets its model as NAM's LV2 plugin's is set, a
//! `patch:Set` of an `atom:Path` parameter; the file is read and the model built on the host's
//! worker thread, swapped in on the audio thread with a crossfade, and the one swapped out
//! freed on the worker again; the path is saved and restored with the session (state).

pub mod atom;
mod loader;
pub mod ttl;

pub use loader::{header as loader_header, MODEL_PARAMETER};

use std::ffi::{c_char, c_void, CStr, CString};
use std::sync::OnceLock;

use ampsim_engine::nam::NamFile;

use crate::amp::{Amp, PreparedModel, CHUNK_SAMPLES};
use crate::embedded::{self, Header};

/// `LV2_Descriptor`.
#[repr(C)]
pub struct Descriptor {
    pub uri: *const c_char,
    pub instantiate: unsafe extern "C" fn(*const Descriptor, f64, *const c_char, *const *const Feature) -> *mut c_void,
    pub connect_port: unsafe extern "C" fn(*mut c_void, u32, *mut c_void),
    pub activate: Option<unsafe extern "C" fn(*mut c_void)>,
    pub run: unsafe extern "C" fn(*mut c_void, u32),
    pub deactivate: Option<unsafe extern "C" fn(*mut c_void)>,
    pub cleanup: unsafe extern "C" fn(*mut c_void),
    pub extension_data: unsafe extern "C" fn(*const c_char) -> *const c_void,
}

/// `LV2_Feature`.
#[repr(C)]
pub struct Feature {
    pub uri: *const c_char,
    pub data: *mut c_void,
}

/// `LV2_URID_Map`.
#[repr(C)]
pub(crate) struct UridMap {
    pub(crate) handle: *mut c_void,
    pub(crate) map: unsafe extern "C" fn(*mut c_void, *const c_char) -> u32,
}

/// The feature `uri` among the host's `features`, if given.
pub(crate) unsafe fn feature(features: *const *const Feature, uri: &CStr) -> *mut c_void {
    if features.is_null() {
        return std::ptr::null_mut();
    }
    let mut f = features;
    while !(*f).is_null() {
        if !(**f).uri.is_null() && CStr::from_ptr((**f).uri) == uri {
            return (**f).data;
        }
        f = f.add(1);
    }
    std::ptr::null_mut()
}

/// `LV2_Log_Log` (its `vprintf` unused).
#[repr(C)]
struct LogLog {
    handle: *mut c_void,
    printf: unsafe extern "C" fn(*mut c_void, u32, *const c_char, ...) -> i32,
}

pub(crate) const URID_MAP: &CStr = c"http://lv2plug.in/ns/ext/urid#map";
const LOG: &CStr = c"http://lv2plug.in/ns/ext/log#log";
const LOG_ERROR: &CStr = c"http://lv2plug.in/ns/ext/log#Error";

/// Port numbers before the parameters.
pub const PORT_IN: u32 = 0;
pub const PORT_OUT: u32 = 1;
pub const PORT_LATENCY: u32 = 2;
pub const FIRST_PARAM_PORT: u32 = 3;

/// The host's log, when it gives one; stderr otherwise.
pub(crate) struct Log {
    host: Option<(*const LogLog, u32)>,
}

impl Log {
    pub(crate) unsafe fn from_features(features: *const *const Feature) -> Log {
        let (mut map, mut log) = (std::ptr::null::<UridMap>(), std::ptr::null::<LogLog>());
        if !features.is_null() {
            let mut f = features;
            while !(*f).is_null() {
                let uri = CStr::from_ptr((**f).uri);
                if uri == URID_MAP {
                    map = (**f).data as *const UridMap;
                } else if uri == LOG {
                    log = (**f).data as *const LogLog;
                }
                f = f.add(1);
            }
        }
        let host = (!map.is_null() && !log.is_null()).then(|| (log, ((*map).map)((*map).handle, LOG_ERROR.as_ptr())));
        Log { host }
    }

    /// One message (not from the audio thread).
    pub(crate) fn error(&self, message: &str) {
        let line = CString::new(format!("ampsim: {}\n", message.replace('\0', " "))).unwrap_or_default();
        match self.host {
            // SAFETY: the host's log, valid for the instance's life; "%s" with one C string.
            Some((log, error)) => unsafe {
                ((*log).printf)((*log).handle, error, c"%s".as_ptr(), line.as_ptr());
            },
            None => eprint!("{}", line.to_string_lossy()),
        }
    }
}

/// What the binary is: the header of the model it carries (or the loader's), with its URI.
struct Plugin {
    uri: CString,
    header: Header,
    /// No model carried: the loader.
    loader: bool,
    library: std::path::PathBuf,
    descriptor: OnceLock<Descriptor>,
}

// SAFETY: the raw pointers in `descriptor` point into `uri`, owned by the same static.
unsafe impl Sync for Plugin {}
unsafe impl Send for Plugin {}

fn plugin() -> Option<&'static Plugin> {
    static PLUGIN: OnceLock<Option<Plugin>> = OnceLock::new();
    PLUGIN
        .get_or_init(|| {
            let library = embedded::own_library()?;
            match embedded::read(&library) {
                Ok(Some((header, _))) => Some(Plugin { uri: CString::new(ttl::uri(&header.slug)).ok()?, header, loader: false, library, descriptor: OnceLock::new() }),
                Ok(None) => {
                    let header = loader::header();
                    Some(Plugin { uri: CString::new(ttl::uri(&header.slug)).ok()?, header, loader: true, library, descriptor: OnceLock::new() })
                }
                Err(e) => {
                    eprintln!("ampsim: {e}");
                    None
                }
            }
        })
        .as_ref()
}

/// The entry point LV2 hosts look up.
///
/// # Safety
/// Called by the host as LV2 specifies.
#[no_mangle]
pub unsafe extern "C" fn lv2_descriptor(index: u32) -> *const Descriptor {
    let Some(p) = plugin() else { return std::ptr::null() };
    if index != 0 {
        return std::ptr::null();
    }
    p.descriptor.get_or_init(|| Descriptor {
        uri: p.uri.as_ptr(),
        instantiate,
        connect_port,
        activate: Some(activate),
        run,
        deactivate: None,
        cleanup,
        extension_data,
    })
}

pub(crate) struct Instance {
    pub(crate) amp: Amp,
    input: *const f32,
    output: *mut f32,
    latency: *mut f32,
    params: Vec<*const f32>,
    /// The parameter values last read from the ports.
    seen: Vec<f32>,
    scratch: Vec<f32>,
    /// The loader's ports, features and model path.
    pub(crate) loader: Option<Box<loader::Loader>>,
}

unsafe extern "C" fn instantiate(_: *const Descriptor, rate: f64, _bundle: *const c_char, features: *const *const Feature) -> *mut c_void {
    let result = std::panic::catch_unwind(|| {
        let log = Log::from_features(features);
        let p = plugin()?;
        if !(rate.is_finite() && rate >= 1000.0) {
            log.error(&format!("{}: the host's sample rate {rate} is not usable", p.header.name));
            return None;
        }
        let mut amp = Amp::new(p.header.params.clone(), rate);
        let loader = if p.loader {
            Some(Box::new(loader::Loader::new(features, rate, log)))
        } else {
            match load_model(p, rate) {
                Ok(m) => {
                    amp.swap_model(Some(m));
                }
                Err(e) => log.error(&format!("{e}; the plugin passes its input through")),
            }
            None
        };
        let n = p.header.params.len();
        let seen = amp.params().iter().map(|p| p.default as f32).collect();
        Some(Box::into_raw(Box::new(Instance { amp, input: std::ptr::null(), output: std::ptr::null_mut(), latency: std::ptr::null_mut(), params: vec![std::ptr::null(); n], seen, scratch: vec![0.0; CHUNK_SAMPLES], loader })) as *mut c_void)
    });
    result.ok().flatten().unwrap_or(std::ptr::null_mut())
}

/// The model the binary carries, checked against the parameters its ports were made for.
fn load_model(p: &Plugin, rate: f64) -> Result<PreparedModel, String> {
    let (_, bytes) = embedded::read(&p.library)?.ok_or_else(|| format!("{}: carries no model", p.library.display()))?;
    let text = std::str::from_utf8(&bytes).map_err(|_| format!("{}: the model it carries is not text", p.header.name))?;
    let file = NamFile::parse(text, &p.header.name).map_err(|e| e.to_string())?;
    let expected = crate::params::for_model(&file.controls);
    if expected != p.header.params {
        return Err(format!("{}: the model's controls do not match the plugin's parameters", p.header.name));
    }
    PreparedModel::new(&file, rate)
}

unsafe extern "C" fn connect_port(handle: *mut c_void, port: u32, data: *mut c_void) {
    let Some(me) = (handle as *mut Instance).as_mut() else { return };
    match port {
        PORT_IN => me.input = data as *const f32,
        PORT_OUT => me.output = data as *mut f32,
        PORT_LATENCY => me.latency = data as *mut f32,
        p => {
            let i = (p - FIRST_PARAM_PORT) as usize;
            if let Some(slot) = me.params.get_mut(i) {
                *slot = data as *const f32;
            } else if let Some(l) = me.loader.as_mut() {
                l.connect(i - me.params.len(), data);
            }
        }
    }
}

unsafe extern "C" fn activate(handle: *mut c_void) {
    if let Some(me) = (handle as *mut Instance).as_mut() {
        me.amp.reset();
    }
}

unsafe extern "C" fn run(handle: *mut c_void, samples: u32) {
    let Some(me) = (handle as *mut Instance).as_mut() else { return };
    for (i, &port) in me.params.iter().enumerate() {
        if let Some(&v) = port.as_ref() {
            if v.to_bits() != me.seen[i].to_bits() {
                me.seen[i] = v;
                me.amp.set_param(i, v as f64);
            }
        }
    }
    if let Some(l) = me.loader.as_mut() {
        l.run(&mut me.amp);
    }
    if let Some(l) = me.latency.as_mut() {
        *l = me.amp.latency_samples() as f32;
    }
    let n = samples as usize;
    if me.output.is_null() {
        return;
    }
    let mut at = 0;
    while at < n {
        let m = (n - at).min(CHUNK_SAMPLES);
        // The host may pass one buffer as both input and output: read before writing.
        if me.input.is_null() {
            me.scratch[..m].fill(0.0);
        } else {
            me.scratch[..m].copy_from_slice(std::slice::from_raw_parts(me.input.add(at), m));
        }
        let out = std::slice::from_raw_parts_mut(me.output.add(at), m);
        me.amp.process(&me.scratch[..m], out);
        at += m;
    }
}

unsafe extern "C" fn cleanup(handle: *mut c_void) {
    if !handle.is_null() {
        drop(Box::from_raw(handle as *mut Instance));
    }
}

unsafe extern "C" fn extension_data(uri: *const c_char) -> *const c_void {
    if uri.is_null() || !plugin().is_some_and(|p| p.loader) {
        return std::ptr::null();
    }
    loader::extension_data(CStr::from_ptr(uri))
}
