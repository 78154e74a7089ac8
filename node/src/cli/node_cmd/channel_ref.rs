//! Channel ids as a person types them: the whole id, or the start of it (`0x9f86c0`, at least
//! four hex digits, `0x` optional), which the CLI completes against the node's channels the way
//! git completes an abbreviated commit.
//!
//! Completion happens in the CLI, not in the API: a program calling the API names channels
//! exactly, because a prefix that is unique today may not be tomorrow. The open channels are
//! searched first (they are what `pay`, `move` and `settle` act on); the archive of closed
//! ones only when no open channel matches, so that `channel show` finds a closed channel too.

use super::CliError;
use parley_plugin_api::model::ChannelId;

/// The fewest hex digits a prefix may have: fewer would match by accident.
pub const MIN_PREFIX_DIGITS: usize = 4;

/// The hex digits of a whole channel id.
const ID_DIGITS: usize = 64;

/// A channel id as written on the command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChannelIdArg {
    /// All 64 digits: used as it is, without asking the node.
    Whole(ChannelId),
    /// The start of an id: lowercase hex digits, without `0x`.
    Prefix(String),
}

impl From<ChannelId> for ChannelIdArg {
    fn from(id: ChannelId) -> Self {
        ChannelIdArg::Whole(id)
    }
}

/// Clap's value parser: a whole id or a prefix of at least [`MIN_PREFIX_DIGITS`] digits.
pub fn channel_id_arg(text: &str) -> Result<ChannelIdArg, String> {
    let hex = text.strip_prefix("0x").unwrap_or(text);
    let expected = format!(
        "expected a channel id as `parley channel list` prints it (0x and {ID_DIGITS} hex \
         digits), or its first {MIN_PREFIX_DIGITS} or more digits"
    );
    if let Some(bad) = hex.chars().find(|c| !c.is_ascii_hexdigit()) {
        return Err(format!(
            "`{text}` contains `{bad}`, which is not a hex digit; {expected}"
        ));
    }
    match hex.len() {
        ID_DIGITS => format!("0x{hex}").parse().map(ChannelIdArg::Whole),
        n if n > ID_DIGITS => Err(format!("`{text}` has {n} hex digits; {expected}")),
        n if n < MIN_PREFIX_DIGITS => Err(format!(
            "`{text}` is too short to name a channel ({n} hex digits); {expected}"
        )),
        _ => Ok(ChannelIdArg::Prefix(hex.to_ascii_lowercase())),
    }
}

impl ChannelIdArg {
    /// The whole id: a prefix must have been [completed](Self::complete) first.
    pub fn id(&self) -> Result<ChannelId, CliError> {
        match self {
            ChannelIdArg::Whole(id) => Ok(*id),
            ChannelIdArg::Prefix(prefix) => Err(CliError::new(format!(
                "internal error: the channel id prefix 0x{prefix} was not completed before use"
            ))),
        }
    }

    /// Replaces a prefix by the one id among `open` that starts with it, or else among
    /// `closed()` (asked only then). A whole id is left as it is.
    pub fn complete(
        &mut self,
        open: &[ChannelId],
        closed: impl FnOnce() -> Result<Vec<ChannelId>, CliError>,
    ) -> Result<(), CliError> {
        let ChannelIdArg::Prefix(prefix) = self else {
            return Ok(());
        };
        let id = match matching(prefix, open)? {
            Some(id) => id,
            None => matching(prefix, &closed()?)?.ok_or_else(|| {
                CliError::new(format!(
                    "no channel of this node has an id starting with 0x{prefix}; `parley \
                     channel list` shows the open ones and `parley channel list --closed` the \
                     closed ones"
                ))
            })?,
        };
        *self = ChannelIdArg::Whole(id);
        Ok(())
    }
}

/// The one id in `ids` that starts with `prefix`; none; or an error naming all of them when
/// several do.
fn matching(prefix: &str, ids: &[ChannelId]) -> Result<Option<ChannelId>, CliError> {
    let found: Vec<ChannelId> = ids
        .iter()
        .filter(|id| id.to_string()[2..].starts_with(prefix))
        .copied()
        .collect();
    match found.as_slice() {
        [] => Ok(None),
        [id] => Ok(Some(*id)),
        several => {
            let listed: Vec<String> = several.iter().map(ToString::to_string).collect();
            Err(CliError::new(format!(
                "0x{prefix} is the start of {} channels' ids: {}; give more digits",
                several.len(),
                listed.join(", ")
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(first: u8, second: u8) -> ChannelId {
        let mut bytes = [0x11; 32];
        bytes[0] = first;
        bytes[1] = second;
        ChannelId(bytes)
    }

    #[test]
    fn a_whole_id_parses_as_itself_and_a_short_one_as_a_lowercase_prefix() {
        let whole = id(0xab, 0xcd);
        assert_eq!(
            channel_id_arg(&whole.to_string()).unwrap(),
            ChannelIdArg::Whole(whole)
        );
        assert_eq!(
            channel_id_arg("0xABcd").unwrap(),
            ChannelIdArg::Prefix("abcd".into())
        );
        assert_eq!(
            channel_id_arg("abcd1").unwrap(),
            ChannelIdArg::Prefix("abcd1".into())
        );
    }

    #[test]
    fn bad_forms_are_refused_with_what_is_expected() {
        let short = channel_id_arg("0xab").unwrap_err();
        assert!(
            short.contains("too short") && short.contains("4 or more"),
            "{short}"
        );
        let bad = channel_id_arg("0xabzz").unwrap_err();
        assert!(bad.contains("`z`, which is not a hex digit"), "{bad}");
        let long = channel_id_arg(&format!("0x{}", "a".repeat(65))).unwrap_err();
        assert!(long.contains("65 hex digits"), "{long}");
    }

    #[test]
    fn a_unique_prefix_completes_to_the_open_channel() {
        let (a, b) = (id(0xab, 0xcd), id(0xab, 0xee));
        let mut arg = ChannelIdArg::Prefix("abcd".into());
        arg.complete(&[a, b], || panic!("closed channels are not needed"))
            .unwrap();
        assert_eq!(arg, ChannelIdArg::Whole(a));
        assert_eq!(arg.id().unwrap(), a);
    }

    #[test]
    fn an_ambiguous_prefix_names_every_match() {
        let (a, mut b) = (id(0xab, 0xcd), id(0xab, 0xcd));
        b.0[2] = 0x22;
        let mut arg = ChannelIdArg::Prefix("abcd".into());
        let error = arg
            .complete(&[a, b], || Ok(vec![]))
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("0xabcd is the start of 2 channels' ids"),
            "{error}"
        );
        assert!(error.contains(&a.to_string()) && error.contains(&b.to_string()));
        assert!(error.contains("give more digits"), "{error}");
        let mut longer = ChannelIdArg::Prefix("abcd22".into());
        longer.complete(&[a, b], || Ok(vec![])).unwrap();
        assert_eq!(longer, ChannelIdArg::Whole(b));
    }

    #[test]
    fn the_closed_channels_are_searched_only_when_no_open_one_matches() {
        let (open, closed) = (id(0xab, 0xcd), id(0xcd, 0xef));
        let mut arg = ChannelIdArg::Prefix("cdef".into());
        arg.complete(&[open], || Ok(vec![closed])).unwrap();
        assert_eq!(arg, ChannelIdArg::Whole(closed));
        let mut missing = ChannelIdArg::Prefix("eeee".into());
        let error = missing
            .complete(&[open], || Ok(vec![closed]))
            .unwrap_err()
            .to_string();
        assert!(error.contains("no channel of this node has an id starting with 0xeeee"));
    }

    #[test]
    fn an_unfinished_prefix_is_not_used_as_an_id() {
        assert!(ChannelIdArg::Prefix("abcd".into()).id().is_err());
    }
}
