//! The portable kernels: plain Rust with eight independent partial sums, which compilers
//! vectorise with SSE. Every other variant is tested against these.

/// Portable kernel: eight lanes of partial sums, combined at the end.
pub fn dot_portable(query: &[f32], row: &[u8]) -> f32 {
    assert_eq!(row.len(), query.len() * 4, "row and query differ in length");
    let mut acc = [0f32; 8];
    let qc = query.chunks_exact(8);
    let rc = row.chunks_exact(32);
    let (q_tail, r_tail) = (qc.remainder(), rc.remainder());
    for (q, r) in qc.zip(rc) {
        for k in 0..8 {
            let v = f32::from_le_bytes([r[4 * k], r[4 * k + 1], r[4 * k + 2], r[4 * k + 3]]);
            acc[k] += q[k] * v;
        }
    }
    let mut sum = (acc[0] + acc[4]) + (acc[1] + acc[5]) + (acc[2] + acc[6]) + (acc[3] + acc[7]);
    for (q, r) in q_tail.iter().zip(r_tail.chunks_exact(4)) {
        sum += q * f32::from_le_bytes([r[0], r[1], r[2], r[3]]);
    }
    sum
}

/// Portable squared norm, eight lanes of partial sums.
pub(crate) fn norm_sq_portable(row: &[u8]) -> f32 {
    let mut acc = [0f32; 8];
    let rc = row.chunks_exact(32);
    let tail = rc.remainder();
    for r in rc {
        for (k, a) in acc.iter_mut().enumerate() {
            let v = f32::from_le_bytes([r[4 * k], r[4 * k + 1], r[4 * k + 2], r[4 * k + 3]]);
            *a += v * v;
        }
    }
    let mut sum = (acc[0] + acc[4]) + (acc[1] + acc[5]) + (acc[2] + acc[6]) + (acc[3] + acc[7]);
    for c in tail.chunks_exact(4) {
        let v = f32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        sum += v * v;
    }
    sum
}

/// `sum_j c[j] * w[j]` modulo 2^32 (wrapping, as every SIMD variant's lanes do).
pub(crate) fn dot_u8_i16_portable(c: &[u8], w: &[i16]) -> i32 {
    c.iter().zip(w).fold(0i32, |s, (&a, &b)| {
        s.wrapping_add(i32::from(a) * i32::from(b))
    })
}
