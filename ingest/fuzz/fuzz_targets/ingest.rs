//! Fuzz target `ingest`: any byte string given to `Radiograph::from_bytes` must give a radiograph
//! or an error, never a panic, hang or runaway allocation; every profile must then render.
//! Seed it with the fixtures: `ingest/fuzz/seed_corpus.sh`.

#![no_main]

use libfuzzer_sys::fuzz_target;
use raddraft_ingest::{BitDepth, Profile, Radiograph};

fuzz_target!(|data: &[u8]| {
    if let Ok(radiograph) = Radiograph::from_bytes(data, "fuzz-input") {
        for profile in [Profile::MimicCxrJpg, Profile::Display, Profile::Raw] {
            let image = radiograph.render(profile);
            assert_eq!(image.width(), radiograph.pixels().width());
        }
        let _ = radiograph.render_display(None, BitDepth::Sixteen);
        let _ = radiograph.pixels().statistics();
    }
});
