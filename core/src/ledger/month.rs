//! Which calendar month time-bank minutes count in, for the monthly report
//! (`docs/report-format.md`): minutes earned count in the CST month in which the service they
//! were earned by started, whenever the claim was made or confirmed; minutes redeemed and given
//! count in the CST month of their own entry's clock. So a service on 30 November confirmed on
//! 2 December is November's, on every device and whatever day the report is run.

use super::balance::MovementKind;
use super::book::Ledger;
use super::reconcile::Reconciliation;
use super::services::ServiceView;
use crate::domain::EntryKind;
use crate::time::Month;

/// The circle's time-bank minutes that count in one month.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MonthTotals {
    /// Earned by counted claims for services that started in the month.
    pub earned_minutes: i64,
    /// Spent by counted redemptions signed in the month.
    pub redeemed_minutes: i64,
    /// Given by counted gifts signed in the month.
    pub given_minutes: i64,
}

/// The minutes of every member's counted movements that fall in `month`. A claim whose service
/// the device does not hold (a coordinator approved it anyway) counts in its own entry's month.
pub fn month_totals(
    ledger: &Ledger,
    reconciled: &Reconciliation,
    services: &ServiceView,
    month: Month,
) -> MonthTotals {
    let service_start = |entry| match (ledger.entry(entry), services) {
        (Some((e, _)), ServiceView::Known(facts)) => match &e.kind {
            EntryKind::Claim { service, .. } => facts.get(service).map(|f| f.started_ms),
            _ => None,
        },
        _ => None,
    };
    let mut totals = MonthTotals::default();
    for member in reconciled.members() {
        for m in reconciled.movements(member) {
            let (counts_in, total) = match m.kind {
                MovementKind::Earned => (
                    Month::of_instant(service_start(m.entry).unwrap_or(m.at.instant_ms())),
                    &mut totals.earned_minutes,
                ),
                MovementKind::Redeemed => (
                    Month::of_instant(m.at.instant_ms()),
                    &mut totals.redeemed_minutes,
                ),
                MovementKind::Given => (
                    Month::of_instant(m.at.instant_ms()),
                    &mut totals.given_minutes,
                ),
                // A gift is counted once, where it was given; a transfer moves hours earned
                // elsewhere or before, and is neither earned nor spent.
                MovementKind::Received
                | MovementKind::TransferredIn
                | MovementKind::TransferredOut => continue,
            };
            if counts_in == month {
                *total += m.minutes;
            }
        }
    }
    totals
}
