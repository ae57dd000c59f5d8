//! Writes a synthetic word2vec binary file shaped like GoogleNews-vectors-negative300.bin:
//! 3,000,000 words x 300 dims by default, no newline after vectors, word lengths and phrase joins
//! (`_`) like GoogleNews' (median ~11 bytes), values of GoogleNews' magnitude. The vectors are
//! random, so it is for load and scan speed only, not for quality or recall.
//!
//! Usage: cargo bench --bench gen_googlenews -- OUT.bin [WORDS] [DIMS]

use std::io::{BufWriter, Write};

/// xorshift64*: fast, deterministic, good enough for synthetic data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn word(rng: &mut Rng, index: u64, out: &mut Vec<u8>) {
    out.clear();
    // One to three tokens; the last carries the index in base 26 so every word is unique.
    let tokens = match rng.below(10) {
        0..=5 => 1,
        6..=8 => 2,
        _ => 3,
    };
    for t in 0..tokens {
        if t > 0 {
            out.push(b'_');
        }
        let len = 2 + rng.below(8);
        for k in 0..len {
            let c = b'a' + rng.below(26) as u8;
            out.push(if k == 0 && rng.below(4) == 0 {
                c.to_ascii_uppercase()
            } else {
                c
            });
        }
    }
    let mut i = index;
    loop {
        out.push(b'a' + (i % 26) as u8);
        i /= 26;
        if i == 0 {
            break;
        }
    }
}

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let Some(out) = args.first() else {
        eprintln!("usage: cargo bench --bench gen_googlenews -- OUT.bin [WORDS] [DIMS]");
        std::process::exit(2);
    };
    let words: u64 = args.get(1).map_or(3_000_000, |s| s.parse().expect("WORDS"));
    let dims: usize = args.get(2).map_or(300, |s| s.parse().expect("DIMS"));
    let mut w = BufWriter::with_capacity(8 << 20, std::fs::File::create(out)?);
    writeln!(w, "{words} {dims}")?;
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut buf = Vec::new();
    let mut vec = vec![0u8; dims * 4];
    for i in 0..words {
        word(&mut rng, i, &mut buf);
        w.write_all(&buf)?;
        w.write_all(b" ")?;
        for c in vec.chunks_exact_mut(4) {
            // Sum of two uniforms: a triangular distribution on [-0.25, 0.25].
            let a = (rng.next() >> 40) as f32 / (1u64 << 24) as f32;
            let b = (rng.next() >> 40) as f32 / (1u64 << 24) as f32;
            c.copy_from_slice(&((a + b - 1.0) * 0.25).to_le_bytes());
        }
        w.write_all(&vec)?;
    }
    w.flush()?;
    eprintln!("wrote {out}: {words} words x {dims} dims");
    Ok(())
}
