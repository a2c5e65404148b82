//! The LV2 loader: a model chosen in the host (`patch:Set` of the `atom:Path` parameter
//! `urn:ampsim:loader#model`), read and built on the host's worker thread, swapped in on the
//! audio thread (crossfaded by the amp), the model swapped out freed on the worker thread, the
//! path saved and restored with the session. The audio thread only copies bytes and moves
//! pointers. A file that cannot be played is reported in the host's log; the model playing
//! (or, with none yet, the input passing through) goes on.

use std::ffi::{c_char, c_void, CStr, CString};

use ampsim_engine::nam::NamFile;

use super::atom;
use super::{feature, Feature, Instance, Log, UridMap, URID_MAP};
use crate::amp::{Amp, PreparedModel};
use crate::embedded::Header;

/// The loader's identity and parameters.
pub fn header() -> Header {
    Header { slug: "loader".into(), name: "ampsim (any .nam)".into(), sample_rate_hz: 0, params: crate::params::for_loader() }
}

/// The parameter that holds the model's path.
pub const MODEL_PARAMETER: &CStr = c"urn:ampsim:loader#model";
/// Longest path the loader takes (bytes).
pub const MAX_PATH_BYTES: usize = 4096;

const WORKER_SCHEDULE: &CStr = c"http://lv2plug.in/ns/ext/worker#schedule";
const WORKER_INTERFACE: &CStr = c"http://lv2plug.in/ns/ext/worker#interface";
const STATE_INTERFACE: &CStr = c"http://lv2plug.in/ns/ext/state#interface";
const STATE_MAP_PATH: &CStr = c"http://lv2plug.in/ns/ext/state#mapPath";
const STATE_FREE_PATH: &CStr = c"http://lv2plug.in/ns/ext/state#freePath";

/// `LV2_Worker_Schedule`.
#[repr(C)]
struct WorkerSchedule {
    handle: *mut c_void,
    schedule_work: unsafe extern "C" fn(*mut c_void, u32, *const c_void) -> u32,
}

/// `LV2_Worker_Interface`.
#[repr(C)]
pub struct WorkerInterface {
    work: unsafe extern "C" fn(*mut c_void, unsafe extern "C" fn(*mut c_void, u32, *const c_void) -> u32, *mut c_void, u32, *const c_void) -> u32,
    work_response: unsafe extern "C" fn(*mut c_void, u32, *const c_void) -> u32,
    end_run: Option<unsafe extern "C" fn(*mut c_void) -> u32>,
}

/// `LV2_State_Interface`.
#[repr(C)]
pub struct StateInterface {
    save: unsafe extern "C" fn(*mut c_void, StoreFn, *mut c_void, u32, *const *const Feature) -> u32,
    restore: unsafe extern "C" fn(*mut c_void, RetrieveFn, *mut c_void, u32, *const *const Feature) -> u32,
}

type StoreFn = unsafe extern "C" fn(*mut c_void, u32, *const c_void, usize, u32, u32) -> u32;
type RetrieveFn = unsafe extern "C" fn(*mut c_void, u32, *mut usize, *mut u32, *mut u32) -> *const c_void;

/// `LV2_State_Map_Path`.
#[repr(C)]
struct MapPath {
    handle: *mut c_void,
    abstract_path: unsafe extern "C" fn(*mut c_void, *const c_char) -> *mut c_char,
    absolute_path: unsafe extern "C" fn(*mut c_void, *const c_char) -> *mut c_char,
}

/// `LV2_State_Free_Path`.
#[repr(C)]
struct FreePath {
    handle: *mut c_void,
    free_path: unsafe extern "C" fn(*mut c_void, *mut c_char),
}

static WORKER: WorkerInterface = WorkerInterface { work, work_response, end_run: None };
static STATE: StateInterface = StateInterface { save, restore };

pub fn extension_data(uri: &CStr) -> *const c_void {
    if uri == WORKER_INTERFACE {
        &WORKER as *const WorkerInterface as *const c_void
    } else if uri == STATE_INTERFACE {
        &STATE as *const StateInterface as *const c_void
    } else {
        std::ptr::null()
    }
}

#[derive(Default)]
struct Urids {
    atom_path: u32,
    atom_urid: u32,
    atom_object: u32,
    atom_blank: u32,
    atom_sequence: u32,
    patch_set: u32,
    patch_get: u32,
    patch_property: u32,
    patch_value: u32,
    model: u32,
}

/// A model read and built by the worker, on its way to the audio thread; then the box that
/// carries the model swapped out back to the worker to be freed.
struct Delivery {
    model: Option<PreparedModel>,
    path: Vec<u8>,
}

pub(crate) struct Loader {
    urids: Option<Urids>,
    schedule: *const WorkerSchedule,
    control: *const u8,
    notify: *mut u8,
    rate_hz: f64,
    log: Log,
    /// The path of the model playing.
    path: [u8; MAX_PATH_BYTES],
    path_len: usize,
    notify_pending: bool,
    /// A delivery box waiting for the model now fading out, to carry it to the worker.
    holding: *mut Delivery,
}

impl Drop for Loader {
    fn drop(&mut self) {
        if !self.holding.is_null() {
            // SAFETY: a box this loader made and still owns.
            drop(unsafe { Box::from_raw(self.holding) });
        }
    }
}

impl Loader {
    pub(crate) unsafe fn new(features: *const *const Feature, rate_hz: f64, log: Log) -> Loader {
        let map = feature(features, URID_MAP) as *const UridMap;
        let schedule = feature(features, WORKER_SCHEDULE) as *const WorkerSchedule;
        let urids = (!map.is_null()).then(|| {
            let m = |uri: &CStr| ((*map).map)((*map).handle, uri.as_ptr());
            Urids {
                atom_path: m(c"http://lv2plug.in/ns/ext/atom#Path"),
                atom_urid: m(c"http://lv2plug.in/ns/ext/atom#URID"),
                atom_object: m(c"http://lv2plug.in/ns/ext/atom#Object"),
                atom_blank: m(c"http://lv2plug.in/ns/ext/atom#Blank"),
                atom_sequence: m(c"http://lv2plug.in/ns/ext/atom#Sequence"),
                patch_set: m(c"http://lv2plug.in/ns/ext/patch#Set"),
                patch_get: m(c"http://lv2plug.in/ns/ext/patch#Get"),
                patch_property: m(c"http://lv2plug.in/ns/ext/patch#property"),
                patch_value: m(c"http://lv2plug.in/ns/ext/patch#value"),
                model: m(MODEL_PARAMETER),
            }
        });
        if urids.is_none() || schedule.is_null() {
            log.error("the host gives no URID map or no worker: the loader cannot load a model (it passes its input through)");
        }
        Loader { urids, schedule, control: std::ptr::null(), notify: std::ptr::null_mut(), rate_hz, log, path: [0; MAX_PATH_BYTES], path_len: 0, notify_pending: false, holding: std::ptr::null_mut() }
    }

    /// Port `k` after the parameters: 0 control (in), 1 notify (out).
    pub(crate) fn connect(&mut self, k: usize, data: *mut c_void) {
        match k {
            0 => self.control = data as *const u8,
            1 => self.notify = data as *mut u8,
            _ => {}
        }
    }

    unsafe fn schedule(&self, data: &[u8]) -> bool {
        !self.schedule.is_null() && ((*self.schedule).schedule_work)((*self.schedule).handle, data.len() as u32, data.as_ptr() as *const c_void) == 0
    }

    /// Hand `d` (with whatever model it carries) to the worker to be freed.
    unsafe fn free_later(&self, d: *mut Delivery) {
        let mut msg = [0u8; 9];
        msg[0] = b'F';
        msg[1..].copy_from_slice(&(d as usize).to_ne_bytes());
        if !self.schedule(&msg) {
            // No worker to free it on: keep it rather than free on the audio thread.
            std::mem::forget(Box::from_raw(d));
        }
    }

    /// Before the audio of a block: read the host's messages, answer them, hand on the model a
    /// fade finished with. Real-time safe.
    pub(crate) unsafe fn run(&mut self, amp: &mut Amp) {
        if let Some(old) = amp.take_retired() {
            if !self.holding.is_null() {
                (*self.holding).model = Some(old);
                self.free_later(self.holding);
                self.holding = std::ptr::null_mut();
            } else {
                std::mem::forget(old);
            }
        }
        let Some(u) = &self.urids else { return };
        if !self.control.is_null() {
            let header = &*(self.control as *const atom::Atom);
            let seq = std::slice::from_raw_parts(self.control, 8 + header.size as usize);
            for (kind, body) in atom::sequence_events(seq) {
                if kind != u.atom_object && kind != u.atom_blank {
                    continue;
                }
                let Some((otype, props)) = atom::object(body) else { continue };
                if otype == u.patch_get {
                    self.notify_pending = true;
                } else if otype == u.patch_set {
                    let (mut property, mut value) = (0, None);
                    for (key, vtype, v) in props {
                        if key == u.patch_property && vtype == u.atom_urid && v.len() >= 4 {
                            property = u32::from_ne_bytes(v[..4].try_into().unwrap());
                        } else if key == u.patch_value && vtype == u.atom_path {
                            value = Some(v);
                        }
                    }
                    if let (true, Some(v)) = (property == u.model, value) {
                        let path = v.split(|&b| b == 0).next().unwrap_or(&[]);
                        let mut msg = [0u8; 1 + MAX_PATH_BYTES];
                        if !path.is_empty() && path.len() < MAX_PATH_BYTES {
                            msg[0] = b'L';
                            msg[1..1 + path.len()].copy_from_slice(path);
                            self.schedule(&msg[..1 + path.len()]);
                        }
                    }
                }
            }
        }
        if !self.notify.is_null() {
            let capacity = (*(self.notify as *const atom::Atom)).size as usize + 8;
            let out = std::slice::from_raw_parts_mut(self.notify, capacity);
            let urid_bytes = u.model.to_ne_bytes();
            let mut path_bytes = [0u8; MAX_PATH_BYTES + 1];
            path_bytes[..self.path_len].copy_from_slice(&self.path[..self.path_len]);
            let props: [(u32, u32, &[u8]); 2] = [(u.patch_property, u.atom_urid, &urid_bytes), (u.patch_value, u.atom_path, &path_bytes[..self.path_len + 1])];
            let n = if self.notify_pending && self.path_len > 0 { 2 } else { 0 };
            if n > 0 {
                atom::write_object_sequence(out, u.atom_sequence, u.atom_object, u.patch_set, &props[..n]);
            } else {
                atom::write_object_sequence(out, u.atom_sequence, u.atom_object, 0, &[]);
                // An empty sequence: no events.
                let empty = 8u32.to_ne_bytes();
                out[..4].copy_from_slice(&empty);
            }
            self.notify_pending = false;
        }
    }

    fn set_path(&mut self, path: &[u8]) {
        let n = path.len().min(MAX_PATH_BYTES);
        self.path[..n].copy_from_slice(&path[..n]);
        self.path_len = n;
        self.notify_pending = true;
    }
}

/// Read and build the model at `path` for the host's rate.
fn prepare(path: &[u8], rate_hz: f64) -> Result<PreparedModel, String> {
    let path = std::str::from_utf8(path).map_err(|_| "a model path that is not UTF-8".to_string())?;
    let file = NamFile::read(path).map_err(|e| e.to_string())?;
    PreparedModel::new(&file, rate_hz)
}

unsafe fn instance<'a>(handle: *mut c_void) -> Option<&'a mut Instance> {
    (handle as *mut Instance).as_mut()
}

/// On the worker thread: load a model ('L' + path), or free a delivery ('F' + pointer).
unsafe extern "C" fn work(handle: *mut c_void, respond: unsafe extern "C" fn(*mut c_void, u32, *const c_void) -> u32, respond_handle: *mut c_void, size: u32, data: *const c_void) -> u32 {
    let Some(me) = instance(handle) else { return 1 };
    let Some(l) = me.loader.as_ref() else { return 1 };
    if data.is_null() || size == 0 {
        return 1;
    }
    let msg = std::slice::from_raw_parts(data as *const u8, size as usize);
    match msg[0] {
        b'L' => {
            let path = &msg[1..];
            let result = std::panic::catch_unwind(|| prepare(path, l.rate_hz)).unwrap_or_else(|_| Err("the model could not be built".into()));
            match result {
                Ok(model) => {
                    let d = Box::into_raw(Box::new(Delivery { model: Some(model), path: path.to_vec() }));
                    let ptr = (d as usize).to_ne_bytes();
                    if respond(respond_handle, ptr.len() as u32, ptr.as_ptr() as *const c_void) != 0 {
                        drop(Box::from_raw(d));
                        return 1;
                    }
                }
                Err(e) => {
                    let what = if l.path_len > 0 { "the model playing goes on" } else { "the plugin passes its input through" };
                    l.log.error(&format!("{e}; {what}"));
                }
            }
            0
        }
        b'F' if msg.len() == 9 => {
            let d = usize::from_ne_bytes(msg[1..9].try_into().unwrap()) as *mut Delivery;
            drop(Box::from_raw(d));
            0
        }
        _ => 1,
    }
}

/// On the audio thread: put the delivered model in to play.
unsafe extern "C" fn work_response(handle: *mut c_void, size: u32, body: *const c_void) -> u32 {
    let Some(me) = instance(handle) else { return 1 };
    if size as usize != std::mem::size_of::<usize>() || body.is_null() {
        return 1;
    }
    let d = usize::from_ne_bytes(std::slice::from_raw_parts(body as *const u8, size as usize).try_into().unwrap()) as *mut Delivery;
    let Some(l) = me.loader.as_mut() else { return 1 };
    let new = (*d).model.take();
    let retired = me.amp.swap_model(new);
    l.set_path(&(*d).path);
    // Whenever a model fades out, `holding` waits to carry it to the worker.
    if let Some(r) = retired {
        if l.holding.is_null() {
            // Swapped before anything played: nothing fades, the old model goes at once.
            (*d).model = Some(r);
            l.free_later(d);
            return 0;
        }
        (*l.holding).model = Some(r);
        l.free_later(l.holding);
        l.holding = std::ptr::null_mut();
    }
    if me.amp.fading_out() {
        l.holding = d;
    } else {
        l.free_later(d);
    }
    0
}

/// The model's path, as the host's session keeps it (abstract, when the host maps paths).
unsafe extern "C" fn save(handle: *mut c_void, store: StoreFn, state: *mut c_void, _flags: u32, features: *const *const Feature) -> u32 {
    let Some(me) = instance(handle) else { return 1 };
    let Some(l) = me.loader.as_ref() else { return 1 };
    let Some(u) = &l.urids else { return 0 };
    if l.path_len == 0 {
        return 0;
    }
    let Ok(path) = CString::new(&l.path[..l.path_len]) else { return 1 };
    let map = feature(features, STATE_MAP_PATH) as *const MapPath;
    let (stored, mapped) = if map.is_null() { (path.as_ptr() as *mut c_char, false) } else { (((*map).abstract_path)((*map).handle, path.as_ptr()), true) };
    if stored.is_null() {
        return 1;
    }
    let len = CStr::from_ptr(stored).to_bytes_with_nul().len();
    let status = store(state, u.model, stored as *const c_void, len, u.atom_path, 1 | 2);
    if mapped {
        free_path(features, stored);
    }
    status
}

unsafe fn free_path(features: *const *const Feature, p: *mut c_char) {
    let free = feature(features, STATE_FREE_PATH) as *const FreePath;
    if free.is_null() {
        libc::free(p as *mut c_void);
    } else {
        ((*free).free_path)((*free).handle, p);
    }
}

/// The saved model, loaded again (off the audio thread: the host does not run the plugin meanwhile).
unsafe extern "C" fn restore(handle: *mut c_void, retrieve: RetrieveFn, state: *mut c_void, _flags: u32, features: *const *const Feature) -> u32 {
    let Some(me) = instance(handle) else { return 1 };
    let Some(l) = me.loader.as_mut() else { return 1 };
    let Some(u) = &l.urids else { return 0 };
    let (mut size, mut kind, mut flags) = (0usize, 0u32, 0u32);
    let value = retrieve(state, u.model, &mut size, &mut kind, &mut flags);
    if value.is_null() || kind != u.atom_path || size == 0 {
        return 0;
    }
    let saved = std::slice::from_raw_parts(value as *const u8, size);
    let saved = saved.split(|&b| b == 0).next().unwrap_or(&[]).to_vec();
    let map = feature(features, STATE_MAP_PATH) as *const MapPath;
    let path = match (map.is_null(), CString::new(saved.clone())) {
        (false, Ok(c)) => {
            let abs = ((*map).absolute_path)((*map).handle, c.as_ptr());
            if abs.is_null() {
                saved
            } else {
                let p = CStr::from_ptr(abs).to_bytes().to_vec();
                free_path(features, abs);
                p
            }
        }
        _ => saved,
    };
    let prepared = std::panic::catch_unwind(|| prepare(&path, l.rate_hz)).unwrap_or_else(|_| Err("the model could not be built".into()));
    match prepared {
        Ok(model) => {
            drop(me.amp.set_model_now(Some(model)));
            if !l.holding.is_null() {
                drop(Box::from_raw(l.holding));
                l.holding = std::ptr::null_mut();
            }
            l.set_path(&path);
            0
        }
        Err(e) => {
            l.log.error(&format!("restoring the session: {e}"));
            1
        }
    }
}
