//! The chain suite: checks that a [`ChainBackend`] keeps the funding, dispute and withdrawal
//! rules of the Perun contracts (DESIGN §8), through the trait only.
//!
//! It uses one instance, which must have at least two wallet accounts holding at least
//! [`MIN_FUNDS`] of every asset, and must support `advance_time` (a test ledger): dispute
//! timeouts are passed by advancing chain time, so the suite takes seconds, not minutes.
//! Every channel it opens has a fresh nonce, so it can run against a ledger that is in use.
//!
//! Balances are checked to the unit. A backend that reports transaction fees (`fee_units > 0`
//! in a receipt) may leave the paying account lower than that by its fees; holdings and the
//! amounts in withdrawal receipts are still checked exactly.

use super::{call, Factory, Report, TestHost};
use crate::ensure;
use crate::model::{
    Allocation, Amount, Asset, ChainEvent, ChannelId, ConcludeFinalRequest, ConcludeRequest,
    DepositRequest, Dispute, DisputePhase, FundingOutcome, FundingRequest, Params, Participant,
    PluginEvent, RegisterRequest, Sig, SignedState, State, TxReceipt, WithdrawRequest,
};
use crate::{ChainBackend, ErrorKind, PluginResult};
use std::cell::Cell;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// What each of the two accounts must hold of every asset for the suite to run.
pub const MIN_FUNDS: u64 = 10_000;

/// The challenge duration of every test channel, in seconds of chain time.
const CHALLENGE: u64 = 60;

/// Wall-clock bound on a funding that should succeed.
const FUND_TIMEOUT_SECS: u64 = 10;

/// How long to wait for an event that should come.
const EVENT_WAIT: Duration = Duration::from_secs(5);

/// Runs the suite against one instance made by `new`.
pub fn run(new: &Factory<'_, Box<dyn ChainBackend>>) -> Report {
    let mut report = Report::default();
    let host = TestHost::new("chain");
    let chain = match new(host.context()) {
        Ok(chain) => chain,
        Err(error) => {
            report.check("chain: the plugin starts", || {
                Err(format!("the constructor failed: {error}"))
            });
            return report;
        }
    };
    let mut suite = None;
    report.check("chain: info lists assets and two funded accounts", || {
        suite = Some(Suite::new(chain.as_ref(), &host)?);
        Ok(())
    });
    if let Some(suite) = suite {
        suite.run(&mut report);
    }
    report
}

/// A test channel between the suite's two accounts.
struct Channel {
    params: Params,
    id: ChannelId,
    assets: Vec<Asset>,
}

struct Suite<'a> {
    chain: &'a dyn ChainBackend,
    host: &'a TestHost,
    a: Participant,
    b: Participant,
    assets: Vec<Asset>,
    run_tag: [u8; 24],
    channels: Cell<u64>,
    fees: Cell<bool>,
}

fn expect_rejected<T>(what: &str, result: PluginResult<T>) -> Result<(), String> {
    match result {
        Ok(_) => Err(format!(
            "{what} was accepted; it must be refused with `rejected`"
        )),
        Err(error) if error.kind == ErrorKind::Rejected => Ok(()),
        Err(error) => Err(format!(
            "{what} failed with the wrong kind (expected `rejected`): {error}"
        )),
    }
}

fn amount(value: u64) -> Amount {
    Amount::from(value)
}

impl<'a> Suite<'a> {
    fn new(chain: &'a dyn ChainBackend, host: &'a TestHost) -> Result<Self, String> {
        let info = call("info", chain.info())?;
        ensure!(!info.assets.is_empty(), "info lists no assets");
        for (i, asset) in info.assets.iter().enumerate() {
            ensure!(
                !info.assets[..i]
                    .iter()
                    .any(|other| other.name == asset.name),
                "info lists the asset name `{}` twice",
                asset.name
            );
        }
        let accounts = call("accounts", chain.accounts())?;
        let advice = "configure two funded accounts for the check (for the sim chain: \
                      `accounts = 2`)";
        ensure!(
            accounts.len() >= 2,
            "the wallet has {} account(s) but the chain suite needs two; {advice}",
            accounts.len()
        );
        for account in &accounts[..2] {
            for info in &info.assets {
                let held = call("balance", chain.balance(account, &info.asset))?;
                ensure!(
                    held >= amount(MIN_FUNDS),
                    "account {account} holds {held} of {} but the suite needs {MIN_FUNDS}; {advice}",
                    info.name
                );
            }
        }
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let mut run_tag = [0u8; 24];
        run_tag[..16].copy_from_slice(&nanos.to_be_bytes());
        run_tag[16..20].copy_from_slice(&std::process::id().to_be_bytes());
        Ok(Suite {
            chain,
            host,
            a: accounts[0].clone(),
            b: accounts[1].clone(),
            assets: info.assets.into_iter().map(|info| info.asset).collect(),
            run_tag,
            channels: Cell::new(0),
            fees: Cell::new(false),
        })
    }

    fn run(&self, report: &mut Report) {
        let asset = vec![self.assets[0].clone()];
        report.check(
            "chain: channel_id is deterministic and nonce-sensitive",
            || self.channel_ids(),
        );
        report.check(
            "chain: a signature verifies for its signer and state only",
            || self.signatures(),
        );
        report.check(
            "chain: deposit moves funds into the holding; an overdraft is rejected",
            || self.deposit(),
        );

        let mut funded = None;
        report.check(
            "chain: two-party funding ends Funded with exact holdings and debits",
            || {
                funded = Some(self.two_party_funding(&asset)?);
                Ok(())
            },
        );
        let funded = funded.ok_or_else(|| "the two-party funding check failed".to_string());
        report.check("chain: a repeated fund does not pay again", || {
            let (channel, opening) = funded.as_ref().map_err(Clone::clone)?;
            self.repeated_fund(channel, opening)
        });
        let mut half_funded = None;
        report.check(
            "chain: funding without the partner's deposit times out naming it",
            || {
                half_funded = Some(self.funding_timeout(&asset)?);
                Ok(())
            },
        );

        if let Ok((channel, _)) = &funded {
            self.dispute_checks(report, channel);
        }
        self.conclude_final_checks(report, &asset);
        report.check(
            "chain: an under-funded channel pays back each deposit",
            || {
                let channel = half_funded
                    .as_ref()
                    .ok_or("the funding timeout check failed")?;
                self.under_funded(channel)
            },
        );
        report.check("chain: a two-asset channel settles both assets", || {
            self.two_assets()
        });
    }

    /// The register / refute / conclude / withdraw sequence on a funded channel.
    fn dispute_checks(&self, report: &mut Report, channel: &Channel) {
        let v1 = self.state(channel, 1, &[[150, 150]], false);
        let v2 = self.state(channel, 2, &[[120, 180]], false);
        let mut registered: Option<Dispute> = None;
        report.check(
            "chain: registered_state is none before anything is registered (revision 3)",
            || self.expect_on_record(channel, None),
        );
        report.check(
            "chain: register starts a dispute ending a challenge duration later, reported to watchers",
            || {
                registered = Some(self.register_starts_dispute(channel, &v1)?);
                Ok(())
            },
        );
        report.check(
            "chain: register of the same or an older version is rejected",
            || {
                expect_rejected("registering version 1 again", self.register(channel, &v1))?;
                let v0 = self.state(channel, 0, &[[100, 200]], false);
                expect_rejected(
                    "registering version 0 over version 1",
                    self.register(channel, &v0),
                )
            },
        );
        report.check("chain: register with a bad signature is rejected", || {
            let mut swapped = self.signed(channel, &v2)?;
            swapped.sigs.reverse();
            expect_rejected(
                "registering with the signatures swapped",
                self.register_signed(swapped),
            )?;
            let dispute = self.dispute(channel)?;
            ensure!(
                dispute.version == 1,
                "the record moved to version {}",
                dispute.version
            );
            Ok(())
        });
        report.check(
            "chain: a newer version refutes before the timeout and keeps it",
            || {
                let first = registered.as_ref().ok_or("the register check failed")?;
                // Refute later in the dispute, so that a backend restarting the clock is caught.
                self.advance_time(CHALLENGE / 2)?;
                call("register (refutation)", self.register(channel, &v2))?;
                let dispute = self.dispute(channel)?;
                ensure!(
                    (dispute.version, dispute.phase) == (2, DisputePhase::Dispute),
                    "after refuting with version 2 the record is {dispute:?}"
                );
                ensure!(
                    dispute.timeout == first.timeout,
                    "refutation changed the timeout from {} to {}",
                    first.timeout,
                    dispute.timeout
                );
                Ok(())
            },
        );
        report.check(
            "chain: registered_state is exactly the state on record (revision 3)",
            || self.expect_on_record(channel, Some(&v2)),
        );
        report.check("chain: conclude before the timeout is rejected", || {
            expect_rejected("concluding before the timeout", self.conclude(channel, &v2))
        });
        report.check("chain: a refutation after the timeout is rejected", || {
            self.pass_timeout(channel)?;
            let v3 = self.state(channel, 3, &[[100, 200]], false);
            expect_rejected("refuting after the timeout", self.register(channel, &v3))
        });
        report.check(
            "chain: conclude after the timeout concludes the channel",
            || {
                self.pass_timeout(channel)?;
                call("conclude", self.conclude(channel, &v2))?;
                let dispute = self.dispute(channel)?;
                ensure!(
                    (dispute.version, dispute.phase) == (2, DisputePhase::Concluded),
                    "after conclude the record is {dispute:?}"
                );
                self.wait_for_record(channel, 2, DisputePhase::Concluded)
            },
        );
        report.check(
            "chain: withdraw pays each participant its outcome exactly, once",
            || {
                self.withdraw_exact(channel, &self.a, &[120])?;
                self.withdraw_exact(channel, &self.b, &[180])?;
                // Twice: withdrawing an empty holding again is still not an error (a backend
                // that signs a zero authorisation must not have it refused as a replay).
                self.withdraw_exact(channel, &self.a, &[0])?;
                self.withdraw_exact(channel, &self.a, &[0])
            },
        );
        report.check("chain: register after conclusion is rejected", || {
            let v3 = self.state(channel, 3, &[[120, 180]], false);
            expect_rejected("registering after conclusion", self.register(channel, &v3))
        });
        let _ = self.chain.unwatch(&channel.id);
    }

    fn conclude_final_checks(&self, report: &mut Report, asset: &[Asset]) {
        let mut running = None;
        report.check(
            "chain: conclude_final of a non-final state is rejected",
            || {
                let channel = self.open_funded(asset, &[[60, 40]])?;
                let v1 = self.state(&channel, 1, &[[60, 40]], false);
                call("register", self.register(&channel, &v1))?;
                let v2 = self.state(&channel, 2, &[[10, 90]], false);
                expect_rejected(
                    "conclude_final of a non-final state",
                    self.conclude_final(&channel, &v2),
                )?;
                running = Some(channel);
                Ok(())
            },
        );
        report.check(
            "chain: conclude_final over a running dispute concludes at once; withdrawals exact",
            || {
                let channel = running.as_ref().ok_or("the previous check failed")?;
                let last = self.state(channel, 2, &[[10, 90]], true);
                call("conclude_final", self.conclude_final(channel, &last))?;
                let dispute = self.dispute(channel)?;
                ensure!(
                    (dispute.version, dispute.phase) == (2, DisputePhase::Concluded),
                    "after conclude_final the record is {dispute:?}"
                );
                self.withdraw_exact(channel, &self.a, &[10])?;
                self.withdraw_exact(channel, &self.b, &[90])
            },
        );
        report.check(
            "chain: a registered final state cannot be refuted and concludes at once",
            || self.registered_final(asset),
        );
    }

    /// A final state cannot be refuted, so registering one sets the timeout to the chain time
    /// of the registration and `conclude` needs no waiting.
    fn registered_final(&self, asset: &[Asset]) -> Result<(), String> {
        let channel = self.open_funded(asset, &[[30, 20]])?;
        let last = self.state(&channel, 1, &[[5, 45]], true);
        let before = call("now", self.chain.now())?;
        call("register", self.register(&channel, &last))?;
        let after = call("now", self.chain.now())?;
        let dispute = self.dispute(&channel)?;
        ensure!(
            (dispute.version, dispute.phase) == (1, DisputePhase::Dispute)
                && (before..=after).contains(&dispute.timeout),
            "after registering final version 1 (chain time {before}..={after}) the record is \
             {dispute:?}; a final state's timeout is the time of its registration"
        );
        call("conclude (without waiting)", self.conclude(&channel, &last))?;
        self.withdraw_exact(&channel, &self.a, &[5])?;
        self.withdraw_exact(&channel, &self.b, &[45])
    }

    fn channel_ids(&self) -> Result<(), String> {
        let channel = self.channel(&self.assets[..1])?;
        let again = call("channel_id", self.chain.channel_id(&channel.params))?;
        ensure!(
            again == channel.id,
            "channel_id gave {} then {again}",
            channel.id
        );
        let mut other = channel.params.clone();
        other.nonce[0] ^= 1;
        let other = call("channel_id", self.chain.channel_id(&other))?;
        ensure!(
            other != channel.id,
            "two nonces gave the same channel id {other}"
        );
        Ok(())
    }

    fn signatures(&self) -> Result<(), String> {
        let channel = self.channel(&self.assets[..1])?;
        let state = self.state(&channel, 3, &[[1, 2]], false);
        let sig = call("sign_state", self.chain.sign_state(&self.a, &state))?;
        let verify = |state: &State, sig: &Sig, who: &Participant| {
            call("verify_state", self.chain.verify_state(state, sig, who))
        };
        ensure!(
            verify(&state, &sig, &self.a)?,
            "A's signature does not verify for A"
        );
        ensure!(
            !verify(&state, &sig, &self.b)?,
            "A's signature verifies for B"
        );
        let mut tampered = state.clone();
        tampered.allocation.balances[0][0] = amount(2);
        ensure!(
            !verify(&tampered, &sig, &self.a)?,
            "A's signature verifies for a tampered state"
        );
        ensure!(
            !verify(&state, &Sig(vec![1, 2, 3]), &self.a)?,
            "a 3-byte signature verifies"
        );
        Ok(())
    }

    fn deposit(&self) -> Result<(), String> {
        let channel = self.channel(&self.assets[..1])?;
        let asset = &self.assets[0];
        let before = self.balance(&self.a, asset)?;
        let receipt = call(
            "deposit",
            self.chain.deposit(&DepositRequest {
                from: self.a.clone(),
                channel_id: channel.id,
                participant: self.a.clone(),
                asset: asset.clone(),
                amount: amount(7),
            }),
        )?;
        self.note_fees(&receipt);
        self.expect_holding(&channel, &self.a, asset, 7)?;
        self.expect_balance(
            "A after depositing 7",
            self.balance(&self.a, asset)?,
            sub(before, 7)?,
        )?;
        let overdraft = self
            .balance(&self.a, asset)?
            .checked_add(amount(1))
            .ok_or("A's balance is the largest amount there is")?;
        expect_rejected(
            "a deposit of more than the balance",
            self.chain.deposit(&DepositRequest {
                from: self.a.clone(),
                channel_id: channel.id,
                participant: self.a.clone(),
                asset: asset.clone(),
                amount: overdraft,
            }),
        )?;
        self.expect_holding(&channel, &self.a, asset, 7)
    }

    fn two_party_funding(&self, assets: &[Asset]) -> Result<(Channel, State), String> {
        let channel = self.channel(assets)?;
        let opening = self.state(&channel, 0, &[[100, 200]], false);
        let asset = &assets[0];
        let before = (self.balance(&self.a, asset)?, self.balance(&self.b, asset)?);
        self.fund_both(&channel, &opening)?;
        self.expect_holding(&channel, &self.a, asset, 100)?;
        self.expect_holding(&channel, &self.b, asset, 200)?;
        self.expect_balance(
            "A after funding 100",
            self.balance(&self.a, asset)?,
            sub(before.0, 100)?,
        )?;
        self.expect_balance(
            "B after funding 200",
            self.balance(&self.b, asset)?,
            sub(before.1, 200)?,
        )?;
        Ok((channel, opening))
    }

    fn repeated_fund(&self, channel: &Channel, opening: &State) -> Result<(), String> {
        let asset = &channel.assets[0];
        let before = self.balance(&self.a, asset)?;
        let outcome = call(
            "fund (repeated)",
            self.chain.fund(&self.funding(channel, opening, 0, 5)),
        )?;
        ensure!(
            outcome == FundingOutcome::Funded,
            "a repeated fund ended {outcome:?}"
        );
        self.expect_holding(channel, &self.a, asset, 100)?;
        let after = self.balance(&self.a, asset)?;
        ensure!(
            after == before,
            "a repeated fund moved A's balance from {before} to {after}"
        );
        Ok(())
    }

    fn funding_timeout(&self, assets: &[Asset]) -> Result<Channel, String> {
        let channel = self.channel(assets)?;
        let opening = self.state(&channel, 0, &[[50, 50]], false);
        let outcome = call(
            "fund",
            self.chain.fund(&self.funding(&channel, &opening, 0, 1)),
        )?;
        ensure!(
            outcome
                == (FundingOutcome::TimedOut {
                    missing: vec![(1, 0)]
                }),
            "funding without B's deposit ended {outcome:?}; expected TimedOut missing (1, 0)"
        );
        self.expect_holding(&channel, &self.a, &assets[0], 50)?;
        Ok(channel)
    }

    fn register_starts_dispute(&self, channel: &Channel, v1: &State) -> Result<Dispute, String> {
        call("watch", self.chain.watch(&channel.id))?;
        let before = call("now", self.chain.now())?;
        call("register", self.register(channel, v1))?;
        let after = call("now", self.chain.now())?;
        let dispute = self.dispute(channel)?;
        ensure!(
            (dispute.version, dispute.phase) == (1, DisputePhase::Dispute),
            "after registering version 1 the record is {dispute:?}"
        );
        ensure!(
            (before + CHALLENGE..=after + CHALLENGE).contains(&dispute.timeout),
            "the timeout is {}, expected chain time of the register ({before}..={after}) + {CHALLENGE}",
            dispute.timeout
        );
        self.wait_for_record(channel, 1, DisputePhase::Dispute)?;
        Ok(dispute)
    }

    fn under_funded(&self, channel: &Channel) -> Result<(), String> {
        // Only A deposited (50); the outcome gives B 80, which the holdings cannot pay.
        let v1 = self.state(channel, 1, &[[20, 80]], false);
        call("register", self.register(channel, &v1))?;
        self.pass_timeout(channel)?;
        call("conclude", self.conclude(channel, &v1))?;
        self.withdraw_exact(channel, &self.a, &[50])?;
        self.withdraw_exact(channel, &self.b, &[0])
    }

    fn two_assets(&self) -> Result<(), String> {
        ensure!(
            self.assets.len() >= 2,
            "the backend lists one asset; this check needs two"
        );
        let assets = self.assets[..2].to_vec();
        let channel = self.open_funded(&assets, &[[30, 10], [5, 15]])?;
        let last = self.state(&channel, 1, &[[25, 15], [0, 20]], true);
        call("conclude_final", self.conclude_final(&channel, &last))?;
        self.withdraw_exact(&channel, &self.a, &[25, 0])?;
        self.withdraw_exact(&channel, &self.b, &[15, 20])
    }

    // ---- helpers ----

    fn channel(&self, assets: &[Asset]) -> Result<Channel, String> {
        let count = self.channels.get() + 1;
        self.channels.set(count);
        let mut nonce = [0u8; 32];
        nonce[..24].copy_from_slice(&self.run_tag);
        nonce[24..].copy_from_slice(&count.to_be_bytes());
        let params = Params {
            participants: vec![self.a.clone(), self.b.clone()],
            challenge_duration: CHALLENGE,
            nonce,
            app: None,
            ledger_channel: true,
            virtual_channel: false,
        };
        let id = call("channel_id", self.chain.channel_id(&params))?;
        Ok(Channel {
            params,
            id,
            assets: assets.to_vec(),
        })
    }

    /// A state of `channel`; `balances[asset] = [A's, B's]`.
    fn state(
        &self,
        channel: &Channel,
        version: u64,
        balances: &[[u64; 2]],
        is_final: bool,
    ) -> State {
        State {
            channel_id: channel.id,
            version,
            allocation: Allocation {
                assets: channel.assets.clone(),
                balances: balances
                    .iter()
                    .map(|row| row.map(amount).to_vec())
                    .collect(),
                locked: vec![],
            },
            app_data: Default::default(),
            is_final,
        }
    }

    fn signed(&self, channel: &Channel, state: &State) -> Result<SignedState, String> {
        let sigs = [&self.a, &self.b]
            .into_iter()
            .map(|who| call("sign_state", self.chain.sign_state(who, state)))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(SignedState {
            params: channel.params.clone(),
            state: state.clone(),
            sigs,
        })
    }

    /// The state on record is `expected`. A backend without the capability (its default,
    /// `Unsupported`) passes: a node then says it cannot follow force execution.
    fn expect_on_record(&self, channel: &Channel, expected: Option<&State>) -> Result<(), String> {
        match self.chain.registered_state(&channel.id) {
            Err(error) if error.kind == ErrorKind::Unsupported => Ok(()),
            Err(error) => Err(format!("registered_state failed: {error}")),
            Ok(found) => {
                ensure!(
                    found.as_ref() == expected,
                    "registered_state is {found:?}, expected {expected:?}"
                );
                Ok(())
            }
        }
    }

    fn register(&self, channel: &Channel, state: &State) -> PluginResult<TxReceipt> {
        match self.signed(channel, state) {
            Ok(signed) => self.register_signed(signed),
            Err(message) => Err(crate::PluginError::internal(message)),
        }
    }

    fn register_signed(&self, channel: SignedState) -> PluginResult<TxReceipt> {
        self.chain.register(&RegisterRequest {
            from: self.a.clone(),
            channel,
            sub_channels: vec![],
        })
    }

    fn conclude(&self, channel: &Channel, state: &State) -> PluginResult<TxReceipt> {
        self.chain.conclude(&ConcludeRequest {
            from: self.a.clone(),
            params: channel.params.clone(),
            state: state.clone(),
            sub_states: vec![],
        })
    }

    fn conclude_final(&self, channel: &Channel, state: &State) -> PluginResult<TxReceipt> {
        match self.signed(channel, state) {
            Ok(signed) => self.chain.conclude_final(&ConcludeFinalRequest {
                from: self.b.clone(),
                channel: signed,
            }),
            Err(message) => Err(crate::PluginError::internal(message)),
        }
    }

    fn dispute(&self, channel: &Channel) -> Result<Dispute, String> {
        call("dispute", self.chain.dispute(&channel.id))?
            .ok_or_else(|| format!("channel {} has no on-chain record", channel.id))
    }

    /// Advances chain time just past the channel's dispute timeout, unless it already passed.
    fn pass_timeout(&self, channel: &Channel) -> Result<(), String> {
        let timeout = self.dispute(channel)?.timeout;
        let now = call("now", self.chain.now())?;
        if now <= timeout {
            self.advance_time(timeout - now + 1)?;
        }
        Ok(())
    }

    /// Moves chain time through the backend's test clock; the dispute checks need one.
    fn advance_time(&self, seconds: u64) -> Result<(), String> {
        let clock = self.chain.test_clock().ok_or(
            "the backend offers no test clock, which the dispute checks need: run the suite \
             against a test ledger (the sim chain, anvil)",
        )?;
        call("advance_time", clock.advance_time(seconds)).map(|_| ())
    }

    fn funding(
        &self,
        channel: &Channel,
        opening: &State,
        index: u16,
        timeout_secs: u64,
    ) -> FundingRequest {
        FundingRequest {
            params: channel.params.clone(),
            state: opening.clone(),
            index,
            from: channel.params.participants[usize::from(index)].clone(),
            timeout_secs,
        }
    }

    /// Funds `opening` from both accounts at once (B on another thread), as two nodes would.
    fn fund_both(&self, channel: &Channel, opening: &State) -> Result<(), String> {
        let (for_a, for_b) = (
            self.funding(channel, opening, 0, FUND_TIMEOUT_SECS),
            self.funding(channel, opening, 1, FUND_TIMEOUT_SECS),
        );
        let chain = self.chain;
        let (a, b) = std::thread::scope(|scope| {
            let b = scope.spawn(move || chain.fund(&for_b));
            let a = chain.fund(&for_a);
            (a, b.join())
        });
        let b = b.map_err(|_| "B's fund panicked".to_string())?;
        for (who, outcome) in [("A", a), ("B", b)] {
            let outcome = call(&format!("{who}'s fund"), outcome)?;
            ensure!(
                outcome == FundingOutcome::Funded,
                "{who}'s fund ended {outcome:?}"
            );
        }
        Ok(())
    }

    /// A fresh channel over `assets` funded with `balances` by both accounts.
    fn open_funded(&self, assets: &[Asset], balances: &[[u64; 2]]) -> Result<Channel, String> {
        let channel = self.channel(assets)?;
        let opening = self.state(&channel, 0, balances, false);
        self.fund_both(&channel, &opening)?;
        Ok(channel)
    }

    fn balance(&self, who: &Participant, asset: &Asset) -> Result<Amount, String> {
        call("balance", self.chain.balance(who, asset))
    }

    fn note_fees(&self, receipt: &TxReceipt) {
        if receipt.fee_units > 0 {
            self.fees.set(true);
        }
    }

    /// Exact, except that on a backend with fees the payer may hold less by what it paid.
    fn expect_balance(&self, what: &str, actual: Amount, expected: Amount) -> Result<(), String> {
        ensure!(
            actual == expected || (self.fees.get() && actual < expected),
            "{what}: the balance is {actual}, expected exactly {expected}"
        );
        Ok(())
    }

    fn expect_holding(
        &self,
        channel: &Channel,
        who: &Participant,
        asset: &Asset,
        expected: u64,
    ) -> Result<(), String> {
        let held = call("holdings", self.chain.holdings(&channel.id, who, asset))?;
        ensure!(
            held == amount(expected),
            "{who} holds {held} of {asset} in channel {}, expected {expected}",
            channel.id
        );
        Ok(())
    }

    /// Withdraws `who`'s share of every asset of `channel` to itself and checks that exactly
    /// `expected[asset]` moved.
    fn withdraw_exact(
        &self,
        channel: &Channel,
        who: &Participant,
        expected: &[u64],
    ) -> Result<(), String> {
        let before = channel
            .assets
            .iter()
            .map(|asset| self.balance(who, asset))
            .collect::<Result<Vec<_>, _>>()?;
        let receipt = call(
            "withdraw",
            self.chain.withdraw(&WithdrawRequest {
                from: who.clone(),
                channel_id: channel.id,
                participant: who.clone(),
                receiver: who.clone(),
                assets: channel.assets.clone(),
            }),
        )?;
        self.note_fees(&receipt);
        let expected_amounts: Vec<Amount> = expected.iter().map(|&v| amount(v)).collect();
        ensure!(
            receipt.amounts == expected_amounts,
            "withdrawing {who}'s share moved {:?}, expected {expected_amounts:?}",
            receipt.amounts
        );
        for ((asset, before), paid) in channel.assets.iter().zip(before).zip(expected) {
            let target = before
                .checked_add(amount(*paid))
                .ok_or("balance overflow")?;
            self.expect_balance(
                &format!("{who} after withdrawing {paid} of {asset}"),
                self.balance(who, asset)?,
                target,
            )?;
            self.expect_holding(channel, who, asset, 0)?;
        }
        Ok(())
    }

    /// Waits for the event reporting `channel`'s record at `version` in `phase`.
    fn wait_for_record(
        &self,
        channel: &Channel,
        version: u64,
        phase: DisputePhase,
    ) -> Result<(), String> {
        let seen = self.host.wait_for(EVENT_WAIT, |event| match event {
            PluginEvent::Chain(ChainEvent::Disputed(dispute))
                if dispute.channel_id == channel.id
                    && dispute.version == version
                    && dispute.phase == phase =>
            {
                Some(())
            }
            _ => None,
        });
        seen.ok_or_else(|| {
            format!(
                "no Disputed event for version {version} in phase {phase:?} of the watched \
                 channel within {EVENT_WAIT:?}"
            )
        })
    }
}

fn sub(before: Amount, value: u64) -> Result<Amount, String> {
    before
        .checked_sub(amount(value))
        .ok_or_else(|| format!("a balance of {before} cannot pay {value}"))
}
