package org.carebank

import org.carebank.ffi.AccessCall
import org.carebank.ffi.AccessPurpose
import org.carebank.ffi.CareException
import org.carebank.ffi.ConsentAction
import org.carebank.ffi.ConsentChange
import org.carebank.ffi.ConsentPurpose
import org.carebank.ffi.ConsentRelation
import org.carebank.ffi.FollowUp
import org.carebank.ffi.Level
import org.carebank.ffi.Observations
import org.carebank.ffi.Role
import org.carebank.ffi.Visit
import org.carebank.ffi.newId
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Assert.assertThrows
import org.junit.Assert.assertTrue
import org.junit.Test

/** Who read an elder's data, the elder's own copy, and consent withdrawn for one purpose. */
class AccessLogTest {
    private val village = TestVillage()
    private val start = yesterdayMorning()

    @After
    fun closeStores() {
        village.close()
    }

    @Test
    fun readsAreLoggedWithTheirPurposeAndReachTheCoordinator() {
        val zhang = village.elder("张大爷")
        val wang = village.member(Role.CAREGIVER, "王芳")
        wang.store.recordVisit(
            Visit(zhang, wang.id, start, start + 30 * MINUTE, followUps = listOf(FollowUp("联系村医上门", null))),
        )
        assertEquals(1, wang.store.openFollowUps(AccessPurpose.CARE).size)

        val coordinator = village.coordinator.store
        coordinator.mergeFrom(wang.store)
        val log = coordinator.accessLog(zhang)
        assertEquals(1, log.size)
        assertEquals(AccessCall.OPEN_FOLLOW_UPS, log.single().call)
        assertEquals(AccessPurpose.CARE, log.single().purpose)
        assertEquals(wang.id, log.single().memberId)
        assertEquals(wang.store.deviceKey(), log.single().deviceKey)

        val copy = coordinator.exportElder(zhang)
        assertTrue(copy.contains("张大爷") && copy.contains("联系村医上门"))
        assertEquals(
            listOf(AccessCall.OPEN_FOLLOW_UPS, AccessCall.EXPORT_ELDER),
            coordinator.accessLog(zhang).map { it.call },
        )
        assertThrows(CareException.InvalidInput::class.java) { coordinator.accessLog("not an id") }
        assertThrows(CareException.NotFound::class.java) { coordinator.exportElder(newId()) }
    }

    @Test
    fun aWithdrawnPurposeIsRefusedAndAnOfflineRecordIsFlagged() {
        val zhang = village.elder("张大爷")
        val wang = village.member(Role.CAREGIVER, "王芳")
        val liu = village.member(Role.CAREGIVER, "刘强")
        val health = Observations(health = Level.POOR)
        val coordinator = village.coordinator.store
        coordinator.changeConsent(
            ConsentChange(zhang, ConsentPurpose.HEALTH_OBSERVATIONS, ConsentAction.WITHDRAW, start, "本人", ConsentRelation.ELDER),
        )
        wang.store.mergeFrom(coordinator)
        val e = assertThrows(CareException.ConsentMissing::class.java) {
            wang.store.recordVisit(Visit(zhang, wang.id, start + HOUR, start + 2 * HOUR, observations = health))
        }
        assertTrue(e.purpose.contains("withdrawn"))
        // Liu's phone has not synced: the visit is kept, counted and flagged for the coordinator.
        val offline = liu.store.recordVisit(Visit(zhang, liu.id, start + HOUR, start + 2 * HOUR, observations = health))
        coordinator.mergeFrom(liu.store)
        assertEquals(listOf(offline), coordinator.consentConflicts().map { it.recordId })
        assertEquals(start, coordinator.consentConflicts().single().withdrawnAtMs)
    }
}
