//! [`Ethereum`]: the [`ChainBackend`] over the contracts of `contracts/` (or a Perun deployment
//! with the same ABI).

use crate::abi::{self, functions, DisputeRecord};
use crate::config::{AssetConfig, AssetKind, Settings};
use crate::crypto::{address_of, message_signer, sign_message};
use crate::error::RpcError;
use crate::events::{self, Channels, Watcher};
use crate::rpc::Rpc;
use crate::tx::{Call, Sender, Sent};
use ethers_core::abi::Token;
use ethers_core::types::{H160, U256};
use k256::ecdsa::SigningKey;
use parley_plugin_api::chain::await_funding;
use parley_plugin_api::codec::Bytes;
use parley_plugin_api::model::{
    Amount, Asset, ChainInfo, ChainTime, ChannelId, ConcludeFinalRequest, ConcludeRequest,
    DepositRequest, Dispute, DisputePhase, FundingOutcome, FundingRequest, Params, Participant,
    ProgressRequest, RegisterRequest, Sig, State, TxReceipt, WithdrawRequest,
};
use parley_plugin_api::{
    ChainBackend, ChainLedger, ChainSigner, Host, PluginError, PluginResult, TestClock,
};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// One wallet account.
struct Account {
    participant: Participant,
    address: H160,
    key: SigningKey,
}

/// The Ethereum chain backend. See the crate doc for the configuration.
pub struct Ethereum {
    settings: Settings,
    accounts: Vec<Account>,
    rpc: Arc<Rpc>,
    sender: Sender,
    channels: Arc<Channels>,
    watcher: Watcher,
}

impl Ethereum {
    /// Creates an instance from its table (TOML text): reads the keys, connects to the node,
    /// checks the chain id and that every configured contract has code.
    pub fn new(table: &str, host: Host) -> PluginResult<Ethereum> {
        parley_plugin_api::logging::forward_tracing_to_host(&host);
        let mut settings = Settings::parse(table, &host)?;
        let accounts: Vec<Account> = std::mem::take(&mut settings.keys)
            .into_iter()
            .map(|key| {
                let participant = address_of(key.verifying_key());
                let address = H160::from_slice(participant.as_bytes());
                Account {
                    participant,
                    address,
                    key,
                }
            })
            .collect();
        let bound = host.clone();
        let rpc = Rpc::connect(&settings.rpc_url, settings.confirmations, move || {
            bound.bind_current_thread()
        })
        .map_err(|e| match e {
            RpcError::BadUrl { .. } => {
                PluginError::config(format!("[{}] in node.toml: `rpc_url` {e}", host.section()))
            }
            other => other.into(),
        })?;
        if rpc.chain_id() != settings.chain_id {
            return Err(PluginError::config(format!(
                "`chain_id` is {} but the node at {} serves chain {}",
                settings.chain_id,
                settings.rpc_url,
                rpc.chain_id()
            )));
        }
        let rpc = Arc::new(rpc);
        check_deployment(&rpc, &settings, host.section())?;
        tracing::info!(
            "ethereum: chain {} at {}, {} account(s), {} asset(s), {} confirmation(s)",
            settings.chain_id,
            settings.rpc_url,
            accounts.len(),
            settings.assets.len(),
            settings.confirmations
        );
        let channels = Arc::new(Channels::default());
        let holders = settings
            .assets
            .iter()
            .map(|a| (a.holder, a.info.asset.clone()))
            .collect();
        let watcher = events::watcher(
            Arc::clone(&rpc),
            Arc::clone(&channels),
            host,
            settings.adjudicator,
            holders,
            settings.poll_interval,
        );
        let sender = Sender::new(Arc::clone(&rpc), settings.tx_settings());
        Ok(Ethereum {
            settings,
            accounts,
            rpc,
            sender,
            channels,
            watcher,
        })
    }

    fn account(&self, who: &Participant) -> PluginResult<&Account> {
        self.accounts
            .iter()
            .find(|a| &a.participant == who)
            .ok_or_else(|| {
                let known: Vec<String> = self
                    .accounts
                    .iter()
                    .map(|a| a.participant.to_string())
                    .collect();
                PluginError::invalid(format!(
                    "account {who} is not in this Ethereum wallet (its accounts: {}); add its \
                     key to `key_files`",
                    known.join(", ")
                ))
            })
    }

    fn send(
        &self,
        from: &Participant,
        to: H160,
        data: Vec<u8>,
        value: U256,
        what: &str,
    ) -> PluginResult<Sent> {
        let account = self.account(from)?;
        let call = Call {
            from: account.address,
            to: Some(to),
            data,
            value,
        };
        Ok(self.sender.send(&account.key, call, what)?)
    }

    fn receipt(sent: &Sent) -> TxReceipt {
        TxReceipt {
            tx_id: Bytes(sent.hash.as_bytes().to_vec()),
            fee_units: sent.gas_used,
            amounts: Vec::new(),
        }
    }

    /// Sends a transaction to the Adjudicator (no value) and reports it.
    fn call_adjudicator(
        &self,
        from: &Participant,
        data: Vec<u8>,
        what: &str,
    ) -> PluginResult<TxReceipt> {
        let sent = self.send(from, self.settings.adjudicator, data, U256::zero(), what)?;
        Ok(Self::receipt(&sent))
    }

    /// Reads a `uint256` answer.
    fn read_uint(&self, to: H160, data: Vec<u8>, block: Option<u64>) -> PluginResult<U256> {
        let answer = self.rpc.call(to, data, block)?;
        if answer.len() < 32 {
            return Err(PluginError::internal(format!(
                "contract {to:?} answered {} bytes where a uint256 was expected; is the \
                 configured address right?",
                answer.len()
            )));
        }
        Ok(U256::from_big_endian(&answer[..32]))
    }

    fn holding(
        &self,
        holder: H160,
        funding_id: [u8; 32],
        block: Option<u64>,
    ) -> PluginResult<U256> {
        self.read_uint(
            holder,
            abi::call_data(
                functions::HOLDINGS,
                &[Token::FixedBytes(funding_id.to_vec())],
            ),
            block,
        )
    }

    /// Deposits `amount` for `participant`: ether as the call's value, a token after approving
    /// the holder. Refuses (`Rejected`) when `from` cannot pay, before sending anything.
    fn deposit_into(
        &self,
        from: &Participant,
        asset: &AssetConfig,
        channel: &ChannelId,
        participant: &Participant,
        amount: U256,
    ) -> PluginResult<TxReceipt> {
        let account = self.account(from)?;
        let funding_id = abi::funding_id(channel, participant)?;
        let data = abi::call_data(
            functions::DEPOSIT,
            &[Token::FixedBytes(funding_id.to_vec()), Token::Uint(amount)],
        );
        let name = &asset.info.name;
        let what = format!("depositing {amount} {name} into channel {channel}");
        match asset.kind {
            AssetKind::Eth => {
                let balance = self.rpc.eth_balance(account.address)?;
                if balance < amount {
                    return Err(PluginError::rejected(format!(
                        "{what}: account {from} holds only {balance} wei"
                    )));
                }
                let sent = self.send(from, asset.holder, data, amount, &what)?;
                Ok(Self::receipt(&sent))
            }
            AssetKind::Erc20(token) => {
                let balance = self.token_balance(token, account.address)?;
                if balance < amount {
                    return Err(PluginError::rejected(format!(
                        "{what}: account {from} holds only {balance} {name}"
                    )));
                }
                let allowance = self.read_uint(
                    token,
                    abi::call_data(
                        functions::ALLOWANCE,
                        &[
                            Token::Address(account.address),
                            Token::Address(asset.holder),
                        ],
                    ),
                    None,
                )?;
                let mut fee = 0;
                if allowance < amount {
                    let approve = abi::call_data(
                        functions::APPROVE,
                        &[Token::Address(asset.holder), Token::Uint(amount)],
                    );
                    let sent = self.send(
                        from,
                        token,
                        approve,
                        U256::zero(),
                        &format!("approving {amount} {name} to its holder"),
                    )?;
                    fee += sent.gas_used;
                }
                let sent = self.send(from, asset.holder, data, U256::zero(), &what)?;
                let mut receipt = Self::receipt(&sent);
                receipt.fee_units += fee;
                Ok(receipt)
            }
        }
    }

    fn token_balance(&self, token: H160, owner: H160) -> PluginResult<U256> {
        self.read_uint(
            token,
            abi::call_data(functions::BALANCE_OF, &[Token::Address(owner)]),
            None,
        )
    }

    /// Which `(participant, asset)` pairs of the opening state are not yet held, read at the
    /// newest confirmed block.
    fn missing(&self, params: &Params, state: &State) -> PluginResult<Vec<(u16, u16)>> {
        let block = Some(self.rpc.confirmed_block()?);
        let mut missing = Vec::new();
        for (a, asset) in state.allocation.assets.iter().enumerate() {
            let holder = self.settings.asset(asset)?.holder;
            for (p, participant) in params.participants.iter().enumerate() {
                let want = abi::u256(&state.allocation.balances[a][p]);
                let held = self.holding(
                    holder,
                    abi::funding_id(&state.channel_id, participant)?,
                    block,
                )?;
                if held < want {
                    missing.push((p as u16, a as u16));
                }
            }
        }
        Ok(missing)
    }

    fn check_funding_request(&self, request: &FundingRequest) -> PluginResult<()> {
        self.account(&request.from)?;
        request.check_consistent(&self.channel_id(&request.params)?)?;
        for asset in &request.state.allocation.assets {
            self.settings.asset(asset)?;
        }
        Ok(())
    }

    fn remember(&self, params: &Params) {
        if let Ok(id) = abi::channel_id(params) {
            self.channels.remember(id, &params.participants);
        }
    }
}

impl ChainSigner for Ethereum {
    fn info(&self) -> PluginResult<ChainInfo> {
        Ok(ChainInfo {
            chain_id: self.settings.chain_id,
            backend: format!("ethereum/{}", self.settings.chain_id),
            assets: self
                .settings
                .assets
                .iter()
                .map(|a| a.info.clone())
                .collect(),
        })
    }

    fn accounts(&self) -> PluginResult<Vec<Participant>> {
        Ok(self
            .accounts
            .iter()
            .map(|a| a.participant.clone())
            .collect())
    }

    fn channel_id(&self, params: &Params) -> PluginResult<ChannelId> {
        let id = abi::channel_id(params)?;
        // Deposits are reported per funding id, which only the participants give: keep them.
        self.channels.remember(id, &params.participants);
        Ok(id)
    }

    fn sign_state(&self, account: &Participant, state: &State) -> PluginResult<Sig> {
        let key = &self.account(account)?.key;
        Ok(sign_message(key, abi::state_hash(state)?))
    }

    fn verify_state(
        &self,
        state: &State,
        sig: &Sig,
        participant: &Participant,
    ) -> PluginResult<bool> {
        Ok(message_signer(abi::state_hash(state)?, sig).as_ref() == Some(participant))
    }
}

impl ChainLedger for Ethereum {
    fn now(&self) -> PluginResult<ChainTime> {
        Ok(self.rpc.latest_timestamp()?)
    }

    fn balance(&self, owner: &Participant, asset: &Asset) -> PluginResult<Amount> {
        let asset = self.settings.asset(asset)?;
        let owner = abi::eth_address(owner.as_bytes(), "owner")?;
        let balance = match asset.kind {
            AssetKind::Eth => self.rpc.eth_balance(owner)?,
            AssetKind::Erc20(token) => self.token_balance(token, owner)?,
        };
        Ok(abi::amount(balance))
    }

    fn holdings(
        &self,
        channel: &ChannelId,
        participant: &Participant,
        asset: &Asset,
    ) -> PluginResult<Amount> {
        let holder = self.settings.asset(asset)?.holder;
        let held = self.holding(holder, abi::funding_id(channel, participant)?, None)?;
        Ok(abi::amount(held))
    }

    fn deposit(&self, request: &DepositRequest) -> PluginResult<TxReceipt> {
        let asset = self.settings.asset(&request.asset)?;
        self.deposit_into(
            &request.from,
            asset,
            &request.channel_id,
            &request.participant,
            abi::u256(&request.amount),
        )
    }

    fn fund(&self, request: &FundingRequest) -> PluginResult<FundingOutcome> {
        self.check_funding_request(request)?;
        let FundingRequest {
            params,
            state,
            index,
            from,
            timeout_secs,
        } = request;
        let deadline = Instant::now() + Duration::from_secs(*timeout_secs);
        let index = usize::from(*index);
        let participant = &params.participants[index];
        let funding_id = abi::funding_id(&state.channel_id, participant)?;
        for (asset, row) in state
            .allocation
            .assets
            .iter()
            .zip(&state.allocation.balances)
        {
            let config = self.settings.asset(asset)?;
            // Only what is not yet held: a retry after a crash never pays twice. (Read at the
            // latest block: a deposit of ours that is still unconfirmed already counts.)
            let held = self.holding(config.holder, funding_id, None)?;
            let want = abi::u256(&row[index]);
            if want > held {
                self.deposit_into(from, config, &state.channel_id, participant, want - held)?;
            }
        }
        await_funding(deadline, self.settings.poll_interval, || {
            self.missing(params, state)
        })
    }

    fn register(&self, request: &RegisterRequest) -> PluginResult<TxReceipt> {
        self.remember(&request.channel.params);
        let state = &request.channel.state;
        // The trait refuses a version that is not newer than the registered one, except the
        // very state on record given again with sub-channel states (the contract's no-op for
        // it, which refutes a sub-channel under an unchanged parent; a different state of the
        // same version is reverted by the contract as not newer).
        if let Some(record) = self.dispute(&state.channel_id)? {
            let same_with_subs =
                record.version == state.version && !request.sub_channels.is_empty();
            if record.version >= state.version && !same_with_subs {
                return Err(PluginError::rejected(format!(
                    "registering version {} of channel {}: version {} is already registered \
                     ({:?}); a refutation needs a newer version",
                    state.version, state.channel_id, record.version, record.phase
                )));
            }
        }
        let subs = request
            .sub_channels
            .iter()
            .map(abi::signed_state_token)
            .collect::<PluginResult<Vec<_>>>()?;
        let data = abi::call_data(
            &functions::register(),
            &[
                abi::signed_state_token(&request.channel)?,
                Token::Array(subs),
            ],
        );
        let what = format!(
            "registering version {} of channel {}",
            request.channel.state.version, request.channel.state.channel_id
        );
        self.call_adjudicator(&request.from, data, &what)
    }

    fn progress(&self, request: &ProgressRequest) -> PluginResult<TxReceipt> {
        self.remember(&request.params);
        let data = abi::call_data(
            &functions::progress(),
            &[
                abi::params_token(&request.params)?,
                abi::state_token(&request.old_state)?,
                abi::state_token(&request.new_state)?,
                Token::Uint(U256::from(request.actor)),
                Token::Bytes(request.sig.0.clone()),
            ],
        );
        let what = format!(
            "progressing channel {} to version {}",
            request.new_state.channel_id, request.new_state.version
        );
        self.call_adjudicator(&request.from, data, &what)
    }

    fn conclude(&self, request: &ConcludeRequest) -> PluginResult<TxReceipt> {
        self.remember(&request.params);
        let subs = request
            .sub_states
            .iter()
            .map(abi::state_token)
            .collect::<PluginResult<Vec<_>>>()?;
        let data = abi::call_data(
            &functions::conclude(),
            &[
                abi::params_token(&request.params)?,
                abi::state_token(&request.state)?,
                Token::Array(subs),
            ],
        );
        let what = format!("concluding channel {}", request.state.channel_id);
        self.call_adjudicator(&request.from, data, &what)
    }

    fn conclude_final(&self, request: &ConcludeFinalRequest) -> PluginResult<TxReceipt> {
        let signed = &request.channel;
        self.remember(&signed.params);
        let data = abi::call_data(
            &functions::conclude_final(),
            &[
                abi::params_token(&signed.params)?,
                abi::state_token(&signed.state)?,
                Token::Array(
                    signed
                        .sigs
                        .iter()
                        .map(|s| Token::Bytes(s.0.clone()))
                        .collect(),
                ),
            ],
        );
        let what = format!(
            "concluding channel {} with final version {}",
            signed.state.channel_id, signed.state.version
        );
        self.call_adjudicator(&request.from, data, &what)
    }

    fn withdraw(&self, request: &WithdrawRequest) -> PluginResult<TxReceipt> {
        let account = self.account(&request.from)?;
        if request.from != request.participant {
            return Err(PluginError::invalid(format!(
                "withdraw: the sending account {} must be the participant {} (it signs the \
                 withdrawal authorisation)",
                request.from, request.participant
            )));
        }
        abi::eth_address(request.receiver.as_bytes(), "receiver")?;
        let assets = request
            .assets
            .iter()
            .map(|asset| self.settings.asset(asset))
            .collect::<PluginResult<Vec<_>>>()?;
        let funding_id = abi::funding_id(&request.channel_id, &request.participant)?;
        let mut receipt = TxReceipt::default();
        for asset in assets {
            let held = self.holding(asset.holder, funding_id, None)?;
            if held.is_zero() {
                // Nothing to pay: not an error, and no transaction.
                receipt.amounts.push(Amount::ZERO);
                continue;
            }
            let amount = abi::amount(held);
            let auth = abi::withdrawal_auth_token(
                &request.channel_id,
                &request.participant,
                &request.receiver,
                &amount,
            )?;
            let sig = sign_message(&account.key, abi::withdrawal_auth_hash(&auth));
            let data = abi::call_data(&functions::withdraw(), &[auth, Token::Bytes(sig.0)]);
            let what = format!(
                "withdrawing {amount} {} of {} from channel {}",
                asset.info.name, request.participant, request.channel_id
            );
            let sent = self.send(&request.from, asset.holder, data, U256::zero(), &what)?;
            receipt.tx_id = Bytes(sent.hash.as_bytes().to_vec());
            receipt.fee_units += sent.gas_used;
            receipt.amounts.push(amount);
        }
        Ok(receipt)
    }

    fn dispute(&self, channel: &ChannelId) -> PluginResult<Option<Dispute>> {
        let block = self.rpc.confirmed_block()?;
        read_dispute(&self.rpc, self.settings.adjudicator, channel, block)
    }

    fn registered_state(&self, channel: &ChannelId) -> PluginResult<Option<State>> {
        crate::on_record::read_state_on_record(&self.rpc, self.settings.adjudicator, channel)
    }

    fn watch(&self, channel: &ChannelId) -> PluginResult<()> {
        self.watcher.watch(channel)
    }

    fn unwatch(&self, channel: &ChannelId) -> PluginResult<()> {
        self.watcher.unwatch(channel);
        Ok(())
    }
}

impl TestClock for Ethereum {
    fn advance_time(&self, seconds: u64) -> PluginResult<ChainTime> {
        self.rpc.advance_time(seconds).map_err(|e| match e {
            RpcError::Node { message, .. } => PluginError::unsupported(format!(
                "advance_time needs a test chain (anvil) that offers evm_increaseTime and \
                 evm_mine; this node answered: {message}"
            )),
            other => other.into(),
        })
    }
}

impl ChainBackend for Ethereum {
    fn test_clock(&self) -> Option<&dyn TestClock> {
        Some(self)
    }
}

/// Checks that every configured contract has code, and that the Adjudicator and the asset
/// holders speak Perun v1.0.0's `setOutcome(bytes32,(address,bytes)[],uint256[])`: with a
/// holder from before v1.0.0 (`address[]`) every conclude reverts and deposits stay locked, so
/// such a deployment is refused before anything is deposited. The check looks for the selector
/// as a PUSH4 in the runtime code, where solc puts it both in the holder's dispatcher and at the
/// Adjudicator's call.
fn check_deployment(rpc: &Rpc, settings: &Settings, section: &str) -> PluginResult<()> {
    let set_outcome = functions::set_outcome();
    let mut contracts = vec![("adjudicator".to_string(), settings.adjudicator, true)];
    for asset in &settings.assets {
        contracts.push((format!("holder of {}", asset.info.name), asset.holder, true));
        if let AssetKind::Erc20(token) = asset.kind {
            contracts.push((format!("token of {}", asset.info.name), token, false));
        }
    }
    for (what, address, speaks_set_outcome) in contracts {
        let code = rpc.code(address)?;
        if code.is_empty() {
            return Err(PluginError::config(format!(
                "[{section}] in node.toml: the {what} {address:?} has no contract code on chain \
                 {} at {}; deploy the contracts or fix the address",
                settings.chain_id, settings.rpc_url
            )));
        }
        if speaks_set_outcome && !abi::pushes_selector(&code, abi::selector(&set_outcome)) {
            return Err(PluginError::config(format!(
                "[{section}] in node.toml: the {what} {address:?} on chain {} does not use Perun \
                 v1.0.0's {set_outcome} (selector 0x{}); it is an older or another contract, \
                 with which a concluded channel could not be paid out. Deploy Perun v1.0.0 \
                 contracts (`parley eth deploy`) or fix the address",
                settings.chain_id,
                hex::encode(abi::selector(&set_outcome))
            )));
        }
    }
    Ok(())
}

/// The channel's record at `block`, if it has one.
pub fn read_dispute(
    rpc: &Rpc,
    adjudicator: H160,
    channel: &ChannelId,
    block: u64,
) -> PluginResult<Option<Dispute>> {
    let data = abi::call_data(
        functions::DISPUTES,
        &[Token::FixedBytes(channel.0.to_vec())],
    );
    let record = DisputeRecord::decode(&rpc.call(adjudicator, data, Some(block))?)?;
    if !record.exists() {
        return Ok(None);
    }
    Ok(Some(Dispute {
        channel_id: *channel,
        version: record.version,
        phase: phase(record.phase)?,
        timeout: record.timeout,
    }))
}

/// The model's phase of the contracts' phase number.
pub fn phase(number: u8) -> PluginResult<DisputePhase> {
    match number {
        0 => Ok(DisputePhase::Dispute),
        1 => Ok(DisputePhase::ForceExec),
        2 => Ok(DisputePhase::Concluded),
        other => Err(PluginError::internal(format!(
            "the adjudicator reports phase {other}, which Perun's contracts do not have"
        ))),
    }
}
