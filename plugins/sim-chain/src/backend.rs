//! [`SimChain`]: the [`ChainBackend`] over a simulated ledger. It plays both sides of a real
//! backend: the client (wallet, signatures, the funding loop) and, inside one ledger
//! transaction per call, the chain (the [`rules`](crate::rules)).

use crate::apps::Apps;
use crate::config::Settings;
use crate::crypto::{self, funding_id, WithdrawalAuth};
use crate::events::{self, Watcher};
use crate::ledger::{Ledger, Location, WriteView};
use crate::rules::{self, LedgerState};
use crate::wallet::Wallet;
use parley_plugin_api::chain::await_funding;
use parley_plugin_api::codec::Bytes;
use parley_plugin_api::model::{
    Amount, Asset, ChainInfo, ChainTime, ChannelId, ConcludeFinalRequest, ConcludeRequest,
    DepositRequest, Dispute, FundingOutcome, FundingRequest, Params, Participant, ProgressRequest,
    RegisterRequest, Sig, State, TxReceipt, WithdrawRequest,
};
use parley_plugin_api::{
    ChainBackend, ChainLedger, ChainSigner, Host, PluginError, PluginResult, TestClock,
};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The backend name reported by `info`.
pub const BACKEND: &str = "sim-chain";

/// A simulated ledger with the Perun contracts' rules. See the crate doc for the configuration.
pub struct SimChain {
    settings: Settings,
    wallet: Wallet,
    ledger: Arc<Ledger>,
    watcher: Watcher,
    /// The apps `progress` enforces: the built-ins, then the node's through the host.
    apps: Apps,
}

impl SimChain {
    /// Creates an instance from its `[chain]` table (TOML text).
    pub fn new(table: &str, host: Host) -> PluginResult<SimChain> {
        parley_plugin_api::logging::forward_tracing_to_host(&host);
        let settings = Settings::parse(table, &host)?;
        let wallet = Wallet::load(&settings.key_dir, settings.accounts)?;
        let location = match &settings.ledger {
            Some(path) => Location::Shared(path.clone()),
            None => Location::Embedded,
        };
        let ledger = Ledger::open(&location, settings.chain_id, settings.block_time)?;
        for account in wallet.addresses() {
            if ledger.prefund_once(account.as_bytes(), &settings.prefund)? {
                tracing::info!("sim-chain: prefunded new account {account}");
            }
        }
        tracing::info!(
            "sim-chain: chain id {}, {} account(s), {} ledger at {}",
            settings.chain_id,
            settings.accounts,
            if settings.ledger.is_some() {
                "shared"
            } else {
                "embedded"
            },
            ledger.place()
        );
        let apps = Apps::with_host(host.clone());
        let watcher = events::watcher(Arc::clone(&ledger), host, settings.poll_interval);
        Ok(SimChain {
            settings,
            wallet,
            ledger,
            watcher,
            apps,
        })
    }

    /// Where the ledger is (its directory), for messages and tests.
    pub fn ledger_place(&self) -> &str {
        self.ledger.place()
    }

    /// Checks that `from` is one of our accounts (it "pays" for the transaction).
    fn payer(&self, from: &Participant) -> PluginResult<()> {
        self.wallet.key(from).map(|_| ())
    }

    /// Runs one ledger transaction and wakes the event thread for what it logged.
    fn transact<T>(
        &self,
        body: impl FnOnce(&mut WriteView<'_>) -> PluginResult<T>,
    ) -> PluginResult<(T, Bytes)> {
        let result = self.ledger.transact(body);
        if result.is_ok() {
            self.watcher.nudge();
        }
        result
    }

    fn receipt(tx_id: Bytes, amounts: Vec<Amount>) -> TxReceipt {
        TxReceipt {
            tx_id,
            fee_units: 0,
            amounts,
        }
    }

    /// Which `(participant, asset)` pairs of `state`'s allocation are not yet fully held.
    fn missing(&self, params: &Params, state: &State) -> PluginResult<Vec<(u16, u16)>> {
        let allocation = &state.allocation;
        let mut pairs = Vec::new();
        let mut keys = Vec::new();
        for (a, asset) in allocation.assets.iter().enumerate() {
            for (p, participant) in params.participants.iter().enumerate() {
                pairs.push((p, a));
                keys.push((funding_id(&state.channel_id, participant), asset));
            }
        }
        let held = self.ledger.holdings(&keys)?;
        Ok(pairs
            .into_iter()
            .zip(held)
            .filter(|&((p, a), held)| held < allocation.balances[a][p])
            .map(|((p, a), _)| (p as u16, a as u16))
            .collect())
    }

    fn check_funding_request(&self, request: &FundingRequest) -> PluginResult<()> {
        self.payer(&request.from)?;
        request.check_consistent(&crypto::channel_id(&request.params))?;
        for asset in &request.state.allocation.assets {
            self.settings.asset(asset)?;
        }
        Ok(())
    }
}

impl ChainSigner for SimChain {
    fn info(&self) -> PluginResult<ChainInfo> {
        Ok(ChainInfo {
            chain_id: self.settings.chain_id,
            backend: BACKEND.to_string(),
            assets: self.settings.assets.clone(),
        })
    }

    fn accounts(&self) -> PluginResult<Vec<Participant>> {
        Ok(self.wallet.addresses())
    }

    fn channel_id(&self, params: &Params) -> PluginResult<ChannelId> {
        Ok(crypto::channel_id(params))
    }

    fn sign_state(&self, account: &Participant, state: &State) -> PluginResult<Sig> {
        Ok(crypto::sign_state(self.wallet.key(account)?, state))
    }

    fn verify_state(
        &self,
        state: &State,
        sig: &Sig,
        participant: &Participant,
    ) -> PluginResult<bool> {
        Ok(crypto::state_signer(state, sig).as_ref() == Some(participant))
    }
}

impl ChainLedger for SimChain {
    fn now(&self) -> PluginResult<ChainTime> {
        self.ledger.now()
    }

    fn balance(&self, owner: &Participant, asset: &Asset) -> PluginResult<Amount> {
        self.settings.asset(asset)?;
        self.ledger.balance(owner.as_bytes(), asset)
    }

    fn holdings(
        &self,
        channel: &ChannelId,
        participant: &Participant,
        asset: &Asset,
    ) -> PluginResult<Amount> {
        self.settings.asset(asset)?;
        let held = self
            .ledger
            .holdings(&[(funding_id(channel, participant), asset)])?;
        Ok(held[0])
    }

    fn deposit(&self, request: &DepositRequest) -> PluginResult<TxReceipt> {
        self.payer(&request.from)?;
        self.settings.asset(&request.asset)?;
        let ((), tx_id) = self.transact(|ledger| {
            rules::deposit(
                ledger,
                &request.from,
                &request.channel_id,
                &request.participant,
                &request.asset,
                request.amount,
            )
            .map(|_| ())
        })?;
        Ok(Self::receipt(tx_id, Vec::new()))
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
        let funding = funding_id(&state.channel_id, participant);
        // Reading the holding and depositing the difference in one transaction is what makes
        // a retry (after a crash, or a second call) never pay twice.
        self.transact(|ledger| {
            for (asset, row) in state
                .allocation
                .assets
                .iter()
                .zip(&state.allocation.balances)
            {
                let held = ledger.holding(&funding, asset)?;
                if let Some(short) = row[index].checked_sub(held).filter(|s| !s.is_zero()) {
                    rules::deposit(ledger, from, &state.channel_id, participant, asset, short)?;
                }
            }
            Ok(())
        })?;
        await_funding(deadline, self.settings.poll_interval, || {
            self.missing(params, state)
        })
    }

    fn register(&self, request: &RegisterRequest) -> PluginResult<TxReceipt> {
        self.payer(&request.from)?;
        let ((), tx_id) = self
            .transact(|ledger| rules::register(ledger, &request.channel, &request.sub_channels))?;
        Ok(Self::receipt(tx_id, Vec::new()))
    }

    fn progress(&self, request: &ProgressRequest) -> PluginResult<TxReceipt> {
        self.payer(&request.from)?;
        let ((), tx_id) = self.transact(|ledger| {
            rules::progress(
                ledger,
                &self.apps,
                &request.params,
                &request.old_state,
                &request.new_state,
                request.actor,
                &request.sig,
            )
        })?;
        Ok(Self::receipt(tx_id, Vec::new()))
    }

    fn conclude(&self, request: &ConcludeRequest) -> PluginResult<TxReceipt> {
        self.payer(&request.from)?;
        let ((), tx_id) = self.transact(|ledger| {
            rules::conclude(ledger, &request.params, &request.state, &request.sub_states)
        })?;
        Ok(Self::receipt(tx_id, Vec::new()))
    }

    fn conclude_final(&self, request: &ConcludeFinalRequest) -> PluginResult<TxReceipt> {
        self.payer(&request.from)?;
        let ((), tx_id) =
            self.transact(|ledger| rules::conclude_final(ledger, &request.channel))?;
        Ok(Self::receipt(tx_id, Vec::new()))
    }

    fn withdraw(&self, request: &WithdrawRequest) -> PluginResult<TxReceipt> {
        let key = self.wallet.key(&request.from)?;
        if request.from != request.participant {
            return Err(PluginError::invalid(format!(
                "withdraw: the sending account {} must be the participant {} (it signs the \
                 withdrawal authorisation)",
                request.from, request.participant
            )));
        }
        for asset in &request.assets {
            self.settings.asset(asset)?;
        }
        let funding = funding_id(&request.channel_id, &request.participant);
        let (amounts, tx_id) = self.transact(|ledger| {
            request
                .assets
                .iter()
                .map(|asset| {
                    // The client side: authorise the whole holding; the ledger then checks
                    // the authorisation like the asset holder contract does. Nothing to pay
                    // means no authorisation (as the Ethereum plugin sends no transaction):
                    // a zero authorisation would be spent, and a repeated withdrawal refused.
                    let amount = ledger.holding(&funding, asset)?;
                    if amount.is_zero() {
                        return Ok(Amount::ZERO);
                    }
                    let auth = WithdrawalAuth {
                        channel_id: request.channel_id,
                        participant: request.participant.clone(),
                        receiver: request.receiver.clone(),
                        asset: asset.clone(),
                        amount,
                    };
                    rules::withdraw(ledger, &auth, &auth.sign(key))
                })
                .collect::<PluginResult<Vec<_>>>()
        })?;
        Ok(Self::receipt(tx_id, amounts))
    }

    fn dispute(&self, channel: &ChannelId) -> PluginResult<Option<Dispute>> {
        Ok(self.ledger.record(channel)?.map(|record| record.dispute()))
    }

    /// The record keeps the whole state, so the state on record is read, never rebuilt.
    fn registered_state(&self, channel: &ChannelId) -> PluginResult<Option<State>> {
        Ok(self.ledger.record(channel)?.map(|record| record.state))
    }

    fn watch(&self, channel: &ChannelId) -> PluginResult<()> {
        self.watcher.watch(channel)
    }

    fn unwatch(&self, channel: &ChannelId) -> PluginResult<()> {
        self.watcher.unwatch(channel);
        Ok(())
    }
}

impl TestClock for SimChain {
    fn advance_time(&self, seconds: u64) -> PluginResult<ChainTime> {
        self.ledger.advance_time(seconds)
    }
}

impl ChainBackend for SimChain {
    fn test_clock(&self) -> Option<&dyn TestClock> {
        Some(self)
    }
}
