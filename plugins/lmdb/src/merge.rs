//! A scan over LMDB and the commit log's pending writes together: the pending write of a key
//! decides it (a pending delete hides LMDB's pair), every other key is LMDB's.

use parley_plugin_api::PluginResult;
use std::cmp::Ordering;

/// A key and its value.
pub type Pair = (Vec<u8>, Vec<u8>);

/// Up to `limit` pairs in key order from `stored` (LMDB's pairs of the range, in key order)
/// and `pending` (the pending writes of the same range, in key order; `None`: deleted).
pub fn merge<'a>(
    stored: impl Iterator<Item = PluginResult<(&'a [u8], &'a [u8])>>,
    pending: Vec<(Vec<u8>, Option<Vec<u8>>)>,
    limit: usize,
) -> PluginResult<Vec<Pair>> {
    let mut pending = pending.into_iter().peekable();
    let mut stored = stored.peekable();
    let mut pairs = Vec::new();
    while pairs.len() < limit {
        let order = match (stored.peek(), pending.peek()) {
            (None, None) => break,
            (Some(Err(_)), _) => {
                return Err(stored
                    .next()
                    .and_then(Result::err)
                    .expect("peeked an error"));
            }
            (Some(Ok(_)), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (Some(Ok((key, _))), Some((pending_key, _))) => (*key).cmp(pending_key.as_slice()),
        };
        if order == Ordering::Less {
            let (key, value) = stored.next().expect("peeked")?;
            pairs.push((key.to_vec(), value.to_vec()));
            continue;
        }
        if order == Ordering::Equal {
            stored.next();
        }
        let (key, value) = pending.next().expect("peeked");
        if let Some(value) = value {
            pairs.push((key, value));
        }
    }
    Ok(pairs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(stored: &[(&str, &str)], pending: &[(&str, Option<&str>)], limit: usize) -> Vec<String> {
        let stored = stored.iter().map(|(k, v)| Ok((k.as_bytes(), v.as_bytes())));
        let pending = pending
            .iter()
            .map(|(k, v)| (k.as_bytes().to_vec(), v.map(|v| v.as_bytes().to_vec())))
            .collect();
        merge(stored, pending, limit)
            .unwrap()
            .into_iter()
            .map(|(k, v)| {
                format!(
                    "{}={}",
                    String::from_utf8(k).unwrap(),
                    String::from_utf8(v).unwrap()
                )
            })
            .collect()
    }

    #[test]
    fn pending_writes_replace_add_and_hide_stored_pairs() {
        let stored = [("a", "1"), ("b", "1"), ("d", "1"), ("f", "1")];
        let pending = [
            ("b", Some("2")),
            ("c", Some("2")),
            ("d", None),
            ("g", Some("2")),
        ];
        assert_eq!(
            run(&stored, &pending, 10),
            ["a=1", "b=2", "c=2", "f=1", "g=2"]
        );
    }

    #[test]
    fn the_limit_counts_pairs_not_deletes() {
        let stored = [("a", "1"), ("b", "1"), ("c", "1")];
        let pending = [("a", None), ("b", None)];
        assert_eq!(run(&stored, &pending, 1), ["c=1"]);
        assert_eq!(run(&stored, &[], 2), ["a=1", "b=1"]);
        assert!(run(&stored, &pending, 0).is_empty());
    }
}
