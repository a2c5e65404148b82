//! Parts of an amp modelled as the circuits they are (the grey-box knob model's physics).

pub mod tone_stack;
