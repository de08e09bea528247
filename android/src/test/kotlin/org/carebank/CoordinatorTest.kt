package org.carebank

import org.carebank.ffi.AccessPurpose
import org.carebank.ffi.CareException
import org.carebank.ffi.EntitlementStatus
import org.carebank.ffi.Funding
import org.carebank.ffi.Revocation
import org.carebank.ffi.Role
import org.carebank.ffi.Service
import org.carebank.ffi.ServiceDetail
import org.carebank.ffi.ServiceKind
import org.carebank.ffi.Visit
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Assert.assertNotNull
import org.junit.Assert.assertThrows
import org.junit.Assert.assertTrue
import org.junit.Test

/** A village coordinator reconciles what the caregivers' phones recorded. */
class CoordinatorTest {
    private val village = TestVillage()
    private val start = yesterdayMorning()
    private val month = monthOf(start)

    @After
    fun closeStores() {
        village.close()
    }

    private fun cleaning(by: Member, elder: String, at: Long, minutes: Long) =
        Service(elder, by.id, at, minutes, Funding.GOVERNMENT, ServiceDetail.Cleaning)

    @Test
    fun entitlementUseIsReconciledAcrossCaregiversPhones() {
        val within = village.elder("陈奶奶", entitledHours = 20)
        val under = village.elder("赵爷爷", entitledHours = 30)
        val over = village.elder("孙奶奶", entitledHours = 10)
        val a = village.member(Role.CAREGIVER, "王芳")
        val b = village.member(Role.CAREGIVER, "刘强")
        a.store.recordService(cleaning(a, within, start, 600))
        b.store.recordService(cleaning(b, within, start + DAY / 2, 400))
        b.store.recordService(cleaning(b, under, start, 120))
        a.store.recordService(cleaning(a, over, start + HOUR, 700))

        val coordinator = village.coordinator.store
        assertTrue(coordinator.entitlementUse(month, AccessPurpose.REPORT).all { it.usedMinutes == 0L })
        coordinator.mergeFrom(a.store)
        coordinator.mergeFrom(b.store)

        val use = coordinator.entitlementUse(month, AccessPurpose.REPORT).associateBy { it.elderId }
        assertEquals(1000L, use.getValue(within).usedMinutes)
        assertEquals(EntitlementStatus.WITHIN_QUOTA, use.getValue(within).status)
        assertEquals(EntitlementStatus.UNDER_SERVED, use.getValue(under).status)
        assertEquals(EntitlementStatus.OVER_QUOTA, use.getValue(over).status)
        assertEquals(4uL, coordinator.personTimes(month).services.single { it.kind == ServiceKind.CLEANING }.count)
        assertTrue(coordinator.rejections().isEmpty())
    }

    @Test
    fun aLostPhonesLaterRecordsAreKeptButNotCounted() {
        val elder = village.elder("张大爷")
        val lost = village.member(Role.CAREGIVER, "刘强")
        lost.store.recordVisit(Visit(elder, lost.id, start, start + 30 * MINUTE))
        Thread.sleep(5)

        val coordinator = village.coordinator.store
        // The coordinator holds the phone's records so far, then revokes it: what the phone
        // signs after them never counts, whatever its clock says.
        coordinator.mergeFrom(lost.store)
        coordinator.revoke(Revocation(lost.store.deviceKey(), System.currentTimeMillis(), "手机丢失"))
        Thread.sleep(5)
        // Whoever has the phone now has not heard of the revocation, and records a visit.
        val forged = lost.store.recordVisit(Visit(elder, lost.id, start + HOUR, start + 90 * MINUTE))
        coordinator.mergeFrom(lost.store)

        assertEquals(1uL, coordinator.personTimes(month).visits)
        assertEquals(listOf(forged), coordinator.untrustedRecords().map { it.recordId })
        val revoked = coordinator.trustedKeys().single { it.deviceKey == lost.store.deviceKey() }
        assertEquals(lost.id, revoked.memberId)
        assertNotNull(revoked.revokedFromMs)

        // Once the phone hears of the revocation it can no longer write.
        village.sync(lost)
        assertThrows(CareException.NotAuthorised::class.java) {
            lost.store.recordVisit(Visit(elder, lost.id, start + 2 * HOUR, start + 150 * MINUTE))
        }
    }
}
