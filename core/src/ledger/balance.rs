//! Balances, derived by replaying a member's counted movements in (clock, record id) order;
//! never stored as a number that is updated.
//!
//! Credits become lots that expire `expiry_days` after the credit's clock; debits spend the
//! oldest lots first. A credit beyond the circle's cap on stored minutes is forfeited. A debit
//! larger than what the member holds leaves a debt (a negative balance), which later credits pay
//! off first; the debit that caused it is reported as an overdraft.

use std::collections::VecDeque;

use crate::domain::LedgerRules;
use crate::hlc::Hlc;
use crate::ids::Id;
use crate::time::DAY_MS;

/// What a counted entry does to its member's balance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MovementKind {
    /// Minutes earned by a claim.
    Earned,
    /// Minutes received as a gift.
    Received,
    /// Minutes spent by a redemption.
    Redeemed,
    /// Minutes given away.
    Given,
    /// Minutes opened here by a transfer from another circle.
    TransferredIn,
    /// Minutes moved out to another circle.
    TransferredOut,
}

impl MovementKind {
    fn is_credit(self) -> bool {
        matches!(
            self,
            MovementKind::Earned | MovementKind::Received | MovementKind::TransferredIn
        )
    }
}

/// One counted movement of minutes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Movement {
    /// The clock of the entry that moves the minutes (for a received gift, the gift's).
    pub at: Hlc,
    /// The entry.
    pub entry: Id,
    /// What it does.
    pub kind: MovementKind,
    /// How many minutes (positive).
    pub minutes: i64,
}

/// A member's balance at one instant, with how it came about. All amounts are minutes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Balance {
    /// The member.
    pub member: Id,
    /// What the member holds now: negative after an overdraft.
    pub available_minutes: i64,
    /// Credited by confirmed (and, where required, approved) claims.
    pub earned_minutes: i64,
    /// Received as gifts.
    pub received_minutes: i64,
    /// Spent on services received.
    pub redeemed_minutes: i64,
    /// Given to relatives.
    pub given_minutes: i64,
    /// Opened here by transfers from other circles.
    pub transferred_in_minutes: i64,
    /// Moved out to other circles.
    pub transferred_out_minutes: i64,
    /// Lost to expiry.
    pub expired_minutes: i64,
    /// Not credited because the member held the circle's cap.
    pub forfeited_minutes: i64,
    /// Claimed but not yet confirmed or approved (not in the balance).
    pub pending_minutes: i64,
}

impl Balance {
    /// A member's balance before any movement.
    pub fn zero(member: Id) -> Balance {
        Balance {
            member,
            available_minutes: 0,
            earned_minutes: 0,
            received_minutes: 0,
            redeemed_minutes: 0,
            given_minutes: 0,
            transferred_in_minutes: 0,
            transferred_out_minutes: 0,
            expired_minutes: 0,
            forfeited_minutes: 0,
            pending_minutes: 0,
        }
    }
}

struct Lot {
    expires_ms: Option<u64>,
    minutes: i64,
}

/// Replays `movements` (sorted by clock then id) up to `until_ms` (inclusive; all if `None`),
/// calling `overdraft(entry, balance_after)` for each debit that leaves the balance negative.
pub(crate) fn replay(
    member: Id,
    movements: &[Movement],
    rules: &LedgerRules,
    until_ms: Option<u64>,
    mut overdraft: impl FnMut(Id, i64),
) -> Balance {
    let mut lots: VecDeque<Lot> = VecDeque::new();
    let mut held: i64 = 0;
    let mut debt: i64 = 0;
    let mut balance = Balance::zero(member);
    // Lots are made in replay order with one lifetime, so they expire from the front.
    let expire = |lots: &mut VecDeque<Lot>, held: &mut i64, expired: &mut i64, now: u64| {
        while let Some(lot) = lots.front() {
            if lot.expires_ms.is_none_or(|e| e > now) {
                break;
            }
            *held -= lot.minutes;
            *expired += lot.minutes;
            lots.pop_front();
        }
    };
    let lifetime_ms = rules
        .expiry_days
        .map(|d| u64::try_from(d).unwrap_or(0) * DAY_MS as u64);
    for m in movements {
        if until_ms.is_some_and(|u| m.at.ms > u) {
            break;
        }
        expire(&mut lots, &mut held, &mut balance.expired_minutes, m.at.ms);
        match m.kind {
            MovementKind::Earned => balance.earned_minutes += m.minutes,
            MovementKind::Received => balance.received_minutes += m.minutes,
            MovementKind::Redeemed => balance.redeemed_minutes += m.minutes,
            MovementKind::Given => balance.given_minutes += m.minutes,
            MovementKind::TransferredIn => balance.transferred_in_minutes += m.minutes,
            MovementKind::TransferredOut => balance.transferred_out_minutes += m.minutes,
        }
        if m.kind.is_credit() {
            let repaid = m.minutes.min(debt);
            debt -= repaid;
            let mut credit = m.minutes - repaid;
            if let Some(cap) = rules.cap_minutes {
                let room = (cap - held).max(0);
                balance.forfeited_minutes += (credit - room).max(0);
                credit = credit.min(room);
            }
            if credit > 0 {
                held += credit;
                lots.push_back(Lot {
                    expires_ms: lifetime_ms.map(|l| m.at.ms.saturating_add(l)),
                    minutes: credit,
                });
            }
        } else {
            let mut due = m.minutes;
            while due > 0 {
                let Some(lot) = lots.front_mut() else { break };
                let take = lot.minutes.min(due);
                lot.minutes -= take;
                held -= take;
                due -= take;
                if lot.minutes == 0 {
                    lots.pop_front();
                }
            }
            debt += due;
            if debt > 0 {
                overdraft(m.entry, held - debt);
            }
        }
    }
    if let Some(now) = until_ms {
        expire(&mut lots, &mut held, &mut balance.expired_minutes, now);
    }
    balance.available_minutes = held - debt;
    balance
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: u64, n: u8, kind: MovementKind, minutes: i64) -> Movement {
        Movement {
            at: Hlc { ms, counter: 0 },
            entry: Id::from_bytes([n; 16]),
            kind,
            minutes,
        }
    }

    #[test]
    fn credits_minus_debits_with_a_cap_expiry_and_overdraft() {
        let member = Id::from_bytes([0; 16]);
        let day = DAY_MS as u64;
        let moves = [
            at(day, 1, MovementKind::Earned, 60),
            at(2 * day, 2, MovementKind::Earned, 60),
            at(3 * day, 3, MovementKind::Redeemed, 30),
            at(4 * day, 4, MovementKind::Given, 20),
        ];
        let plain = replay(member, &moves, &LedgerRules::default(), None, |_, _| {});
        assert_eq!(plain.available_minutes, 70);
        assert_eq!(plain.redeemed_minutes, 30);

        let capped = LedgerRules {
            cap_minutes: Some(90),
            ..LedgerRules::default()
        };
        let b = replay(member, &moves, &capped, None, |_, _| {});
        assert_eq!((b.available_minutes, b.forfeited_minutes), (40, 30));

        // The first lot expires after 2 days, before the redemption on day 3.
        let expiring = LedgerRules {
            expiry_days: Some(2),
            ..LedgerRules::default()
        };
        let b = replay(member, &moves, &expiring, Some(3 * day), |_, _| {});
        assert_eq!((b.available_minutes, b.expired_minutes), (30, 60));

        let mut overdrafts = Vec::new();
        let spend = [
            at(day, 1, MovementKind::Earned, 30),
            at(2 * day, 2, MovementKind::Redeemed, 30),
            at(2 * day, 3, MovementKind::Redeemed, 30),
            at(3 * day, 4, MovementKind::Earned, 40),
        ];
        let b = replay(member, &spend, &LedgerRules::default(), None, |e, after| {
            overdrafts.push((e, after))
        });
        assert_eq!(overdrafts, vec![(Id::from_bytes([3; 16]), -30)]);
        assert_eq!(b.available_minutes, 10);
    }
}
