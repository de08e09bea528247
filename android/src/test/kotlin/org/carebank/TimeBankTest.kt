package org.carebank

import org.carebank.ffi.AccessPurpose
import org.carebank.ffi.CareException
import org.carebank.ffi.ConfirmMethod
import org.carebank.ffi.ConflictKind
import org.carebank.ffi.Funding
import org.carebank.ffi.LedgerEntryKind
import org.carebank.ffi.MealMode
import org.carebank.ffi.RecordBody
import org.carebank.ffi.Role
import org.carebank.ffi.Service
import org.carebank.ffi.ServiceDetail
import org.carebank.ffi.Verdict
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Assert.assertThrows
import org.junit.Assert.assertTrue
import org.junit.Test

/** The time bank (时间银行) on the phones: claims, confirmations, redemptions, reconciliation. */
class TimeBankTest {
    private val village = TestVillage()
    private val start = yesterdayMorning()

    @After
    fun closeStores() {
        village.close()
    }

    /** A volunteer gives an hour's meal service, claims it, and a caregiver confirms it. */
    private fun earnAnHour(volunteer: Member, caregiver: Member, elder: String): String {
        val service = volunteer.store.recordService(
            Service(elder, volunteer.id, start, 60, Funding.TIME_BANK, ServiceDetail.Meal(MealMode.DELIVERED, 1u)),
        )
        val claim = volunteer.store.claimHours(service, 60)
        caregiver.store.mergeFrom(volunteer.store)
        caregiver.store.confirmClaim(claim, ConfirmMethod.IN_PERSON)
        volunteer.store.mergeFrom(caregiver.store)
        return claim
    }

    @Test
    fun aVolunteersConfirmedClaimIsCreditedAndRedeemed() {
        val elder = village.elder("张大爷")
        val caregiver = village.member(Role.CAREGIVER, "王芳")
        val volunteer = village.member(Role.VOLUNTEER, "小李")
        val service = volunteer.store.recordService(
            Service(elder, volunteer.id, start, 60, Funding.TIME_BANK, ServiceDetail.Meal(MealMode.DELIVERED, 1u)),
        )
        val claim = volunteer.store.claimHours(service, 60)
        // Claimed but not confirmed: pending, not in the balance.
        volunteer.store.balance(volunteer.id).let {
            assertEquals(0L, it.availableMinutes)
            assertEquals(60L, it.pendingMinutes)
        }

        caregiver.store.mergeFrom(volunteer.store)
        val confirmation = caregiver.store.confirmClaim(claim, ConfirmMethod.IN_PERSON)
        val read = caregiver.store.get(confirmation, AccessPurpose.CARE).body as RecordBody.Ledger
        assertEquals(LedgerEntryKind.Confirm(claim, ConfirmMethod.IN_PERSON), read.entry.kind)
        volunteer.store.mergeFrom(caregiver.store)
        volunteer.store.balance(volunteer.id).let {
            assertEquals(60L, it.availableMinutes)
            assertEquals(60L, it.earnedMinutes)
            assertEquals(0L, it.pendingMinutes)
        }

        volunteer.store.redeemHours(40)
        volunteer.store.balance(volunteer.id).let {
            assertEquals(20L, it.availableMinutes)
            assertEquals(40L, it.redeemedMinutes)
        }
        // Spending more than is held is refused on the phone, saying the balance it would leave.
        val overdraft = assertThrows(CareException.Overdraft::class.java) { volunteer.store.redeemHours(30) }
        assertEquals(-10L, overdraft.balanceAfterMinutes)
        village.coordinator.store.mergeFrom(volunteer.store)
        assertEquals(
            listOf(volunteer.id to 20L),
            village.coordinator.store.balances(System.currentTimeMillis()).map { it.memberId to it.availableMinutes },
        )
    }

    @Test
    fun aClonedPhonesDoubleSpendIsQueuedAndTheCoordinatorsDecisionsClearIt() {
        val elder = village.elder("张大爷")
        val caregiver = village.member(Role.CAREGIVER, "王芳")
        val volunteer = village.member(Role.VOLUNTEER, "小李")
        earnAnHour(volunteer, caregiver, elder)
        val clone = village.clonePhone(volunteer)

        // Offline, both phones spend the same hour.
        val first = volunteer.store.redeemHours(60)
        val second = clone.redeemHours(50)
        val coordinator = village.coordinator.store
        coordinator.mergeFrom(volunteer.store)
        coordinator.mergeFrom(clone)

        val queue = coordinator.conflictQueue()
        val fork = queue.single { it.kind == ConflictKind.FORK }
        assertEquals(volunteer.id, fork.memberId)
        assertEquals(setOf(first, second), fork.evidenceIds.toSet())
        val overdraft = queue.single { it.kind == ConflictKind.OVERDRAFT }
        assertEquals(listOf(second), overdraft.awaitingIds)
        assertTrue(overdraft.description, overdraft.description.contains("−50 min"))
        assertEquals(-50L, coordinator.balance(volunteer.id).availableMinutes)

        coordinator.decide(second, Verdict.REJECT, "重复兑换")
        coordinator.decide(first, Verdict.APPROVE, "有效兑换")
        assertTrue(coordinator.conflictQueue().isEmpty())
        assertEquals(0L, coordinator.balance(volunteer.id).availableMinutes)
        // A caregiver may not decide.
        assertThrows(CareException::class.java) { caregiver.store.decide(first, Verdict.REJECT, "x") }
    }

    @Test
    fun aStatementVerifiesOfflineAndATamperedOneDoesNot() {
        val elder = village.elder("张大爷")
        val caregiver = village.member(Role.CAREGIVER, "王芳")
        val volunteer = village.member(Role.VOLUNTEER, "小李")
        val claim = earnAnHour(volunteer, caregiver, elder)
        village.coordinator.store.mergeFrom(volunteer.store)

        val statement = village.coordinator.store.exportStatement(volunteer.id)
        val verified = village.strangerPhone().verifyStatement(statement)
        assertEquals(volunteer.id, verified.memberId)
        assertEquals(60L, verified.balance.availableMinutes)
        assertEquals(listOf(claim), verified.entryIds)
        assertTrue(verified.conflicts.isEmpty())
        assertEquals(Role.COORDINATOR, verified.exporterRole)

        val tampered = statement.copyOf().also { it[it.size / 2] = (it[it.size / 2].toInt() xor 1).toByte() }
        val e = assertThrows(CareException.InvalidInput::class.java) { volunteer.store.verifyStatement(tampered) }
        assertEquals("statement", e.field)
    }
}
