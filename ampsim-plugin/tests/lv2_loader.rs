//! The LV2 loader, driven through its C ABI by a small host written here (lilv's command-line
//! hosts have no worker, atoms or state; what LV2 hosts such as Ardour, Carla and jalv do with
//! them is what this host does): lilv lists it and reads its description; a `patch:Set` of its
//! model path loads the model on the worker, it plays after a crossfade as the engine renders
//! it, the notify port says the path, a session saves and restores it, a bad file leaves the
//! model playing with a message, and the model swapped out is freed on the worker.

mod common;

use std::ffi::{c_char, c_void, CStr, CString};
use std::path::Path;
use std::sync::Mutex;

use ampsim_plugin::bundle::Destination;
use ampsim_plugin::lv2::atom;
use ampsim_plugin::lv2::{Descriptor, Feature};
use common::*;

static URIS: Mutex<Vec<String>> = Mutex::new(Vec::new());

unsafe extern "C" fn map(_: *mut c_void, uri: *const c_char) -> u32 {
    let uri = CStr::from_ptr(uri).to_string_lossy().into_owned();
    let mut uris = URIS.lock().unwrap();
    match uris.iter().position(|u| *u == uri) {
        Some(i) => i as u32 + 1,
        None => {
            uris.push(uri);
            uris.len() as u32
        }
    }
}

fn urid(uri: &str) -> u32 {
    let c = CString::new(uri).unwrap();
    unsafe { map(std::ptr::null_mut(), c.as_ptr()) }
}

#[repr(C)]
struct UridMap {
    handle: *mut c_void,
    map: unsafe extern "C" fn(*mut c_void, *const c_char) -> u32,
}

#[repr(C)]
struct Schedule {
    handle: *mut c_void,
    schedule_work: unsafe extern "C" fn(*mut c_void, u32, *const c_void) -> u32,
}

/// Work the plugin scheduled, and the worker's responses (per host instance).
#[derive(Default)]
struct Queues {
    work: Vec<Vec<u8>>,
    responses: Vec<Vec<u8>>,
}

unsafe extern "C" fn schedule_work(handle: *mut c_void, size: u32, data: *const c_void) -> u32 {
    let q = &*(handle as *const Mutex<Queues>);
    q.lock().unwrap().work.push(std::slice::from_raw_parts(data as *const u8, size as usize).to_vec());
    0
}

unsafe extern "C" fn respond(handle: *mut c_void, size: u32, data: *const c_void) -> u32 {
    let q = &*(handle as *const Mutex<Queues>);
    q.lock().unwrap().responses.push(std::slice::from_raw_parts(data as *const u8, size as usize).to_vec());
    0
}

#[repr(C)]
struct WorkerInterface {
    work: unsafe extern "C" fn(*mut c_void, unsafe extern "C" fn(*mut c_void, u32, *const c_void) -> u32, *mut c_void, u32, *const c_void) -> u32,
    work_response: unsafe extern "C" fn(*mut c_void, u32, *const c_void) -> u32,
    end_run: Option<unsafe extern "C" fn(*mut c_void) -> u32>,
}

type StoreFn = unsafe extern "C" fn(*mut c_void, u32, *const c_void, usize, u32, u32) -> u32;
type RetrieveFn = unsafe extern "C" fn(*mut c_void, u32, *mut usize, *mut u32, *mut u32) -> *const c_void;

#[repr(C)]
struct StateInterface {
    save: unsafe extern "C" fn(*mut c_void, StoreFn, *mut c_void, u32, *const *const Feature) -> u32,
    restore: unsafe extern "C" fn(*mut c_void, RetrieveFn, *mut c_void, u32, *const *const Feature) -> u32,
}

/// A saved session: key → (type, value).
type Session = Vec<(u32, u32, Vec<u8>)>;

unsafe extern "C" fn store(handle: *mut c_void, key: u32, value: *const c_void, size: usize, kind: u32, _flags: u32) -> u32 {
    (*(handle as *mut Session)).push((key, kind, std::slice::from_raw_parts(value as *const u8, size).to_vec()));
    0
}

unsafe extern "C" fn retrieve(handle: *mut c_void, key: u32, size: *mut usize, kind: *mut u32, flags: *mut u32) -> *const c_void {
    match (*(handle as *const Session)).iter().find(|(k, _, _)| *k == key) {
        Some((_, t, v)) => {
            *size = v.len();
            *kind = *t;
            *flags = 3;
            v.as_ptr() as *const c_void
        }
        None => std::ptr::null(),
    }
}

const PARAMS: usize = 3 + ampsim_plugin::params::LOADER_KNOBS;
const BLOCK: usize = 64;

/// One instance of the loader with its ports and its worker.
struct Host {
    descriptor: *const Descriptor,
    handle: *mut c_void,
    queues: Box<Mutex<Queues>>,
    input: Vec<f32>,
    output: Vec<f32>,
    latency: Box<f32>,
    params: Vec<f32>,
    control: Vec<u64>,
    notify: Vec<u64>,
    _features: (Box<UridMap>, Box<Schedule>, Vec<CString>, Vec<Feature>, Vec<*const Feature>),
    /// Work items the plugin asked for, by kind ('L' load, 'F' free).
    done: Vec<u8>,
}

impl Host {
    fn new(descriptor: *const Descriptor, bundle: &Path) -> Host {
        let queues = Box::new(Mutex::new(Queues::default()));
        let urid_map = Box::new(UridMap { handle: std::ptr::null_mut(), map });
        let schedule = Box::new(Schedule { handle: &*queues as *const Mutex<Queues> as *mut c_void, schedule_work });
        let uris = vec![CString::new("http://lv2plug.in/ns/ext/urid#map").unwrap(), CString::new("http://lv2plug.in/ns/ext/worker#schedule").unwrap()];
        let features = vec![Feature { uri: uris[0].as_ptr(), data: &*urid_map as *const UridMap as *mut c_void }, Feature { uri: uris[1].as_ptr(), data: &*schedule as *const Schedule as *mut c_void }];
        let mut list: Vec<*const Feature> = features.iter().map(|f| f as *const Feature).collect();
        list.push(std::ptr::null());
        let path = CString::new(bundle.to_str().unwrap()).unwrap();
        let handle = unsafe { ((*descriptor).instantiate)(descriptor, 48_000.0, path.as_ptr(), list.as_ptr()) };
        assert!(!handle.is_null());
        let mut h = Host {
            descriptor,
            handle,
            queues,
            input: vec![0.0; BLOCK],
            output: vec![0.0; BLOCK],
            latency: Box::new(-1.0),
            params: vec![0.0, 0.0, 1.0, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5],
            control: vec![0; 1024],
            notify: vec![0; 1024],
            _features: (urid_map, schedule, uris, features, list),
            done: Vec::new(),
        };
        unsafe {
            let d = &*descriptor;
            (d.connect_port)(handle, 0, h.input.as_mut_ptr() as *mut c_void);
            (d.connect_port)(handle, 1, h.output.as_mut_ptr() as *mut c_void);
            (d.connect_port)(handle, 2, &mut *h.latency as *mut f32 as *mut c_void);
            for i in 0..PARAMS {
                (d.connect_port)(handle, 3 + i as u32, h.params.as_mut_ptr().add(i) as *mut c_void);
            }
            (d.connect_port)(handle, 3 + PARAMS as u32, h.control.as_mut_ptr() as *mut c_void);
            (d.connect_port)(handle, 4 + PARAMS as u32, h.notify.as_mut_ptr() as *mut c_void);
            if let Some(activate) = d.activate {
                activate(handle);
            }
        }
        h.clear_control();
        h
    }

    fn control_bytes(&mut self) -> &mut [u8] {
        unsafe { std::slice::from_raw_parts_mut(self.control.as_mut_ptr() as *mut u8, self.control.len() * 8) }
    }

    fn clear_control(&mut self) {
        let seq = urid("http://lv2plug.in/ns/ext/atom#Sequence");
        let c = self.control_bytes();
        c[..16].fill(0);
        c[0..4].copy_from_slice(&8u32.to_ne_bytes());
        c[4..8].copy_from_slice(&seq.to_ne_bytes());
    }

    /// A patch message for the next block: Set of the model path, or Get.
    fn send(&mut self, path: Option<&str>) {
        let (seq, obj) = (urid("http://lv2plug.in/ns/ext/atom#Sequence"), urid("http://lv2plug.in/ns/ext/atom#Object"));
        let property = urid(ampsim_plugin::lv2::MODEL_PARAMETER.to_str().unwrap()).to_ne_bytes();
        let (k_prop, k_val, t_urid, t_path) = (urid("http://lv2plug.in/ns/ext/patch#property"), urid("http://lv2plug.in/ns/ext/patch#value"), urid("http://lv2plug.in/ns/ext/atom#URID"), urid("http://lv2plug.in/ns/ext/atom#Path"));
        let value = path.map(|p| format!("{p}\0").into_bytes());
        let ok = match &value {
            Some(v) => atom::write_object_sequence(self.control_bytes(), seq, obj, urid("http://lv2plug.in/ns/ext/patch#Set"), &[(k_prop, t_urid, &property), (k_val, t_path, v)]),
            None => atom::write_object_sequence(self.control_bytes(), seq, obj, urid("http://lv2plug.in/ns/ext/patch#Get"), &[]),
        };
        assert!(ok);
    }

    /// The path in a patch:Set on the notify port after the last block, if any.
    fn notified(&mut self) -> Option<String> {
        let bytes = unsafe { std::slice::from_raw_parts(self.notify.as_ptr() as *const u8, self.notify.len() * 8) };
        let (kind, body) = atom::sequence_events(bytes).next()?;
        assert_eq!(kind, urid("http://lv2plug.in/ns/ext/atom#Object"));
        let (otype, props) = atom::object(body)?;
        assert_eq!(otype, urid("http://lv2plug.in/ns/ext/patch#Set"));
        let value = props.into_iter().find(|(k, _, _)| *k == urid("http://lv2plug.in/ns/ext/patch#value"))?.2;
        Some(String::from_utf8_lossy(value.split(|&b| b == 0).next().unwrap()).into_owned())
    }

    fn worker(&self) -> *const WorkerInterface {
        let uri = CString::new("http://lv2plug.in/ns/ext/worker#interface").unwrap();
        unsafe { ((*self.descriptor).extension_data)(uri.as_ptr()) as *const WorkerInterface }
    }

    fn state(&self) -> *const StateInterface {
        let uri = CString::new("http://lv2plug.in/ns/ext/state#interface").unwrap();
        unsafe { ((*self.descriptor).extension_data)(uri.as_ptr()) as *const StateInterface }
    }

    /// Play `x` block by block as a host does: responses delivered before a block, the block,
    /// then the worker does what the block asked for.
    fn play(&mut self, x: &[f32]) -> Vec<f32> {
        let mut y = Vec::with_capacity(x.len());
        for chunk in x.chunks(BLOCK) {
            let worker = self.worker();
            let responses = std::mem::take(&mut self.queues.lock().unwrap().responses);
            for r in responses {
                unsafe { ((*worker).work_response)(self.handle, r.len() as u32, r.as_ptr() as *const c_void) };
            }
            self.input[..chunk.len()].copy_from_slice(chunk);
            let capacity = (self.notify.len() * 8 - 8) as u32;
            unsafe {
                let n = self.notify.as_mut_ptr() as *mut u32;
                *n = capacity;
                ((*self.descriptor).run)(self.handle, chunk.len() as u32);
            }
            y.extend_from_slice(&self.output[..chunk.len()]);
            self.clear_control();
            let work = std::mem::take(&mut self.queues.lock().unwrap().work);
            for w in work {
                self.done.push(w[0]);
                let q = &*self.queues as *const Mutex<Queues> as *mut c_void;
                let status = unsafe { ((*worker).work)(self.handle, respond, q, w.len() as u32, w.as_ptr() as *const c_void) };
                assert_eq!(status, 0);
            }
        }
        y
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        unsafe { ((*self.descriptor).cleanup)(self.handle) };
    }
}

#[test]
fn the_loader_loads_plays_reports_saves_and_restores_a_model_chosen_in_the_host() {
    let dir = tmpdir("lv2-loader");
    let w = ampsim_plugin::bundle::write_loader(&library(), &Destination::under(&dir)).unwrap();
    // lilv reads its description: the model parameter, the knobs, the atom ports.
    let (lv2_dir, uri) = (dir.join("lv2"), "urn:ampsim:loader");
    let out = std::process::Command::new("lv2info").env("LV2_PATH", &lv2_dir).arg(uri).output().expect("lv2info (lilv-utils)");
    let info = String::from_utf8_lossy(&out.stdout);
    for needle in ["ampsim (any .nam)", "Symbol:      knob8", "Symbol:      control", "Symbol:      notify", "worker#schedule", "state#interface"] {
        assert!(info.contains(needle), "lv2info lacks `{needle}`:\n{info}");
    }

    let models = [dir.join("a.nam"), dir.join("b.nam")];
    let specs = [("gain", 0.0, 1.0), ("treble", 0.0, 10.0)];
    let texts = [knob_lstm_seeded(&specs, 48_000, 7), knob_lstm_seeded(&specs, 48_000, 99)];
    for (p, t) in models.iter().zip(&texts) {
        std::fs::write(p, t).unwrap();
    }
    // SAFETY: our own plugin library.
    let library = unsafe { libloading::Library::new(w.lv2_bundle.join("ampsim_plugin.so")) }.unwrap();
    let descriptor = unsafe { library.get::<unsafe extern "C" fn(u32) -> *const Descriptor>(b"lv2_descriptor").unwrap()(0) };
    assert_eq!(unsafe { CStr::from_ptr((*descriptor).uri) }.to_str().unwrap(), uri);

    let mut host = Host::new(descriptor, &w.lv2_bundle);
    let x = guitar(48_000.0, 0.5);
    // No model yet: the input passes through.
    assert_eq!(host.play(&x[..640]), &x[..640]);
    // The host sets the model: loaded on the worker, in after the next block, faded in over 480 samples.
    host.params[4] = 0.7; // knob 2: treble 7
    host.send(Some(models[0].to_str().unwrap()));
    let y = host.play(&x[640..]);
    assert_eq!(host.done.first(), Some(&b'L'), "the file is read on the worker");
    assert_eq!(host.notified(), None, "the notify port is quiet unless something changed");
    let from = 640 + BLOCK; // the model plays from the block after the one that asked for it
    let expected = engine_render(&texts[0], &[0.5, 7.0], &x[from..]);
    let d = max_difference(&y[BLOCK + 480..], &expected[480..]);
    assert!(d < 1e-5, "after its fade the loaded model plays as the engine renders it: {d}");
    // The host asks what is loaded.
    host.send(None);
    host.play(&x[..BLOCK]);
    assert_eq!(host.notified().as_deref(), models[0].to_str());

    // A file that is not a model: a message, and the model playing goes on.
    let junk = dir.join("junk.nam");
    std::fs::write(&junk, "not json").unwrap();
    host.send(Some(junk.to_str().unwrap()));
    let before = host.done.len();
    host.play(&x[..2 * BLOCK]);
    host.send(Some(dir.join("missing.nam").to_str().unwrap()));
    host.play(&x[..2 * BLOCK]);
    assert_eq!(&host.done[before..], b"LL");
    host.send(None);
    host.play(&x[..BLOCK]);
    assert_eq!(host.notified().as_deref(), models[0].to_str(), "still the first model");

    // Another model: the first is faded out, then freed on the worker.
    host.send(Some(models[1].to_str().unwrap()));
    host.play(&x[..20 * BLOCK]);
    assert!(host.done.ends_with(b"F"), "the model swapped out is freed on the worker: {:?}", host.done);

    // The session: saved, and restored into a fresh instance that plays the model at once.
    let state = host.state();
    let mut session: Session = Vec::new();
    assert_eq!(unsafe { ((*state).save)(host.handle, store, &mut session as *mut Session as *mut c_void, 0, std::ptr::null()) }, 0);
    assert_eq!(session.len(), 1);
    assert!(String::from_utf8_lossy(&session[0].2).starts_with(models[1].to_str().unwrap()));
    drop(host);
    let mut fresh = Host::new(descriptor, &w.lv2_bundle);
    fresh.params[4] = 0.7;
    let status = unsafe { ((*fresh.state()).restore)(fresh.handle, retrieve, &mut session as *mut Session as *mut c_void, 0, std::ptr::null()) };
    assert_eq!(status, 0);
    let y = fresh.play(&x);
    let d = max_difference(&y, &engine_render(&texts[1], &[0.5, 7.0], &x));
    assert!(d < 1e-5, "restored, the model plays from the first sample: {d}");
    drop(fresh);
    std::fs::remove_dir_all(dir).unwrap();
}
