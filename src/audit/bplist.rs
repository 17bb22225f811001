//! A bounded look at a binary property list before the `plist` crate
//! reads it: the crate builds a tree, so an object that several arrays or
//! dictionaries reference is copied once per reference, and a 135-byte file
//! whose object i is `[i+1, i+1]` expands to 2^n values (a decompression
//! bomb). This walks the object table once, counts what the tree would
//! hold with shared objects counted per reference (memoised, so the walk
//! itself is linear), and refuses a cycle or a tree over the budget.

/// Values the tree of one profile may hold; real profiles hold a few
/// hundred to a few thousand.
pub(crate) const MAX_VALUES: u64 = 200_000;

/// Why a binary plist is refused before it is read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum BplistError {
    #[error("binary plist is truncated or its offset table is malformed")]
    Malformed,
    #[error("binary plist object {0} refers to itself (a reference cycle)")]
    Cycle(u64),
    #[error(
        "binary plist expands to more than {max} values through shared references \
         ({objects} objects in the file): refused before reading"
    )]
    TooLarge { objects: u64, max: u64 },
}

struct Table<'a> {
    bytes: &'a [u8],
    offsets: Vec<usize>,
    ref_size: usize,
}

fn be(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0u64, |n, b| (n << 8) | u64::from(*b))
}

impl Table<'_> {
    /// The object references of a container at `offset`, or none.
    fn children(&self, offset: usize) -> Result<Vec<u64>, BplistError> {
        let marker = *self.bytes.get(offset).ok_or(BplistError::Malformed)?;
        let (kind, low) = (marker >> 4, marker & 0x0f);
        let per_entry = match kind {
            0xA | 0xC => 1,
            0xD => 2,
            _ => return Ok(Vec::new()),
        };
        let (count, mut at) = if low == 0x0f {
            // The count follows as an int object: marker 0x1n, 2^n bytes.
            let int_marker = *self.bytes.get(offset + 1).ok_or(BplistError::Malformed)?;
            if int_marker >> 4 != 0x1 || int_marker & 0x0f > 3 {
                return Err(BplistError::Malformed);
            }
            let len = 1usize << (int_marker & 0x0f);
            let raw = self
                .bytes
                .get(offset + 2..offset + 2 + len)
                .ok_or(BplistError::Malformed)?;
            (be(raw), offset + 2 + len)
        } else {
            (u64::from(low), offset + 1)
        };
        let entries = usize::try_from(count)
            .ok()
            .and_then(|c| c.checked_mul(per_entry))
            .ok_or(BplistError::Malformed)?;
        let end = entries
            .checked_mul(self.ref_size)
            .and_then(|n| n.checked_add(at))
            .ok_or(BplistError::Malformed)?;
        if end > self.bytes.len() {
            return Err(BplistError::Malformed);
        }
        let mut out = Vec::with_capacity(entries);
        for _ in 0..entries {
            out.push(be(&self.bytes[at..at + self.ref_size]));
            at += self.ref_size;
        }
        Ok(out)
    }
}

/// Refuses `bytes` (a `bplist00` file) when reading it would build more
/// than [`MAX_VALUES`] values, or when its references form a cycle.
pub(crate) fn check_expansion(bytes: &[u8]) -> Result<(), BplistError> {
    if bytes.len() < 8 + 32 {
        return Err(BplistError::Malformed);
    }
    let trailer = &bytes[bytes.len() - 32..];
    let offset_size = usize::from(trailer[6]);
    let ref_size = usize::from(trailer[7]);
    let objects = be(&trailer[8..16]);
    let top = be(&trailer[16..24]);
    let table_at = usize::try_from(be(&trailer[24..32])).map_err(|_| BplistError::Malformed)?;
    if !(1..=8).contains(&offset_size) || !(1..=8).contains(&ref_size) || top >= objects {
        return Err(BplistError::Malformed);
    }
    let count = usize::try_from(objects).map_err(|_| BplistError::Malformed)?;
    let table_end = count
        .checked_mul(offset_size)
        .and_then(|n| n.checked_add(table_at))
        .ok_or(BplistError::Malformed)?;
    if table_end > bytes.len() {
        return Err(BplistError::Malformed);
    }
    let offsets = (0..count)
        .map(|i| {
            let at = table_at + i * offset_size;
            usize::try_from(be(&bytes[at..at + offset_size])).map_err(|_| BplistError::Malformed)
        })
        .collect::<Result<Vec<_>, _>>()?;
    let table = Table {
        bytes,
        offsets,
        ref_size,
    };
    // Expanded sizes, children first, with an explicit stack: 0 unvisited,
    // 1 in progress, 2 done.
    let mut state = vec![0u8; count];
    let mut size = vec![0u64; count];
    let mut stack: Vec<(u64, bool)> = vec![(top, false)];
    while let Some((obj, expanded)) = stack.pop() {
        let i = usize::try_from(obj).map_err(|_| BplistError::Malformed)?;
        let offset = *table.offsets.get(i).ok_or(BplistError::Malformed)?;
        if expanded {
            let total = table
                .children(offset)?
                .iter()
                .map(|c| {
                    usize::try_from(*c)
                        .ok()
                        .and_then(|c| size.get(c).copied())
                        .unwrap_or(0)
                })
                .fold(1u64, u64::saturating_add);
            if total > MAX_VALUES {
                return Err(BplistError::TooLarge {
                    objects,
                    max: MAX_VALUES,
                });
            }
            size[i] = total;
            state[i] = 2;
            continue;
        }
        match state[i] {
            2 => continue,
            1 => return Err(BplistError::Cycle(obj)),
            _ => {}
        }
        state[i] = 1;
        stack.push((obj, true));
        for child in table.children(offset)? {
            let c = usize::try_from(child).map_err(|_| BplistError::Malformed)?;
            match state.get(c) {
                None => return Err(BplistError::Malformed),
                Some(1) => return Err(BplistError::Cycle(child)),
                Some(2) => {}
                Some(_) => stack.push((child, false)),
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `n` objects; object i (< n-1) is the array [i+1, i+1], the last is
    /// the integer 1: the tree holds 2^n - 1 values.
    pub(crate) fn bomb(n: u8) -> Vec<u8> {
        let mut out = b"bplist00".to_vec();
        let mut offsets = Vec::new();
        for i in 0..n {
            offsets.push(out.len() as u16);
            if i + 1 < n {
                out.extend([0xA2, i + 1, i + 1]);
            } else {
                out.extend([0x10, 1]);
            }
        }
        let table = out.len() as u64;
        for o in offsets {
            out.extend(o.to_be_bytes());
        }
        out.extend([0, 0, 0, 0, 0, 0, 2, 1]);
        out.extend(u64::from(n).to_be_bytes());
        out.extend(0u64.to_be_bytes());
        out.extend(table.to_be_bytes());
        out
    }

    #[test]
    fn a_reference_bomb_is_refused_and_a_small_dag_passes() {
        assert!(matches!(
            check_expansion(&bomb(40)),
            Err(BplistError::TooLarge { .. })
        ));
        assert_eq!(check_expansion(&bomb(10)), Ok(()));
        // The plist crate reads the small one as the 1,023-value tree.
        assert!(plist::Value::from_reader(std::io::Cursor::new(bomb(10))).is_ok());
    }

    #[test]
    fn cycles_and_truncation_are_refused() {
        let mut cyclic = bomb(3);
        // Object 1 ([2, 2]) now refers to object 0: a cycle.
        cyclic[8 + 3 + 1] = 0;
        assert!(matches!(
            check_expansion(&cyclic),
            Err(BplistError::Cycle(_))
        ));
        assert_eq!(check_expansion(b"bplist00"), Err(BplistError::Malformed));
        let mut short = bomb(3);
        short.truncate(short.len() - 1);
        assert!(check_expansion(&short).is_err());
    }
}
