//! Getting a trained model out: Neural Amp Modeler's `.nam` files ([`nam`]) and rendering a
//! DI block by block as a plugin does ([`render`]).

pub mod nam;
pub mod render;
