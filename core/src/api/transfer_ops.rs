//! Hours valid across circles (通存通兑) on a coordinator's device: [`CareStore`] methods to move
//! a member's balance out to another circle as a transfer statement, and to open a statement
//! from another circle here. The rules live in [`crate::ledger`] (`transfer.rs`); decision 0018.

use super::{Actor, CareStore};
use crate::domain::{EntryKind, Role};
use crate::error::{Error, Result};
use crate::identity::PublicKey;
use crate::identity::authority::{AuthorityChain, AuthorityLevel};
use crate::ids::Id;
use crate::ledger::{TransferError, VerifiedTransfer, export_transfer, verify_transfer};

impl CareStore {
    /// Moves `member`'s whole balance (now, by this device's clock) out to circle `to_circle`:
    /// writes a transfer-out entry in this coordinator's chain, after which the member's hours
    /// here are zero and any spend here beyond the chain head it saw is a double spend; returns
    /// the transfer statement the member carries to the new circle. `authority` is this town
    /// centre's authority chain file (province → district → town). A coordinator only; refused
    /// while the member has items in the coordinator's queue, or holds no hours.
    pub fn transfer_out(&mut self, member: Id, to_circle: Id, authority: &[u8]) -> Result<Vec<u8>> {
        self.coordinator()?;
        if to_circle == self.circle().circle_id {
            return Err(TransferError::OtherCircle(to_circle).into());
        }
        self.check_own_town(authority)?;
        let now = self.store.now()?.as_u64();
        let (minutes, head_seq, queued) = self.read_ledger(|ledger, reconciled, _| {
            (
                reconciled.balance(member, now).available_minutes,
                ledger.head(member).map_or(0, |h| h.0),
                reconciled.conflicts().iter().any(|c| c.member == member),
            )
        })?;
        if queued {
            return Err(Error::NotAuthorised(format!(
                "member {member} has items in the coordinator's queue: decide them before moving their hours"
            )));
        }
        if minutes <= 0 {
            return Err(Error::NotAuthorised(format!(
                "member {member} holds no hours to move"
            )));
        }
        let transfer_out = self.append_entry(EntryKind::TransferOut {
            member,
            minutes,
            to_circle,
            head_seq,
        })?;
        self.transfer_statement(transfer_out, authority)
    }

    /// The transfer statement of a transfer-out this device holds, exported again now (signed
    /// by this device; a coordinator's).
    pub fn transfer_statement(&self, transfer_out: Id, authority: &[u8]) -> Result<Vec<u8>> {
        self.coordinator()?;
        self.check_own_town(authority)?;
        let now = self.store.now()?.as_u64();
        let key = &self.key;
        self.read_ledger(|ledger, _, services| {
            export_transfer(ledger, services, transfer_out, now, authority, key)
        })?
        .map_err(Error::from)
    }

    /// Verifies a transfer statement for opening in this circle, with the province root key
    /// alone, without writing anything.
    pub fn verify_transfer(&self, bytes: &[u8], province: PublicKey) -> Result<VerifiedTransfer> {
        Ok(verify_transfer(bytes, province, self.circle().circle_id)?)
    }

    /// Opens a member's hours moved here from another circle: verifies the transfer statement
    /// (see [`CareStore::verify_transfer`]), checks the member is enrolled here and the
    /// transfer-out was not opened here before, and writes a transfer-in entry in this
    /// coordinator's chain. Returns the entry's id and what the statement showed.
    pub fn import_transfer(
        &mut self,
        bytes: &[u8],
        province: PublicKey,
    ) -> Result<(Id, VerifiedTransfer)> {
        self.coordinator()?;
        let verified = self.verify_transfer(bytes, province)?;
        let (enrolled, opened) = self.read_ledger(|ledger, _, _| {
            let opened = !ledger.transfers_in(verified.transfer_out).is_empty();
            (ledger.trust().profile(verified.member).is_some(), opened)
        })?;
        if !enrolled {
            return Err(TransferError::NotEnrolled(verified.member).into());
        }
        if opened {
            return Err(TransferError::AlreadyOpened(verified.transfer_out).into());
        }
        let id = self.append_entry(EntryKind::TransferIn {
            member: verified.member,
            minutes: verified.minutes,
            from_circle: verified.from_circle,
            transfer_out: verified.transfer_out,
            statement: verified.file_hash,
        })?;
        Ok((id, verified))
    }

    /// Refuses unless this device is a coordinator's.
    fn coordinator(&self) -> Result<()> {
        match self.actor()? {
            Actor::Member(Role::Coordinator, _) => Ok(()),
            _ => Err(Error::NotAuthorised(
                "only a coordinator moves hours between circles".into(),
            )),
        }
    }

    /// Refuses an authority chain that does not end in this circle's town centre.
    fn check_own_town(&self, authority: &[u8]) -> Result<()> {
        let chain = AuthorityChain::decode(authority).map_err(TransferError::from)?;
        let ours = chain.leaf().is_some_and(|c| {
            c.statement.level == AuthorityLevel::Town
                && c.statement.subject == self.circle().centre_key
        });
        if ours {
            Ok(())
        } else {
            Err(TransferError::NotTheTown.into())
        }
    }
}
