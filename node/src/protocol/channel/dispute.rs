//! The channel's side of a dispute (DESIGN §4, Settle and Watch): once a state is registered
//! on chain, or we are about to register one, the channel stops changing off chain. What
//! happens on chain (refuting, concluding, withdrawing) is the watcher's job; here only the
//! phase moves and half-done updates are sorted out.

use super::{Channel, ChannelError, Effects};
use crate::protocol::effect::Effect;
use crate::protocol::phase::Phase;

impl Channel {
    /// Moves the channel to `Disputed`: the watcher saw a registration on chain, or we are
    /// about to register our newest state ourselves (unilateral settlement, recovering the
    /// deposits of a channel that was never fully funded). From here no update is proposed or
    /// accepted.
    ///
    /// The peer's update awaiting our answer is dropped: nothing of ours signs it, so it can
    /// never be registered. Our own pending update is kept: the peer may have accepted it and
    /// registered it, and concluding needs that state; if its accept still arrives it is
    /// adopted, a newer state to refute with.
    ///
    /// Allowed while `Funding` or `Active`; does nothing if already `Disputed`. Refused while
    /// `Opening` (no state is fully signed yet, so there is nothing to register), while
    /// `Closing` (the final state settles at once with `conclude_final`, which also ends a
    /// running dispute) and once `Closed`.
    pub fn dispute(&mut self) -> Result<Vec<Effect>, ChannelError> {
        match self.phase {
            Phase::Funding | Phase::Active => {}
            Phase::Disputed => return Ok(Vec::new()),
            phase => {
                return Err(ChannelError::WrongPhase {
                    action: "dispute",
                    phase,
                })
            }
        }
        let mut fx = Effects::default();
        self.enter_dispute(&mut fx);
        Ok(fx.finish())
    }

    /// `Funding` or `Active` → `Disputed`, dropping the peer's update awaiting our answer (see
    /// [`Channel::dispute`]).
    pub(super) fn enter_dispute(&mut self, fx: &mut Effects) {
        self.drop_incoming(fx);
        self.set_phase(Phase::Disputed, fx);
    }
}
