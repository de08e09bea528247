package org.carebank

import org.carebank.ffi.AccessPurpose
import org.carebank.ffi.CareException
import org.carebank.ffi.ErasureReason
import org.carebank.ffi.Observations
import org.carebank.ffi.RecordBody
import org.carebank.ffi.Role
import org.carebank.ffi.Visit
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertNull
import org.junit.Assert.assertThrows
import org.junit.Assert.assertTrue
import org.junit.Test

/**
 * Erasure (PIPL Art. 47): the coordinator erases an elder; once a phone has merged the erasure,
 * the elder's notes no longer open there, nothing more is recorded about them, and the month's
 * figures are unchanged.
 */
class ErasureTest {
    private val village = TestVillage()
    private val start = yesterdayMorning()

    @After
    fun closeStores() {
        village.close()
    }

    @Test
    fun anErasedEldersNotesAreGoneFromEveryPhoneThatSyncsAndTheFiguresStay() {
        val zhang = village.elder("张大爷")
        val wang = village.member(Role.CAREGIVER, "王芳")
        val visit = wang.store.recordVisit(
            Visit(zhang, wang.id, start, start + 30 * MINUTE, observations = Observations(note = "右腿浮肿")),
        )
        val coordinator = village.coordinator.store
        coordinator.mergeFrom(wang.store)
        val month = monthOf(start)
        val before = coordinator.personTimes(month)
        fun note(phone: org.carebank.ffi.CareStore) =
            (phone.get(visit, AccessPurpose.CARE).body as RecordBody.Visit).visit.observations.note
        assertEquals("右腿浮肿", note(wang.store))

        assertThrows(CareException.NotAuthorised::class.java) {
            wang.store.eraseElder(zhang, ErasureReason.ELDER_REQUEST)
        }
        coordinator.eraseElder(zhang, ErasureReason.ELDER_REQUEST)
        assertTrue(coordinator.isErased(zhang))
        assertNull(note(coordinator))
        assertFalse("the phone has not synced yet", wang.store.isErased(zhang))

        wang.store.mergeFrom(coordinator)
        assertTrue(wang.store.isErased(zhang))
        assertNull(note(wang.store))
        val refused = assertThrows(CareException.InvalidInput::class.java) {
            wang.store.recordVisit(Visit(zhang, wang.id, start + HOUR, start + 2 * HOUR))
        }
        assertEquals("elder_id", refused.field)
        assertEquals(before, coordinator.personTimes(month))
        assertEquals(before, wang.store.personTimes(month))
        assertFalse(coordinator.exportElder(zhang).contains("张大爷"))
    }
}
