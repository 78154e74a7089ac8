//! Amounts as people read and write them: in an asset's whole units, with the decimals its
//! chain backend gives (`AssetInfo::decimals`), exactly.
//!
//! The chain, the store, the wire, the JSON-RPC API and `--json` output all keep base units
//! (wei for ETH) as whole numbers; only text for people goes through here. The conversion is
//! decimal string work on the digits of the base-unit amount, never floating point, so every
//! amount below 2^256 is shown without loss and read back to the same amount:
//! `parse_units(&format_units(x, d), d) == Ok(x)` for every `x` and `d`.
//!
//! What a person writes ([`AmountText`]) is a number with an optional unit: `1.5ETH`,
//! `1.5 ETH` and `1.5 eth` are whole units of the asset named ETH; `10base` is ten base units of
//! any asset; `10wei` and `2gwei` are base units of an asset named ETH with 18 decimals; a bare
//! whole number (`1000`) is base units, as the API and `--json` write them, so that a script can
//! pass back what it read. A bare number with a decimal point is refused: it can only mean
//! whole units, and saying which asset's is what makes it unambiguous.

use parley_plugin_api::model::{Amount, AssetInfo};
use std::fmt;
use std::str::FromStr;

/// `amount` base units as whole units with `decimals` decimals, trailing zeros of the fraction
/// dropped: `1000`, `0.003`, `999.999999999999999945`, `0`.
pub fn format_units(amount: &Amount, decimals: u8) -> String {
    let digits = amount.to_string();
    let decimals = usize::from(decimals);
    if decimals == 0 {
        return digits;
    }
    let padded = format!("{digits:0>width$}", width = decimals + 1);
    let (whole, fraction) = padded.split_at(padded.len() - decimals);
    let fraction = fraction.trim_end_matches('0');
    if fraction.is_empty() {
        whole.to_owned()
    } else {
        format!("{whole}.{fraction}")
    }
}

/// `0.01 ETH`: `amount` base units of `asset` in its whole units, with its name.
pub fn show(amount: &Amount, asset: &AssetInfo) -> String {
    format!("{} {}", format_units(amount, asset.decimals), asset.name)
}

/// Why a number cannot be read as an amount.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum UnitsError {
    /// Not a decimal number (digits, at most one point, digits on at least one side of it).
    #[error("`{0}` is not a number: expected digits with at most one decimal point (e.g. 1.5)")]
    NotANumber(String),
    /// More digits after the point than the asset has decimals.
    #[error("`{number}` has {digits} digits after the point, but the asset has only {decimals} decimals")]
    TooPrecise {
        /// The number as written.
        number: String,
        /// Its digits after the point (trailing zeros not counted).
        digits: usize,
        /// The asset's decimals.
        decimals: u8,
    },
    /// The amount in base units does not fit in 256 bits.
    #[error("`{0}` is too large: the amount in base units must be below 2^256")]
    TooLarge(String),
}

/// `number` (`1.5`, `1000`, `.5`, `2.`) in whole units with `decimals` decimals, as base units.
/// `_` may separate digits, as in a base-unit amount. Refuses a fraction finer than one base
/// unit rather than rounding it.
pub fn parse_units(number: &str, decimals: u8) -> Result<Amount, UnitsError> {
    let (whole, fraction) = split_number(number)?;
    let fraction = fraction.trim_end_matches('0');
    let places = usize::from(decimals);
    if fraction.len() > places {
        return Err(UnitsError::TooPrecise {
            number: number.to_owned(),
            digits: fraction.len(),
            decimals,
        });
    }
    let base = format!("{whole}{fraction:0<places$}");
    let base = base.trim_start_matches('0');
    if base.is_empty() {
        return Ok(Amount::ZERO);
    }
    Amount::from_str(base).map_err(|_| UnitsError::TooLarge(number.to_owned()))
}

/// The whole and fractional digits of `number`, `_` removed; an error unless it is digits with
/// at most one point and a digit on at least one side of it.
fn split_number(number: &str) -> Result<(String, String), UnitsError> {
    let plain = number.replace('_', "");
    let (whole, fraction) = plain.split_once('.').unwrap_or((&plain, ""));
    let digits_only = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if (whole.is_empty() && fraction.is_empty()) || !digits_only(whole) || !digits_only(fraction) {
        return Err(UnitsError::NotANumber(number.to_owned()));
    }
    Ok((whole.to_owned(), fraction.to_owned()))
}

/// The unit that says an amount is in base units, for any asset.
pub const BASE: &str = "base";

/// An amount as a person wrote it, before it is known which asset it is of: a number and,
/// optionally, a unit (see the module's documentation). Parsing checks only the form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AmountText {
    /// The number as written (`1.5`).
    pub number: String,
    /// The unit as written (`ETH`, `base`, `wei`), if any.
    pub unit: Option<String>,
}

/// What an [`AmountText`] means on a chain: base units, and the asset its unit names, if any.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolved {
    /// The amount in base units.
    pub amount: Amount,
    /// The asset the unit named (`ETH` for `1ETH` and for `1wei`); `None` for base units.
    pub asset: Option<String>,
}

/// How to write an amount, for the end of an error message.
pub const HOW_TO_WRITE: &str = "write whole units with the asset's name (e.g. 1.5ETH or \
     \"1.5 ETH\") or base units as a whole number (e.g. 1000, 1000base, 1000wei)";

impl FromStr for AmountText {
    type Err = String;

    fn from_str(text: &str) -> Result<AmountText, String> {
        let text = text.trim();
        let split = text
            .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '_'))
            .unwrap_or(text.len());
        let (number, unit) = text.split_at(split);
        let unit = unit.trim();
        if number.is_empty() {
            return Err(format!(
                "`{text}` is not an amount: it does not start with a number; {HOW_TO_WRITE}"
            ));
        }
        if unit.is_empty() && number.contains('.') {
            return Err(format!(
                "`{text}` is not an amount without a unit: a number with a decimal point counts \
                 whole units, and only a unit says which asset's; {HOW_TO_WRITE}"
            ));
        }
        if !unit
            .chars()
            .all(|c| c.is_alphanumeric() || c == '-' || c == '_')
        {
            return Err(format!("`{text}` is not an amount; {HOW_TO_WRITE}"));
        }
        // The number's own form, checked now so that a typo is caught before any lookup; the
        // decimals it needs are known only with the asset.
        split_number(number).map_err(|e| format!("{e}; {HOW_TO_WRITE}"))?;
        let parsed = AmountText {
            number: number.to_owned(),
            unit: (!unit.is_empty()).then(|| unit.to_owned()),
        };
        if parsed.unit.is_none() {
            parsed.in_base_units()?;
        }
        Ok(parsed)
    }
}

impl fmt::Display for AmountText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.unit {
            Some(unit) => write!(f, "{}{unit}", self.number),
            None => f.write_str(&self.number),
        }
    }
}

impl AmountText {
    /// Base units, as the API and `--json` write them.
    pub fn base(amount: Amount) -> AmountText {
        AmountText {
            number: amount.to_string(),
            unit: None,
        }
    }

    /// Whether this is zero, whatever its unit means.
    pub fn is_zero(&self) -> bool {
        self.number.chars().all(|c| matches!(c, '0' | '.' | '_'))
    }

    /// A number whose unit, if any, is still to come as a word of its own (`1.5` of `1.5 TOK`):
    /// only its form is checked. Joined with its unit, or not, it must then parse as an
    /// [`AmountText`] ([`AmountText::with_unit`]).
    pub fn number_alone(text: &str) -> Result<AmountText, String> {
        match text.parse::<AmountText>() {
            Ok(parsed) => Ok(parsed),
            Err(error) => match split_number(text.trim()) {
                Ok(_) => Ok(AmountText {
                    number: text.trim().to_owned(),
                    unit: None,
                }),
                Err(_) => Err(error),
            },
        }
    }

    /// This amount with its unit written as a word of its own (`1.5` and `TOK`); without one,
    /// the amount as it stands, checked as [`AmountText`] checks it.
    pub fn with_unit(&self, unit: Option<&str>) -> Result<AmountText, String> {
        match (&self.unit, unit) {
            (Some(_), Some(word)) => Err(format!(
                "`{self} {word}`: the amount has a unit already; {HOW_TO_WRITE}"
            )),
            (None, Some(word)) => format!("{} {word}", self.number).parse(),
            (_, None) => self.to_string().parse(),
        }
    }

    /// What this means on a chain with `assets`: the unit is an asset's name (any case), `base`,
    /// or `wei`/`gwei` for an asset named ETH with 18 decimals.
    pub fn resolve(&self, assets: &[AssetInfo]) -> Result<Resolved, String> {
        let Some(unit) = &self.unit else {
            return self.in_base_units();
        };
        if let Some(asset) = assets.iter().find(|a| a.name.eq_ignore_ascii_case(unit)) {
            let amount = parse_units(&self.number, asset.decimals).map_err(|e| e.to_string())?;
            return Ok(Resolved {
                amount,
                asset: Some(asset.name.clone()),
            });
        }
        if unit.eq_ignore_ascii_case(BASE) {
            return self.in_base_units();
        }
        let ether = assets
            .iter()
            .find(|a| a.name.eq_ignore_ascii_case("ETH") && a.decimals == 18);
        let gwei = unit.eq_ignore_ascii_case("gwei");
        if let (Some(ether), true) = (ether, gwei || unit.eq_ignore_ascii_case("wei")) {
            let amount =
                parse_units(&self.number, if gwei { 9 } else { 0 }).map_err(|e| match e {
                    UnitsError::TooPrecise { .. } => format!("`{self}` is finer than one wei"),
                    other => other.to_string(),
                })?;
            return Ok(Resolved {
                amount,
                asset: Some(ether.name.clone()),
            });
        }
        let names: Vec<&str> = assets.iter().map(|a| a.name.as_str()).collect();
        Err(format!(
            "`{self}`: `{unit}` is not a unit of this chain; write an asset's name ({}) for \
             whole units, or `{BASE}` for base units",
            names.join(", ")
        ))
    }

    /// The number as a whole count of base units, of no asset in particular.
    fn in_base_units(&self) -> Result<Resolved, String> {
        let amount = parse_units(&self.number, 0).map_err(|e| match e {
            UnitsError::TooPrecise { .. } => {
                format!("`{self}` has a fraction, but base units are whole; {HOW_TO_WRITE}")
            }
            other => other.to_string(),
        })?;
        Ok(Resolved {
            amount,
            asset: None,
        })
    }
}

#[cfg(test)]
#[path = "units_tests.rs"]
mod tests;
