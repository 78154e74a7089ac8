//! The rules of app channels as the protocol sees them: an app is found by the address a
//! channel's parameters name it with ([`AppLookup`]), and a channel keeps the rules it runs by
//! ([`AppRules`]). The rules are pure functions (the `App` contract: no I/O, no clock), so
//! asking them keeps the protocol sans-IO, like verifying a signature.

use parley_plugin_api::model::Address;
use parley_plugin_api::App;
use std::fmt;
use std::sync::Arc;

/// Where the protocol finds an app's rules by its contract address.
pub trait AppLookup {
    /// The rules of the app at `address`, if this node has them.
    fn rules(&self, address: &Address) -> Option<Arc<dyn App>>;
}

/// No apps: every app channel is refused (tests, and callers that run payment channels only).
pub struct NoApps;

impl AppLookup for NoApps {
    fn rules(&self, _address: &Address) -> Option<Arc<dyn App>> {
        None
    }
}

/// The rules a channel runs by: none for a payment channel, or for an app channel whose app
/// this node does not have (it can then only be closed as it stands, or disputed).
#[derive(Clone, Default)]
pub struct AppRules(Option<Arc<dyn App>>);

impl AppRules {
    /// The rules `app`.
    pub fn new(app: Option<Arc<dyn App>>) -> AppRules {
        AppRules(app)
    }

    /// The app, if the channel has its rules.
    pub fn app(&self) -> Option<&dyn App> {
        self.0.as_deref()
    }
}

impl fmt::Debug for AppRules {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_some() {
            "AppRules(known)"
        } else {
            "AppRules(none)"
        })
    }
}

/// Two channels are equal when their records are: the rules follow from the app's address, so
/// only whether they are at hand counts.
impl PartialEq for AppRules {
    fn eq(&self, other: &AppRules) -> bool {
        self.0.is_some() == other.0.is_some()
    }
}

impl Eq for AppRules {}
