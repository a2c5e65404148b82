//! One training step of a sequence model split over CPU threads.
//!
//! libtorch parallelises each operation over its threads; for these models (16-channel
//! convolutions, 24-unit recurrences) most of that time goes into handing small pieces of
//! work between the threads. Giving each thread its own part of the batch, run with one
//! libtorch thread, is faster (figures in docs/experiments.md).
//!
//! Each worker owns a replica of the model. A step copies the current weights into the
//! replicas, runs the forward passes side by side, computes the loss of the whole batch (so the
//! loss is exactly the one of an undivided batch), runs the backward passes side by side and
//! adds the replicas' gradients in a fixed order: a seeded run gives the same result every time
//! with the same number of workers.
//!
//! With glibc, the first replicas also limit the allocator to one arena: each worker thread
//! otherwise gets an arena of its own, whose heaps are too small for these activations, and
//! every step then maps and unmaps fresh memory.

use tch::nn;
use tch::Tensor;

use crate::training::losses::esr;
use crate::models::CausalModel;
use crate::training::seq_data::{join_scored, score_piece, SeqData};
use crate::{Error, Result};

struct Replica {
    model: Box<dyn CausalModel>,
    /// This replica's copy of each shared variable, in the order of `Workers::main`.
    vars: Vec<Tensor>,
}

/// Model replicas, one per worker thread.
pub(crate) struct Workers {
    replicas: Vec<Replica>,
    /// The trained model's variables, sorted by name.
    main: Vec<Tensor>,
    /// libtorch's thread count before the workers set theirs to one (libtorch also keeps that
    /// count process-wide), put back after every step and validation.
    threads: i32,
    // The replicas' variable stores keep their variables alive.
    _stores: Vec<nn::VarStore>,
}

impl Workers {
    /// `count` replicas of `model`, whose variables live in `vs`. `None` when the replicas'
    /// variables cannot be matched one to one with `vs`'s by name (e.g. `vs` holds other
    /// variables too): training then runs undivided.
    pub(crate) fn new<M: CausalModel + ?Sized>(model: &M, vs: &nn::VarStore, count: usize) -> Result<Option<Workers>> {
        one_allocator_arena();
        let mut main: Vec<(String, Tensor)> = vs.variables().into_iter().collect();
        main.sort_by(|a, b| a.0.cmp(&b.0));
        let (mut replicas, mut stores) = (Vec::new(), Vec::new());
        for _ in 0..count {
            let store = nn::VarStore::new(vs.device());
            let replica = model.replica(&store.root())?;
            let mut theirs = store.variables();
            if theirs.len() != main.len() {
                return Ok(None);
            }
            // The model may live under a prefix in `vs` ("wavenet.array0…" vs "array0…").
            let mut vars = Vec::with_capacity(main.len());
            for (name, _) in &main {
                let key = theirs.keys().find(|k| name == *k || name.ends_with(&format!(".{k}"))).cloned();
                match key.and_then(|k| theirs.remove(&k)) {
                    Some(t) => vars.push(t),
                    None => return Ok(None),
                }
            }
            replicas.push(Replica { model: replica, vars });
            stores.push(store);
        }
        Ok(Some(Workers { replicas, main: main.into_iter().map(|(_, t)| t).collect(), threads: tch::get_num_threads(), _stores: stores }))
    }

    pub(crate) fn count(&self) -> usize {
        self.replicas.len()
    }

    /// Copy the trained model's current weights into every replica.
    fn sync_weights(&mut self) {
        tch::no_grad(|| {
            for r in &mut self.replicas {
                for (mine, main) in r.vars.iter_mut().zip(&self.main) {
                    mine.copy_(main);
                }
            }
        });
    }

    /// Set the gradients of the trained model's variables for the batch `x` → `y` under `loss`
    /// (leaves earlier gradients untouched: zero them first) and return the loss value.
    pub(crate) fn gradients(&mut self, x: &Tensor, y: &Tensor, loss: impl Fn(&Tensor, &Tensor) -> Tensor) -> Result<f64> {
        let result = self.divided_gradients(x, y, loss);
        tch::set_num_threads(self.threads);
        result
    }

    fn divided_gradients(&mut self, x: &Tensor, y: &Tensor, loss: impl Fn(&Tensor, &Tensor) -> Tensor) -> Result<f64> {
        self.sync_weights();
        let batch = x.size()[0];
        let n = (self.count() as i64).min(batch).max(1);
        let rows = |k: i64| (k * batch / n, (k + 1) * batch / n - k * batch / n);
        let parts: Vec<Tensor> = (0..n).map(|k| { let (s, l) = rows(k); x.narrow(0, s, l) }).collect();
        // Forward passes side by side, one libtorch thread each.
        let outputs: Vec<Tensor> = std::thread::scope(|s| {
            let handles: Vec<_> = self.replicas.iter_mut().zip(parts).map(|(r, part)| {
                s.spawn(move || {
                    tch::set_num_threads(1);
                    r.model.forward_aligned(&part)
                })
            }).collect();
            handles.into_iter().map(|h| h.join()).collect::<std::result::Result<Vec<_>, _>>()
        }).map_err(|_| Error::Worker { during: "in the forward pass" })?;
        // The loss of the whole batch, and its gradient with respect to every output.
        let joined = Tensor::cat(&outputs.iter().map(|o| o.detach()).collect::<Vec<_>>(), 0).set_requires_grad(true);
        let value = loss(&joined, y);
        let d_joined = Tensor::run_backward(&[&value], &[&joined], false, false).pop().expect("one input, one gradient");
        // Backward passes side by side: ∂(Σ output·g)/∂w is the gradient of the batch's loss.
        std::thread::scope(|s| {
            let handles: Vec<_> = self.replicas.iter_mut().zip(outputs).enumerate().map(|(k, (r, out))| {
                let (start, len) = rows(k as i64);
                let g = d_joined.narrow(0, start, len);
                s.spawn(move || {
                    tch::set_num_threads(1);
                    for v in &mut r.vars {
                        v.zero_grad();
                    }
                    (&out * g).sum(out.kind()).backward();
                })
            }).collect();
            handles.into_iter().try_for_each(|h| h.join())
        }).map_err(|_| Error::Worker { during: "in the backward pass" })?;
        // Σ over replicas in a fixed order, placed in the trained model's gradients.
        let mut proxy: Option<Tensor> = None;
        for (i, main) in self.main.iter().enumerate() {
            let grads: Vec<Tensor> = self.replicas.iter().take(n as usize).map(|r| r.vars[i].grad()).filter(|g| g.defined()).collect();
            let Some(first) = grads.first() else { continue };
            let total = grads[1..].iter().fold(first.detach().copy(), |acc, g| acc + g);
            let term = (main * total).sum(main.kind());
            proxy = Some(match proxy { None => term, Some(p) => p + term });
        }
        if let Some(p) = proxy {
            p.backward();
        }
        Ok(value.double_value(&[]))
    }

    /// [`crate::training::seq_data::validation_esr`] of the trained model, with the pieces shared out
    /// among the replicas.
    pub(crate) fn validation_esr(&mut self, data: &SeqData) -> Result<f64> {
        let result = self.divided_validation_esr(data);
        tch::set_num_threads(self.threads);
        result
    }

    fn divided_validation_esr(&mut self, data: &SeqData) -> Result<f64> {
        self.sync_weights();
        let n = self.count();
        let scored = std::thread::scope(|s| {
            let handles: Vec<_> = self.replicas.iter_mut().enumerate().map(|(k, r)| {
                let mine: Vec<(usize, Tensor, Tensor)> = data.pieces().iter().enumerate().skip(k).step_by(n).map(|(i, (d, a))| (i, d.shallow_clone(), a.shallow_clone())).collect();
                s.spawn(move || {
                    tch::set_num_threads(1);
                    mine.into_iter().map(|(i, d, a)| Ok((i, score_piece(&r.model, &d, &a)?))).collect::<Result<Vec<_>>>()
                })
            }).collect();
            handles.into_iter().map(|h| h.join()).collect::<std::result::Result<Vec<_>, _>>()
        }).map_err(|_| Error::Worker { during: "in validation" })?;
        let mut pieces: Vec<_> = scored.into_iter().collect::<Result<Vec<_>>>()?.into_iter().flatten().collect();
        pieces.sort_by_key(|(i, _)| *i);
        let (y, y_hat) = join_scored(pieces.into_iter().map(|(_, p)| p).collect(), self.replicas[0].model.warm_up_samples())?;
        esr(&y, &y_hat)
    }
}

/// Ask glibc's allocator to serve all threads from one arena (see the module's notes).
fn one_allocator_arena() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        static ONCE: std::sync::Once = std::sync::Once::new();
        // SAFETY: mallopt only changes allocator settings; M_ARENA_MAX takes any positive value.
        ONCE.call_once(|| unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 1);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::training::losses::LossConfig;
    use crate::models::{Lstm, LstmConfig, WaveNet, WaveNetConfig};
    use tch::{Device, Kind};

    /// Gradients of the undivided batch, by variable name.
    fn direct_gradients<M: CausalModel + ?Sized>(model: &M, vs: &nn::VarStore, x: &Tensor, y: &Tensor, loss: &LossConfig) -> Vec<(String, Tensor)> {
        for (_, mut v) in vs.variables() {
            v.zero_grad();
        }
        loss.loss(&model.forward_aligned(x), y).backward();
        let mut g: Vec<(String, Tensor)> = vs.variables().into_iter().map(|(k, v)| {
            let g = v.grad();
            (k, if g.defined() { g.copy() } else { g })
        }).collect();
        g.sort_by(|a, b| a.0.cmp(&b.0));
        for (_, mut v) in vs.variables() {
            v.zero_grad();
        }
        g
    }

    fn check<M: CausalModel + ?Sized>(model: &M, vs: &nn::VarStore, seg: i64) {
        tch::manual_seed(5);
        let warm = model.warm_up_samples() as i64;
        // Five segments of a decaying two-tone signal at different levels; targets from a soft clipper.
        let t = Tensor::arange(warm + seg, (Kind::Float, Device::Cpu));
        let x = Tensor::stack(&(0..5).map(|k| ((&t * (0.01 + 0.004 * k as f64)).sin() + (&t * 0.07).sin() * 0.3) * (0.2 + 0.15 * k as f64)).collect::<Vec<_>>(), 0);
        let y = (x.narrow(1, warm, seg) * 2.0).tanh() * 0.7;
        let loss = LossConfig::default();
        let expected = direct_gradients(model, vs, &x, &y, &loss);
        let want_loss = loss.loss(&model.forward_aligned(&x), &y).double_value(&[]);
        for count in [2, 3] {
            let mut w = Workers::new(model, vs, count).unwrap().expect("replicas match the model");
            for (_, mut v) in vs.variables() {
                v.zero_grad();
            }
            let got_loss = w.gradients(&x, &y, |a, b| loss.loss(a, b)).unwrap();
            assert!((got_loss - want_loss).abs() < 1e-6 * want_loss.abs().max(1.0), "{count} workers: loss {got_loss} vs {want_loss}");
            let mut got: Vec<(String, Tensor)> = vs.variables().into_iter().map(|(k, v)| (k, v.grad())).collect();
            got.sort_by(|a, b| a.0.cmp(&b.0));
            // Float sums in another order: each variable's gradient within 0.1 % of its own
            // largest entry, or 1e-5 of the largest gradient entry of the model (small ones).
            let largest = expected.iter().filter(|(_, e)| e.defined()).map(|(_, e)| e.abs().max().double_value(&[])).fold(0.0, f64::max);
            for ((name, e), (_, g)) in expected.iter().zip(&got) {
                if !e.defined() {
                    continue;
                }
                let scale = e.abs().max().double_value(&[]);
                let diff = (e - g).abs().max().double_value(&[]);
                assert!(diff <= 1e-3 * scale + 1e-5 * largest, "{count} workers, {name}: max |difference| {diff} (scale {scale}, largest {largest})");
            }
        }
    }

    #[test]
    fn divided_batches_give_the_gradients_of_the_whole_batch() {
        let vs = nn::VarStore::new(Device::Cpu);
        let wn = WaveNet::new(&vs.root(), &WaveNetConfig::preset("nano").unwrap()).unwrap();
        check(&wn, &vs, 700);
        let vs = nn::VarStore::new(Device::Cpu);
        let lstm = Lstm::new(&vs.root(), &LstmConfig { burn_in_samples: 64, ..LstmConfig::preset("nano").unwrap() }).unwrap();
        check(&lstm, &vs, 300);
    }

    #[test]
    fn a_model_under_a_prefix_is_matched_and_a_store_with_more_variables_is_not() {
        let vs = nn::VarStore::new(Device::Cpu);
        let _wn = WaveNet::new(&(vs.root() / "amp"), &WaveNetConfig::preset("nano").unwrap()).unwrap();
        let wn = WaveNet::new(&(vs.root() / "other"), &WaveNetConfig::preset("nano").unwrap()).unwrap();
        assert!(Workers::new(&wn, &vs, 2).unwrap().is_none());
        let vs = nn::VarStore::new(Device::Cpu);
        let wn = WaveNet::new(&(vs.root() / "amp"), &WaveNetConfig::preset("nano").unwrap()).unwrap();
        assert_eq!(Workers::new(&wn, &vs, 2).unwrap().map(|w| w.count()), Some(2));
    }
}
