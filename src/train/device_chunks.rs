//! Host-side preparation of work for an accelerator: the encoded corpus is cut into chunks of
//! subsampled sentences (word ids back to back, and where each sentence starts), prepared by
//! host threads while the device trains on the previous chunk.
//!
//! Everything here runs without a GPU and is tested on its own; the CUDA runner
//! (`train::cuda`, cargo feature `cuda`) only copies chunks to the device and launches kernels.

use super::corpus::SENTENCE_END;
use super::sampling::Lcg;

/// Sentences of subsampled word ids, ready to copy to a device.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Chunk {
    /// Kept word ids, sentence after sentence.
    pub ids: Vec<u32>,
    /// `offsets[i]..offsets[i + 1]` is sentence `i` (so `offsets.len()` = sentences + 1).
    pub offsets: Vec<u32>,
    /// Corpus words read for this chunk, kept or not (what the learning-rate schedule counts).
    pub words_read: u64,
}

impl Chunk {
    /// Number of sentences.
    pub(crate) fn sentences(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }
}

/// Cuts `ids` (an encoded corpus slice, sentences ended by [`SENTENCE_END`]) into chunks of whole
/// sentences, closing a chunk at the first sentence end after `chunk_words` kept words. Words are kept with probability `keep[id]` (subsampling, drawn
/// from `rng`); sentences with fewer than two kept words are dropped (no window to train);
/// sentences longer than `max_sentence` kept words are split.
pub(crate) fn chunks<'a>(
    ids: &'a [u32],
    keep: &'a [f32],
    chunk_words: usize,
    max_sentence: usize,
    mut rng: Lcg,
) -> impl Iterator<Item = Chunk> + 'a {
    let mut pos = 0usize;
    std::iter::from_fn(move || {
        if pos >= ids.len() {
            return None;
        }
        let mut c = Chunk {
            ids: Vec::with_capacity(chunk_words),
            offsets: vec![0],
            words_read: 0,
        };
        let mut sentence_start = 0usize;
        while pos < ids.len() {
            let id = ids[pos];
            pos += 1;
            if id == SENTENCE_END {
                close_sentence(&mut c, &mut sentence_start);
                if c.ids.len() >= chunk_words {
                    break;
                }
                continue;
            }
            c.words_read += 1;
            let k = keep[id as usize];
            if k < 1.0 && k < rng.coin() {
                continue;
            }
            c.ids.push(id);
            if c.ids.len() - sentence_start == max_sentence {
                close_sentence(&mut c, &mut sentence_start);
            }
        }
        close_sentence(&mut c, &mut sentence_start);
        Some(c)
    })
}

fn close_sentence(c: &mut Chunk, start: &mut usize) {
    if c.ids.len() - *start < 2 {
        c.ids.truncate(*start);
    } else {
        c.offsets.push(c.ids.len() as u32);
        *start = c.ids.len();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const E: u32 = SENTENCE_END;

    #[test]
    fn sentences_and_chunk_bounds() {
        let ids = [0, 1, 2, E, 3, E, 4, 5, E, 6, 7, 8, 9, E];
        let keep = [1.0f32; 10];
        let all: Vec<Chunk> = chunks(&ids, &keep, 4, 100, Lcg::new(1, 1)).collect();
        // Sentence [3] has one word and is dropped; a chunk closes at the first sentence end
        // after 4 kept words.
        assert_eq!(all.len(), 2);
        assert_eq!(
            (all[0].ids.as_slice(), all[0].offsets.as_slice()),
            (&[0, 1, 2, 4, 5][..], &[0, 3, 5][..])
        );
        assert_eq!(
            (all[1].ids.as_slice(), all[1].offsets.as_slice()),
            (&[6, 7, 8, 9][..], &[0, 4][..])
        );
        assert_eq!(all.iter().map(|c| c.words_read).sum::<u64>(), 10);
        for c in &all {
            assert_eq!(*c.offsets.last().unwrap() as usize, c.ids.len());
            assert!(c.offsets.windows(2).all(|w| w[1] - w[0] >= 2));
        }
    }

    #[test]
    fn long_sentences_are_split() {
        let ids: Vec<u32> = (0..10).chain([E]).collect();
        let keep = [1.0f32; 10];
        let c: Vec<Chunk> = chunks(&ids, &keep, 1000, 4, Lcg::new(1, 1)).collect();
        assert_eq!(c[0].offsets, [0, 4, 8, 10]);
    }

    #[test]
    fn subsampling_keeps_the_expected_share_reproducibly() {
        let ids: Vec<u32> = (0..100_000)
            .map(|i| if i % 50 == 49 { E } else { (i % 2) as u32 })
            .collect();
        let keep = [0.25f32, 1.0];
        let run = || chunks(&ids, &keep, 1 << 20, 10_000, Lcg::new(9, 3)).collect::<Vec<_>>();
        let a = run();
        assert_eq!(a, run(), "same seed, same chunks");
        let kept0 = a.iter().flat_map(|c| &c.ids).filter(|&&w| w == 0).count() as f64;
        let total0 = ids.iter().filter(|&&w| w == 0).count() as f64;
        assert!(
            (kept0 / total0 - 0.25).abs() < 0.01,
            "kept share {}",
            kept0 / total0
        );
        assert_eq!(a.iter().map(|c| c.words_read).sum::<u64>(), 98_000);
    }
}
