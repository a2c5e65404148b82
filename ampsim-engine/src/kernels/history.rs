//! A delay line for several channels: the current block is written at `pos`, and the
//! `lookback` samples before it stay readable, without reallocating. When the buffer is full,
//! the last `lookback` samples move to its start (amortised: rarely, and only `lookback` of them).

/// `rows` channels, each `stride` samples long, the current block at `pos..`.
#[derive(Clone, Debug)]
pub(crate) struct History {
    data: Vec<f32>,
    rows: usize,
    stride: usize,
    lookback: usize,
    pos: usize,
}

impl History {
    /// Room for blocks of up to `max_block` samples and `lookback` samples before them.
    pub(crate) fn new(rows: usize, lookback: usize, max_block: usize) -> History {
        let stride = 2 * lookback + 8 * max_block;
        History { data: vec![0.0; rows * stride], rows, stride, lookback, pos: lookback }
    }

    /// Make room for a block of `n ≤ max_block` samples at [`Self::pos`].
    #[inline(always)]
    pub(crate) fn begin(&mut self, n: usize) {
        if self.pos + n > self.stride {
            for r in 0..self.rows {
                let row = r * self.stride;
                self.data.copy_within(row + self.pos - self.lookback..row + self.pos, row);
            }
            self.pos = self.lookback;
        }
    }

    /// The block of `n` samples is done: the next one starts after it.
    #[inline(always)]
    pub(crate) fn end(&mut self, n: usize) {
        self.pos += n;
    }

    /// Silence, as at the start.
    pub(crate) fn reset(&mut self) {
        self.data.fill(0.0);
        self.pos = self.lookback;
    }

    /// All rows; row `r`'s sample at time `t` of the current block (t may be negative down to
    /// −lookback) is at `r·stride + pos + t`.
    #[inline(always)]
    pub(crate) fn data(&self) -> &[f32] {
        &self.data
    }

    #[inline(always)]
    pub(crate) fn data_mut(&mut self) -> &mut [f32] {
        &mut self.data
    }

    #[inline(always)]
    pub(crate) fn stride(&self) -> usize {
        self.stride
    }

    #[inline(always)]
    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    /// Where the oldest readable sample of the current block's row 0 lies (`pos − lookback`).
    #[inline(always)]
    pub(crate) fn base(&self) -> usize {
        self.pos - self.lookback
    }
}
