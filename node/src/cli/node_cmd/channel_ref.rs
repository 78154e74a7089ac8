//! Channel and proposal ids as a person types them: the whole id, or the start of it
//! (`0x9f86c0`, at least four hex digits, `0x` optional), which the CLI completes against the
//! node's channels (or waiting proposals) the way git completes an abbreviated commit.
//!
//! Completion happens in the CLI, not in the API: a program calling the API names channels
//! exactly, because a prefix that is unique today may not be tomorrow. The open channels are
//! searched first (they are what `pay`, `move` and `settle` act on); the archive of closed
//! ones only when no open channel matches, so that `channel show` finds a closed channel too.

use super::CliError;
use crate::protocol::ProposalId;
use parley_plugin_api::model::ChannelId;
use std::fmt;
use std::str::FromStr;

/// An id of 32 bytes that the CLI takes by prefix: what it names, and where a person finds it.
pub trait ListedId: Copy + PartialEq + fmt::Display + FromStr<Err = String> {
    /// What the id names: `channel`, `proposal` (`parley <noun> list` lists them).
    const NOUN: &'static str;
    /// Where the ids are listed, for the error when no id matches.
    const LISTED: &'static str;
}

impl ListedId for ChannelId {
    const NOUN: &'static str = "channel";
    const LISTED: &'static str = "`parley channel list` shows the open ones and `parley channel \
                                  list --closed` the closed ones";
}

impl ListedId for ProposalId {
    const NOUN: &'static str = "proposal";
    const LISTED: &'static str = "`parley proposal list` shows the proposals waiting for an answer";
}

/// The fewest hex digits a prefix may have: fewer would match by accident.
pub const MIN_PREFIX_DIGITS: usize = 4;

/// The hex digits of a whole channel id.
const ID_DIGITS: usize = 64;

/// An id as written on the command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IdArg<T> {
    /// All 64 digits: used as it is, without asking the node.
    Whole(T),
    /// The start of an id: lowercase hex digits, without `0x`.
    Prefix(String),
}

/// A channel id as written on the command line.
pub type ChannelIdArg = IdArg<ChannelId>;

/// A proposal id as written on the command line.
pub type ProposalIdArg = IdArg<ProposalId>;

impl<T: ListedId> From<T> for IdArg<T> {
    fn from(id: T) -> Self {
        IdArg::Whole(id)
    }
}

/// Clap's value parser of channel ids: see [`id_arg`].
pub fn channel_id_arg(text: &str) -> Result<ChannelIdArg, String> {
    id_arg(text)
}

/// Clap's value parser of proposal ids: see [`id_arg`].
pub fn proposal_id_arg(text: &str) -> Result<ProposalIdArg, String> {
    id_arg(text)
}

/// A whole id or a prefix of at least [`MIN_PREFIX_DIGITS`] digits.
pub fn id_arg<T: ListedId>(text: &str) -> Result<IdArg<T>, String> {
    let hex = text.strip_prefix("0x").unwrap_or(text);
    let noun = T::NOUN;
    let expected = format!(
        "expected a {noun} id as `parley {noun} list` prints it (0x and {ID_DIGITS} hex \
         digits), or its first {MIN_PREFIX_DIGITS} or more digits"
    );
    if let Some(bad) = hex.chars().find(|c| !c.is_ascii_hexdigit()) {
        return Err(format!(
            "`{text}` contains `{bad}`, which is not a hex digit; {expected}"
        ));
    }
    match hex.len() {
        ID_DIGITS => format!("0x{hex}").parse().map(IdArg::Whole),
        n if n > ID_DIGITS => Err(format!("`{text}` has {n} hex digits; {expected}")),
        n if n < MIN_PREFIX_DIGITS => Err(format!(
            "`{text}` is too short to name a {noun} ({n} hex digits); {expected}"
        )),
        _ => Ok(IdArg::Prefix(hex.to_ascii_lowercase())),
    }
}

impl<T: ListedId> IdArg<T> {
    /// The whole id: a prefix must have been [completed](Self::complete) first.
    pub fn id(&self) -> Result<T, CliError> {
        match self {
            IdArg::Whole(id) => Ok(*id),
            IdArg::Prefix(prefix) => Err(CliError::new(format!(
                "internal error: the {} id prefix 0x{prefix} was not completed before use",
                T::NOUN
            ))),
        }
    }

    /// Replaces a prefix by the one id among `first` that starts with it, or else among
    /// `then()` (asked only then: the closed channels). A whole id is left as it is.
    pub fn complete(
        &mut self,
        first: &[T],
        then: impl FnOnce() -> Result<Vec<T>, CliError>,
    ) -> Result<(), CliError> {
        let IdArg::Prefix(prefix) = self else {
            return Ok(());
        };
        let id = match matching(prefix, first)? {
            Some(id) => id,
            None => matching(prefix, &then()?)?.ok_or_else(|| {
                CliError::new(format!(
                    "no {} of this node has an id starting with 0x{prefix}; {}",
                    T::NOUN,
                    T::LISTED
                ))
            })?,
        };
        *self = IdArg::Whole(id);
        Ok(())
    }
}

/// The one id in `ids` that starts with `prefix`; none; or an error naming all of them when
/// several do.
fn matching<T: ListedId>(prefix: &str, ids: &[T]) -> Result<Option<T>, CliError> {
    let found: Vec<T> = ids
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
                "0x{prefix} is the start of {} {}s' ids: {}; give more digits",
                several.len(),
                T::NOUN,
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
    fn proposal_ids_complete_the_same_way_among_the_waiting_ones() {
        let (a, b) = (ProposalId([0xab; 32]), ProposalId([0xac; 32]));
        let mut arg: ProposalIdArg = proposal_id_arg("0xabab").unwrap();
        arg.complete(&[a, b], || Ok(Vec::new())).unwrap();
        assert_eq!(arg.id().unwrap(), a);
        let mut refused = proposal_id_arg("0xa").map(|_| ()).unwrap_err();
        assert!(
            refused.contains("too short to name a proposal"),
            "{refused}"
        );
        refused = proposal_id_arg("zz00").map(|_| ()).unwrap_err();
        assert!(refused.contains("expected a proposal id"), "{refused}");
        let mut missing: ProposalIdArg = proposal_id_arg("0xeeee").unwrap();
        let error = missing
            .complete(&[a, b], || Ok(Vec::new()))
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("no proposal of this node has an id starting with 0xeeee")
                && error.contains("`parley proposal list`"),
            "{error}"
        );
    }

    #[test]
    fn an_unfinished_prefix_is_not_used_as_an_id() {
        assert!(ChannelIdArg::Prefix("abcd".into()).id().is_err());
    }
}
