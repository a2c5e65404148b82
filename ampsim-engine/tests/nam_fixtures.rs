//! Every `.nam` file written by NAM's own tools (`../shared/data/nam/`) plays as NAM's C++
//! engine renders it (`reference/`, from sample 8 192 on, where both have left their start-up
//! behind — see the README there), in blocks of any size; what the engine cannot play is
//! refused by name. A slimmable WaveNet plays at full size by default, as NAM's engine does,
//! and at every smaller size its Slim value picks.

use std::path::PathBuf;

use ampsim_engine::nam::{self, NamFile};
use ampsim_engine::Renderer;

/// NAM's files beside the repository (skipped when absent, unless AMPSIM_REQUIRE_SHARED=1).
fn fixtures() -> Option<PathBuf> {
    ampsim_testkit::shared("data/nam/reference/input.wav").map(|input| input.parent().unwrap().parent().unwrap().to_path_buf())
}

fn wav(path: PathBuf) -> Vec<f32> {
    hound::WavReader::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())).into_samples::<f32>().map(Result::unwrap).collect()
}

fn play(model: &mut dyn Renderer, x: &[f32], blocks: &[usize]) -> Vec<f32> {
    ampsim_testkit::play_in_blocks(x, blocks, |i, o| model.process(i, o))
}

fn max_difference_from(a: &[f32], b: &[f32], from: usize) -> f32 {
    assert_eq!(a.len(), b.len());
    a[from..].iter().zip(&b[from..]).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

#[test]
fn nams_own_files_play_as_nams_engine_renders_them_at_any_block_size() {
    let Some(dir) = fixtures() else { return };
    let x = wav(dir.join("reference/input.wav"));
    let mixed = [1, 7, 64, 300, 5, 4096, 33, 2048, 2, 8192, 129];
    for (file, slim, reference) in [
        ("A2.nam", None, "A2.wav"),
        ("A2.nam", Some(0.25), "A2.slim0.25.wav"),
        ("wavenet_a1_standard.nam", None, "wavenet_a1_standard.wav"),
        ("lstm.nam", None, "lstm.wav"),
        ("wavenet.nam", None, "wavenet.wav"),
        ("slimmable_container.nam", None, "slimmable_container.wav"),
        ("slimmable_wavenet.nam", None, "slimmable_wavenet.wav"),
        ("wavenet_condition_dsp.nam", None, "wavenet_condition_dsp.wav"),
        ("wavenet_a2_max.nam", None, "wavenet_a2_max.wav"),
    ] {
        let expected = wav(dir.join("reference").join(reference));
        let peak = expected[8192..].iter().fold(0f32, |m, v| m.max(v.abs()));
        assert!(peak > 1e-3, "{reference} is not silent");
        let mut model = nam::load(dir.join(file)).unwrap();
        if let Some(s) = slim {
            assert!(model.set_slim(s), "{file} is a container");
        }
        for blocks in [&[64][..], &[4096], &[1], &mixed] {
            model.reset();
            let y = play(model.as_mut(), &x, blocks);
            let d = max_difference_from(&y, &expected, 8192);
            assert!(d < 1e-4, "{file} slim {slim:?} blocks {blocks:?}: max |difference| {d}");
            if blocks == [64] {
                println!("{file} slim {slim:?}: max |difference| {d:.1e} (peak {peak:.3})");
            }
        }
    }
}

#[test]
fn what_the_engine_cannot_play_is_refused_by_name() {
    let Some(dir) = fixtures() else { return };
    let text = std::fs::read_to_string(dir.join("wavenet_a2_max.nam")).unwrap();
    let original: serde_json::Value = serde_json::from_str(&text).unwrap();
    // NAM's A2-max file, changed in one place each: what the engine does not have.
    let changes: [(&str, fn(&mut serde_json::Value)); 4] = [
        ("activation Mish is not supported", |v| v["config"]["layers"][0]["activation"] = serde_json::json!({"type": "Mish"})),
        ("post-head", |v| v["config"]["head"] = serde_json::json!({"in_channels": 1, "channels": 2, "out_channels": 1, "kernel_sizes": [1], "activation": "Tanh"})),
        ("gating mode sigmoid_tanh is not supported", |v| v["config"]["layers"][0]["gating_mode"] = serde_json::json!("sigmoid_tanh")),
        ("groups_input_mixin: 3 groups do not divide", |v| v["config"]["layers"][0]["groups_input_mixin"] = serde_json::json!(3)),
    ];
    for (feature, change) in changes {
        let mut v = original.clone();
        change(&mut v);
        let err = NamFile::from_value(v, "a2_max_changed.nam").and_then(|f| f.renderer()).err().unwrap_or_else(|| panic!("{feature}: loaded")).to_string();
        assert!(err.contains("a2_max_changed.nam") && err.contains(feature), "{feature}: {err}");
    }
}

#[test]
fn a_slimmable_wavenet_plays_each_size_its_slim_value_picks() {
    let Some(dir) = fixtures() else { return };
    let x = wav(dir.join("reference/input.wav"));
    let mut model = nam::load(dir.join("slimmable_wavenet.nam")).unwrap();
    let full = play(model.as_mut(), &x[..20_000], &[64]);
    // allowed_channels [1, 2, 3]: Slim below 1/3 plays one channel, below 2/3 two, above three.
    let mut outputs = Vec::new();
    for slim in [0.1, 0.5, 0.9] {
        assert!(model.set_slim(slim));
        model.reset();
        outputs.push(play(model.as_mut(), &x[..20_000], &[64]));
    }
    assert_eq!(outputs[2], full, "Slim 0.9 is the full size");
    let differs = |a: &[f32], b: &[f32]| max_difference_from(a, b, 8192) > 1e-3;
    assert!(differs(&outputs[0], &outputs[1]) && differs(&outputs[1], &outputs[2]), "three different sizes");
    assert!(outputs.iter().all(|y| y.iter().all(|v| v.is_finite())));
}


#[test]
fn a2_options_survive_being_written_in_nams_layout_and_read_again() {
    let Some(dir) = fixtures() else { return };
    let text = std::fs::read_to_string(dir.join("wavenet_a2_max.nam")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    for config in [&v["config"]["condition_dsp"]["config"], &v["config"]] {
        let mut config = config.clone();
        config.as_object_mut().unwrap().remove("condition_dsp");
        let cfg = ampsim_engine::WaveNetConfig::from_nam(&config).unwrap();
        assert!(cfg.layers.iter().all(|a| !a.options.is_a1()));
        assert_eq!(ampsim_engine::WaveNetConfig::from_nam(&cfg.to_nam()).unwrap(), cfg);
    }
    let main = ampsim_engine::WaveNetConfig::from_nam(&{
        let mut c = v["config"].clone();
        c.as_object_mut().unwrap().remove("condition_dsp");
        c
    })
    .unwrap();
    assert_eq!(main.nam_weight_count(), v["weights"].as_array().unwrap().len());
}
