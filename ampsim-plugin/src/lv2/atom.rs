//! The few LV2 atoms the loader reads and writes, over raw host memory: a sequence of events
//! on its control port, `patch:Set` and `patch:Get` objects, a `patch:Set` of the model's path
//! on its notify port. Reading never trusts a size it has not checked against the buffer.

/// `LV2_Atom`.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct Atom {
    pub size: u32,
    pub kind: u32,
}

const HEADER: usize = 8;

fn pad8(n: usize) -> usize {
    (n + 7) & !7
}

/// An atom's type and body, from `bytes` (header then body).
fn atom_at(bytes: &[u8]) -> Option<(u32, &[u8])> {
    if bytes.len() < HEADER {
        return None;
    }
    let size = u32::from_ne_bytes(bytes[0..4].try_into().ok()?) as usize;
    let kind = u32::from_ne_bytes(bytes[4..8].try_into().ok()?);
    let body = bytes.get(HEADER..HEADER.checked_add(size)?)?;
    Some((kind, body))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// The events of an `atom:Sequence` (its whole memory: header and body): each event's body
/// atom (type and body).
pub fn sequence_events(seq: &[u8]) -> impl Iterator<Item = (u32, &[u8])> {
    let body = atom_at(seq).map_or(&[][..], |(_, b)| b);
    // The body starts with unit and pad (8 bytes); then events: 8 bytes of time, an atom.
    let mut at = 8usize;
    std::iter::from_fn(move || {
        let event = body.get(at + 8..)?;
        let (kind, ev_body) = atom_at(event)?;
        at += 8 + pad8(HEADER + ev_body.len());
        Some((kind, ev_body))
    })
}

/// An object's type (`otype`) and its properties (key, value type, value body).
pub fn object(body: &[u8]) -> Option<(u32, impl Iterator<Item = (u32, u32, &[u8])>)> {
    let otype = u32_at(body, 4)?;
    let mut at = 8usize;
    let props = std::iter::from_fn(move || {
        let key = u32_at(body, at)?;
        let (kind, value) = atom_at(body.get(at + 8..)?)?;
        at += 8 + pad8(HEADER + value.len());
        Some((key, kind, value))
    });
    Some((otype, props))
}

/// Write into `out` (a sequence port's buffer of `out.len()` bytes) a sequence holding one event
/// at frame 0: an object of type `otype` (`object_urid`) with the given properties (key, type,
/// body). Returns false, leaving an empty sequence, when it does not fit.
pub fn write_object_sequence(out: &mut [u8], sequence_urid: u32, object_urid: u32, otype: u32, props: &[(u32, u32, &[u8])]) -> bool {
    let props_len: usize = props.iter().map(|(_, _, v)| 8 + pad8(HEADER + v.len())).sum();
    let object_body = 8 + props_len;
    let event = 8 + HEADER + object_body;
    let total = HEADER + 8 + event;
    if out.len() < HEADER + 8 {
        return false;
    }
    let put = |out: &mut [u8], at: usize, v: u32| out[at..at + 4].copy_from_slice(&v.to_ne_bytes());
    if out.len() < total {
        put(out, 0, 8);
        put(out, 4, sequence_urid);
        out[8..16].fill(0);
        return false;
    }
    out[..total].fill(0);
    put(out, 0, (total - HEADER) as u32);
    put(out, 4, sequence_urid);
    // unit 0, pad 0; the event: time 0, then the object atom.
    let mut at = 16 + 8;
    put(out, at, object_body as u32);
    put(out, at + 4, object_urid);
    put(out, at + 12, otype);
    at += HEADER + 8;
    for (key, kind, value) in props {
        put(out, at, *key);
        put(out, at + 8, value.len() as u32);
        put(out, at + 12, *kind);
        out[at + 16..at + 16 + value.len()].copy_from_slice(value);
        at += 8 + pad8(HEADER + value.len());
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_object_written_in_a_sequence_reads_back_and_short_or_lying_buffers_read_as_nothing() {
        let mut buf = vec![0u8; 256];
        assert!(write_object_sequence(&mut buf, 1, 2, 3, &[(10, 11, &7u32.to_ne_bytes()), (12, 13, b"/a/b.nam\0")]));
        let events: Vec<_> = sequence_events(&buf).collect();
        assert_eq!(events.len(), 1);
        let (kind, body) = events[0];
        assert_eq!(kind, 2);
        let (otype, props) = object(body).unwrap();
        let props: Vec<_> = props.collect();
        assert_eq!(otype, 3);
        assert_eq!(props, vec![(10, 11, &7u32.to_ne_bytes()[..]), (12, 13, &b"/a/b.nam\0"[..])]);
        assert!(!write_object_sequence(&mut buf[..40], 1, 2, 3, &[(12, 13, b"/a/long/path.nam\0")]));
        assert_eq!(sequence_events(&buf[..40]).count(), 0);
        // A sequence claiming more than its buffer holds: nothing is read past the buffer.
        let mut lying = buf.clone();
        lying[0..4].copy_from_slice(&10_000u32.to_ne_bytes());
        assert_eq!(sequence_events(&lying).count(), 0);
        lying[0..4].copy_from_slice(&100u32.to_ne_bytes());
        lying[16 + 8..16 + 12].copy_from_slice(&5_000u32.to_ne_bytes());
        assert_eq!(sequence_events(&lying).count(), 0);
    }
}
