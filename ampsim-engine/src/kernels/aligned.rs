//! Floats whose first element sits on a 64-byte boundary: a cache line, one AVX-512 vector.
//! A `Vec<f32>` lands wherever the allocator puts it (16-byte aligned), and a vector load from
//! a buffer that straddles cache lines costs more: an LSTM's speed swung by ±15 % from one
//! instance to the next with the addresses of its weights.

use std::ops::{Deref, DerefMut};

#[derive(Debug, Default)]
pub(crate) struct Aligned {
    buf: Vec<f32>,
    start: usize,
    len: usize,
}

impl Aligned {
    /// `len` zeros.
    pub(crate) fn zeros(len: usize) -> Aligned {
        let buf = vec![0.0f32; len + 15];
        let misalignment = buf.as_ptr() as usize % 64;
        let start = if misalignment == 0 { 0 } else { (64 - misalignment) / std::mem::size_of::<f32>() };
        Aligned { buf, start, len }
    }

    /// A copy of `values`.
    pub(crate) fn from_slice(values: &[f32]) -> Aligned {
        let mut a = Aligned::zeros(values.len());
        a.copy_from_slice(values);
        a
    }
}

impl Clone for Aligned {
    /// A new allocation, aligned again.
    fn clone(&self) -> Aligned {
        Aligned::from_slice(self)
    }
}

impl Deref for Aligned {
    type Target = [f32];
    fn deref(&self) -> &[f32] {
        &self.buf[self.start..self.start + self.len]
    }
}

impl DerefMut for Aligned {
    fn deref_mut(&mut self) -> &mut [f32] {
        &mut self.buf[self.start..self.start + self.len]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_buffer_starts_on_a_cache_line_and_holds_what_it_was_given() {
        for len in [0, 1, 3, 17, 1000] {
            let values: Vec<f32> = (0..len).map(|i| i as f32).collect();
            let a = Aligned::from_slice(&values);
            assert_eq!(a.as_ptr() as usize % 64, 0);
            assert_eq!(&a[..], &values[..]);
            assert_eq!(a.clone().as_ptr() as usize % 64, 0);
        }
    }
}
