//! `parley proposal list|accept|reject`: answering the channels peers propose to this node
//! (those its accept policy did not already answer).

use super::channel_ref::{proposal_id_arg, ProposalIdArg};
use super::{args, output, short_id, Call, CliError, CliResult, NodeOptions};
use crate::api::types::{ChannelInfo, ProposalAcceptRequest, ProposalInfo, ProposalRejectRequest};
use clap::{Args, Subcommand};
use std::time::{SystemTime, UNIX_EPOCH};

/// Arguments of `parley proposal`.
#[derive(Debug, Args)]
pub struct ProposalArgs {
    #[command(flatten)]
    pub(super) options: NodeOptions,
    #[command(subcommand)]
    command: ProposalCommand,
}

#[derive(Debug, Subcommand)]
enum ProposalCommand {
    /// List the incoming proposals waiting for an answer, with what each side would deposit.
    #[command(after_help = "\
Example:
  parley proposal list --config bob/node.toml")]
    List,
    /// Accept a proposal: the channel opens and both sides deposit on chain.
    ///
    /// Waits until the channel is funded; a spinner shows the time on a terminal.
    #[command(after_help = "\
Example (the id is what `parley proposal list` prints, or its first digits):
  parley proposal accept 0x5c3e1f --config bob/node.toml")]
    Accept {
        /// The proposal id as `parley proposal list` prints it (0x and 64 hex digits), or its
        /// first 4 or more digits if no other waiting proposal's id starts with them.
        #[arg(value_parser = proposal_id_arg)]
        id: ProposalIdArg,
    },
    /// Reject a proposal; the proposer is told, with the reason if one is given.
    #[command(after_help = "\
Example:
  parley proposal reject 0x5c3e1f --reason \"too large\" --config bob/node.toml")]
    #[command(next_display_order = 10)]
    Reject {
        /// The proposal id, whole or its first 4 or more digits (as for `accept`).
        #[arg(value_parser = proposal_id_arg)]
        id: ProposalIdArg,
        /// Why, told to the proposer.
        #[arg(long, value_name = "TEXT", value_parser = args::text)]
        reason: Option<String>,
    },
}

impl ProposalArgs {
    /// The call these arguments make.
    pub(super) fn call(&self) -> Result<Call, CliError> {
        match &self.command {
            ProposalCommand::List => Ok(Call::bare("proposal_list")),
            ProposalCommand::Accept { id } => {
                let id = id.id()?;
                Ok(
                    Call::with("proposal_accept", &ProposalAcceptRequest { id })?.waiting(format!(
                        "accepting {}: waiting for the deposits on chain",
                        short_id(&id)
                    )),
                )
            }
            ProposalCommand::Reject { id, reason } => Call::with(
                "proposal_reject",
                &ProposalRejectRequest {
                    id: id.id()?,
                    reason: reason.clone(),
                },
            ),
        }
    }

    /// Runs `parley proposal ...`.
    pub fn run(mut self) -> CliResult {
        let mut named = None;
        if let ProposalCommand::Accept { id } | ProposalCommand::Reject { id, .. } =
            &mut self.command
        {
            self.options.complete_proposal_id(id)?;
            named = Some(id.id()?);
        }
        let named = named.map(|id| id.to_string()).unwrap_or_default();
        let call = self.call()?;
        match self.command {
            ProposalCommand::List => self.options.run_with_assets(
                |_| Ok(call),
                |list: Vec<ProposalInfo>, assets| output::proposals(&list, unix_now(), assets),
            ),
            ProposalCommand::Accept { .. } => self.options.run_with_assets(
                |_| Ok(call),
                |channel: ChannelInfo, assets| {
                    output::channel(&format!("accepted proposal {named}"), &channel, assets)
                },
            ),
            // The result is `null`: there is nothing to show but that it worked.
            ProposalCommand::Reject { .. } => self
                .options
                .run(call, |()| format!("rejected proposal {named}")),
        }
    }
}

/// The current Unix time, for "expires in ..."; a clock before 1970 reads as 0.
fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
