//! A virtual channel running an app (as contracts/test/VirtualChannels.t.sol,
//! `test_virtualApp_*`): moved on chain with `progress`, it is paid out in both of its parents
//! with the one state on record, so its intermediary (key 1) ends even.

use super::contracts::lock;
use super::*;
use crate::test_apps::{offering_pot, Pot};
use parley_plugin_api::Host;

/// The keys of the two parents' participants; key 1 is the intermediary.
const PARENT_KEYS: [[u8; 2]; 2] = [[0, 1], [1, 2]];

/// A virtual channel of keys 0 and 2 running `app`, opening with `opening` (2 each, at
/// version 1), and its two parents: (0, 1), where 1 stands in for 2, and (1, 2), where 1
/// stands in for 0. Each parent keeps 3 each and locks 4 in the virtual channel; each of
/// their participants deposited 5.
struct Virtual {
    params: Params,
    opening: State,
    parents: [(Params, State); 2],
}

impl Virtual {
    fn new(ledger: &mut MemoryLedger, app: Address, app_data: Vec<u8>, nonce: u8) -> Self {
        let mut params = params(&[0, 2], Some(app), nonce);
        params.ledger_channel = false;
        params.virtual_channel = true;
        let mut opening = state(&params, 1, &[2, 2]);
        opening.app_data = Bytes(app_data);
        ledger
            .set_balance(addr(2).as_bytes(), &eth(), Amount::from(1000u64))
            .unwrap();
        let parents = PARENT_KEYS.map(|parties| {
            let p = super::params(&parties, None, nonce.wrapping_add(parties[1]));
            let mut s = state(&p, 1, &[3, 3]);
            s.allocation.locked = vec![lock(&opening, &[0, 1])];
            for who in parties {
                fund(ledger, &channel_id(&p), who, 5);
            }
            (p, s)
        });
        Virtual {
            params,
            opening,
            parents,
        }
    }

    /// Registers parent `which` (0 or 1) with `sub` as the virtual channel's state.
    fn register(
        &self,
        ledger: &mut MemoryLedger,
        which: usize,
        sub: SignedState,
    ) -> PluginResult<()> {
        let (p, s) = &self.parents[which];
        let keys = &PARENT_KEYS[which];
        ledger.run(|l| register(l, &signed(p, keys, s), std::slice::from_ref(&sub)))
    }

    /// Concludes parent `which` with `sub` as the virtual channel's state.
    fn conclude(&self, ledger: &mut MemoryLedger, which: usize, sub: &State) -> PluginResult<()> {
        let (p, s) = &self.parents[which];
        ledger.run(|l| conclude(l, p, s, std::slice::from_ref(sub)))
    }

    /// The opening state signed by both of the virtual channel's participants.
    fn signed_opening(&self) -> SignedState {
        signed(&self.params, &[0, 2], &self.opening)
    }

    /// `state` presented without any signature, as a state reached by `progress` is known.
    fn unsigned(&self, state: &State) -> SignedState {
        SignedState {
            params: self.params.clone(),
            state: state.clone(),
            sigs: vec![],
        }
    }

    /// What parent `which` pays each of its two participants.
    fn payouts(&self, ledger: &mut MemoryLedger, which: usize) -> Vec<Amount> {
        let id = channel_id(&self.parents[which].0);
        PARENT_KEYS[which]
            .iter()
            .map(|&who| withdraw_all(ledger, &id, who).unwrap())
            .collect()
    }
}

/// Key 2 takes the pot on chain. The second parent is registered only after that move, with
/// the state on record (which only key 2 signed); both parents pay out the taken pot, and key
/// 1, the intermediary, gets back exactly its 10.
#[test]
fn a_progressed_virtual_channel_pays_out_in_both_parents() {
    let mut ledger = ledger();
    let apps = Apps::with_host(Host::new(offering_pot()));
    let v = Virtual::new(&mut ledger, Pot::address(), vec![0], 90);
    v.register(&mut ledger, 0, v.signed_opening()).unwrap();

    ledger.now += CHALLENGE;
    let mut taken = v.opening.clone();
    taken.version = 2;
    taken.app_data = Bytes(vec![1]);
    taken.allocation.balances = vec![amounts(&[0, 4])];
    taken.is_final = true;
    let sig = sign_state(&key(2), &taken);
    ledger
        .run(|l| progress(l, &apps, &v.params, &v.opening, &taken, 1, &sig))
        .unwrap();

    rejected(
        v.register(&mut ledger, 1, v.signed_opening()),
        "only be registered or refuted in the dispute phase",
    );
    v.register(&mut ledger, 1, v.unsigned(&taken)).unwrap();
    assert_eq!(ledger.records[&taken.channel_id].state, taken);

    v.conclude(&mut ledger, 0, &taken).unwrap();
    ledger.now += CHALLENGE;
    v.conclude(&mut ledger, 1, &taken).unwrap();
    assert_eq!(v.payouts(&mut ledger, 0), amounts(&[3, 3 + 4]));
    assert_eq!(v.payouts(&mut ledger, 1), amounts(&[3, 3 + 4]));
}

/// Both parents registered the opening state; the counter moves twice on chain and the first
/// parent concludes it after the force-execution timeout. It moves no more, and the second
/// parent, concluding later, pays the same progressed state and no other.
#[test]
fn the_second_parent_pays_the_progressed_state() {
    let mut ledger = ledger();
    let apps = Apps::built_in();
    let v = Virtual::new(
        &mut ledger,
        TurnCounter::address(),
        TurnCounter::app_data(0),
        93,
    );
    v.register(&mut ledger, 0, v.signed_opening()).unwrap();
    v.register(&mut ledger, 1, v.signed_opening()).unwrap();

    ledger.now += CHALLENGE;
    // At version v it is participant v mod 2's turn: first key 2 (index 1), then key 0.
    let mut last = v.opening.clone();
    for (actor, signer) in [(1, 2), (0, 0)] {
        let mut next = last.clone();
        next.version += 1;
        next.app_data = Bytes(TurnCounter::app_data(next.version - 1));
        let sig = sign_state(&key(signer), &next);
        ledger
            .run(|l| progress(l, &apps, &v.params, &last, &next, actor, &sig))
            .unwrap();
        last = next;
    }
    rejected(v.conclude(&mut ledger, 0, &last), "ends at chain time");
    ledger.now += CHALLENGE;
    v.conclude(&mut ledger, 0, &last).unwrap();

    let mut late = last.clone();
    late.version += 1;
    late.app_data = Bytes(TurnCounter::app_data(3));
    let sig = sign_state(&key(2), &late);
    rejected(
        ledger.run(|l| progress(l, &apps, &v.params, &last, &late, 1, &sig)),
        "is concluded",
    );
    rejected(
        v.conclude(&mut ledger, 1, &v.opening),
        "not the state it was concluded with",
    );
    ledger.now += 3 * CHALLENGE;
    v.conclude(&mut ledger, 1, &last).unwrap();
    assert_eq!(ledger.records[&last.channel_id].state.version, 3);
    assert_eq!(v.payouts(&mut ledger, 0), amounts(&[3 + 2, 3 + 2]));
    assert_eq!(v.payouts(&mut ledger, 1), amounts(&[3 + 2, 3 + 2]));
}

/// The state on record needs no signatures; any other state still needs everybody's.
#[test]
fn only_the_state_on_record_is_taken_unsigned() {
    let mut ledger = ledger();
    let v = Virtual::new(
        &mut ledger,
        TurnCounter::address(),
        TurnCounter::app_data(0),
        96,
    );
    v.register(&mut ledger, 0, v.signed_opening()).unwrap();
    let mut newer = v.opening.clone();
    newer.version = 2;
    rejected(
        v.register(&mut ledger, 1, v.unsigned(&newer)),
        "but 0 signatures were given",
    );
    v.register(&mut ledger, 1, v.unsigned(&v.opening)).unwrap();
    assert_eq!(ledger.records[&v.opening.channel_id].state, v.opening);
}
